import keras
import numpy as np

from actmax import models


def grouped_net(groups: int = 6, multiplier: int = 2) -> keras.Model:
    """A net with two depthwise convolutions written as grouped Conv2D (one dilated), and a grouped one that is not
    depthwise."""
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(6, 3, name="stem")(inputs)
    x = keras.layers.Conv2D(6 * multiplier, 5, padding="same", groups=groups, activation="relu", name="dw")(x)
    x = keras.layers.Conv2D(6 * multiplier, 3, padding="same", dilation_rate=6, groups=groups * multiplier,
                            name="dilated")(x)  # its kernel reaches 13 px
    x = keras.layers.Conv2D(6, 3, strides=2, groups=2, name="grouped")(x)
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))


def test_a_depthwise_conv_written_as_a_grouped_one_runs_as_a_depthwise_conv_with_the_same_outputs():
    model = grouped_net()
    spec = models.load_model(model)
    assert type(spec.model.get_layer("dw")) is type(spec.model.get_layer("dilated")) is keras.layers.DepthwiseConv2D
    assert type(spec.model.get_layer("grouped")) is keras.layers.Conv2D  # two channels a group: left as it is
    image = np.random.default_rng(0).uniform(0, 255, (2, 20, 20, 3)).astype(np.float32)
    np.testing.assert_allclose(spec.model(image), model(image), rtol=1e-5, atol=1e-5)
    sub = keras.Model(model.inputs, model.get_layer("dw").output)  # every channel, in order, before pooling
    rebuilt = keras.Model(spec.model.inputs, spec.model.get_layer("dw").output)
    np.testing.assert_allclose(rebuilt(image), sub(image), rtol=1e-5, atol=1e-4)

    model.get_layer("dw").set_weights([w + 1 for w in model.get_layer("dw").get_weights()])  # trained since
    np.testing.assert_allclose(models.load_model(model).model(image), model(image), rtol=1e-5, atol=1e-5)


def test_a_model_without_grouped_depthwise_convs_is_kept_as_it_is():
    model = grouped_net(groups=3, multiplier=1)
    assert models.load_model(model).model is model
