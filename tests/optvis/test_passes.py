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
    schedules = (passes.classic_schedule, passes.lucid_recipe, passes.lattice_recipe, passes.polish_schedule)
    asked = [default.rescue, 40, default.wake, default.polish]  # revive: off in the default; 40 asked here
    assert [schedule(default.override(revive=40)).steps for schedule in schedules] == asked
    preview = default.override(steps=2, octaves=1, revive=40)  # 2 steps in all: each pass gets at most 8
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
