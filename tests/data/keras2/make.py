"""Write the Keras 2 model files that tests/models/test_legacy.py loads: run with tf-keras installed (TF 2.x, Keras 2
API), `python tests/data/keras2/make.py`. Each model's output on `probe()` is saved beside it, to compare with."""

import numpy as np
import tf_keras as k
import tensorflow as tf

layers = k.layers


def probe() -> np.ndarray:
    return np.linspace(0, 255, 32 * 32 * 3, dtype=np.float32).reshape(1, 32, 32, 3)


def base() -> k.Model:
    """A small body built on its own Input, as keras.applications builds one: depthwise, batch norm, transposed."""
    inputs = k.Input((32, 32, 3))
    x = layers.Conv2D(8, 3, strides=2, padding="same", name="stem")(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.DepthwiseConv2D(3, padding="same", name="depthwise")(layers.ReLU(6.0, name="stem_relu")(x))
    x = layers.Conv2DTranspose(8, 3, strides=2, padding="same", name="up")(x)
    return k.Model(inputs, layers.Activation("relu", name="out")(x), name="body")


def functional() -> k.Model:
    """A fine-tuned model as Keras 2 tutorials made them: preprocess_input's TensorFlow calls, then a nested body."""
    inputs = k.Input((32, 32, 3))
    x = k.applications.resnet50.preprocess_input(inputs)  # x[..., ::-1] and tf.nn.bias_add: recorded calls
    x = tf.math.truediv(x, 127.5)
    x = layers.GlobalAveragePooling2D()(base()(x, training=False))
    return k.Model(inputs, layers.Dense(3, activation="softmax", name="predictions")(x), name="functional")


def sequential() -> k.Model:
    return k.Sequential([k.Input((32, 32, 3)), layers.Rescaling(1 / 255.0), base(), layers.GlobalAveragePooling2D(),
                         layers.Dense(2, name="predictions")], name="sequential")


def teachable() -> k.Model:
    """Teachable Machine's export: Sequentials nested in a Sequential, a head opened by `input_shape`."""
    body = k.Sequential([base(), layers.GlobalAveragePooling2D()], name="sequential_1")
    head = k.Sequential([layers.Dense(6, activation="relu", input_shape=(8,)), layers.Dropout(0.1),
                         layers.Dense(3, activation="softmax", use_bias=False, name="predictions")], name="head")
    model = k.Sequential([body, head], name="teachable")
    model.build((None, 32, 32, 3))
    return model


def ops() -> k.Model:
    """TensorFlow calls on two tensors: `tf.concat` of a list, `a + b` and `x * mean` (the second by reference)."""
    inputs = k.Input((32, 32, 3))
    a, b = (layers.Conv2D(4, 3, padding="same", name=name)(inputs) for name in "ab")
    mixed = tf.image.resize(tf.nn.relu(tf.concat([a, b], axis=-1)), (16, 16))
    x = mixed * tf.reduce_mean(tf.image.resize(a + b, (16, 16)), axis=-1, keepdims=True)
    x = layers.GlobalAveragePooling2D()(layers.Conv2D(4, 3, name="c")(x))
    return k.Model(inputs, layers.Dense(2, name="predictions")(x), name="ops")


def zipped() -> k.Model:
    """For the zip format TensorFlow 2.13-2.15 saved `.keras` files in (which cannot hold an Ellipsis index)."""
    inputs = k.Input((32, 32, 3))
    x = layers.GlobalAveragePooling2D()(base()(tf.math.truediv(inputs, 127.5)))
    return k.Model(inputs, layers.Dense(3, activation="softmax", name="predictions")(x), name="zipped")


if __name__ == "__main__":
    k.utils.set_random_seed(0)
    for model in (functional(), sequential(), teachable(), zipped(), ops()):
        model.save(f"tests/data/keras2/{model.name}.{'keras' if model.name == 'zipped' else 'h5'}")
        np.save(f"tests/data/keras2/{model.name}.npy", model(probe()).numpy())
