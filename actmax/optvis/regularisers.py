"""Image priors that pull the ascent towards natural images: penalties subtracted from the objective, and blur.

Penalties are per-item means summed over the batch, so each item's gradient is independent of the others.
"""

from __future__ import annotations

from typing import Callable

import tensorflow as tf

from .param import Param
from .presets import Settings


def total_variation(images: tf.Tensor) -> tf.Tensor:
    """Mean absolute difference between neighbouring pixels, per item."""
    dy = tf.abs(images[:, 1:] - images[:, :-1])
    dx = tf.abs(images[:, :, 1:] - images[:, :, :-1])
    return tf.reduce_mean(dy, axis=(1, 2, 3)) + tf.reduce_mean(dx, axis=(1, 2, 3))


def l1(images: tf.Tensor) -> tf.Tensor:
    """Mean absolute distance from grey, per item."""
    return tf.reduce_mean(tf.abs(images - 0.5), axis=(1, 2, 3))


def l2(images: tf.Tensor) -> tf.Tensor:
    """Mean squared distance from grey, per item."""
    return tf.reduce_mean(tf.square(images - 0.5), axis=(1, 2, 3))


def penalty(settings: Settings) -> Callable[[tf.Tensor], tf.Tensor]:
    """The weighted sum of the penalties the settings turn on, summed over the batch (0 when all are off)."""
    terms = [(w, fn) for w, fn in ((settings.tv, total_variation), (settings.l1, l1), (settings.l2, l2)) if w]
    return lambda images: sum((w * tf.reduce_sum(fn(images)) for w, fn in terms), tf.constant(0.0))


def blur(images: tf.Tensor) -> tf.Tensor:
    """A 3x3 binomial blur per channel, with reflected edges."""
    kernel = tf.constant([1.0, 2.0, 1.0]) / 4.0
    kernel = tf.tile((kernel[:, None] * kernel[None, :])[:, :, None, None], (1, 1, images.shape[-1], 1))
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="REFLECT")
    return tf.nn.depthwise_conv2d(padded, kernel, (1, 1, 1, 1), "VALID")


def blur_every(param: Param, values: tf.Tensor, step: tf.Tensor, every: int) -> tf.Tensor:
    """Blur the decoded image after every `every`-th step (never when `every` is 0)."""
    if not every:
        return values
    return tf.cond((step + 1) % every == 0,
                   lambda: param.from_image(tf.clip_by_value(blur(param.to_image(values)), 0.0, 1.0)),
                   lambda: values)


def limit_contrast(images: tf.Tensor, rms: float) -> tf.Tensor:
    """Shrink each image towards its mean colour so its RMS contrast is at most `rms` (a projection)."""
    mean = tf.reduce_mean(images, axis=(1, 2), keepdims=True)
    spread = tf.sqrt(tf.reduce_mean(tf.square(images - mean), axis=(1, 2, 3), keepdims=True))
    return tf.clip_by_value(mean + (images - mean) * tf.minimum(1.0, rms / (spread + 1e-8)), 0.0, 1.0)


def contrast_projection(param: Param, rms: float) -> Callable[[tf.Tensor], tf.Tensor]:
    """Keep values inside the RMS-contrast ball after each update (identity when `rms` is 0)."""
    if not rms:
        return param.project
    return lambda values: param.from_image(limit_contrast(param.to_image(param.project(values)), rms))
