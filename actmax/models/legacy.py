"""Keras 2 model files (`.h5`, and `.keras` from TensorFlow 2.13-2.15) in Keras 3: what Keras 3 cannot read as
Keras 2 saved it, mended in a copy.

Most of it is config (`_mend`). The rest are layers: Keras 2 wrapped a TensorFlow function called on a Keras tensor
(`tf.math.truediv(x, 127.5)`, `x[..., ::-1]`: what `keras.applications.*.preprocess_input` put inside many
fine-tuned models) in a TFOpLambda or SlicingOpLambda layer, recording the function's name and its constant
arguments. Keras 3 has neither; these call the same function again.
"""

from __future__ import annotations

import functools
import inspect
import json
import shutil
import tempfile
import zipfile
from pathlib import Path

import h5py
import keras
import tensorflow as tf


class TFOpLambda(keras.layers.Layer):
    """`tf.<function>(inputs, **arguments)`, the function named by its path under `tf` (`math.truediv`)."""

    def __init__(self, function: str, **kwargs):
        super().__init__(**kwargs)
        self.function = function

    def call(self, inputs, tensor_arguments=(), **arguments):
        """`tensor_arguments` name the arguments that are tensors of the model (`y` of `a + b`): they arrive after
        the first input."""
        arguments.pop("name", None)
        if tensor_arguments:
            inputs, *tensors = inputs
            arguments.update(zip(tensor_arguments, tensors))
        return functools.reduce(getattr, self.function.split("."), tf)(inputs, **arguments)

    def get_config(self) -> dict:
        return {**super().get_config(), "function": self.function}


class SlicingOpLambda(TFOpLambda):
    """`inputs[slice_spec]`, the index as Keras 2 saved it: slices as dicts, an ellipsis by its class name."""

    def call(self, inputs, slice_spec=()):
        return inputs[tuple(_index(part) for part in slice_spec)]


def _index(part):
    if isinstance(part, dict):
        return Ellipsis if part.get("class_name") == "__ellipsis__" else slice(part["start"], part["stop"],
                                                                               part["step"])
    return part  # an int, or None (tf.newaxis)


CUSTOM_OBJECTS = {"TFOpLambda": TFOpLambda, "SlicingOpLambda": SlicingOpLambda}


def load(path: Path, safe_mode: bool = True, custom_objects: dict | None = None) -> keras.Model:
    """`keras.models.load_model`, for a file Keras 2 saved too (`.h5`, or `.keras` from TensorFlow 2.13-2.15): where
    Keras 3 cannot read its config as saved, a copy of the file with the config mended (`_mend`) is loaded.
    `safe_mode` and `custom_objects` as Keras's."""
    custom_objects = {**(custom_objects or {}), **CUSTOM_OBJECTS}
    config = _keras_2_config(path)
    if config is None or not _mend(config):
        return keras.models.load_model(path, compile=False, custom_objects=custom_objects, safe_mode=safe_mode)
    with tempfile.TemporaryDirectory() as folder:
        return keras.models.load_model(_mended_copy(path, config, Path(folder)), compile=False,
                                       custom_objects=custom_objects, safe_mode=safe_mode)


def _keras_2_config(path: Path) -> dict | None:
    """The model config of a model file that Keras 2 saved (HDF5, or a `.keras` zip), or None for any other file."""
    if h5py.is_hdf5(path):
        with h5py.File(path, "r") as file:
            config, version = file.attrs.get("model_config"), file.attrs.get("keras_version", "2")
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            config = archive.read("config.json") if "config.json" in names else None
            version = json.loads(archive.read("metadata.json")).get("keras_version", "") if "metadata.json" in names \
                else ""
    else:
        return None
    keras_2 = str(version.decode() if isinstance(version, bytes) else version).startswith("2")
    return json.loads(config) if config is not None and keras_2 else None


def _mended_copy(path: Path, config: dict, folder: Path) -> Path:
    """A copy of the model file in `folder` with `config` in place of its own."""
    if h5py.is_hdf5(path):
        copy = folder / "model.h5"
        shutil.copyfile(path, copy)
        with h5py.File(copy, "r+") as file:
            file.attrs["model_config"] = json.dumps(config)
        return copy
    copy = folder / "model.keras"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(copy, "w") as target:
        for item in source.infolist():
            target.writestr(item, json.dumps(config) if item.filename == "config.json" else source.read(item))
    return copy


def _mend(config) -> bool:
    """Rewrite, in place, what Keras 2 saved and Keras 3 reads otherwise, in every layer (nested models' too);
    whether anything was:

    - a recorded call's input saved as one flat `[layer, node, tensor, arguments]` entry: wrapped in a list;
    - a recorded call's tensor arguments saved by reference (`_tensor_arguments`);
    - `groups: 1` (the default) on layers whose Keras 3 class takes no `groups` (DepthwiseConv2D, Conv2DTranspose);
    - calls of a nested model numbered from 1: Keras 2 counted the node that built it, Keras 3 does not;
    - a BatchNormalization `axis` saved as a one-item list, where Keras 3 takes an int;
    - a model's one input or output saved as a one-item list (Keras 3 would hand on a list of one tensor);
    - a model's Keras 2 module (`tf_keras.src.engine.functional`): Keras 3's instead, where it finds the class;
    - an input shape on a layer (`Dense(100, input_shape=(256,))` opening a Sequential): an InputLayer instead.
    """
    if isinstance(config, list):
        return any([_mend(item) for item in config])
    if not isinstance(config, dict):
        return False
    changed = [_nest_flat_nodes(config), _tensor_arguments(config), _drop_groups(config),
               _renumber_nested_calls(config), _unlist_axis(config), _unlist_ends(config), _model_module(config),
               _input_first(config), _drop_input_shape(config)]
    return any([*changed, *(_mend(value) for value in config.values())])


