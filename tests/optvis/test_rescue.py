import types

import keras
import numpy as np

import actmax
from actmax import models
from actmax.optvis import metrics, passes, picks, rescue
from conftest import clipped

JITTER_128 = "jitter:6,rotate:5"  # the default preset's transforms at 128 px, where these images were chosen


def test_boost_stretches_images_short_of_clipping_where_they_hold_their_filter_better(hed):
    kwargs = dict(model=hed, size=48, octaves=2, steps=10, seed=0, rescue=0, revive=0, wake=0, flat=0, tone=0, polish=0,
                  transforms=JITTER_128)
    plain = actmax.render("block1_conv2", "0-3", boost=0, **kwargs)
    boosted = actmax.render("block1_conv2", "0-3", boost=2, **kwargs)
    assert boosted.extra["boosted"] == 4
    contrast = [metrics.rms_contrast(r.images, per_channel=True) for r in (plain, boosted)]
    assert (contrast[1] > 1.05 * contrast[0]).all()
    assert (clipped(boosted.images) <= passes.CLIP_SHARE + 0.001).all()
    held = [metrics.robust_activation(hed, "block1_conv2", r.images, r.filters) for r in (plain, boosted)]
    assert (held[1] > 1.05 * held[0]).all()


def test_boost_keeps_the_images_a_higher_contrast_would_not_hold_better(hed):
    kwargs = dict(model=hed, size=48, octaves=2, steps=10, seed=0, rescue=0, revive=0, wake=0, flat=0, tone=0, polish=0,
                  transforms=JITTER_128)
    plain = actmax.render("block2_conv1", "0,17,93,119", boost=0, **kwargs)
    boosted = actmax.render("block2_conv1", "0,17,93,119", boost=2, **kwargs)
    assert (passes.headroom(plain.images, plain.settings.contrast) > 2).all()  # every image was tried
    changed = (boosted.images != plain.images).any(axis=(1, 2, 3))
    assert 1 <= boosted.extra["boosted"] == changed.sum() < 4
    held = [metrics.robust_activation(hed, "block2_conv1", r.images, r.filters)[changed] for r in (plain, boosted)]
    assert (held[1] > held[0]).all()


def test_boost_needs_a_contrast_cap_to_search_up_to(hed):
    result = actmax.render("block3_conv1", "0-1", model=hed, size=32, octaves=1, steps=4, contrast=0.0, boost=2)
    assert result.extra["boosted"] == 0


def test_a_pass_pads_its_items_by_at_most_a_third_in_few_batch_sizes():
    sizes = [rescue.pass_batch(count, 16) for count in range(1, 17)]
    assert set(sizes) == {1, 2, 3, 4, 6, 8, 12, 16}
    assert all(count <= size <= count * 4 / 3 for count, size in zip(range(1, 17), sizes))
    assert rescue.pass_batch(9, 10) == 10 and rescue.pass_batch(1, 1) == 1  # never past the render's batch


def test_an_image_that_fires_its_filter_replaces_a_silent_one_however_it_holds(monkeypatch):
    """Alive beats silent: a filter that fires on one spot only is not reported dead; among alive images, the
    better-held one wins."""
    part = actmax.Rendering("m", "conv", [0, 1, 2], np.zeros((3, 4, 4, 3), np.float32),
                            np.array([-1e-6, 0.0, 0.5]), np.zeros(3), actmax.PRESETS["default"], 0, 0.0)
    candidates = np.ones((3, 4, 4, 3), np.float32)
    monkeypatch.setattr(metrics, "measure", lambda spec, layer, images, filters: np.array([2e-4, -1e-4, 0.9]))
    measured = []
    monkeypatch.setattr(metrics.FilterScorer, "held", lambda self, images, filters: measured.append(filters)
                        or np.full(len(images), -1e-4))
    held = np.array([1e-5, 1e-5, 0.2])  # the current images hold their filters better than the candidates
    assert rescue.keep_better(metrics.FilterScorer(None, "conv"), part, [0, 1, 2], candidates, None, held) == {0}
    assert part.activations.tolist() == [2e-4, 0.0, 0.5] and part.images[0].min() == 1 and held[0] == -1e-4
    assert measured == [[0, 2]]  # a candidate that does not fire is not held up to perturbations: it cannot win


