"""What a model file says of its training: a head of logits that a softmax cross-entropy closed while it learned.

Keras's tutorials end a classifier in a linear Dense layer and train it with
`SparseCategoricalCrossentropy(from_logits=True)`: the softmax lives in the loss, not the model. Read as saved, the
head would be a layer of independent scores; given its softmax back, its classes are rendered, named and judged
as a softmax's are (log-odds, chance as the firing floor, probabilities on the labels).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import h5py
import keras

from . import graph

SOFTMAX_LOSSES = ("CategoricalCrossentropy", "SparseCategoricalCrossentropy", "CategoricalFocalCrossentropy")


def training_loss(path: Path):
    """The loss a model file was compiled with, as saved (a name, or a serialized loss), or None."""
    try:
        if zipfile.is_zipfile(path):  # a .keras file
            with zipfile.ZipFile(path) as archive:
                config = json.loads(archive.read("config.json")).get("compile_config") or {}
        else:
            with h5py.File(path, "r") as saved:
                raw = saved.attrs.get("training_config")
                config = json.loads(raw) if raw else {}
    except (OSError, KeyError, ValueError):
        return None
    return config.get("loss") if isinstance(config, dict) else None


def compiled_loss(model: keras.Model):
    """The loss a model in memory was compiled with, serialized as a saved file holds it, or None."""
    loss = getattr(model, "loss", None)
    try:
        return keras.saving.serialize_keras_object(loss) if loss is not None else None
    except (TypeError, ValueError):  # a loss Keras cannot serialize: nothing to read from it
        return None


def softmax_of_logits(loss) -> bool:
    """Whether a saved loss is a softmax cross-entropy taking logits (`from_logits=True`)."""
    return (isinstance(loss, dict) and loss.get("class_name") in SOFTMAX_LOSSES
            and bool((loss.get("config") or {}).get("from_logits")))


def close_with_softmax(model: keras.Model, loss) -> bool:
    """Give the model's one output, a linear Dense layer's logits trained under a softmax cross-entropy (`loss`),
    its softmax back (the layer's activation, so its path and weights stay); whether it did. The model is changed:
    give it one loaded for actmax, or a copy."""
    if not softmax_of_logits(loss) or len(getattr(model, "outputs", None) or []) != 1:
        return False
    try:
        traced = graph.trace(model)
    except Exception:  # not a graph actmax can follow: loading refuses it, saying why
        return False
    head = next((tap.layer for tap in traced.taps.values() if tap.output is traced.outputs[0]), None)
    if not isinstance(head, keras.layers.Dense) or head.activation is not keras.activations.linear:
        return False
    head.activation = keras.activations.softmax
    return True
