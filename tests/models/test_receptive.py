"""Receptive fields from the layer stack agree with brute force: where a unit's gradient reaches the input."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from actmax import models
from actmax.models import receptive

L = keras.layers
STACKS = {  # hand-made stacks: strides, both paddings (odd and even sizes), dilation, pools, padding/cropping
    "conv3-same": [L.Conv2D(1, 3, padding="same")],
    "conv3-valid-stride2": [L.Conv2D(1, 3, strides=2)],
    "conv4-same-stride2": [L.Conv2D(1, 4, strides=2, padding="same")],
    "dilated": [L.Conv2D(1, 3, dilation_rate=2, padding="same"), L.Conv2D(1, 3, padding="same")],
    "vgg-like": [L.Conv2D(1, 3, padding="same"), L.Conv2D(1, 3, padding="same"), L.AveragePooling2D(2),
                 L.Conv2D(1, 3, padding="same"), L.AveragePooling2D(2), L.Conv2D(1, 3, padding="same")],
    "pool3-same-stride2": [L.Conv2D(1, (5, 3), padding="same"), L.AveragePooling2D(3, strides=2, padding="same")],
    "pad-and-crop": [L.ZeroPadding2D(((2, 0), (1, 3))), L.Conv2D(1, 3, strides=2), L.Cropping2D(((1, 0), (0, 1))),
                     L.Conv2D(1, 3)],
}


def build(stack, size):
    inputs = keras.Input((size, size, 1))
    x = inputs
    for layer in stack:
        x = layer(x)
        if hasattr(layer, "kernel"):
            layer.kernel.assign(tf.ones_like(layer.kernel))  # all-positive: no gradient cancels out
    return models.ModelSpec("stack", keras.Model(inputs, x), "unit", "")


def brute_force(model, y, x, size):
    image = tf.Variable(tf.random.uniform((1, size, size, 1), 0.5, 1.0))
    with tf.GradientTape() as tape:
        unit = model(image)[0, y, x, 0]
    seen = np.argwhere(np.abs(tape.gradient(unit, image).numpy()[0, ..., 0]) > 0)
    return seen[:, 0].min(), seen[:, 1].min(), seen[:, 0].max() + 1, seen[:, 1].max() + 1


@pytest.mark.parametrize("name", STACKS)
@pytest.mark.parametrize("size", [23, 24])
def test_field_matches_brute_force_at_every_unit(name, size):
    keras.utils.set_random_seed(0)
    spec = build(STACKS[name], size)
    rows, cols = receptive.fields(spec, spec.model.layers[-1].name, size)
    height, width = spec.model.output.shape[1:3]
    for y in range(height):
        for x in range(width):
            assert receptive.box(rows, cols, y, x, size, size) == brute_force(spec.model, y, x, size), (y, x)


UPSAMPLING = {  # decoders: a linear bound of what each unit sees, one input unit (≤ 2 px here) + 1 px wider at most
    "transposed3-same-stride2": [L.Conv2D(1, 3, padding="same"), L.Conv2DTranspose(1, 3, strides=2, padding="same")],
    "transposed4-valid-stride2": [L.Conv2DTranspose(1, 4, strides=2), L.Conv2D(1, 3)],
    "pool-then-transposed": [L.Conv2D(1, 3, padding="same"), L.AveragePooling2D(2),
                             L.Conv2DTranspose(1, 3, strides=2, padding="same"), L.Conv2D(1, 3, padding="same")],
    "upsample-nearest": [L.AveragePooling2D(2), L.UpSampling2D(2), L.Conv2D(1, 3, padding="same")],
    "upsample-bilinear": [L.Conv2D(1, 3, strides=2), L.UpSampling2D(3, interpolation="bilinear")],
    "resize-down": [L.Conv2D(1, 3, padding="same"), L.Resizing(9, 9), L.Conv2D(1, 3)],
}


@pytest.mark.parametrize("name", UPSAMPLING)
def test_upsampled_field_bounds_what_each_unit_sees(name):
    keras.utils.set_random_seed(0)
    spec = build(UPSAMPLING[name], 24)
    rows, cols = receptive.fields(spec, spec.model.layers[-1].name, 24)
    for unit in range(spec.model.output.shape[1]):  # the diagonal: every row and every column (the axes are apart)
        top, left, bottom, right = receptive.box(rows, cols, unit, unit, 24, 24)
        seen = brute_force(spec.model, unit, unit, 24)
        assert (top, left) <= seen[:2] and (bottom, right) >= seen[2:], unit
        assert max(seen[0] - top, seen[1] - left, bottom - seen[2], right - seen[3]) <= 3, unit


def test_max_pooling_has_the_field_of_its_window():
    spec = build([L.Conv2D(1, 3, padding="same"), L.MaxPooling2D(2)], 16)
    rows, cols = receptive.fields(spec, spec.model.layers[-1].name, 16)
    assert rows == cols == receptive.Field(first=-1, size=4, jump=2)


def test_merge_takes_the_union_of_its_branches():
    inputs = keras.Input((16, 16, 1))
    wide = L.Conv2D(1, 5, padding="same")(inputs)
    merged = L.Add()([wide, L.Conv2D(1, 1)(inputs)])
    spec = models.ModelSpec("branches", keras.Model(inputs, L.Conv2D(1, 3, padding="same")(merged)), "unit", "")
    rows, _ = receptive.fields(spec, spec.model.layers[-1].name, 16)
    assert rows == receptive.Field(first=-3, size=7, jump=1)


def test_a_squeeze_excite_branch_leaves_the_local_field_as_it_is():
    inputs = keras.Input((16, 16, 1))
    local = L.Conv2D(4, 3, padding="same")(inputs)
    pooled = L.Conv2D(4, 1)(L.Reshape((1, 1, 4))(L.GlobalAveragePooling2D()(local)))  # EfficientNet's SE block
    scaled = L.Multiply()([local, pooled])
    spec = models.ModelSpec("se", keras.Model(inputs, L.Conv2D(1, 3, padding="same")(scaled)), "unit", "")
    rows, _ = receptive.fields(spec, spec.model.layers[-1].name, 16)
    assert rows == receptive.Field(first=-2, size=5, jump=1)


@pytest.mark.parametrize("layer, size, jump", [("block5_conv3", 196, 16), ("block5_pool", 212, 32)])
def test_vgg16_fields_are_the_published_ones(hed, layer, size, jump):
    rows, cols = receptive.fields(hed, layer, 224)
    assert rows == cols and (rows.size, rows.jump) == (size, jump)


def test_spacing_keeps_neighbouring_fields_apart(hed):
    assert receptive.spacing(hed, "block2_conv2", 128) == (7, 7)  # fields of 14 px, 2 px apart
    assert receptive.spacing(hed, "block5_conv1", 128) == (9, 9)  # wider than its 8-unit map: the centre alone


def test_keras_ops_between_layers_pass_the_field_on():
    """`ops.relu(x) * 2` between two convolutions is not a layer; the second conv still sees through the first."""
    inputs = keras.Input((16, 16, 1))
    x = keras.ops.relu(L.Conv2D(1, 5, padding="same")(inputs)) * 2.0
    spec = models.ModelSpec("ops", keras.Model(inputs, L.Conv2D(1, 3, padding="same", name="last")(x)), "unit", "")
    rows, cols = receptive.fields(spec, "last", 16)
    assert rows == cols == receptive.Field(first=-3, size=7, jump=1)
