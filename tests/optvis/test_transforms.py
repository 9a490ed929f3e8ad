import numpy as np
import pytest
import tensorflow as tf

from actmax.optvis import transforms
from actmax.errors import ActmaxError

SEED = tf.constant([1, 2], tf.int32)


def ramp(height=6, width=6):
    """A (1, H, W, 1) image whose pixel values are their flat index."""
    return tf.reshape(tf.range(height * width, dtype=tf.float32), (1, height, width, 1))


def test_constant_pad_adds_the_right_border():
    out = transforms.pad(2, mode="CONSTANT", value=0.5)(ramp(), SEED).numpy()[0, ..., 0]
    assert out.shape == (10, 10)
    assert (out[:2] == 0.5).all() and (out[-2:] == 0.5).all() and (out[:, :2] == 0.5).all()
    np.testing.assert_array_equal(out[2:-2, 2:-2], ramp().numpy()[0, ..., 0])


def test_reflect_pad_mirrors_the_edge():
    out = transforms.pad(1)(ramp(), SEED).numpy()[0, ..., 0]
    assert out[0, 1] == ramp().numpy()[0, 1, 0, 0]


def test_jitter_shifts_by_the_seeded_offset():
    offsets = tf.random.stateless_uniform((2,), SEED, 0, 3, dtype=tf.int32).numpy()
    out = transforms.jitter(2)(ramp(), SEED).numpy()[0, ..., 0]
    assert out.shape == (4, 4)
    np.testing.assert_array_equal(out, ramp().numpy()[0, offsets[0]:offsets[0] + 4, offsets[1]:offsets[1] + 4, 0])


def test_pad_and_jitter_fit_images_smaller_than_they_reach():
    """An early octave can be smaller than the shift asked for: the reflection and the crop stop a pixel short."""
    assert transforms.pad(12)(ramp(), SEED).shape == (1, 16, 16, 1)  # 5 px a side, not 12
    assert transforms.jitter(40)(ramp(), SEED).shape == (1, 1, 1, 1)
    assert transforms.from_spec("standard")(ramp(3, 3), SEED).shape[1] >= 1
    out = transforms.jitter(40)(ramp(), SEED).numpy().item()
    assert out in ramp().numpy()


def test_same_seed_same_transform_and_seeds_differ():
    t = transforms.standard()
    image = tf.random.stateless_uniform((2, 32, 32, 3), [0, 0])
    np.testing.assert_array_equal(t(image, SEED).numpy(), t(image, SEED).numpy())
    assert t(image, SEED).shape != t(image, tf.constant([9, 9])).shape or \
        not np.array_equal(t(image, SEED).numpy(), t(image, tf.constant([9, 9])).numpy())


def test_zero_rotation_and_unit_scale_are_identity():
    image = tf.random.stateless_uniform((1, 9, 9, 3), [0, 0])
    np.testing.assert_allclose(transforms.rotate((0.0,))(image, SEED).numpy(), image.numpy(), atol=1e-6)
    np.testing.assert_allclose(transforms.scale((1.0,))(image, SEED).numpy(), image.numpy(), atol=1e-6)


def test_positive_angle_turns_counter_clockwise():
    out = transforms.rotate((90.0,))(ramp(5, 5), SEED).numpy()[0, ..., 0]
    np.testing.assert_allclose(out, np.rot90(ramp(5, 5).numpy()[0, ..., 0], k=1), atol=1e-4)


def test_scale_changes_size():
    assert transforms.scale((1.5,))(ramp(), SEED).shape == (1, 9, 9, 1)


def test_transforms_pass_gradients():
    image = tf.Variable(tf.random.stateless_uniform((1, 16, 16, 3), [0, 0]))
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(transforms.standard()(image, SEED))
    assert float(tf.reduce_sum(tf.abs(tape.gradient(total, image)))) > 0


@pytest.mark.parametrize("spec, size", [("none", None), ("standard", 32 + 24 - 8 - 4), ("pad:2,jitter:2", 34)])
def test_from_spec(spec, size):
    t = transforms.from_spec(spec)
    if size is None:
        assert t is None
    else:
        out = t(tf.zeros((1, 32, 32, 3)), SEED)
        assert out.shape[1] == size or spec == "standard"


@pytest.mark.parametrize("spec, side, size", [("pad:5%", 128, 32 + 12), ("pad:5%", 32, 32 + 4),
                                              ("pad:1%", 32, 32 + 2), ("pad:0%", 32, 32), ("jitter:5%", 128, 32 - 6)])
def test_pad_and_jitter_take_a_share_of_the_image_side(spec, side, size):
    """5% of a 128 px image is 6 px, of a 32 px one 2 px; a share that rounds to 0 px is still one pixel."""
    assert transforms.from_spec(spec, side)(tf.zeros((1, 32, 32, 3)), SEED).shape[1] == size


@pytest.mark.parametrize("spec", ["blur:3", "pad:x", "rotate", "pad12", "jitter:-3", "pad:-1", "jitter:-5%",
                                  "jitter:x%"])
def test_bad_spec_is_one_line_error(spec):
    with pytest.raises(ActmaxError, match="bad transform"):
        transforms.from_spec(spec)
