import dataclasses
import re

import keras
import numpy as np
import pytest

import actmax
from actmax.optvis import ascent, engine as engines, metrics, render as rendering, result as results
from actmax.errors import ActmaxError, FilterError, ObjectiveError

from conftest import SMALL


def test_octave_schedule_ends_at_size_and_grows_by_scale():
    sizes = ascent.octave_sizes(128, 10, 1.2)
    assert sizes[-1] == 128 and len(sizes) == 10 and sizes[0] == round(128 / 1.2 ** 9)
    assert all(b > a for a, b in zip(sizes, sizes[1:]))
    assert ascent.octave_sizes(64, 1, 1.2) == [64]


def test_a_fixed_size_model_is_rendered_at_its_own_input_size():
    """Pixel for pixel and in its aspect ratio: a square image resized into its 12 × 20 input would be squeezed (and,
    were it larger, sampled on a grid)."""
    inputs = keras.Input((12, 20, 3))
    spec = actmax.load_model(keras.Model(inputs, keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)))
    result = actmax.render("conv", "0-1", model=spec, size=64, octaves=2, steps=10, animate=True)
    assert result.images.shape == (2, 12, 20, 3) and result.frames.shape[2:] == (12, 20, 3)
    assert result.settings.size == 20 and result.alive.all()


def test_a_model_that_resizes_any_input_first_is_rendered_at_the_size_it_sees():
    """Input((None, None, 3)) → Rescaling → Resizing(24, 40): a 64 px image would be squeezed and sampled inside."""
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Resizing(24, 40)(keras.layers.Rescaling(1 / 255)(inputs))
    spec = actmax.load_model(keras.Model(inputs, keras.layers.Conv2D(4, 3, activation="relu", name="conv")(x)))
    result = actmax.render("conv", "0-1", model=spec, size=64, octaves=2, steps=10)
    assert spec.fixed_sides == (24, 40) and result.images.shape == (2, 24, 40, 3) and result.alive.all()
    later = keras.layers.Resizing(24, 40)(keras.layers.Conv2D(4, 3, name="conv")(inputs))  # a resize after a conv
    assert actmax.load_model(keras.Model(inputs, later)).fixed_sides == (None, None)


@pytest.mark.parametrize("crop, size", [("CenterCrop", 32), ("CenterCrop", 46), ("CenterCrop", 64),
                                        ("RandomCrop", 46)])
def test_a_model_that_crops_its_input_first_is_rendered_at_the_crop_it_sees(crop, size):
    """Input((None, None, 3)) → CenterCrop(24, 40): rendered at 24 x 40, so no crop cuts the image nor, below that
    size, shrinks what the model sees (traced for any size, Keras's CenterCrop gives a 46 px image 1 px, and its
    RandomCrop, a centre crop at inference, fails)."""
    inputs = keras.Input((None, None, 3))
    x = getattr(keras.layers, crop)(24, 40)(keras.layers.Rescaling(1 / 255)(inputs))
    spec = actmax.load_model(keras.Model(inputs, keras.layers.Conv2D(4, 3, activation="relu", name="conv")(x)))
    result = actmax.render("conv", "0-1", model=spec, size=size, octaves=2, steps=10)
    assert spec.fixed_sides == (24, 40) and result.images.shape == (2, 24, 40, 3) and result.alive.all()


def test_a_fixed_size_model_that_resizes_first_is_rendered_at_the_size_it_sees():
    """Input((96, 96, 3)) → Resizing(24, 40): a 96 px image would be squeezed and only some of its pixels sampled.
    (Seeded: a filter that draws weights barely able to pass zero leaves its value to resampling error.)"""
    keras.utils.set_random_seed(1)
    inputs = keras.Input((96, 96, 3))
    x = keras.layers.Resizing(24, 40)(keras.layers.Rescaling(1 / 255)(inputs))
    model = keras.Model(inputs, keras.layers.Conv2D(4, 3, name="conv")(x))
    spec = actmax.load_model(model)
    result = actmax.render("conv", "0-1", model=spec, size=64, octaves=2, steps=10)
    assert spec.fixed_sides == (24, 40) and result.images.shape == (2, 24, 40, 3) and result.alive.all()
    assert actmax.layer_table(spec) == [("conv", "Conv2D", (22, 38), 4)]
    fed = keras.ops.image.resize(results.quantise(result.images) * 255, (96, 96))  # as the user's own code feeds it
    np.testing.assert_allclose(model(fed).numpy().mean(axis=(1, 2))[[0, 1], [0, 1]],
                               metrics.measure(spec, "conv", results.quantise(result.images), [0, 1]), rtol=0.05,
                               atol=2e-3)


