"""Channels-first models rebuilt channels-last: the same layers and weights, reading (height, width, channels).

Older Keras models (Theano-era files, some converted from PyTorch) put channels before rows and columns. Every
part of actmax reads images and feature maps channels-last, so such a model is rebuilt from its config with its
layers' data formats, channel axes and map shapes moved and its weights copied (conv kernels are the same either
way), and its outputs are checked against the original's on one image.
"""

from __future__ import annotations

from typing import Callable

import keras
import numpy as np

from ..errors import ModelError
from . import graph

FIRST, LAST = "channels_first", "channels_last"
AXES = {1: 3, 2: 1, 3: 2, -1: 2, -2: 1, -3: 3}  # an axis of a (batch, C, H, W) map → the same of (batch, H, W, C)
SHAPE_KEYS = ("batch_shape", "input_shape", "build_input_shape", "shape")
AXIS_LAYERS = (keras.layers.BatchNormalization, keras.layers.LayerNormalization, keras.layers.Concatenate,
               keras.layers.Softmax, keras.layers.Normalization, keras.layers.PReLU)
PASS_THROUGH = (keras.layers.Activation, keras.layers.ReLU, keras.layers.LeakyReLU, keras.layers.ELU,
                keras.layers.Dropout, keras.layers.GaussianNoise, keras.layers.Identity,
                keras.layers.ActivityRegularization)  # elementwise, no weights: any order of values is alike to them
MOVABLE = AXIS_LAYERS + PASS_THROUGH + (keras.layers.Add, keras.layers.Subtract, keras.layers.Multiply,
                                        keras.layers.Average, keras.layers.Maximum, keras.layers.Minimum,
                                        keras.layers.Rescaling, keras.layers.Flatten)


def reads_channels_first(model: keras.Model) -> bool:
    """Whether any layer of the model, however nested, has data_format='channels_first'."""
    return any(getattr(tap.layer, "data_format", "") == FIRST for tap in graph.trace(model).taps.values())


