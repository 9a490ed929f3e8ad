import numpy as np
import tensorflow as tf

from actmax.optvis import optim


def test_normalised_steps_are_the_same_whatever_the_gradients_scale():
    """A model with small weights or activations (gradients of 1e-12 a pixel) takes the steps a large one takes,
    and an item with no gradient stays put, without NaNs."""
    pattern = tf.random.stateless_normal((1, 8, 8, 3), (0, 1))
    grad = pattern * tf.constant([1.0, 1e-12, 0.0])[:, None, None, None]
    step = optim.normalised(0.5).update(grad, None, 0)[0].numpy()
    np.testing.assert_allclose(np.sqrt((step[0] ** 2).mean()), 0.5, rtol=1e-5)
    np.testing.assert_allclose(step[1], step[0], rtol=1e-5)
    assert not step[2].any()


def test_adam_steps_are_the_same_whatever_the_gradients_scale():
    """Adam's epsilon is a share of each item's gradient, so the Lucid recipe does not stall on a small model."""
    adam = optim.adam(0.05)
    state = adam.init(tf.zeros((3, 8, 8, 3)))
    for t in range(3):
        pattern = tf.random.stateless_normal((1, 8, 8, 3), (t, 1))
        step, state = adam.update(pattern * tf.constant([1.0, 1e-12, 0.0])[:, None, None, None], state, t)
    np.testing.assert_allclose(step[1], step[0], rtol=1e-4, atol=1e-7)
    assert np.abs(step[0]).mean() > 0.01 and not step[2].numpy().any()