def test_a_filter_that_cannot_pass_zero_takes_a_better_held_image_that_beats_grey(monkeypatch):
    """After GroupNorm a filter's mean may stay below zero: an image counts where it beats flat grey, and the
    better-held of two such images wins, as it would above zero."""
    part = actmax.Rendering("m", "conv", [0, 1], np.zeros((2, 4, 4, 3), np.float32), np.array([-0.8, -0.5]),
                            np.zeros(2), actmax.PRESETS["default"], 0, 0.0, greys=np.array([-0.9, -0.9]))
    monkeypatch.setattr(metrics, "measure", lambda spec, layer, images, filters: np.array([-0.6, -0.95]))
    monkeypatch.setattr(metrics.FilterScorer, "held", lambda self, images, filters: np.array(
        [{0: -0.5, 1: -0.4}[f] for f in filters]))
    held = np.array([-0.7, -0.6])
    assert rescue.keep_better(metrics.FilterScorer(None, "conv"), part, [0, 1], np.ones((2, 4, 4, 3), np.float32),
                              None, held) == {0}
    assert part.activations.tolist() == [-0.6, -0.5] and part.alive.all()


def test_flat_colours_spread_over_the_colour_cube_or_over_greys():
    rgb = metrics.flat_colours(27, 3)
    assert len(np.unique(rgb, axis=0)) == 27 and {0.0, 0.5, 1.0} == set(rgb.ravel())
    grey = metrics.flat_colours(27, 1)
    np.testing.assert_allclose(grey[:, 0], np.linspace(0, 1, 27))
    many = metrics.flat_colours(27, 5)  # 27 ** (1/5) leaves 1 level: greys, every channel equal
    assert len(many) == 27 and (many == many[:, :1]).all()


def laplacian_edges(inputs):
    """Each channel's edges (8 × its Laplacian), with no padding: a flat image has none."""
    edges = keras.layers.DepthwiseConv2D(3, use_bias=False)
    outputs = edges(inputs)
    laplacian = 8 * np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float32)
    edges.set_weights([np.repeat(laplacian[:, :, None, None], inputs.shape[-1], axis=2)])
    return outputs


def negative_size(values):
    return -keras.ops.abs(values)


def flatness_model() -> keras.Model:
    """Units that any pattern weakens: 'flatness' unit k is 1 + k/4 minus the size of the edges of channel k, so a flat
    image of any colour is their maximum; 'mood' unit k also wants dark (k = 0) or bright (k = 1) images."""
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Activation(negative_size, name="smooth")(laplacian_edges(inputs))
    flatness = keras.layers.Conv2D(2, 1, name="flatness")
    mood = keras.layers.Conv2D(2, 1, name="mood")
    outputs = mood(keras.layers.Concatenate()([flatness(x), keras.layers.Cropping2D(1)(inputs)]))
    flatness.set_weights([np.eye(3, 2, dtype=np.float32)[None, None], np.array([1.0, 1.25], np.float32)])
    brightness = np.array([[1, 1], [1, 1], [-1, 1], [-1, 1], [-1, 1]], np.float32)
    mood.set_weights([brightness[None, None], np.array([3.0, 0.0], np.float32)])
    return keras.Model(inputs, outputs)


def test_a_unit_that_any_pattern_weakens_gets_the_flat_colour_that_drives_it_hardest():
    spec = actmax.models.ModelSpec("flatness", flatness_model(), "unit", "units that want flat images")
    kwargs = dict(model=spec, size=32, octaves=2, steps=10, seed=0)
    ascended = actmax.render("flatness", [0, 1], flat=0, **kwargs)
    flat = actmax.render("flatness", [0, 1], **kwargs)
    assert flat.extra["flattened"] == 2
    assert (metrics.rms_contrast(flat.images) == 0).all() and (metrics.rms_contrast(ascended.images) > 0).all()
    np.testing.assert_allclose(flat.activations, [1.0, 1.25], atol=1e-5)
    assert (flat.activations > ascended.activations).all()
    moods = actmax.render("mood", [0, 1], **kwargs)
    assert (moods.images[0] == 0).all() and (moods.images[1] == 1).all()  # black, white


