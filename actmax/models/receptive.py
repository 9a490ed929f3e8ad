"""Receptive fields from the layer stack: which input pixels a unit of a layer's map can see.

Per axis, a map's field is three numbers: the first pixel of unit 0's field (negative where padding
reaches outside the image), the field's size and the jump (input pixels between neighbouring units).
Convolutions and pools grow them (kernel, stride, dilation, 'same'/'valid' padding at the actual
sizes); padding and cropping layers shift them; merges (Add, Concatenate) take the union of their inputs.
Upsampling (transposed convolutions, UpSampling2D, Resizing) makes the jump a fraction of a pixel; there a
unit's field is a linear bound of what it sees, at most one input unit and a pixel wider on each side.
Operations between layers that are not layers (`keras.ops` calls) pass the field on unchanged.
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

    first: float
    size: float
    jump: float

    def span(self, index: int, length: int) -> tuple[int, int]:
        """The whole pixels unit `index` sees, clipped to an input of `length` pixels: [start, stop), never empty."""
        start = min(max(math.floor(self.first + index * self.jump), 0), length - 1)
        return start, max(min(math.ceil(self.first + index * self.jump + self.size), length), start + 1)


IDENTITY = (Field(0, 1, 1),) * 2  # the input image's own (rows, columns): each pixel sees itself


def fields(spec: ModelSpec, layer: str, size: int) -> tuple[Field, Field]:
    """The (rows, columns) receptive field of `layer`'s map for a `size` px square input."""
    traced = graph.trace(spec.model)
    found = {id(traced.input): IDENTITY}
    for tap, before, after in shapes_upto(spec, layer, size):
        incoming = [found[id(t)] for t in traced.sources(tap.inputs) if id(t) in found] or [IDENTITY]
        merged = tuple(_union([f[axis] for f in incoming]) for axis in (0, 1))
        # the map's (height, width) before and after the layer; a pooled vector (squeeze-excite) has no axes
        sides = [shape[1:3] if len(shape) > 3 else (None, None) for shape in (before, after)]
        found[id(tap.output)] = tuple(_through(tap.layer, merged[axis], sides[0][axis], sides[1][axis], axis)
                                      for axis in (0, 1))
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


def _through(layer, field: Field, length: int | None, out: int | None, axis: int) -> Field:
    """The field after `layer`, from the field along `axis` and the map's length there before and after it."""
    window = getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", None)
    if window is not None:
        stride, dilation = _pair(layer.strides, axis), _pair(getattr(layer, "dilation_rate", 1), axis)
        span = dilation * (_pair(window, axis) - 1) + 1
        if _transposed(layer):
            return _transposed_field(field, span, stride, _same_padding(out, span, stride) if layer.padding == "same"
                                     else 0)
        before = _same_padding(length, span, stride) if layer.padding == "same" else 0
        return Field(field.first - before * field.jump, field.size + (span - 1) * field.jump, field.jump * stride)
    if hasattr(layer, "interpolation") and length and out and length != out:
        return _resampled_field(field, out / length, layer.interpolation, getattr(layer, "antialias", False))
    shift = _shift(layer, axis)
    return Field(field.first + shift * field.jump, field.size, field.jump)


def _transposed(layer) -> bool:
    return isinstance(layer, (keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose,
                              keras.layers.Conv3DTranspose))


def _transposed_field(field: Field, span: int, stride: int, before: int) -> Field:
    """A transposed convolution: output unit j takes input units i with i·stride − before ≤ j < that + span."""
    return Field(field.first + field.jump * (before - span + 1) / stride,
                 field.size + field.jump * (span - 1) / stride, field.jump / stride)


RADIUS = {"nearest": 0.5, "bilinear": 1, "area": 1, "bicubic": 2, "lanczos3": 3, "lanczos5": 5}  # input units


def _resampled_field(field: Field, scale: float, interpolation: str, antialias: bool) -> Field:
    """A resize by `scale`: output unit j samples input position (j + ½)/scale − ½ and its interpolation's support."""
    radius = RADIUS.get(interpolation, 2) / (min(scale, 1) if antialias else 1)
    return Field(field.first + field.jump * (0.5 / scale - 0.5 - radius), field.size + 2 * radius * field.jump,
                 field.jump / scale)


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
