"""Robustness transforms: each maps (images, seed) to images, drawn on the device from a stateless seed.

A seed is an int32 tensor of shape (2,); the render loop derives one per step, so a run is
reproducible and every batch item sees the same transform (batched and one-by-one renders agree).
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import tensorflow as tf

from ..errors import ActmaxError

Transform = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


def _choice(options: Sequence[float], seed: tf.Tensor) -> tf.Tensor:
    index = tf.random.stateless_uniform((), seed, 0, len(options), dtype=tf.int32)
    return tf.gather(tf.constant(options, tf.float32), index)


def pad(width: int, *, mode: str = "REFLECT", value: float = 0.5) -> Transform:
    """Pad every side by `width` pixels (reflected, or a constant grey with mode='CONSTANT'); a reflection of an
    image `width` px or smaller reaches one pixel less than its size."""
    def fn(images, seed):
        reach = width if mode == "CONSTANT" else tf.minimum(width, tf.reduce_min(tf.shape(images)[1:3]) - 1)
        paddings = [[0, 0], [reach, reach], [reach, reach], [0, 0]]
        return tf.pad(images, paddings, mode=mode, constant_values=value if mode == "CONSTANT" else 0)
    return fn


def jitter(distance: int) -> Transform:
    """Crop `distance` pixels off height and width at a random offset: a random shift of up to `distance`; at most
    one pixel less than the image (an early octave may be smaller than the shift asked for)."""
    def fn(images, seed):
        shape = tf.shape(images)
        reach = tf.minimum(distance, tf.reduce_min(shape[1:3]) - 1)
        offsets = tf.random.stateless_uniform((2,), seed, 0, reach + 1, dtype=tf.int32)
        return tf.slice(images, [0, offsets[0], offsets[1], 0], [-1, shape[1] - reach, shape[2] - reach, -1])
    return fn


def scale(factors: Sequence[float]) -> Transform:
    """Resize by a factor drawn from `factors` (bilinear)."""
    def fn(images, seed):
        size = tf.cast(tf.shape(images)[1:3], tf.float32) * _choice(factors, seed)
        return tf.image.resize(images, tf.cast(tf.round(size), tf.int32))
    return fn


def rotate(degrees: Sequence[float]) -> Transform:
    """Rotate counter-clockwise about the centre by an angle drawn from `degrees` (bilinear, reflected edges)."""
    def fn(images, seed):
        angle = _choice(degrees, seed) * (math.pi / 180.0)
        height, width = tf.cast(tf.shape(images)[1], tf.float32), tf.cast(tf.shape(images)[2], tf.float32)
        cos, sin = tf.cos(angle), tf.sin(angle)
        x0 = (width - 1) / 2 - cos * (width - 1) / 2 + sin * (height - 1) / 2
        y0 = (height - 1) / 2 - sin * (width - 1) / 2 - cos * (height - 1) / 2
        matrix = tf.stack([cos, -sin, x0, sin, cos, y0, 0.0, 0.0])[None]
        return tf.raw_ops.ImageProjectiveTransformV3(
            images=images, transforms=matrix, output_shape=tf.shape(images)[1:3], fill_value=0.0,
            interpolation="BILINEAR", fill_mode="REFLECT")
    return fn


def compose(*transforms: Transform) -> Transform:
    """Apply transforms in order, each with its own seed folded from the step's seed."""
    def fn(images, seed):
        for i, transform in enumerate(transforms):
            images = transform(images, tf.random.experimental.stateless_fold_in(seed, i))
        return images
    return fn


def standard() -> Transform:
    """Lucid's standard set: pad 12, jitter 8, scale 0.9-1.1, rotate -10..10 degrees, jitter 4."""
    return compose(pad(12), jitter(8), scale(tuple(1 + (i - 5) / 50 for i in range(11))),
                   rotate(tuple(range(-10, 11)) + (0,) * 5), jitter(4))


def _ranged(text: str) -> tuple[float, ...]:
    """`0.9~1.1` → 11 evenly spaced values; `10` → symmetric -10..10 in steps of 1."""
    low, sep, high = text.partition("~")
    if sep:
        a, b = float(low), float(high)
        return tuple(a + (b - a) * i / 10 for i in range(11))
    limit = int(float(text))
    return tuple(float(v) for v in range(-limit, limit + 1))


def _pixels(text: str, side: int) -> int:
    """A pixel count for pad or jitter, not negative: a whole number, or a share of the image's shorter side
    (`5%`: 6 px at 128 px, 2 px at 32), at least one pixel when the share is not 0."""
    if text.endswith("%"):
        share = float(text[:-1]) / 100
        value = max(1, round(share * side)) if share > 0 else round(share * side)
    else:
        value = int(text)
    if value < 0:
        raise ValueError(f"negative pixel count {value}")
    return value


_FACTORIES = {
    "pad": lambda arg, side: pad(_pixels(arg, side)),
    "jitter": lambda arg, side: jitter(_pixels(arg, side)),
    "scale": lambda arg, side: scale(_ranged(arg)),
    "rotate": lambda arg, side: rotate(_ranged(arg)),
}


def from_spec(spec: str, side: int = 128) -> Transform | None:
    """Build transforms from `none`, `standard`, or a list like `pad:12,jitter:8,scale:0.9~1.1,rotate:10`; pad and
    jitter in pixels, or in % of `side` (the final image's shorter side), e.g. `jitter:5%`.

    Raises:
        ActmaxError: an unknown transform name or a bad argument.
    """
    spec = spec.strip().lower()
    if spec == "none":
        return None
    if spec == "standard":
        return standard()
    parts = []
    for part in spec.split(","):
        name, _, arg = part.strip().partition(":")
        try:
            parts.append(_FACTORIES[name](arg, side))
        except (KeyError, ValueError):
            raise ActmaxError(f"bad transform '{part.strip()}'; use 'none', 'standard' or a list like "
                              "'pad:12,jitter:5%,scale:0.9~1.1,rotate:10'") from None
    return compose(*parts)