def test_a_brightness_unit_gets_a_flat_tile_for_the_faint_noise_the_ascent_leaves_close_to_it(monkeypatch):
    """A unit linear in brightness peaks on flat white; the ascent ends short of it on a noisy, near-white tile, close
    to it, whose noise holds the unit no better at any contrast: the flat tile replaces it."""
    inputs = keras.Input((None, None, 3))
    unit = keras.layers.Conv2D(1, 3, name="brightness")
    spec = actmax.models.ModelSpec("bright", keras.Model(inputs, unit(inputs)), "unit", "a brightness unit")
    unit.set_weights([np.full((3, 3, 3, 1), 1 / 27, np.float32), np.zeros(1, np.float32)])
    kwargs = dict(model=spec, size=32, octaves=2, steps=20, seed=0, rescue=0, wake=0, tone=0, polish=0)
    flat = actmax.render("brightness", [0], **kwargs)
    patterns_hold = lambda spec, part, items, colours: np.zeros(len(items), bool)  # noqa: E731
    monkeypatch.setattr(picks, "pattern_loses", patterns_hold)
    noisy = actmax.render("brightness", [0], **kwargs)
    assert 1.0 < 1.0 / noisy.activations[0] < 1.25 and metrics.rms_contrast(noisy.images)[0] > 0.05
    assert flat.extra["flattened"] == 1 and (flat.images == 1).all()


def dark_edges_model() -> keras.Model:
    """One unit that wants edges on a dark image: the size of the edges plus twice the darkness of each channel, so
    a flat black tile drives it more than half as hard as a mid-grey pattern does, and the pattern drives it harder."""
    inputs = keras.Input((None, None, 3))
    size = keras.layers.Activation(keras.ops.abs)(laplacian_edges(inputs))
    unit = keras.layers.Conv2D(1, 1, name="dark_edges")
    outputs = unit(keras.layers.Concatenate()([size, keras.layers.Cropping2D(1)(inputs)]))
    unit.set_weights([np.array([0.2, 0.2, 0.2, -2, -2, -2], np.float32)[None, None, :, None], np.array([6.0])])
    return keras.Model(inputs, outputs)


def test_an_image_whose_filter_wants_a_darker_tone_is_moved_towards_black_and_keeps_its_pattern():
    spec = actmax.models.ModelSpec("dark", dark_edges_model(), "unit", "a unit that wants dark edges")
    kwargs = dict(model=spec, size=32, octaves=2, steps=10, seed=0, rescue=0, wake=0, flat=0, polish=0)
    plain = actmax.render("dark_edges", [0], tone=0, **kwargs)
    toned = actmax.render("dark_edges", [0], **kwargs)
    assert toned.extra["toned"] == 1 and "toned" not in plain.extra
    assert toned.images.mean() < plain.images.mean() - 0.1
    assert metrics.rms_contrast(toned.images)[0] > 0.5 * metrics.rms_contrast(plain.images)[0]
    held = [metrics.robust_activation(spec, "dark_edges", r.images, [0]) for r in (plain, toned)]
    assert held[1] > held[0] and toned.activations[0] > plain.activations[0]


def test_a_polished_image_wins_where_it_drives_its_filter_harder_and_keeps_most_of_its_hold():
    assert rescue.drives_harder(0.8, 1.0, 2.0, 1.0)  # twice the activation as shown, 80% of the hold
    assert not rescue.drives_harder(0.5, 1.0, 2.0, 1.0)  # the pattern no longer holds its filter under shifts
    assert not rescue.drives_harder(1.2, 1.0, 0.9, 1.0)  # better held, but weaker as shown: not a polish
    assert rescue.drives_harder(-0.21, -0.23, 1.6, 1.5) and rescue.drives_harder(-0.12, -0.1, 0.3, -0.2)  # below 0
    assert not rescue.drives_harder(-0.14, -0.1, 1.2, -0.2)  # 40% further below zero
    assert rescue.holds_better(1.2, 1.0, 0.9, 1.0) and not rescue.holds_better(0.8, 1.0, 2.0, 1.0)


