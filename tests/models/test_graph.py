"""Layer paths through nested models: resolution, and nested layers computing exactly what the flat model does."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import actmax
from actmax.models import graph as layer_graph
from actmax import models
from actmax.errors import LayerError


def body(name: str) -> keras.Model:
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    return keras.Model(inputs, keras.layers.Conv2D(4, 3, name="last")(x), name=name)


@pytest.fixture(scope="module")
def twins():
    """Two nested bodies with the same layer names, side by side in one model."""
    inputs = keras.Input((None, None, 3))
    return keras.Model(inputs, keras.layers.Add(name="sum")([body("left")(inputs), body("right")(inputs)]))


@pytest.fixture(scope="module")
def wrapped(hed):
    """The embedded VGG16 inside a Sequential classifier, as in transfer learning."""
    model = keras.Sequential([keras.Input((None, None, 3)), hed.model, keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(4, activation="softmax", name="head")])
    return models.ModelSpec("wrapped", model, hed.preprocess, "hed inside a classifier")


@pytest.mark.parametrize("name, path", [("left/conv", "left/conv"), ("sum", "sum")])
def test_paths_resolve(twins, name, path):
    assert layer_graph.resolve(twins, name) == path


@pytest.mark.parametrize("name, message", [
    ("conv", "ambiguous in this model: left/conv, right/conv"),
    ("left", "'left' is a nested model; pick one of its layers"),
    ("lfet/conv", "unknown layer 'lfet/conv'; did you mean: left/conv"),
    ("xyz", "unknown layer 'xyz'; the model's layers run from left/conv to sum \\(see"),  # nothing near: no guesses
])
def test_bad_names_are_one_clear_line(twins, name, message):
    with pytest.raises(LayerError, match=message) as info:
        layer_graph.resolve(twins, name)
    assert "\n" not in str(info.value)


def test_every_nested_layer_is_listed_by_path(wrapped):
    listed = models.visual_layers(wrapped.model)
    assert listed[0] == "vgg16/block1_conv1" and "vgg16/block5_conv3" in listed and "head" not in listed
    assert models.resolve_layer(wrapped.model, "block3_conv1") == "vgg16/block3_conv1"
    assert models.logits_layer(wrapped.model).path == "head"


@pytest.mark.parametrize("pre", [True, False])
def test_nested_layer_values_equal_the_flat_model(hed, wrapped, pre):
    images = tf.random.stateless_uniform((2, 36, 36, 3), [5, 6])
    index = tf.Variable([9, 2])
    flat = models.FeatureModel(hed, ("block3_conv1",), pre_activation=pre)(images)["block3_conv1"]
    nested = models.FeatureModel(wrapped, ("block3_conv1",), pre_activation=pre)(images)["block3_conv1"]
    sliced = models.FeatureModel(wrapped, ("vgg16/block3_conv1",), pre_activation=pre,
                                 select={"vgg16/block3_conv1": index})(images)["vgg16/block3_conv1"]
    np.testing.assert_allclose(nested.numpy(), flat.numpy(), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(sliced.numpy(), tf.gather(flat, index, axis=-1).numpy(), rtol=1e-4, atol=1e-3)
    assert (float(tf.reduce_min(nested)) < 0) == pre


def test_nested_mixed_precision_stays_close(wrapped):
    images = tf.random.stateless_uniform((1, 40, 40, 3), [7, 8])
    exact = models.FeatureModel(wrapped, ("block4_conv1",))(images)["block4_conv1"]
    low = models.FeatureModel(wrapped, ("block4_conv1",), policy="mixed_bfloat16")(images)["block4_conv1"]
    assert float(tf.reduce_mean(tf.abs(low - exact)) / tf.reduce_mean(tf.abs(exact))) < 0.05


def test_nested_render_equals_the_flat_render(hed, wrapped):
    kwargs = dict(size=40, octaves=2, steps=4, seed=3)
    flat = actmax.render("block2_conv1", "0-2", model=hed, **kwargs)
    nested = actmax.render("block2_conv1", "0-2", model=wrapped, **kwargs)
    assert nested.layer == "vgg16/block2_conv1"
    np.testing.assert_allclose(nested.images, flat.images, atol=2 / 255)


def test_the_graph_feeds_inner_layers_the_outer_preprocessing():
    inputs = keras.Input((None, None, 3))
    inner = body("inner")
    model = keras.Model(inputs, inner(keras.layers.Rescaling(2.0, name="double")(inputs)))
    spec = models.ModelSpec("m", model, "unit", "")
    images = tf.random.stateless_uniform((1, 12, 12, 3), [1, 1])
    got = models.FeatureModel(spec, ("conv",), pre_activation=False)(images)["conv"]
    np.testing.assert_allclose(got.numpy(), inner.get_layer("conv")(images * 2.0).numpy(), rtol=1e-5, atol=1e-5)


def test_layer_table_needs_no_compute_and_knows_fixed_sizes():
    inputs = keras.Input((24, 40, 1))
    model = keras.Model(inputs, keras.layers.Conv2D(5, 3, strides=2, name="c")(inputs))
    table = models.layer_table(models.ModelSpec("grey", model, "unit", ""))
    assert table == [("c", "Conv2D", (11, 19), 5)]
