"""A zoo of tiny random-weight models of the shapes users bring, each saved to a file as a user would.

Every model has a first convolution `conv_a` and a deeper one `conv_b` (named uniquely, however nested);
`classifier` says whether it ends in a (batch, classes) head.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras
from keras import layers


@dataclass(frozen=True)
class Zoo:
    name: str
    path: Path
    classifier: bool
    channels: int = 3


def _body(channels: int = 3, name: str = "body", shape=(None, None)) -> keras.Model:
    """conv_a (ReLU inside) → pool → conv_b (ReLU inside), as a Functional model to nest."""
    inputs = keras.Input((*shape, channels))
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_a")(inputs)
    x = layers.MaxPooling2D(name="pool_a")(x)
    x = layers.Conv2D(12, 3, padding="same", activation="relu", name="conv_b")(x)
    return keras.Model(inputs, x, name=name)


def _head(x, classes: int = 3, softmax: str = "dense"):
    """Global pooling and a Dense head: softmax inside Dense, as a separate Activation, or none (logits)."""
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    if softmax == "dense":
        return layers.Dense(classes, activation="softmax", name="predictions")(x)
    x = layers.Dense(classes, name="logits")(x)
    return layers.Activation("softmax", name="probabilities")(x) if softmax == "layer" else x


def nested() -> keras.Model:
    """A Functional base inside a Sequential classifier: transfer learning as people write it."""
    return keras.Sequential([keras.Input((40, 40, 3)), _body(), layers.GlobalAveragePooling2D(),
                             layers.Dense(3, activation="softmax")], name="transfer")


def two_deep() -> keras.Model:
    """A Functional outer model holding a Sequential that holds the Functional body, with Rescaling outside."""
    inputs = keras.Input((None, None, 3))
    x = layers.Rescaling(1 / 127.5, offset=-1, name="scale")(inputs)
    x = keras.Sequential([_body(name="inner"), layers.Conv2D(6, 1, name="conv_c")], name="middle")(x)
    return keras.Model(inputs, _head(x, softmax="layer"), name="two_deep")


def sequential_logits() -> keras.Model:
    """A Sequential classifier ending in logits (no softmax)."""
    return keras.Sequential([keras.Input((32, 32, 3)), layers.Conv2D(8, 3, activation="relu", name="conv_a"),
                             layers.Conv2D(8, 3, activation="relu", name="conv_b"), layers.GlobalAveragePooling2D(),
                             layers.Dense(5, name="logits")], name="seq_logits")


def multi_output() -> keras.Model:
    """Two outputs from one image: a class head and a segmentation-like map."""
    inputs = keras.Input((None, None, 3))
    features = _body()(inputs)
    mask = layers.Conv2D(1, 1, activation="sigmoid", name="mask")(features)
    return keras.Model(inputs, [_head(features), mask], name="two_heads")


def preprocessing_bn() -> keras.Model:
    """Rescaling and Normalization inside, and BatchNorm followed by a separate Activation."""
    inputs = keras.Input((None, None, 3))
    x = layers.Rescaling(1 / 255, name="rescale")(inputs)
    x = layers.Normalization(mean=[0.5, 0.4, 0.3], variance=[0.06, 0.05, 0.07], name="normalise")(x)
    x = layers.Conv2D(8, 3, padding="same", use_bias=False, name="conv_a")(x)
    x = layers.BatchNormalization(name="bn_a")(x)
    x = layers.Activation("relu", name="relu_a")(x)
    x = layers.Conv2D(8, 3, strides=2, padding="same", name="conv_b")(x)
    x = layers.ReLU(name="relu_b")(x)
    return keras.Model(inputs, _head(x, softmax="none"), name="prep_bn")


def separable() -> keras.Model:
    """Depthwise and separable convolutions after a first plain convolution (MobileNet-like)."""
    inputs = keras.Input((None, None, 3))
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_a")(inputs)
    x = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, name="depthwise")(x)
    x = layers.SeparableConv2D(12, 3, padding="same", activation="relu", name="conv_b")(x)
    return keras.Model(inputs, x, name="separable")


def unet() -> keras.Model:
    """A two-level U-Net segmenter: sides must halve evenly twice for its skips to meet the upsampled maps."""
    inputs = keras.Input((None, None, 3))
    top = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_a")(inputs)
    down = layers.Conv2D(12, 3, padding="same", activation="relu", name="down")(layers.MaxPooling2D()(top))
    bottom = layers.Conv2D(16, 3, padding="same", activation="relu", name="bottom")(layers.MaxPooling2D()(down))
    up = layers.Conv2DTranspose(12, 2, strides=2, name="up")(bottom)
    x = layers.Conv2D(12, 3, padding="same", activation="relu", name="conv_b")(layers.Concatenate()([up, down]))
    x = layers.Concatenate()([layers.UpSampling2D()(x), top])
    return keras.Model(inputs, layers.Conv2D(2, 1, activation="softmax", name="mask")(x), name="unet")


def grey_non_square() -> keras.Model:
    """A fixed-size grey input that is not square."""
    return _body(channels=1, shape=(24, 40), name="grey")


def mixed_precision() -> keras.Model:
    """A classifier built (and saved) under the mixed_float16 dtype policy."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        inputs = keras.Input((None, None, 3))
        return keras.Model(inputs, _head(_body()(inputs)), name="mixed")
    finally:
        keras.mixed_precision.set_global_policy("float32")


def channels_first() -> keras.Model:
    """A Theano-era classifier, channels first: BatchNorm on axis 1, a Flatten read by a Dense."""
    first = {"data_format": "channels_first"}
    inputs = keras.Input((3, 40, 40))
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_a", **first)(inputs)
    x = layers.BatchNormalization(axis=1, name="bn")(layers.MaxPooling2D(name="pool_a", **first)(x))
    x = layers.Conv2D(12, 3, padding="same", activation="relu", name="conv_b", **first)(x)
    x = layers.Flatten(name="flat")(layers.MaxPooling2D(4, name="pool_b", **first)(x))
    return keras.Model(inputs, layers.Dense(3, activation="softmax", name="predictions")(x), name="theano")


BUILDERS = {"nested": (nested, True, 3, "keras"), "two_deep": (two_deep, True, 3, "keras"),
            "sequential_logits": (sequential_logits, True, 3, "keras"),
            "multi_output": (multi_output, True, 3, "keras"),
            "preprocessing_bn": (preprocessing_bn, True, 3, "keras"), "separable": (separable, False, 3, "keras"),
            "grey_non_square": (grey_non_square, False, 1, "keras"),
            "mixed_precision": (mixed_precision, True, 3, "keras"),
            "legacy_h5": (nested, True, 3, "h5"), "unet": (unet, False, 3, "keras"),
            "channels_first": (channels_first, True, 3, "keras")}


def build(folder: Path) -> dict[str, Zoo]:
    """Build and save every zoo model into `folder`."""
    zoo = {}
    for seed, (name, (make, classifier, channels, suffix)) in enumerate(BUILDERS.items()):
        keras.utils.set_random_seed(seed)
        path = folder / f"{name}.{suffix}"
        make().save(path)
        zoo[name] = Zoo(name, path, classifier, channels)
    return zoo
