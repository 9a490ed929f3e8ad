"""Receptive fields from the layer stack: which input pixels a unit of a layer's map can see.

Per axis, a map's field is three integers: the first pixel of unit 0's field (negative where padding
reaches outside the image), the field's size and the jump (input pixels between neighbouring units).
Convolutions and pools grow them (kernel, stride, dilation, 'same'/'valid' padding at the actual
sizes); padding and cropping layers shift them; merges (Add, Concatenate) take the union of their inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras

from . import graph
from .layers import shapes_upto
from .loading import ModelSpec


@dataclass(frozen=True)
class Field:
    """A map's receptive field along one axis: unit i sees input pixels [first + i*jump, first + i*jump + size)."""

    first: int
    size: int
    jump: int

    def span(self, index: int, length: int) -> tuple[int, int]:
        """The pixels unit `index` sees, clipped to an input of `length` pixels: [start, stop)."""
        start = self.first + index * self.jump
        return max(start, 0), min(start + self.size, length)


IDENTITY = (Field(0, 1, 1),) * 2  # the input image's own (rows, columns): each pixel sees itself


def fields(spec: ModelSpec, layer: str, size: int) -> tuple[Field, Field]:
    """The (rows, columns) receptive field of `layer`'s map for a `size` px square input."""
    found = {id(graph.trace(spec.model).input): IDENTITY}
    for tap, before, _ in shapes_upto(spec, layer, size):
        incoming = [found[id(t)] for t in tap.inputs if id(t) in found] or [IDENTITY]
        merged = tuple(_union([f[axis] for f in incoming]) for axis in (0, 1))
        lengths = before[1:3] if len(before) > 3 else (None, None)  # a pooled vector (squeeze-excite) has no axes
        found[id(tap.output)] = tuple(_through(tap.layer, merged[axis], lengths[axis], axis) for axis in (0, 1))
    return found[id(tap.output)]


def spacing(spec: ModelSpec, layer: str, size: int) -> tuple[int, int]:
    """Units between positions of `layer`'s map whose receptive fields do not overlap: (rows, columns)."""
    return tuple(max(1, math.ceil(field.size / field.jump)) for field in fields(spec, layer, size))


def box(rows: Field, cols: Field, y: int, x: int, height: int, width: int) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of the pixels unit (y, x) sees, clipped to a height × width input."""
    (top, bottom), (left, right) = rows.span(y, height), cols.span(x, width)
    return top, left, bottom, right


def _union(incoming: list[Field]) -> Field:
    first = min(f.first for f in incoming)
    return Field(first, max(f.first + f.size for f in incoming) - first, max(f.jump for f in incoming))


def _pair(value, axis: int) -> int:
    return value[axis] if isinstance(value, (tuple, list)) else value


def _through(layer, field: Field, length: int | None, axis: int) -> Field:
    """The field after `layer`, from the field and length (px) of its input along `axis`."""
    window = getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", None)
    if window is not None:
        stride, dilation = _pair(layer.strides, axis), _pair(getattr(layer, "dilation_rate", 1), axis)
        span = dilation * (_pair(window, axis) - 1) + 1
        before = _same_padding(length, span, stride) if layer.padding == "same" else 0
        return Field(field.first - before * field.jump, field.size + (span - 1) * field.jump, field.jump * stride)
    shift = _shift(layer, axis)
    return Field(field.first + shift * field.jump, field.size, field.jump)


def _same_padding(length: int | None, span: int, stride: int) -> int:
    """Padding before the first pixel under 'same' (as TensorFlow pads: the odd pixel goes after)."""
    if length is None:
        return (span - 1) // 2
    total = max((math.ceil(length / stride) - 1) * stride + span - length, 0)
    return total // 2


def _shift(layer, axis: int) -> int:
    """Pixels a padding layer adds before the map (a negative shift), or a cropping layer removes."""
    if isinstance(layer, keras.layers.ZeroPadding2D):
        return -layer.padding[axis][0]
    if isinstance(layer, keras.layers.Cropping2D):
        return layer.cropping[axis][0]
    return 0
