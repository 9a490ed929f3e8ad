import numpy as np
import pytest

import actmax
from actmax.optvis import metrics, objectives, result


def test_equal_contrast_sets_rms_and_keeps_mean(rng):
    images = rng.uniform(0.3, 0.7, (2, 16, 16, 3)).astype(np.float32)
    images[1] = 0.5 + (images[1] - 0.5) * 0.2  # a low-contrast one
    out = metrics.equal_contrast(images, rms=0.1)
    for image, original in zip(out, images):
        assert np.sqrt(np.mean(np.square(image - image.mean()))) == pytest.approx(0.1, rel=1e-3)
        assert image.mean() == pytest.approx(original.mean(), abs=1e-4)


def test_rms_contrast_about_the_grey_mean_counts_a_tint_and_about_each_channels_mean_does_not():
    tinted = np.broadcast_to(np.array([0.2, 0.5, 0.8], np.float32), (1, 8, 8, 3))
    assert metrics.rms_contrast(tinted)[0] == pytest.approx(np.sqrt(0.06), rel=1e-4)
    assert metrics.rms_contrast(tinted, per_channel=True)[0] == pytest.approx(0.0, abs=1e-6)


def test_stretched_scales_every_channels_contrast_by_its_factor_and_keeps_the_pattern(rng):
    images = (np.array([0.4, 0.5, 0.6]) + 0.02 * rng.standard_normal((2, 16, 16, 3))).astype(np.float32)
    out = metrics.stretched(images, np.array([1.5, 2.0]))
    per_channel = lambda x: np.sqrt(np.mean(np.square(x - x.mean(axis=(1, 2), keepdims=True)), axis=(1, 2)))  # noqa: E731
    np.testing.assert_allclose(per_channel(out) / per_channel(images), [[1.5] * 3, [2.0] * 3], rtol=1e-3)
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), images.mean(axis=(1, 2, 3)), atol=1e-5)
    np.testing.assert_allclose(metrics.equal_contrast(out), metrics.equal_contrast(images), atol=1e-5)


def test_toned_moves_each_images_mean_colour_by_its_share_and_keeps_the_pattern_short_of_clipping(rng):
    images = (np.array([0.4, 0.5, 0.6]) + 0.02 * rng.standard_normal((2, 16, 16, 3))).astype(np.float32)
    colours = np.array([[0.0, 0.5, 1.0], [1.0, 1.0, 1.0]], np.float32)
    half = metrics.toned(images, colours, 0.5)
    np.testing.assert_allclose(half.mean(axis=(1, 2)), (images.mean(axis=(1, 2)) + colours) / 2, atol=1e-5)
    np.testing.assert_allclose(half - half.mean(axis=(1, 2), keepdims=True),
                               images - images.mean(axis=(1, 2), keepdims=True), atol=1e-5)
    whole = metrics.toned(images, colours, 1.0)
    assert whole.min() == 0 and whole.max() == 1 and (whole[1] > 0.9).mean() > 0.4  # clipped at white, not wrapped


def test_robust_activation_of_a_flat_image_is_its_activation(hed):
    flat = np.full((2, 48, 48, 3), 0.6, np.float32)
    plain = metrics.measure(hed, "block1_conv1", flat, [3, 7])
    robust = metrics.robust_activation(hed, "block1_conv1", flat, [3, 7], samples=3)
    np.testing.assert_allclose(robust, plain, rtol=0.05, atol=1e-3)  # nothing to lose under shifts


def test_a_rendered_pattern_is_more_robust_than_noise(hed, rng):
    found = actmax.render("block2_conv1", "4", model=hed, size=48, octaves=2, steps=10)
    noise = result.quantise(rng.uniform(0, 1, (1, 48, 48, 3)).astype(np.float32))
    assert metrics.robust_activation(hed, "block2_conv1", found.images, found.filters)[0] > \
        3 * metrics.robust_activation(hed, "block2_conv1", noise, found.filters)[0]


def test_geometric_mean():
    assert metrics.geometric_mean(np.array([1.0, 4.0])) == pytest.approx(2.0)
    assert metrics.geometric_mean(np.array([])) == 0.0


def test_an_objective_of_one_channel_scores_images_as_that_filter_does(hed):
    """The objective scorer (objective renders' polish) and the filter scorer agree where they ask the same."""
    images = np.random.default_rng(0).uniform(0, 1, (2, 32, 32, 3)).astype(np.float32)
    goal = metrics.GoalScorer(hed, objectives.channel("block1_conv1", 3))
    own = metrics.FilterScorer(hed, "block1_conv1")
    np.testing.assert_allclose(goal.shown(images, [0, 1]), own.shown(images, [3, 3]), rtol=1e-5)
    np.testing.assert_allclose(goal.held(images, [0, 1]), own.held(images, [3, 3]), rtol=1e-5)
    assert own.held(images, [3, 7])[0] == pytest.approx(own.held(images, [3, 3])[0], rel=1e-5)


def test_a_low_precision_render_judges_holds_in_its_own_precision_with_the_weights_as_they_are_now(tiny_spec):
    """The passes' holds (8 perturbed forward passes per image) run in the render's precision, 3.4x quicker in
    bfloat16; a model trained since it was last judged is judged with its new weights; images as shown stay float32."""
    images = np.random.default_rng(0).uniform(0, 1, (2, 32, 32, 3)).astype(np.float32)
    exact, low = (metrics.FilterScorer(tiny_spec, "conv2", policy) for policy in ("float32", "mixed_bfloat16"))
    assert low._holding.body.layers[-1].dtype_policy.name == "mixed_bfloat16"
    assert exact._holding.body.layers[-1].dtype_policy.name == "float32"
    np.testing.assert_allclose(low.held(images, [0, 1]), exact.held(images, [0, 1]), rtol=0.05, atol=1e-3)
    np.testing.assert_array_equal(low.shown(images, [0, 1]), exact.shown(images, [0, 1]))
    conv = tiny_spec.model.get_layer("conv2")
    kernel, bias = conv.get_weights()
    conv.set_weights([kernel * 0, bias * 0 + 1])  # every filter now reads 1 wherever ReLU lets it
    try:
        np.testing.assert_allclose(metrics.FilterScorer(tiny_spec, "conv2", "mixed_bfloat16").held(images, [0, 1]),
                                   1.0, rtol=1e-2)
    finally:
        conv.set_weights([kernel, bias])
    goal = metrics.GoalScorer(tiny_spec, objectives.channel("conv2", 1), "mixed_bfloat16")
    assert goal._holding.body.layers[-1].dtype_policy.name == "mixed_bfloat16"


def test_a_model_that_cannot_be_rebuilt_in_low_precision_is_judged_in_float32():
    import keras

    class Scaled(keras.layers.Layer):  # no config to rebuild it from (a Python object among its arguments)
        def __init__(self, scale, **kwargs):
            super().__init__(**kwargs)
            self.scale = scale

        def call(self, x):
            return self.scale(x)
    inputs = keras.Input((None, None, 3))
    conv = keras.layers.Conv2D(2, 3, activation="relu", name="conv")(Scaled(lambda x: 2 * x)(inputs))
    spec = actmax.models.ModelSpec("scaled", keras.Model(inputs, conv), "unit", "no config")
    scorer = metrics.FilterScorer(spec, "conv", "mixed_bfloat16")
    assert scorer._holding.body.layers[-1].dtype_policy.name == "float32"