def test_a_filter_whose_mean_cannot_pass_zero_is_alive_where_its_image_beats_flat_grey():
    """GroupNorm normalises each image as a whole, so the 1x1 conv after it (bias -10) stays below zero whatever the
    image; its rendering still raises it above what a flat grey image gives, and shows what does."""
    keras.utils.set_random_seed(3)
    inputs = keras.Input((None, None, 3))
    x = keras.layers.GroupNormalization(groups=1, center=False, scale=False)(keras.layers.Conv2D(4, 3)(inputs))
    linear = keras.layers.Conv2D(2, 1, bias_initializer=keras.initializers.Constant(-10.0), name="linear")(x)
    spec = actmax.load_model(keras.Model(inputs, linear))
    result = actmax.render("linear", "0-1", model=spec, size=32, octaves=2, steps=10, rescue=0, wake=0, boost=0)
    assert (result.activations < 0).all() and (result.activations > result.greys).all() and result.alive.all()
    assert results.combine([result, result]).alive.tolist() == [True] * 4
    assert result.select([1]).greys == result.greys[1]
    assert not dataclasses.replace(result, greys=result.activations).alive.any()  # no better than grey: dead


def test_a_unit_that_is_above_zero_on_any_input_is_dead_unless_its_image_passes_its_firing_floor():
    """A sigmoid or a softmax is above zero whatever the image, so zero cannot tell a raised unit from a silent one:
    each fires above the value its input takes at zero (0.5 for a sigmoid, chance for a softmax)."""
    keras.utils.set_random_seed(0)  # the weights, whatever tests ran before
    inputs = keras.Input((None, None, 3))
    gate = keras.layers.Conv2D(4, 3, activation="sigmoid", name="gate")(inputs)
    pooled = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, activation="relu", name="relu")(gate))
    soft = keras.layers.Softmax(name="soft")(keras.layers.Dense(3, name="logits")(pooled))
    stuck = keras.layers.Dense(1, activation="sigmoid", name="stuck")
    model = keras.Model(inputs, [soft, stuck(pooled)])
    stuck.set_weights([np.zeros((4, 1), np.float32), np.array([-5.0], np.float32)])  # sigmoid(-5) for any image
    floors = {name: actmax.models.firing_floor(model, name) for name in ("gate", "relu", "logits", "soft", "stuck")}
    assert floors == {"gate": 0.5, "relu": 0.0, "logits": 0.0, "soft": pytest.approx(1 / 3), "stuck": 0.5}
    spec = actmax.models.ModelSpec("gates", model, "unit", "")
    silent = actmax.render("stuck", "all", model=spec, size=32, octaves=2, steps=4)
    assert 0 < silent.activations[0] == pytest.approx(silent.greys[0]) and silent.floor == 0.5
    assert not silent.alive.any() and not results.combine([silent, silent]).alive.any()
    assert not silent.select([0]).alive.any()
    raised = actmax.render("gate", "all", model=spec, size=32, octaves=2, steps=8)
    assert raised.alive.all() and (raised.activations > 0.5).all()


def test_a_model_that_fixes_one_side_is_rendered_at_that_side_and_size():
    inputs = keras.Input((12, None, 3))
    spec = actmax.load_model(keras.Model(inputs, keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)))
    result = actmax.render("conv", "0-1", model=spec, size=32, octaves=2, steps=10)
    assert result.images.shape == (2, 12, 32, 3) and result.alive.all()


@pytest.mark.parametrize("size, expected", [
    (96, {"size": 96, "shape": ""}), ("96", {"size": 96, "shape": ""}), ("64x32", {"size": 64, "shape": "64x32"}),
    (" 32 × 48 ", {"size": 48, "shape": "32x48"}), ("40x40", {"size": 40, "shape": ""}), (None, {}),
])
def test_size_is_a_side_or_a_rectangle(size, expected):
    from actmax.optvis import presets
    assert presets.size_settings(size) == expected


@pytest.mark.parametrize("size", ["12x", "x12", "abc", "4x100", "100x4", "7", "-8"])
def test_a_bad_size_says_what_a_size_is(size):
    from actmax.optvis import presets
    with pytest.raises(ActmaxError, match="is not N or WxH with sides of at least 8 px"):
        presets.size_settings(size)