def to_channels_last(model: keras.Model) -> keras.Model:
    """The channels-first `model` rebuilt to read (batch, height, width, channels), computing the same outputs.

    Raises:
        ModelError: a layer whose order of values cannot be moved (a Reshape, a Permute, a Lambda, a Dense or a
            custom layer on a map, an operation between layers), or outputs that differ from the original's.
    """
    traced = graph.trace(model)
    _check_movable(model, traced)
    try:
        rebuilt = keras.saving.deserialize_keras_object(_moved(keras.saving.serialize_keras_object(model)))
        graph.copy_weights(traced, graph.trace(rebuilt), _channels_last_weights(_flattened(traced)))
    except (ValueError, TypeError, KeyError) as exc:
        raise _refusal(model, f"rebuilding it failed ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
    _check_same(model, rebuilt)
    return rebuilt


def _check_movable(model: keras.Model, traced: graph.Graph) -> None:
    if traced.links:
        raise _refusal(model, "it computes with operations between its layers (keras.ops calls)")
    for path, tap in traced.taps.items():
        if len(tap.input.shape) == 4 and not (isinstance(tap.layer, MOVABLE) or hasattr(tap.layer, "data_format")):
            raise _refusal(model, f"its layer '{path}' ({type(tap.layer).__name__}) reads a map in an order that "
                                  "actmax cannot move")


def _refusal(model: keras.Model, why: str) -> ModelError:
    return ModelError(f"model '{model.name}' reads channels first and actmax cannot rebuild it channels-last: {why}; "
                      "build the same layers with data_format='channels_last' and copy the weights over (conv "
                      "kernels are the same either way)")


def _moved(node):
    """A serialized model, or part of one, with every map's shape, data format and channel axis moved."""
    if isinstance(node, list):
        return [_moved(item) for item in node]
    if not isinstance(node, dict):
        return node
    moved = {key: _moved_shape(value) if key in SHAPE_KEYS else _moved(value) for key, value in node.items()}
    if moved.get("data_format") == FIRST:
        moved["data_format"] = LAST
    config, built = moved.get("config"), node.get("build_config") or {}
    if isinstance(config, dict) and _on_maps(built.get("input_shape")):
        for key in ("axis", "shared_axes"):
            if isinstance(config.get(key), (int, list)):
                config[key] = _moved_axis(config[key])
    return moved


def _moved_shape(shape):
    """(batch, C, H, W) → (batch, H, W, C); other shapes as they are, and lists of shapes (a merge's) each."""
    if isinstance(shape, list) and shape and all(isinstance(s, list) for s in shape):
        return [_moved_shape(s) for s in shape]
    if isinstance(shape, (list, tuple)) and len(shape) == 4 and not any(isinstance(s, list) for s in shape):
        return [shape[0], shape[2], shape[3], shape[1]]
    return shape


def _on_maps(shape) -> bool:
    """Whether a layer's built input shape (or a merge's first) is a map's: (batch, C, H, W)."""
    first = shape[0] if isinstance(shape, list) and shape and isinstance(shape[0], list) else shape
    return isinstance(first, list) and len(first) == 4


def _moved_axis(axis: int | list) -> int | list:
    return [AXES.get(a, a) for a in axis] if isinstance(axis, list) else AXES.get(axis, axis)


def _flattened(traced: graph.Graph) -> dict[str, tuple[int, int, int]]:
    """The Dense layers that read a channels-first map flattened as it is, by path, with that map's (C, H, W): their
    rows follow the map's order, which the rebuilt model flattens as (H, W, C)."""
    readers = {}
    for tap in traced.taps.values():
        if isinstance(tap.layer, keras.layers.Flatten) and len(tap.input.shape) == 4 and tap.layer.data_format != FIRST:
            for reader in _readers(traced, tap):
                readers[reader.path] = tuple(int(d) for d in tap.input.shape[1:])
    return readers


def _readers(traced: graph.Graph, source: graph.Tap) -> list[graph.Tap]:
    """The Dense layers fed by a Flatten through elementwise layers only; anything else there cannot be moved."""
    found = []
    for tap in traced.taps.values():
        if any(t is source.output for t in tap.inputs):
            if isinstance(tap.layer, keras.layers.Dense):
                found.append(tap)
            elif isinstance(tap.layer, PASS_THROUGH):
                found.extend(_readers(traced, tap))
            else:
                raise ValueError(f"'{tap.path}' reads a flattened channels-first map")
    return found


def _channels_last_weights(flattened: dict[str, tuple[int, int, int]]) -> Callable[[graph.Tap, list], list]:
    """How a layer's weights move to the rebuilt model (`graph.copy_weights`): a Dense reading a flattened map takes
    its rows in (H, W, C) order, a PReLU its slopes channels-last; the rest as they are."""
    def adapt(tap: graph.Tap, weights: list) -> list:
        if tap.path in flattened:
            channels, height, width = flattened[tap.path]
            order = np.arange(channels * height * width).reshape(channels, height, width).transpose(1, 2, 0).ravel()
            weights[0] = weights[0][order]
        if isinstance(tap.layer, keras.layers.PReLU) and weights[0].ndim == 3:
            weights[0] = weights[0].transpose(1, 2, 0)
        return weights
    return adapt


def _check_same(model: keras.Model, rebuilt: keras.Model) -> None:
    """The rebuilt model's outputs on one image match the original's (maps compared channels-last)."""
    shape = [d or 32 for d in graph.input_shape(model)[1:]]
    image = np.random.default_rng(0).uniform(0, 255, (1, *shape)).astype(np.float32)
    before = keras.tree.flatten(model(image, training=False))
    after = keras.tree.flatten(rebuilt(image.transpose(0, 2, 3, 1), training=False))
    for old, new in zip(before, after):
        old = np.asarray(old)
        old = old.transpose(0, 2, 3, 1) if old.ndim == 4 else old
        if old.shape != np.shape(new) or not np.allclose(old, new, rtol=1e-3, atol=1e-3 * (np.abs(old).max() + 1)):
            raise _refusal(model, "the rebuilt model's outputs differ from the original's")