def test_a_polish_that_loses_too_much_hold_is_offered_scaled_back_and_the_first_share_kept_ends_it(monkeypatch):
    """Item 0's full polish keeps a tenth of its hold, half the way about half; a quarter of the way keeps over 3/4
    and wins. Item 1's full polish wins at once, and it is offered nothing else (no share compounds on a kept one)."""
    part = actmax.Rendering("m", "conv", [0, 1], np.zeros((2, 4, 4, 3), np.float32), np.ones(2), np.zeros(2),
                            actmax.PRESETS["default"], 0, 0.0)
    monkeypatch.setattr(passes.AscentPass, "__call__", lambda self, part, items: iter(
        [(np.ones((2, 4, 4, 3), np.float32), np.full(2, 9.0))]))
    monkeypatch.setattr(metrics, "measure", lambda spec, layer, images, filters: 1 + images.mean(axis=(1, 2, 3)))
    offered = []
    monkeypatch.setattr(metrics.FilterScorer, "held", lambda self, images, filters: offered.append(
        images.mean(axis=(1, 2, 3))) or 1 - images.mean(axis=(1, 2, 3)) * np.array([[0.9, 0.2][f] for f in filters]))
    held, polish = np.ones(2), passes.Polish.__new__(passes.Polish)
    scorer = metrics.FilterScorer(None, "conv")
    assert rescue._run_pass(scorer, part, [0, 1], held, {("polish", 2): polish}, "polish", None, 2,
                            rescue.drives_harder) == {0, 1}
    np.testing.assert_allclose(np.concatenate(offered), [1, 1, 128 / 255, 64 / 255])  # then nothing new to measure
    assert part.images[0].max() == 64 / 255 and part.images[1].min() == 1 and part.objective_values.tolist() == [0, 9]
    np.testing.assert_allclose(held, [1 - 0.9 * 64 / 255, 0.8])


def test_an_image_still_silent_as_shown_after_its_polish_is_polished_on_for_longer(monkeypatch):
    """Item 0's polish and its shares leave its filter below zero as shown: it alone is polished on, from itself, for
    POLISH_LONGER times the steps, and kept once its filter fires. Item 1 fires already; item 2's polish did not move
    it (a zero gradient), so no longer polish would: neither is offered more."""
    part = actmax.Rendering("m", "conv", [0, 1, 2], np.zeros((3, 4, 4, 3), np.float32), np.array([-1.0, 1.0, -1.0]),
                            np.zeros(3), actmax.PRESETS["default"], 0, 0.0)
    runs = []

    def ascent(self, part, items, steps=None):
        runs.append((list(items), steps, part.images[items].mean()))
        first = np.array([0.2, 0.2, 0.0], np.float32)[items]  # item 2 unmoved
        yield np.full((len(items), 4, 4, 3), 0.9, np.float32) if steps else first[:, None, None, None] * np.ones(
            (len(items), 4, 4, 3), np.float32), np.full(len(items), 7.0)

    monkeypatch.setattr(passes.AscentPass, "__call__", ascent)
    monkeypatch.setattr(metrics, "measure", lambda spec, layer, images, filters: images.mean(axis=(1, 2, 3)) - 0.5)
    monkeypatch.setattr(metrics.FilterScorer, "held", lambda self, images, filters: images.mean(axis=(1, 2, 3)))
    polish = passes.Polish.__new__(passes.Polish)
    polish.engine = types.SimpleNamespace(settings=types.SimpleNamespace(steps=10))
    kept = rescue._run_pass(metrics.FilterScorer(None, "conv"), part, [0, 1, 2], np.zeros(3),
                            {("polish", 3): polish}, "polish", None, 3, rescue.drives_harder)
    assert kept == {0} and runs == [([0, 1, 2], None, 0.0), ([0], 10 * passes.POLISH_LONGER, 0.0)]
    assert part.activations[0] > 0 and np.allclose(part.images[0], 0.9) and part.images[1:].max() == 0
    assert part.objective_values.tolist() == [7.0, 0.0, 0.0]


