"""Save MTCNN's ONet (a face classifier with PReLU units, 48 px, weights bundled in the `mtcnn` wheel) as a
Functional .keras file, a third trained model for the quality sweep that no issue tuned for.

    pip install mtcnn
    python bench/onet.py onet.keras
    python bench/quality.py --sweep --model onet.keras --preprocess tf --size 48
"""

from __future__ import annotations

import argparse

import joblib
import keras
from importlib.resources import files
from mtcnn.network.onet import ONet

SIZE = 48


def functional_onet() -> keras.Model:
    """ONet's own layers and weights, wired as a Functional model so that its layers can be named and saved."""
    net = ONet()
    net.build((None, SIZE, SIZE, 3))
    net.set_weights(joblib.load(files("mtcnn.assets.weights") / "onet.lz4"))
    inputs = keras.Input((SIZE, SIZE, 3))
    trunk = inputs
    for layer in (layer for layer in net.layers if not layer.name.startswith("fc6")):
        trunk = layer(trunk)
    heads = [layer(trunk) for layer in net.layers if layer.name.startswith("fc6")]
    return keras.Model(inputs, heads, name="onet")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", help="where to save the .keras file")
    functional_onet().save(parser.parse_args().path)