def _nest_flat_nodes(model: dict) -> bool:
    """Each layer's flat inbound nodes (a recorded call's) wrapped in a list."""
    layers = [layer for layer in model.get("layers", []) if isinstance(layer, dict)]
    flat = [layer for layer in layers if any(node and isinstance(node[0], str) for node in layer.get(
        "inbound_nodes", []))]
    for layer in flat:
        layer["inbound_nodes"] = [[node] if node and isinstance(node[0], str) else node
                                  for node in layer["inbound_nodes"]]
    return bool(flat)


def _tensor_arguments(model: dict) -> bool:
    """A recorded call's arguments that name another layer's output (`{"y": ["b", 0, 0]}` of `a + b`), which Keras 2
    turned back into tensors and Keras 3 does not: made inputs of the call, named in its `tensor_arguments`."""
    names = {layer.get("name") for layer in model.get("layers", []) if isinstance(layer, dict)}
    mended = False
    for layer in model.get("layers", []):
        if not isinstance(layer, dict) or layer.get("class_name") not in CUSTOM_OBJECTS:
            continue
        for node in layer.get("inbound_nodes", []):
            arguments = node[-1][3] if len(node) == 1 and len(node[-1]) == 4 else {}
            refs = {key: value for key, value in arguments.items() if isinstance(value, list) and len(value) == 3
                    and value[0] in names and all(isinstance(i, int) for i in value[1:])}
            if refs:
                rest = {key: value for key, value in arguments.items() if key not in refs}
                node[:] = [[*node[0][:3], {}], *([*ref, {}] for ref in refs.values())]
                node[-1][3] = {**rest, "tensor_arguments": list(refs)}
                mended = True
    return mended


def _renumber_nested_calls(model: dict) -> bool:
    """In a model's config, each reference to a call of a nested model built on its own Input, one lower."""
    nested = {layer.get("name") for layer in model.get("layers", []) if isinstance(layer, dict) and _built(layer)}
    calls = [entry for layer in model.get("layers", []) if isinstance(layer, dict)
             for node in layer.get("inbound_nodes", []) for entry in node]
    refs = [ref for ref in calls + model.get("output_layers", []) if isinstance(ref, list) and ref[0] in nested]
    for ref in refs:
        ref[1] = max(ref[1] - 1, 0)
    return bool(refs)


def _built(layer: dict) -> bool:
    """Whether a layer's config is a model that Keras 2 built on its own Input (a first node of its own)."""
    inner = layer.get("config", {}).get("layers") if isinstance(layer.get("config"), dict) else None
    return bool(inner) and (layer.get("class_name") != "Sequential" or inner[0].get("class_name") == "InputLayer")


def _drop_groups(layer: dict) -> bool:
    settings, kind = layer.get("config"), getattr(keras.layers, str(layer.get("class_name")), None)
    if not (isinstance(settings, dict) and settings.get("groups") == 1 and isinstance(kind, type)):
        return False
    if "groups" in inspect.signature(kind.__init__).parameters:
        return False
    del settings["groups"]
    return True


def _unlist_axis(layer: dict) -> bool:
    settings = layer.get("config")
    listed = (layer.get("class_name") == "BatchNormalization" and isinstance(settings, dict)
              and isinstance(settings.get("axis"), list) and len(settings["axis"]) == 1)
    if listed:
        settings["axis"] = settings["axis"][0]
    return listed


def _unlist_ends(model: dict) -> bool:
    ends = [key for key in ("input_layers", "output_layers")
            if isinstance(model.get(key), list) and len(model[key]) == 1 and isinstance(model[key][0], list)]
    for key in ends:
        model[key] = model[key][0]
    return bool(ends)


MODEL_MODULES = {"Functional": "keras.src.models.functional", "Sequential": "keras", "Model": "keras"}  # Keras 3's


def _model_module(layer: dict) -> bool:
    module = MODEL_MODULES.get(layer.get("class_name"))
    keras_2 = "module" in layer and module is not None and layer["module"] != module
    if keras_2:
        layer["module"] = module
    return keras_2


def _input_first(model: dict) -> bool:
    """A Sequential opened by a layer with a `batch_input_shape`: that shape as an InputLayer before it."""
    inner = model.get("config", {}).get("layers") if model.get("class_name") == "Sequential" else None
    first = inner[0] if inner else {}
    shaped = first.get("class_name") != "InputLayer" and "batch_input_shape" in first.get("config", {})
    if shaped:
        settings = first["config"]
        inner.insert(0, {"class_name": "InputLayer", "config": {
            "batch_input_shape": settings["batch_input_shape"], "dtype": settings.get("dtype", "float32"),
            "name": f"{settings['name']}_input"}})
    return shaped


def _drop_input_shape(layer: dict) -> bool:
    settings = layer.get("config")
    shaped = (layer.get("class_name") not in (None, "InputLayer") and isinstance(settings, dict)
              and "batch_input_shape" in settings)
    if shaped:
        del settings["batch_input_shape"]
    return shaped