def test_the_polish_makes_each_image_as_shown_drive_its_filter_harder_and_hold_it_as_well(hed):
    """Transform-free steps last: the pixels as saved drive the filter harder, the pattern still holds it."""
    kwargs = dict(model=hed, size=32, octaves=1, steps=8, seed=0, rescue=0, wake=0, boost=0, flat=0, tone=0)
    plain = actmax.render("block3_conv1", "0-3", polish=0, **kwargs)
    polished = actmax.render("block3_conv1", "0-3", polish=5, **kwargs)
    assert polished.extra["polished"] >= 3 and "polished" not in plain.extra
    assert (polished.activations >= plain.activations).all()
    assert (polished.activations > 1.05 * plain.activations).sum() >= 3
    held = [metrics.robust_activation(hed, "block3_conv1", r.images, r.filters) for r in (plain, polished)]
    assert (held[1] >= rescue.POLISH_HOLD * held[0]).all()


def strided_classifier() -> keras.Model:
    """Three stride-2 convolutions and a confident softmax head: a network that is not shift-invariant."""
    keras.utils.set_random_seed(2)
    inputs = keras.Input((32, 32, 3))
    x = inputs
    for filters in (8, 16, 16):
        x = keras.layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(x)
    head = keras.layers.Dense(4, activation="softmax", name="classes")
    model = keras.Model(inputs, head(keras.layers.GlobalAveragePooling2D()(x)))
    kernel, bias = head.get_weights()
    head.set_weights([kernel * 30, bias])
    return model


def test_a_strided_classifier_calls_each_polished_class_image_its_class():
    """Jittered steps leave an image whose shifted copies the model calls the class, but not the image as shown;
    the polish fixes the image as shown. The revive pass, off here, trades some of that for a better hold (0.99996
    → 0.914 as shown, 0.108 → 0.181 under the perturbations, on class 1); each image is still called its class."""
    spec = actmax.load_model(strided_classifier(), preprocess="unit")
    unpolished = actmax.render("classes", "all", model=spec, polish=0, revive=0)
    assert unpolished.activations.min() < 0.8
    assert actmax.render("classes", "all", model=spec, revive=0).activations.min() > 0.95
    assert actmax.render("classes", "all", model=spec).activations.min() > 0.5  # of 4 classes: called its class


def test_an_objective_render_is_polished_too_and_scored_as_its_image_is_shown():
    """An objective's variants get the polish, judged by the objective itself; their activation is the objective on
    the saved image as shown (here a softmax class's log-odds, which the model's own probabilities give back)."""
    spec = actmax.load_model(strided_classifier(), preprocess="unit")
    kwargs = dict(model=spec, variants=2, rescue=0, boost=0)
    unpolished = actmax.render_objective("classes:1", polish=0, **kwargs)
    polished = actmax.render_objective("classes:1", **kwargs)
    p = [spec.model(models.model_input(spec, r.images)).numpy()[:, 1] for r in (unpolished, polished)]
    assert p[0].max() < 0.8 and p[1].min() > 0.95 and polished.extra["polished"] == 2
    np.testing.assert_allclose(polished.activations, np.log(p[1] / (1 - p[1])), rtol=1e-3)
    assert polished.alive.all()


def test_an_objective_its_ascent_leaves_silent_gets_the_rescue_pass(hed):
    """An objective's variants get the second chances that read no single filter: a channel that the jittered ascent
    leaves silent or barely alive fires far harder after the classic-schedule pass. Which channels those are moves
    with the CPU's arithmetic (channel 8 is silent and rescued on an Intel Xeon; on an AMD EPYC it stays silent,
    and 13, at 0.02, is rescued to 11.4), so each is checked and at least one must be rescued."""
    kwargs = dict(model=hed, size=64, octaves=4, steps=19, seed=0, wake=0, boost=0, polish=0)  # 76 steps: room for
    rescues = 0  # 30 a rescue octave (passes.PASS_BUDGET)
    for goal in ("block5_conv1:8", "block5_conv1:13"):
        plain = actmax.render_objective(goal, rescue=0, **kwargs)
        rescued = actmax.render_objective(goal, rescue=30, **kwargs)
        if rescued.extra["rescued"]:
            assert rescued.alive.all() and (rescued.activations > 10 * plain.activations).all()
        else:
            np.testing.assert_array_equal(rescued.images, plain.images)
        rescues += rescued.extra["rescued"]
    assert rescues >= 1
    assert [entry[0] for entry in rescue.GOAL_PASSES] == ["rescue", "wake", "boost", "polish"]


