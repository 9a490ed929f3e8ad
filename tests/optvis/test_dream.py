from dataclasses import replace

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import ROCKET
from actmax.optvis import dream, objectives
from actmax import models
from actmax.errors import ActmaxError

FAST = dream.DreamSettings(octaves=2, octave_scale=1.3, steps=4, step_size=0.02)


@pytest.fixture(scope="module")
def photo():
    from actmax.output import imaging
    return imaging.load_image(ROCKET, 72)


def energy(spec, image, layer):
    return float(objectives.layer_energy(layer)(models.FeatureModel(spec, (layer,), pre_activation=False)(
        tf.constant(image[None])))[0])


def test_octave_shapes_keep_aspect_and_end_at_size():
    shapes = dream.octave_shapes(300, 200, 3, 1.5)
    assert shapes[-1] == (300, 200) and shapes[0] == (133, 89)
    assert dream.octave_shapes(40, 60, 6, 1.4, floor=32) == [(32, 48), (40, 60)]  # no octave under the floor


def test_a_deep_layer_dreams_a_small_photo_in_fewer_octaves(hed, photo):
    """block5_conv3 needs 16 px: a 40 px photo's six octaves would go down to 7 px."""
    small = photo[:40, :60]
    result = dream.dream(hed, small, dream.layer_weights(["block5_conv3"]), replace(FAST, octaves=6))
    assert result.shape == small.shape
    with pytest.raises(ActmaxError, match="1×60 px, too small for layer\\(s\\) block3_conv1: they need at least 8"):
        dream.dream(hed, photo[:1, :60], dream.layer_weights(["block3_conv1"]), FAST)


def test_dream_keeps_size_and_raises_the_layer_energy(hed, photo):
    goal = dream.layer_weights(["block4_conv3"])
    result = dream.dream(hed, photo, goal, FAST)
    assert result.shape == photo.shape and result.dtype == np.float32
    assert energy(hed, result, "block4_conv3") > 1.5 * energy(hed, photo, "block4_conv3")
    assert np.abs(result - photo).mean() < 0.15  # still the photo, not a new picture


def test_a_model_with_tiny_gradients_dreams_as_far_as_any(photo):
    """Steps are normalised without an epsilon: a model whose activations are small (an untrained MobileNet's deep
    layers give gradients of 1e-10 a pixel) moves its photo as much as a model 10^6 times larger would."""
    def dreamed(scale):
        inputs = keras.Input((None, None, 3))
        conv = keras.layers.Conv2D(4, 3, name="conv", kernel_initializer=keras.initializers.RandomNormal(0, scale, 0))
        spec = models.ModelSpec("small", keras.Model(inputs, conv(inputs)), "unit", "")
        return np.abs(dream.dream(spec, photo, dream.layer_weights(["conv"]), FAST) - photo).mean()
    assert dreamed(1e-6) > 0.5 * dreamed(1.0) > 0


@pytest.mark.parametrize("width, windows", [(12, {(8, 12): 16}), (None, {(8, 44): 4})])
def test_a_fixed_size_model_dreams_each_tile_at_its_input_size(width, windows):
    """Along each side the model fixes, windows are that long, the last moved back inside the photo, so every pixel
    is seen and has a gradient (the whole photo resized to 8 px high would reach a few rows in every 4)."""
    inputs = keras.Input((8, width, 3))
    spec = models.ModelSpec("fixed", keras.Model(inputs, keras.layers.Conv2D(4, 3, name="conv")(inputs)), "unit", "")
    dreamer = dream.Dreamer(spec, dream.layer_weights(["conv"]))
    seen, gradient = [], dreamer.gradient
    dreamer.gradient = lambda piece: seen.append(tuple(piece.shape[1:3])) or gradient(piece)
    grad, _ = dreamer.tiled_gradient(tf.random.uniform((1, 30, 44, 3)), tf.constant([3, 5]), 512)
    assert grad.shape == (1, 30, 44, 3) and (np.abs(grad.numpy()).sum(-1) > 0).all()
    assert {shape: seen.count(shape) for shape in seen} == windows


def test_tiled_gradients_match_untiled(hed):
    image = np.random.default_rng(0).uniform(0.3, 0.7, (64, 64, 3)).astype(np.float32)
    dreamer = dream.Dreamer(hed, dream.layer_weights(["block2_conv2"]))
    shift = tf.constant([5, -7])
    whole, loss = dreamer.tiled_gradient(tf.constant(image[None]), shift, 512)
    tiled, tiled_loss = dreamer.tiled_gradient(tf.constant(image[None]), shift, 32)
    inner = (slice(None), slice(5, 17), slice(49, 61))  # rolled by (5, -7): well inside one 32 px tile
    np.testing.assert_allclose(tiled.numpy()[inner], whole.numpy()[inner], rtol=1e-3, atol=1e-4)
    cosine = np.sum(whole * tiled) / (np.linalg.norm(whole) * np.linalg.norm(tiled))
    assert cosine > 0.99 and float(tiled_loss) == pytest.approx(float(loss), rel=0.5)


