import numpy as np
import pytest
import tensorflow as tf

from actmax.optvis import param


@pytest.mark.parametrize("make", [param.pixel, param.decorrelated, param.fourier])
@pytest.mark.parametrize("height, width", [(16, 16), (15, 21)])
def test_from_image_inverts_to_image(make, height, width, rng):
    p = make()
    images = tf.constant(rng.uniform(0.05, 0.95, (2, height, width, 3)).astype(np.float32))
    np.testing.assert_allclose(p.to_image(p.from_image(images)).numpy(), images.numpy(), atol=2e-4)


@pytest.mark.parametrize("make", [param.pixel, param.decorrelated, param.fourier])
def test_init_is_seeded_noise_around_grey(make):
    p = make()
    a = p.init(np.random.default_rng([0, 3]), (24, 24), 3)
    b = p.init(np.random.default_rng([0, 3]), (24, 24), 3)
    np.testing.assert_array_equal(a, b)
    image = p.to_image(tf.constant(a[None])).numpy()
    assert image.shape == (1, 24, 24, 3)
    assert abs(image.mean() - 0.5) < 0.05 and 0 < image.std() < 0.1


def test_fourier_noise_is_smooth_not_white():
    p = param.fourier()
    image = p.to_image(tf.constant(p.init(np.random.default_rng(0), (64, 64), 3)[None])).numpy()[0]
    neighbour = np.corrcoef(image[:, :-1].ravel(), image[:, 1:].ravel())[0, 1]
    assert neighbour > 0.5  # 1/f spectrum: neighbouring pixels are correlated


def test_pixel_projection_clips():
    np.testing.assert_allclose(param.pixel().project(tf.constant([-1.0, 0.3, 2.0])).numpy(), [0.0, 0.3, 1.0], rtol=1e-6)