def test_a_model_that_takes_any_size_renders_the_rectangle_asked(hed):
    """Width x height, as images are named; each octave keeps the aspect ratio, and the model sees the image as it
    is (not resized to the final shape, which would make the small octaves pointless)."""
    result = actmax.render("block2_conv1", "0-1", model=hed, size="64x40", octaves=2, steps=4, animate=True)
    assert result.images.shape == (2, 40, 64, 3) and result.frames.shape[2:] == (40, 64, 3)
    assert result.settings.size == 64 and result.settings.shape == "64x40" and result.alive.all()
    np.testing.assert_allclose(metrics.measure(hed, "block2_conv1", results.quantise(result.images), [0, 1]),
                               result.activations, rtol=1e-3)
    again = actmax.render("block2_conv1", "0-1", model=hed, size=40, octaves=2, steps=4)
    assert again.images.shape == (2, 40, 40, 3) and again.settings.shape == ""
    from actmax import models
    assert models.model_input(hed.sized((40, 64)), np.zeros((1, 20, 32, 3), np.float32)).shape == (1, 20, 32, 3)


def test_a_rectangle_too_thin_for_a_layer_is_one_line(hed):
    with pytest.raises(ActmaxError, match="shape '64x40' does not match size 128; ask for a rectangle as size='WxH'"):
        actmax.render("block2_conv1", "0", model=hed, shape="64x40")
    with pytest.raises(ActmaxError, match="block5_conv3 need images of at least 16 px a side; the size asked, "
                                          "200x10, is 10 px across"):
        actmax.render("block5_conv3", "0", model=hed, size="200x10", octaves=1, steps=1)


def test_a_fixed_size_model_keeps_its_own_size_whatever_the_rectangle():
    inputs = keras.Input((12, 20, 3))
    spec = actmax.load_model(keras.Model(inputs, keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)))
    result = actmax.render("conv", "0", model=spec, size="64x32", octaves=1, steps=2)
    assert result.images.shape == (1, 12, 20, 3) and result.settings.shape == ""


