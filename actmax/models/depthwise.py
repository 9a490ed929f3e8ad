"""Depthwise convolutions written as grouped ones, rebuilt as DepthwiseConv2D layers.

ConvNeXt (keras.applications) and many models ported from PyTorch write a depthwise convolution as a Conv2D with
one input channel per group (`groups` = its input channels). TensorFlow's CPU kernels run that grouped form about
60× slower than the same DepthwiseConv2D (a 7×7 on 8×56×56×96: 0.30 s against 0.005 s; its input gradient 85×), so
such a model is run as a copy with the same layer names, outputs and weights, whose depthwise convolutions say so.
"""

from __future__ import annotations

import functools

import keras
import numpy as np

from . import graph


def is_grouped_depthwise(layer: keras.layers.Layer) -> bool:
    """A channels-last Conv2D whose every group reads one input channel: a depthwise convolution."""
    return (type(layer) is keras.layers.Conv2D and layer.groups > 1 and layer.data_format == "channels_last"
            and layer.kernel.shape[2] == 1)


def as_depthwise(model: keras.Model) -> keras.Model:
    """`model` itself, or, where it has grouped depthwise convolutions, a copy of it that runs them as
    DepthwiseConv2D layers, given the model's weights as they are now (a model trained since renders as it is).

    A model that cannot be rebuilt from its layers' configs, or whose rebuilt convolutions compute other values,
    runs as it is: the copy only saves time.
    """
    traced = graph.trace(model)
    if not any(is_grouped_depthwise(tap.layer) for tap in traced.taps.values()):
        return model
    copy = _checked_copy(model)
    if copy is None:
        return model
    graph.copy_weights(traced, graph.trace(copy), _depthwise_kernel)
    return copy


@functools.lru_cache(maxsize=4)
def _checked_copy(model: keras.Model) -> keras.Model | None:
    """The model rebuilt from its layers' configs, each grouped depthwise convolution as a DepthwiseConv2D, once
    per model; None where it cannot be rebuilt or a rebuilt convolution computes other values than its original
    (checked once: what a layer computes from its weights does not change with them)."""
    try:
        copy = keras.models.clone_model(model, clone_function=_rebuilt, recursive=True)
        old, new = graph.trace(model), graph.trace(copy)
        graph.copy_weights(old, new, _depthwise_kernel)
        return copy if _same_outputs(old, new) else None
    except Exception:  # a layer that cannot be rebuilt from its config: run the grouped form, only slower
        return None


def _rebuilt(layer: keras.layers.Layer) -> keras.layers.Layer:
    if not is_grouped_depthwise(layer):
        return layer.__class__.from_config(layer.get_config())
    config = layer.get_config()
    return keras.layers.DepthwiseConv2D(
        config["kernel_size"], strides=config["strides"], padding=config["padding"],
        depth_multiplier=layer.filters // layer.groups, dilation_rate=config["dilation_rate"],
        activation=config["activation"], use_bias=config["use_bias"], name=layer.name, dtype=config["dtype"])


def _depthwise_kernel(tap: graph.Tap, weights: list) -> list:
    """A layer's weights as its rebuilt copy stores them (`graph.copy_weights`): a grouped kernel (h, w, 1, groups ×
    m) is the depthwise kernel (h, w, groups, m), output channel g·m + i of both reading input channel g."""
    if is_grouped_depthwise(tap.layer):
        height, width, _, filters = weights[0].shape
        weights[0] = weights[0].reshape(height, width, tap.layer.groups, filters // tap.layer.groups)
    return weights


def _same_outputs(old: graph.Graph, new: graph.Graph) -> bool:
    """Whether each rebuilt convolution computes what its grouped original does, on a small noise map (its kernel's
    reach and 8 px more a side)."""
    noise = np.random.default_rng(0).standard_normal
    for path, tap in old.taps.items():
        if is_grouped_depthwise(tap.layer):
            reach = max((k - 1) * d + 1 for k, d in zip(tap.layer.kernel_size, tap.layer.dilation_rate))
            patch = noise((1, reach + 8, reach + 8, tap.layer.groups)).astype(np.float32)
            before, after = (np.asarray(layer(patch), np.float32) for layer in (tap.layer, new.taps[path].layer))
            if not np.allclose(before, after, rtol=1e-3, atol=1e-3 * (np.abs(before).max() + 1)):
                return False
    return True