def test_dream_with_small_tiles_is_close_to_untiled(hed):
    image = np.random.default_rng(1).uniform(0.3, 0.7, (64, 64, 3)).astype(np.float32)
    goal = dream.layer_weights(["block2_conv2"])
    untiled = dream.dream(hed, image, goal, FAST)
    tiled = dream.dream(hed, image, goal, dream.DreamSettings(**{**FAST.__dict__, "tile": 32}))
    change, tiled_change = (untiled - image).ravel(), (tiled - image).ravel()
    assert np.abs(tiled - untiled).mean() < 0.1 * np.abs(change).mean()
    assert np.corrcoef(change, tiled_change)[0, 1] > 0.99


def test_max_loss_stops_early(hed, photo):
    goal = dream.layer_weights(["block3_conv1"])
    stopped = dream.dream(hed, photo, goal, dream.DreamSettings(**{**FAST.__dict__, "max_loss": 0.0}))
    full = dream.dream(hed, photo, goal, FAST)
    assert np.abs(stopped - photo).mean() < np.abs(full - photo).mean()


def test_zoom_frames_feed_forward(hed):
    image = np.random.default_rng(2).uniform(0.3, 0.7, (40, 40, 3)).astype(np.float32)
    frames = dream.zoom_frames(hed, image, dream.layer_weights(["block2_conv1"]), frames=3, factor=1.1,
                               settings=dream.DreamSettings(octaves=1, steps=2))
    assert len(frames) == 3 and all(f.shape == (40, 40, 3) for f in frames)
    assert dream.zoom(frames[0], 2.0).shape == (40, 40, 3)


def test_progress_counts_pixel_steps_over_every_frame(hed):
    """Told after each step, in proportion to the octave's area (a bar over steps would rush through the small
    octaves and stall on the last), and over all frames of a zoom."""
    calls = []
    image = np.full((40, 40, 3), 0.5, np.float32)
    dream.zoom_frames(hed, image, dream.layer_weights(["block2_conv1"]), frames=2, factor=1.1,
                      settings=replace(FAST, steps=2, octave_scale=2.0), progress=lambda *args: calls.append(args))
    done, total, octaves = [c[0] for c in calls], {c[1] for c in calls}, [c[2:4] for c in calls]
    assert len(calls) == 2 * 2 * 2 and total == {2 * 2 * (20 * 20 + 40 * 40)} and done[-1] == total.pop()
    assert done == [400, 800, 2400, 4000, 4400, 4800, 6400, 8000] and octaves == [(1, 2), (1, 2), (2, 2), (2, 2)] * 2
    # a large image's tiles overlap by their margins of context, which the model sees too: rows 0-640 and 384-1000
    assert dream.Dreamer(hed, dream.layer_weights(["block2_conv1"])).work(1000, 600, 512) == (640 + 616) * (600 + 216)


def test_dreaming_with_no_layers_or_steps_says_what_to_give(hed, photo):
    with pytest.raises(ActmaxError, match="no layers to dream with; give at least one"):
        dream.layer_weights([])
    goal = dream.layer_weights(["block1_conv1"])
    with pytest.raises(ActmaxError, match="^octaves must be a whole number of at least 1, not 0$"):
        dream.dream(hed, photo, goal, replace(FAST, octaves=0))
    small = dream.dream(hed, photo[:16, :16], goal, replace(FAST, octaves=np.int64(1), steps=np.int64(2)))
    assert small.shape == (16, 16, 3)  # NumPy counts are taken as ints


def test_weights_and_objectives(hed):
    goal = dream.layer_weights(["block4_conv3", "block5_conv1:0.5"])
    assert goal.layers == {"block4_conv3", "block5_conv1"}
    with pytest.raises(ActmaxError, match="bad layer weight"):
        dream.layer_weights(["block5_conv1:x"])
    assert dream.objective_for(hed, None, "block4_conv3:12").layers == {"block4_conv3"}
    assert len(dream.objective_for(hed, None, None).layers) == 1
    with pytest.raises(ActmaxError, match="unknown layer"):
        dream.objective_for(hed, ["block9"], None)


def test_noise_image_is_seeded_grey_noise():
    noise = dream.noise_image(20, seed=3, channels=1)
    assert noise.shape == (20, 20, 1) and 0.4 <= noise.min() and noise.max() <= 0.6
    np.testing.assert_array_equal(noise, dream.noise_image(20, seed=3, channels=1))