def test_jitter_in_percent_is_a_share_of_the_rendered_images_shorter_side():
    """The default preset's `jitter:5%` is 2 px on a model fixed at 32 × 48 (6 px, its 128 px figure, was a fifth
    of the image)."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 48, 3))
    spec = actmax.load_model(keras.Model(inputs, keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)))
    runs = {jitter: actmax.render("conv", "0-1", model=spec, preset="classic", transforms=jitter, pre_activation=True,
                                  **SMALL).images  # the pre-activation: a gradient even where a random filter is silent
            for jitter in ("jitter:5%", "jitter:2", "jitter:6")}
    np.testing.assert_array_equal(runs["jitter:5%"], runs["jitter:2"])
    assert not np.array_equal(runs["jitter:5%"], runs["jitter:6"])

@pytest.mark.parametrize("preset", ["classic", "default"])
def test_rendered_filters_beat_their_starting_noise(hed, preset):
    result = actmax.render("block3_conv1", "0-3", model=hed, preset=preset, size=48, octaves=3, steps=8)
    settings = actmax.get_preset(preset).override(size=48, octaves=3, steps=8)
    engine = ascent.build(lambda x: x, actmax.channel("x", 0), settings)
    noise = results.quantise(engine.param.to_image(engines.initial(engine, 0, [0, 1, 2, 3])).numpy())
    import tensorflow as tf
    noise = tf.image.resize(noise, (48, 48)).numpy()
    before = metrics.measure(hed, "block3_conv1", noise, result.filters)
    assert result.images.shape == (4, 48, 48, 3)
    assert (result.activations[result.alive] > 3 * np.maximum(before[result.alive], 1e-3)).all()
    assert result.alive.sum() >= 3


def test_batch_gives_the_same_images_as_one_by_one(hed):
    batched = actmax.render("block2_conv1", "0-2", model=hed, preset="classic", batch=3, **SMALL)
    single = actmax.render("block2_conv1", "0-2", model=hed, preset="classic", batch=1, **SMALL)
    np.testing.assert_allclose(batched.images, single.images, atol=2 / 255)
    np.testing.assert_allclose(batched.activations, single.activations, rtol=0.02, atol=1e-3)


def test_same_seed_same_images_other_seed_other_images(hed):
    a = actmax.render("block2_conv1", "5", model=hed, seed=3, **SMALL)
    b = actmax.render("block2_conv1", "5", model=hed, seed=3, **SMALL)
    c = actmax.render("block2_conv1", "5", model=hed, seed=4, **SMALL)
    np.testing.assert_array_equal(a.images, b.images)
    assert not np.array_equal(a.images, c.images)


def test_saved_images_are_eight_bit_exact(hed):
    result = actmax.render("block1_conv1", "0", model=hed, **SMALL)
    np.testing.assert_allclose(result.images * 255, np.round(result.images * 255), atol=1e-3)


def test_top_and_sort(hed):
    result = actmax.render("block2_conv1", "0-5", model=hed, top=3, sort="activation", preset="classic", **SMALL)
    full = actmax.render("block2_conv1", "0-5", model=hed, preset="classic", **SMALL)
    strongest = list(np.array(full.filters)[np.argsort(-full.activations)][:3])
    assert result.filters == strongest
    assert list(result.activations) == sorted(result.activations, reverse=True)
    by_index = actmax.render("block2_conv1", "0-5", model=hed, top=3, preset="classic", **SMALL)
    assert by_index.filters == sorted(strongest)


def test_last_partial_batch_is_padded_not_retraced(hed):
    result = actmax.render("block2_conv1", "0-4", model=hed, batch=2, **SMALL)
    assert result.filters == [0, 1, 2, 3, 4] and result.images.shape[0] == 5


def test_progress_is_reported_per_octave_and_names_each_pass_before_its_batch_is_done(hed):
    seen = []
    actmax.render("block1_conv1", "0-3", model=hed, batch=2, progress=lambda *a, **k: seen.append((a[:3], k)), **SMALL)
    assert [at for at, named in seen if not named] == [(0, 4, 1), (0, 4, 2), (2, 4, 2), (2, 4, 1), (2, 4, 2),
                                                        (4, 4, 2)]
    stages = [(at[0], named["stage"]) for at, named in seen if named]
    stage_line = r"(rescue|revive|wake|boost|flat|tone|polish): \d+ filters?"
    assert stages and all(re.fullmatch(stage_line, stage) for _, stage in stages)
    assert stages[0][0] == 0  # the first batch's passes run before it counts as done


def test_an_objective_render_reports_its_octaves_then_names_each_pass_on_its_variants(hed):
    seen = []
    actmax.render_objective("block5_conv1:13", model=hed, variants=2, size=32, octaves=2, steps=4, wake=8,
                            progress=lambda *a, **k: seen.append((a[:3], k.get("stage"))))
    assert [at for at, stage in seen if not stage] == [(0, 2, 1), (0, 2, 2), (2, 2, 2)]
    stages = [stage for _, stage in seen if stage]
    assert stages and all(re.fullmatch(r"(rescue|wake|boost|polish): \d+ variants?", stage) for stage in stages)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(layer="block9_conv1"), ActmaxError, "unknown layer"),
    (dict(layer="block1_conv1", filters="64"), FilterError, "0-63"),
    (dict(layer="block1_conv1", filters=[70]), FilterError, "0-63"),
    (dict(layer="block1_conv1", preset="fancy"), ActmaxError, "unknown preset"),
    (dict(layer="block1_conv1", colour=True), ActmaxError, "unknown setting"),
    (dict(layer="block1_conv1", sort="name"), ActmaxError, "unknown sort"),
    (dict(layer="block1_conv1", filters=[1.5]), FilterError, "whole numbers"),
    (dict(layer="block1_conv1", filters=[]), FilterError, "no filters given"),
    (dict(layer="block1_conv1", steps=0), ActmaxError, "^steps must be a whole number of at least 1, not 0$"),
    (dict(layer="block1_conv1", octaves=2.5), ActmaxError, "octaves must be a whole number"),
    (dict(layer="block1_conv1", lr=-1), ActmaxError, "^lr must be a number of at least 0, not -1$"),
    (dict(layer="block1_conv1", steps="10"), ActmaxError, "steps must be a whole number of at least 1, not '10'"),
])
def test_bad_arguments(hed, kwargs, error, message):
    with pytest.raises(error, match=message):
        actmax.render(model=hed, **{**SMALL, **kwargs})


def test_numpy_numbers_are_taken_as_python_ones(hed):
    """Filters and settings from NumPy (np.arange, np.int64) render as ints do: TensorFlow would refuse an int64
    step count, and JSON a NumPy filter index."""
    result = actmax.render("block1_conv1", np.arange(2), model=hed, **{**SMALL, "steps": np.int64(2)})
    assert result.filters == [0, 1] and all(type(f) is int for f in result.filters)
    assert type(result.settings.steps) is int


def test_render_objective_expression(hed):
    expression = "block2_conv1:3 + 0.5*block2_conv1:7"
    result = actmax.render_objective(expression, model=hed, variants=2, size=32, octaves=2, steps=20)
    barely = actmax.render_objective(expression, model=hed, variants=2, size=32, octaves=2, steps=1)
    assert result.images.shape == (2, 32, 32, 3) and (result.activations > barely.activations + 1).all()
    assert result.objective == "block2_conv1:3 + 0.5*block2_conv1:7"


def test_objective_index_out_of_range_is_one_line(hed):
    with pytest.raises(ObjectiveError, match="index 999 is out of range; the valid indices are block2_conv1 0-127$") \
            as info:
        actmax.render_objective("block2_conv1:999", model=hed, **SMALL)
    assert "\n" not in str(info.value) and "{{" not in str(info.value)


def test_an_objective_rendered_chunk_by_chunk_compiles_once_and_gives_the_same_images(hed):
    """A Ray actor renders an objective's variants chunk after chunk: the engine and pass objects of the first chunk
    serve the next, and the images are those of one call."""
    kwargs = dict(model=hed, size=32, octaves=1, steps=3, batch=2, seed=4)
    whole = actmax.render_objective("block2_conv1:3 + block2_conv1:9", variants=4, **kwargs)
    before = rendering.objective_engine.cache_info()
    chunks = [actmax.render_objective("block2_conv1:3 + block2_conv1:9", variants=chunk, **kwargs)
              for chunk in ([0, 1], [2, 3])]
    after = rendering.objective_engine.cache_info()
    assert (after.hits - before.hits, after.misses - before.misses) == (2, 0)
    np.testing.assert_array_equal(np.concatenate([c.images for c in chunks]), whole.images)


def test_a_class_out_of_range_names_the_classes_there_are(tiny_spec):
    with pytest.raises(ObjectiveError, match="index 9 is out of range; the valid indices are conv1 0-7, logit 0-3$"):
        actmax.render_objective("conv1:2 + logit:9", model=tiny_spec, **SMALL)


def test_patience_stops_a_stalled_batch_early(hed):
    still = dict(size=32, octaves=1, steps=30, lr=0.0)  # nothing moves, so nothing improves after step 1
    stopped = actmax.render("block1_conv1", "0-1", model=hed, preset="classic", patience=3, **still)
    full = actmax.render("block1_conv1", "0-1", model=hed, preset="classic", **still)
    assert stopped.extra["batch_steps"] == 4 and full.extra["batch_steps"] == 30


def test_mixed_precision_stays_close_to_float32(hed):
    kwargs = dict(model=hed, preset="classic", size=48, octaves=2, steps=6)
    full = actmax.render("block3_conv1", "0-3", precision="float32", **kwargs)
    mixed = actmax.render("block3_conv1", "0-3", precision="mixed", **kwargs)
    np.testing.assert_allclose(mixed.activations, full.activations, rtol=0.15)


def test_the_gpu_path_computes_in_float16_and_stays_close_to_float32(hed, monkeypatch):
    """What `--precision auto` does on every GPU (float16 with loss scaling), run here on the CPU."""
    from actmax import models
    from actmax.models import memory
    from actmax.optvis import engine
    kwargs = dict(model=hed, preset="default", size=48, steps=6)
    full = actmax.render("block3_conv1", "0-3", precision="float32", **kwargs)
    monkeypatch.setattr(memory, "on_gpu", lambda: True)
    assert models.resolve_precision("auto") == "mixed_float16"
    engine.filter_engine.cache_clear()  # engines compiled earlier for `auto` ran in float32
    try:
        half = actmax.render("block3_conv1", "0-3", precision="auto", **kwargs)
    finally:
        engine.filter_engine.cache_clear()
    assert np.isfinite(half.images).all() and not np.array_equal(half.activations, full.activations)
    np.testing.assert_allclose(half.activations, full.activations, rtol=0.15)


def test_low_precision_copy_computes_in_low_precision(tiny_spec, monkeypatch):
    from actmax import models
    copy = models.with_precision(tiny_spec.model, "mixed_bfloat16")
    assert copy.get_layer("conv1").compute_dtype == "bfloat16"
    assert copy.get_layer("conv1").kernel.dtype == "float32"
    np.testing.assert_array_equal(copy.get_layer("conv2").kernel.numpy(), tiny_spec.model.get_layer("conv2").kernel)
    with pytest.raises(ActmaxError, match="unknown precision"):
        models.resolve_precision("half")
    for native, policy in ((False, "float32"), (True, "mixed_bfloat16")):  # no GPU in the tests
        monkeypatch.setattr(models.precision, "native_bfloat16", lambda: native)
        assert models.resolve_precision("auto") == policy


def test_a_model_that_cannot_be_rebuilt_in_low_precision_is_tried_once():
    from actmax import models

    class Scaled(keras.layers.Layer):  # its config leaves out the argument it needs: from_config fails
        tries = 0

        def __init__(self, factor, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def get_config(self):
            Scaled.tries += 1
            return super().get_config()

        def call(self, x):
            return x * self.factor

    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, Scaled(2.0)(keras.layers.Conv2D(2, 3)(inputs)))
    for _ in range(3):
        with pytest.raises(ActmaxError, match="cannot run this model in mixed_bfloat16"):
            models.with_precision(model, "mixed_bfloat16")
    assert Scaled.tries == 1  # the rebuild failed once and was not tried again


def test_many_batches_and_octaves_compile_the_octave_loop_once(hed):
    result = actmax.render("block1_conv1", "0-7", model=hed, batch=2, size=32, octaves=3, steps=2)
    assert result.extra["traces"] == 1  # one trace with open shapes serves every octave and batch


def test_auto_batch_follows_size_and_count(hed, monkeypatch):
    from actmax.models import memory
    from actmax.optvis import budget
    assert budget.auto_batch(hed, "block3_conv1", 64, 5) == 5
    monkeypatch.setattr(memory, "free_memory", lambda: 4 * 3 * 4 * budget.activation_count(
        hed, "block3_conv1", 128) * 10)
    assert budget.auto_batch(hed, "block3_conv1", 128, 512) == 10
    assert budget.auto_batch(hed, "block3_conv1", 256, 512) == 2


def test_auto_batch_on_a_gpu_takes_a_quarter_of_its_memory(hed, monkeypatch):
    """An 80 GB GPU holds 64 VGG16 images at 224 px; one whose memory nvidia-smi cannot report gets 4 GiB."""
    from actmax.models import memory
    from actmax.optvis import budget
    monkeypatch.setattr(memory, "on_gpu", lambda: True)
    monkeypatch.setattr(memory, "gpu_memory", lambda: 80 << 30)
    assert budget.auto_batch(hed, "block5_conv3", 224, 4224) == 64
    monkeypatch.setattr(memory, "gpu_memory", lambda: None)
    assert budget.auto_batch(hed, "block5_conv3", 224, 4224) == budget.GPU_BUDGET // budget.image_bytes(
        hed, "block5_conv3", 224) == 23



def test_class_logit_objective_rises_on_a_tiny_classifier(tiny_spec):
    kwargs = dict(model=tiny_spec, preset="classic", size=24, octaves=1, lr=0.05)
    few = actmax.render_objective("logit:2", steps=1, **kwargs)
    many = actmax.render_objective("logit:2", steps=30, **kwargs)
    assert float(many.activations[0]) > float(few.activations[0])


def test_rescue_lifts_weak_filters_and_leaves_strong_ones(hed):
    kwargs = dict(model=hed, size=64, octaves=2, steps=38, seed=0, revive=0, wake=0, boost=0, polish=0)  # 76 steps:
    without = actmax.render("block5_conv1", "8,11,13,5", rescue=0, **kwargs)  # 30 a rescue octave fit its budget
    rescued = actmax.render("block5_conv1", "8,11,13,5", rescue=30, **kwargs)
    # Filter 5 ends the main pass silent (Intel Xeon) or barely alive (0.34 on AMD EPYC): either way weak, and its
    # rescue image fires it far harder; filter 8 (activation 132) is strong and is left as it was.
    changed = np.any(rescued.images != without.images, axis=(1, 2, 3))
    assert rescued.extra["rescued"] == changed.sum() >= 1 and not changed[0]
    assert (rescued.activations[changed] > 10 * without.activations[changed]).all() and rescued.alive[changed].all()
    assert rescued.alive.sum() >= without.alive.sum()


def test_revive_gives_lucids_image_to_filters_whose_image_fires_them_but_slips_once_shifted(hed):
    from actmax.optvis import metrics
    kwargs = dict(model=hed, size=48, octaves=2, steps=10, seed=0, rescue=0, wake=0, boost=0, flat=0, tone=0,
                  polish=0, precision="float32", transforms="none")  # no jitter: images that lose much once shifted
    slipping = actmax.render("block4_conv1", "0-7", revive=0, **kwargs)
    revived = actmax.render("block4_conv1", "0-7", revive=60, **kwargs)
    changed = np.any(revived.images != slipping.images, axis=(1, 2, 3))
    assert revived.extra["revived"] == changed.sum() >= 2 and revived.settings.revive == 60

    def holds(result):  # under the perturbations, and at equal contrast
        return [score(hed, "block4_conv1", result.images, result.filters)
                for score in (metrics.robust_activation, metrics.pattern_hold)]
    (before, pattern_before), (after, pattern_after) = holds(slipping), holds(revived)
    assert (before[changed] < 0.5 * slipping.activations[changed]).all()  # it took only images that slip
    assert (after[changed] > before[changed]).all() and (pattern_after[changed] >= pattern_before[changed]).all()


def test_wake_repeats_across_the_tile_a_patch_that_fires_filters_every_mean_objective_leaves_silent(hed):
    from actmax import models
    kwargs = dict(model=hed, size=64, octaves=2, steps=10, seed=0, rescue=0, revive=0, precision="float32", boost=0)
    silent = actmax.render("block2_conv2", "8,17,25,59,110", wake=0, **kwargs)
    woken = actmax.render("block2_conv2", "8,17,25,59,110", wake=60, **kwargs)
    assert not silent.alive.any() and woken.alive.sum() >= 3 and woken.extra["woken"] == woken.alive.sum()
    np.testing.assert_array_equal(woken.images[~woken.alive], silent.images[~woken.alive])
    maps = models.scoring_features(hed, "block2_conv2")(woken.images)["block2_conv2"].numpy()
    maps = maps[np.arange(5), :, :, woken.filters][woken.alive]  # (woken, 32, 32): each filter's own map
    ends = (slice(0, 10), slice(-10, None))
    corners = [maps[:, rows, cols] for rows in ends for cols in ends]
    assert all((corner.max(axis=(1, 2)) > 0).all() for corner in corners)  # it fires far from the centre too


def test_wake_takes_barely_alive_filters_whose_image_does_not_hold_them(hed):
    from actmax.optvis import metrics
    kwargs = dict(model=hed, size=64, octaves=2, steps=10, seed=0, rescue=0, revive=0, precision="float32", boost=0,
                  polish=0, transforms="jitter:6,rotate:5")  # the default's 128 px jitter: this image does not hold
    grey = actmax.render("block2_conv2", "87", wake=0, **kwargs)
    assert grey.alive.all() and (metrics.robust_activation(hed, "block2_conv2", grey.images, [87]) <= 0).all()
    woken = actmax.render("block2_conv2", "87", wake=60, **kwargs)
    assert woken.extra["woken"] == 1 and (woken.activations > 10 * grey.activations).all()
    assert (metrics.robust_activation(hed, "block2_conv2", woken.images, [87]) > 0).all()


def test_octaves_never_shrink_below_what_the_layer_needs(hed):
    from actmax import models
    assert models.min_size(hed, "block1_conv1") == 8 and models.min_size(hed, "block5_conv1") == 16
    assert ascent.octave_sizes(64, 10, 1.2, floor=16)[:3] == [16, 16, 18]
    result = actmax.render("block5_conv3", "0-1", model=hed, preset="classic", size=48, steps=1)  # starts at 9 px
    assert result.images.shape == (2, 48, 48, 3)
    with pytest.raises(ActmaxError, match="at least 16 px a side; use --size 16 or more"):
        actmax.render("block5_conv3", "0", model=hed, size=12)


def test_tiny_images_render_under_every_preset(hed):
    """At the smallest size the CLI takes, the presets' transforms and the robustness check fit the image."""
    for preset in ("default", "lucid", "classic"):
        result = actmax.render("block1_conv1", "0-1", model=hed, preset=preset, size=8, steps=2, octaves=2,
                               rescue=2, wake=2)
        assert result.images.shape == (2, 8, 8, 3)
    held = metrics.robust_activation(hed, "block1_conv1", result.images, [0, 1])
    assert np.isfinite(held).all()



