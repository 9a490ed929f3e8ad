"""Pictures of learned convolution kernels: 0 is mid-grey, the sign shows as lighter or darker.

Returns uint8 arrays; `actmax weights` saves them.
"""

from __future__ import annotations

import numpy as np
import keras

from .. import models
from ..models import graph as layer_graph
from ..output import gallery, imaging
from ..errors import LayerError
from ..models.selection import parse_filters

BGR_CONVENTIONS = ("caffe", "hed")


def conv_layers(model: keras.Model) -> list[str]:
    """Paths of the layers with a 2-D convolution kernel: Conv2D and its relatives, nested models included."""
    return [path for path, tap in layer_graph.trace(model).taps.items() if _weight(tap.layer) is not None]


def _weight(layer: keras.layers.Layer):
    """The layer's spatial kernel variable: a conv's, or the depthwise part of a depthwise or separable conv."""
    weight = getattr(layer, "depthwise_kernel", None)
    weight = getattr(layer, "kernel", None) if weight is None else weight
    return weight if weight is not None and len(weight.shape) == 4 else None


def _kernel(layer: keras.layers.Layer) -> np.ndarray | None:
    """A layer's (height, width, in, out) kernel; a depthwise one as (height, width, 1, channels × multiplier)."""
    weight = _weight(layer)
    if weight is None:
        return None
    depthwise = isinstance(layer, keras.layers.DepthwiseConv2D) or hasattr(layer, "depthwise_kernel")
    kernel = np.asarray(weight)
    return kernel.reshape(*kernel.shape[:2], 1, -1) if depthwise else kernel


def kernel_of(spec: models.ModelSpec, layer: str) -> np.ndarray:
    """The (height, width, in, out) kernel of a conv layer, input channels in RGB order for a first layer.

    Raises:
        LayerError: the layer has no 4-D kernel.
    """
    kernel = _kernel(layer_graph.trace(spec.model).taps[layer_graph.resolve(spec.model, layer)].layer)
    if kernel is None:
        names = ", ".join(conv_layers(spec.model)[:6])
        raise LayerError(f"layer '{layer}' has no convolution kernel; pick a conv layer such as {names}")
    first = kernel.shape[2] == 3 and spec.preprocess in BGR_CONVENTIONS
    return kernel[:, :, ::-1] if first else kernel  # BGR models: show what the filter sees in RGB


def signed_to_unit(values: np.ndarray, axes: tuple[int, ...] | None = None) -> np.ndarray:
    """Map signed weights to [0, 1] with 0 at 0.5, each group over `axes` scaled by its largest magnitude."""
    scale = np.abs(values).max(axis=axes, keepdims=True)
    return 0.5 + 0.5 * values / np.where(scale > 0, scale, 1.0)


def rgb_filters(kernel: np.ndarray, *, zoom: int = 8, margin: int = 2) -> np.ndarray:
    """One RGB tile per filter of a first layer (3 input channels)."""
    tiles = signed_to_unit(np.transpose(kernel, (3, 0, 1, 2)), axes=(1, 2, 3))  # each filter on its own scale
    return gallery.make_grid(gallery.upscale(imaging.to_uint8(tiles), zoom), margin=margin)


def channel_grid(kernel: np.ndarray, *, filters: list[int], channels: list[int], zoom: int = 8,
                 margin: int = 2) -> np.ndarray:
    """Grey tiles: one row per filter, one column per input channel (a square-ish grid for a single channel)."""
    chosen = kernel[:, :, channels][:, :, :, filters]              # (h, w, C, F)
    tiles = np.transpose(chosen, (3, 2, 0, 1))[..., None]           # (F, C, h, w, 1)
    tiles = signed_to_unit(tiles, axes=(1, 2, 3, 4)).reshape(-1, *tiles.shape[2:])  # one scale per filter row
    cols = len(channels) if len(channels) > 1 else None
    return gallery.make_grid(gallery.upscale(imaging.to_uint8(tiles), zoom), cols=cols, margin=margin)


def summary(spec: models.ModelSpec) -> list[tuple[str, tuple[int, ...], int]]:
    """(name, kernel shape, parameter count) of every conv layer."""
    taps = layer_graph.trace(spec.model).taps
    return [(path, tuple(_weight(taps[path].layer).shape), int(sum(np.prod(w.shape) for w in taps[path].layer.weights)))
            for path in conv_layers(spec.model)]


def figure(spec: models.ModelSpec, layer: str, *, filters: str | None = None, channels: str | None = None,
           grey: bool = False, zoom: int = 8) -> np.ndarray:
    """What `actmax weights` saves: RGB patches for a first layer (unless `grey`), else filters x input channels.

    Defaults: every filter of a first layer; the first 16 filters x first 8 channels of a deeper one; the
    first 64 kernels of a grey first layer or a depthwise layer (one kernel per filter).
    """
    kernel = kernel_of(spec, layer)
    inputs, outputs = kernel.shape[2:]
    first = inputs == 3
    shown = outputs if first else min(outputs, 64 if inputs == 1 else 16)
    chosen = parse_filters(filters or f"0-{shown - 1}", outputs, layer)
    if first and not grey:
        return rgb_filters(kernel[..., chosen], zoom=zoom)
    picked = parse_filters(channels or ("all" if first else f"0-{min(inputs, 8) - 1}"), inputs, layer,
                           noun="input channels")
    return channel_grid(kernel, filters=chosen, channels=picked, zoom=zoom)
