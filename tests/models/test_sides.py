"""Image sides a model can take: a U-Net's must halve evenly at every level, and images of any size still go in."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import actmax
from actmax import models
from actmax.models import sides

L = keras.layers


def unet(levels: int, shape=(None, None, 3)) -> keras.Model:
    """A U-Net of `levels` levels: pooled on the way down, upsampled and concatenated with the skip on the way up."""
    inputs = keras.Input(shape)
    x, skips = inputs, []
    for level in range(levels):
        skips.append(L.Conv2D(4, 3, padding="same", activation="relu", name=f"down{level}")(x))
        x = L.MaxPooling2D()(skips[-1])
    for level, skip in reversed(list(enumerate(skips))):
        x = L.Conv2D(4, 3, padding="same", activation="relu", name=f"up{level}")(L.Concatenate()([L.UpSampling2D()(x),
                                                                                                   skip]))
    return keras.Model(inputs, x)


def residual() -> keras.Model:
    """Strided 'same' branches that always meet (ResNet's shortcut): any side will do."""
    inputs = keras.Input((None, None, 3))
    main = L.Conv2D(4, 3, strides=2, padding="same", name="main")(inputs)
    return keras.Model(inputs, L.Add()([main, L.Conv2D(4, 1, strides=2, name="shortcut")(inputs)]))


@pytest.mark.parametrize("model, step", [
    (unet(1), 2), (unet(2), 4), (unet(3), 8), (residual(), 1), (unet(3, (64, 64, 3)), 1),
    (keras.Sequential([keras.Input((None, None, 3)), L.Conv2D(4, 3)]), 1),
])
def test_side_step_is_what_the_merges_need(model, step):
    assert sides.side_step(model) == step


def test_sides_round_to_the_nearest_multiple_and_at_least_one_step():
    assert sides.fed_sides((30, 43, 2), 4) == (32, 44, 4) and sides.fed_sides((31, 7), 1) == (31, 7)


@pytest.mark.parametrize("shape", [(1, 30, 42, 3), (2, 37, 37, 3), (1, 64, 64, 3)])
def test_a_unet_takes_images_of_any_size(shape):
    """Resized to a multiple of its step on the way in; without it, its skips meet maps one pixel off and it fails."""
    spec = actmax.load_model(unet(2))
    maps = models.FeatureModel(spec, ("up0",))(tf.random.uniform(shape))["up0"]
    assert maps.shape[1:3] == sides.fed_sides(shape[1:3], 4) and np.isfinite(maps).all()


def test_a_unet_renders_at_the_size_asked_through_octaves_that_are_not_multiples():
    spec = actmax.load_model(unet(3))
    result = actmax.render("up1", "0-1", model=spec, size=42, octaves=3, steps=6, rescue=0, wake=0, boost=0)
    assert result.images.shape == (2, 42, 42, 3) and result.alive.all()
    assert actmax.layer_table(spec, 42)[-1][2] == (40, 40)