def colour_classifier() -> keras.Model:
    """Classes red, green, blue and dark: a 1x1 conv detects each (ReLU), pooled, then a softmax head."""
    inputs = keras.Input((None, None, 3))
    kernel = np.array([[2, -1, -1], [-1, 2, -1], [-1, -1, 2], [-1, -1, -1]], np.float32).T.reshape(1, 1, 3, 4)
    detect = keras.layers.Conv2D(4, 1, activation="relu", name="detect")
    pooled = keras.layers.GlobalAveragePooling2D(name="gap")(detect(inputs))
    head = keras.layers.Dense(4, activation="softmax", name="predictions")
    model = keras.Model(inputs, head(pooled))
    detect.set_weights([kernel, np.array([0, 0, 0, 1.5], np.float32)])
    head.set_weights([200 * np.eye(4, dtype=np.float32), np.array([0, 0, 0, 100], np.float32)])
    return model


def rival_classifier() -> keras.Model:
    """Classes 'warm' (red and green), 'green' and 'dark': whatever raises warm's logit raises green's more but for
    red, which only warm takes."""
    inputs = keras.Input((None, None, 3))
    kernel = np.array([[2, -1, -1], [-1, 2, -1]], np.float32).T.reshape(1, 1, 3, 2)
    detect = keras.layers.Conv2D(2, 1, activation="relu", name="detect")
    pooled = keras.layers.GlobalAveragePooling2D(name="gap")(detect(inputs))
    head = keras.layers.Dense(3, activation="softmax", name="predictions")
    model = keras.Model(inputs, head(pooled))
    detect.set_weights([kernel, np.zeros(2, np.float32)])
    head.set_weights([np.array([[4, 0, 0], [4, 10, 0]], np.float32), np.zeros(3, np.float32)])
    return model