def test_an_objective_no_mean_wakes_fires_on_its_lattice(hed):
    """The wake pass reads an objective on its layers' lattice of positions one receptive field apart: a channel
    whose mean neither the ascent nor the classic schedule lifts fires on a patch repeated across the tile."""
    kwargs = dict(model=hed, size=64, octaves=2, steps=10, seed=0, rescue=30, boost=0, polish=0)
    plain = actmax.render_objective("block5_conv1:11", wake=0, **kwargs)
    woken = actmax.render_objective("block5_conv1:11", wake=64, **kwargs)
    assert not plain.alive.any() and woken.alive.all() and woken.extra["woken"] == 1


def test_a_close_call_in_low_precision_is_made_again_in_float32(monkeypatch):
    """Holds are measured in the render's precision; where a candidate's is within that precision's error of its
    image's (item 0: 1% better in bfloat16), both are measured again in float32, which decides (0.4% worse there).
    A clear win (item 1) is not measured again."""
    part = actmax.Rendering("m", "conv", [0, 1], np.zeros((2, 4, 4, 3), np.float32), np.ones(2), np.zeros(2),
                            actmax.PRESETS["default"], 0, 0.0)
    monkeypatch.setattr(metrics, "measure", lambda spec, layer, images, filters: np.full(len(images), 2.0))
    monkeypatch.setattr(metrics.FilterScorer, "held", lambda self, images, filters: np.array(
        [{0: 0.505, 1: 0.9}[f] for f in filters]))
    exact = []
    monkeypatch.setattr(metrics.FilterScorer, "held_exactly", lambda self, images, filters: exact.append(
        (images.mean(), list(filters))) or np.full(len(images), 0.498 if images.mean() else 0.5))
    held = np.array([0.5, 0.5])
    low = metrics.FilterScorer(None, "conv", "mixed_bfloat16")
    assert rescue.keep_better(low, part, [0, 1], np.ones((2, 4, 4, 3), np.float32), None, held) == {1}
    assert exact == [(1.0, [0]), (0.0, [0])] and held.tolist() == [0.5, 0.9]
    held = np.array([0.5, 0.5])
    assert rescue.keep_better(metrics.FilterScorer(None, "conv"), part, [0], np.ones((1, 4, 4, 3), np.float32),
                              None, held[:1]) == {0} and len(exact) == 2  # float32 holds are exact already


def test_a_hold_near_a_picks_line_is_measured_again_in_float32(monkeypatch):
    """The holds that pick a pass's items: item 0's low-precision hold (0.505 of an activation of 1, floor 0) sits
    within that precision's error of WEAK_HOLD's line, and float32 (0.49) decides that the image does not hold its
    filter; item 1's (0.004) sits at the floor's line. Item 2's (0.8) is clear of both and is not measured again."""
    part = actmax.Rendering("m", "conv", [0, 1, 2], np.zeros((3, 4, 4, 3), np.float32), np.ones(3), np.zeros(3),
                            actmax.PRESETS["default"], 0, 0.0)
    exact = []
    monkeypatch.setattr(metrics.FilterScorer, "held_exactly", lambda self, images, filters: exact.append(
        list(filters)) or np.array([{0: 0.49, 1: -0.01}[f] for f in filters]))
    low = metrics.FilterScorer(None, "conv", "mixed_bfloat16")
    held = rescue.settled(low, part, np.array([0.505, 0.004, 0.8]))
    assert held.tolist() == [0.49, -0.01, 0.8] and exact == [[0, 1]]
    assert picks.loose(part, held).tolist() == [True, True, False]
    full = np.array([0.505, 0.004, 0.8])
    assert rescue.settled(metrics.FilterScorer(None, "conv"), part, full) is full and len(exact) == 1
