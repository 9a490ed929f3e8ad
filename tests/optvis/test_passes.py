"""The second-chance passes' candidate images and schedules (actmax.optvis.passes)."""

import numpy as np

import actmax
from actmax.optvis import metrics, passes
from conftest import clipped


def test_headroom_stops_at_the_contrast_cap_or_short_of_clipping():
    rng = np.random.default_rng(0)
    images = np.clip(np.array([0.3, 0.5, 0.6]) + 0.05 * rng.standard_normal((2, 32, 32, 3)), 0, 1)
    room = passes.headroom(images, cap=1.0)  # clipping decides
    assert (room > 1.5).all()
    assert (clipped(metrics.stretched(images, room)) <= passes.CLIP_SHARE + 0.001).all()
    assert (clipped(metrics.stretched(images, 1.2 * room)) > 2 * passes.CLIP_SHARE).all()
    capped = metrics.stretched(images, passes.headroom(images, cap=0.08))  # the cap decides
    np.testing.assert_allclose(metrics.rms_contrast(capped, per_channel=True), 0.08, rtol=0.01)
    flat = np.full((1, 8, 8, 3), 0.5)
    assert np.isfinite(passes.headroom(flat, cap=0.3)).all()  # nothing would clip: the cap decides


def test_a_quick_preview_gives_each_pass_at_most_four_times_its_steps_and_the_default_all_it_asks():
    default = actmax.get_preset("default")
    schedules = (passes.classic_schedule, passes.revive_recipe, passes.lattice_recipe, passes.polish_schedule)
    assert [schedule(default).steps for schedule in schedules] == [default.rescue, default.revive, default.wake,
                                                                    default.polish]
    preview = default.override(steps=2, octaves=1)  # 2 steps in all: each pass gets at most 8
    assert [schedule(preview).steps for schedule in schedules] == [1, 8, 8, 8]  # rescue: one on each of its 10 octaves
    assert passes.classic_schedule(preview).octaves == 10


def test_a_shift_whose_pattern_holds_its_filter_less_well_at_equal_contrast_is_not_offered(monkeypatch):
    rng = np.random.default_rng(0)
    images = np.clip(0.5 + 0.1 * rng.standard_normal((2, 8, 8, 3)), 0, 1).astype(np.float32)
    part = actmax.Rendering("m", "conv", [0, 1], images.copy(), np.ones(2), np.zeros(2),
                            actmax.PRESETS["default"], 0, 0.0)
    monkeypatch.setattr(metrics, "best_flat", lambda *args: (np.array([[1, 1, 1], [0, 0, 0]], np.float32), None))
    monkeypatch.setattr(metrics, "pattern_hold", lambda spec, layer, images, filters: images.mean(axis=(1, 2, 3)))
    offered = list(passes.Tone(None, "conv", part.settings.override(tone=2))(part, [0, 1]))
    assert len(offered) == 2
    for candidates, _ in offered:  # brighter holds better here: item 0 moves towards white, item 1 stays
        assert candidates[0].mean() > images[0].mean() + 0.2
        np.testing.assert_array_equal(candidates[1], images[1])


def test_revive_offers_lucids_image_only_where_its_pattern_holds_at_least_as_well_or_the_image_says_nothing(
        monkeypatch):
    current = np.stack([np.full((8, 8, 3), mean, np.float32) for mean in (0.5, 0.6, 0.3, 0.6)])
    lucid = np.stack([np.full((8, 8, 3), mean, np.float32) for mean in (0.6, 0.5, 0.2, 0.5)])
    part = actmax.Rendering("m", "conv", [0, 1, 2, 3], current.copy(), np.array([1.0, 1, 1, 0]), np.zeros(4),
                            actmax.PRESETS["default"], 0, 0.0)  # item 3's image leaves its filter silent
    monkeypatch.setattr(passes, "filter_engine", lambda *args: (None, None))
    monkeypatch.setattr(passes.AscentPass, "__call__", lambda self, part, items, steps=None: iter([(lucid, None)]))
    monkeypatch.setattr(metrics, "pattern_hold", lambda spec, layer, images, filters: images.mean(axis=(1, 2, 3)) - 0.4)
    [(offered, _)] = passes.Revive(None, "conv", part.settings, 4)(part, [0, 1, 2, 3])
    # 0: holds better; 1: holds worse (its own image stays); 2: its image's pattern is silent at equal contrast
    # (-0.1), so says nothing; 3: its image is silent
    np.testing.assert_array_equal(offered, np.stack([lucid[0], current[1], lucid[2], lucid[3]]))