@pytest.mark.parametrize("preset", ["default", "classic"])
def test_a_class_image_is_one_the_model_calls_that_class_where_a_rivals_logit_rises_with_its_own(preset):
    """A softmax class is rendered through its log-odds: warm's logit alone climbs fastest on yellow, which the model
    calls green; its log-odds climb on red, which it calls warm."""
    spec = actmax.models.ModelSpec("rivals", rival_classifier(), "unit", "")
    result = actmax.render("predictions", [0], model=spec, preset=preset, size=32, octaves=2, steps=12)
    probabilities = spec.model(results.quantise(result.images)).numpy()
    assert probabilities[0].argmax() == 0 and probabilities[0, 0] > 0.9, probabilities
    red, green = result.images[0].mean(axis=(0, 1))[:2]
    assert red > green + 0.2, (red, green)


@pytest.mark.parametrize("preset", ["default", "classic"])
def test_a_classifier_head_renders_one_image_per_class_that_the_model_calls_that_class(preset):
    """The head's units are its classes: each image, fed to the model as a user would, is given its own class, in
    that class's colour. Its logit is what rises: on grey, 'dark' outweighs the others by e^100, so their
    probabilities have no gradient (the classic recipe, which maximises the output, left every image grey)."""
    spec = actmax.models.ModelSpec("colours", colour_classifier(), "unit", "")
    result = actmax.render("predictions", "all", model=spec, preset=preset, size=32, octaves=2, steps=12)
    probabilities = spec.model(results.quantise(result.images)).numpy()
    assert result.filters == [0, 1, 2, 3] and result.images.shape == (4, 32, 32, 3)
    assert probabilities.argmax(axis=1).tolist() == [0, 1, 2, 3], probabilities
    np.testing.assert_allclose(probabilities[range(4), range(4)], result.activations, rtol=0.02)
    assert result.floor == 0.25 and result.alive.all()  # above chance: 'dark' is alive though grey is already dark
    colours = result.images.mean(axis=(1, 2))
    assert colours[:3].argmax(axis=1).tolist() == [0, 1, 2] and colours[3].sum() < colours[:3].sum(axis=1).min()
    with pytest.raises(FilterError, match="outside the range of layer 'predictions', 0-3"):
        actmax.render("predictions", [4], model=spec)
