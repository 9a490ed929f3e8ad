"""Input conventions: how images in [0, 1] become what a model takes (resized to its fixed sides, then scaled,
shifted or channel-swapped as it was trained)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import tensorflow as tf

if TYPE_CHECKING:
    from .loading import ModelSpec

HED_MEAN_BGR = (104.00699, 116.66877, 122.67892)
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
TORCH_MEAN, TORCH_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
PREPROCESS_MODES = ("caffe", "tf", "torch", "none", "unit")


def preprocess_fn(mode: str) -> Callable[[tf.Tensor], tf.Tensor]:
    """Map images in [0, 1] (RGB, or grey) to what a model of the given convention expects."""
    def caffe(mean):
        return lambda x: x[..., ::-1] * 255.0 - tf.constant(mean, x.dtype)

    table = {
        "hed": caffe(HED_MEAN_BGR),
        "caffe": caffe(CAFFE_MEAN_BGR),
        "tf": lambda x: x * 2.0 - 1.0,
        "torch": lambda x: (x - tf.constant(TORCH_MEAN, x.dtype)) / tf.constant(TORCH_STD, x.dtype),
        "none": lambda x: x * 255.0,
        "unit": lambda x: x,
    }
    return table[mode]


def model_input(spec: ModelSpec, images: tf.Tensor, step: int = 1) -> tf.Tensor:
    """[0, 1] images as the model takes them: resized to its fixed sides (antialiased, so that every pixel of a
    larger image counts, not only the ones a plain bilinear sample lands on), free sides to a multiple of `step`
    (`sides.side_step`: a U-Net's), then preprocessed."""
    fixed, now = spec.model_sides, tuple(images.shape[1:3])
    uneven = step > 1 and not all(fixed) and not all(side is not None and side % step == 0 for side in now)
    if uneven or any(side and side != current for side, current in zip(fixed, now)):
        images = tf.image.resize(images, _scaled_to(fixed, tf.shape(images)[1:3], step), antialias=True)
    return preprocess_fn(spec.preprocess)(images)


def _scaled_to(fixed: tuple[int | None, int | None], shape: tf.Tensor, step: int = 1) -> list:
    """The (height, width) an image of `shape` is resized to: the fixed sides, and where a side is free, that side
    scaled as the fixed one is (a text-line model: the image keeps its aspect ratio) and rounded to a multiple of
    `step`."""
    if all(fixed):
        return list(fixed)
    scale = tf.cast(fixed[0] or fixed[1], tf.float32) / tf.cast(shape[0 if fixed[0] else 1], tf.float32) \
        if any(fixed) else 1.0
    free = [tf.maximum(step, tf.cast(tf.round(tf.cast(side, tf.float32) * scale / step), tf.int32) * step)
            for side in (shape[0], shape[1])]
    return [fixed[0] or free[0], fixed[1] or free[1]]
