"""Input conventions: [0, 1] images as a model takes them (actmax.models.preprocess)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from actmax import models


def test_hed_preprocessing_is_bgr_minus_mean():
    out = models.preprocess_fn("hed")(tf.constant([[[[1.0, 0.5, 0.0]]]])).numpy().ravel()
    np.testing.assert_allclose(out, [0 - 104.00699, 127.5 - 116.66877, 255 - 122.67892], rtol=1e-5)


@pytest.mark.parametrize("mode, expected", [("tf", [1.0, 0.0, -1.0]), ("none", [255.0, 127.5, 0.0]),
                                            ("unit", [1.0, 0.5, 0.0])])
def test_preprocessing_modes(mode, expected):
    out = models.preprocess_fn(mode)(tf.constant([[[[1.0, 0.5, 0.0]]]])).numpy().ravel()
    np.testing.assert_allclose(out, expected)


def test_a_larger_image_reaches_a_fixed_size_model_through_every_pixel():
    """Downscaled with antialiasing: a plain bilinear resize from 100 to 24 px samples a few pixels per output
    pixel, and an ascent through it would leave the rest untouched (a grid of dots)."""
    inputs = keras.Input((24, 24, 3))
    spec = models.ModelSpec("fixed", keras.Model(inputs, keras.layers.Identity()(inputs)), "unit", "")
    image = tf.random.uniform((1, 100, 100, 3))
    with tf.GradientTape() as tape:
        tape.watch(image)
        total = tf.reduce_sum(models.model_input(spec, image))
    assert (tape.gradient(total, image).numpy() > 0).all()
    np.testing.assert_array_equal(models.model_input(spec, image[:, :24, :24]), image[:, :24, :24])  # its own size


def test_a_model_that_fixes_one_side_takes_images_in_their_aspect_ratio():
    """A text-line model (height 12, any width): the height is resized to 12 and the width in proportion."""
    inputs = keras.Input((12, None, 1))
    spec = models.ModelSpec("line", keras.Model(inputs, keras.layers.Identity()(inputs)), "unit", "")
    assert spec.fixed_sides == (12, None) and spec.fixed_size is None and spec.image_shape(40) == (12, 40)
    assert models.model_input(spec, tf.zeros((1, 24, 50, 1))).shape == (1, 12, 25, 1)
