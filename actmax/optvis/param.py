"""A parameterisation stores images as optimisable values and decodes them into [0, 1] images.

Each one is a `Param`: `init` makes seeded starting values on the host, `to_image` decodes on the
device, `from_image` encodes (so an octave can upscale the decoded image and carry on), and
`project` keeps the values valid after each update.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import tensorflow as tf

# Square root of the colour correlation of natural images (Lucid's ImageNet estimate), RGB.
COLOR_SQRT = np.array([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], np.float32)
COLOR_MIX = COLOR_SQRT / np.max(np.linalg.norm(COLOR_SQRT, axis=0))
EPS = 1e-4


@dataclass(frozen=True)
class Param:
    """How images are stored while they are optimised."""

    name: str
    layout: Callable[[int], list]  # the shape of a batch of values, sizes left open, for a channel count
    init: Callable[[np.random.Generator, tuple[int, int], int], np.ndarray]  # (rng, (height, width), channels)
    to_image: Callable[[tf.Tensor], tf.Tensor]
    from_image: Callable[[tf.Tensor], tf.Tensor]
    project: Callable[[tf.Tensor], tf.Tensor] = tf.identity


def _image_layout(channels: int) -> list:
    return [None, None, None, channels]


def pixel(*, noise: float = 0.1) -> Param:
    """Raw pixels, started as uniform noise of +-`noise` around grey and clipped to [0, 1]: the classic."""
    def init(rng, shape, channels):
        return rng.uniform(0.5 - noise, 0.5 + noise, (*shape, channels)).astype(np.float32)
    return Param("pixel", _image_layout, init, tf.identity, tf.identity, lambda p: tf.clip_by_value(p, 0.0, 1.0))


def _fftfreq(n: tf.Tensor) -> tf.Tensor:
    """Sample frequencies of an n-point FFT, as numpy.fft.fftfreq(n)."""
    k = tf.range(n)
    return tf.cast(tf.where(k < (n + 1) // 2, k, k - n), tf.float32) / tf.cast(n, tf.float32)


def _frequency_scale(height: tf.Tensor, width: tf.Tensor, decay: float) -> tf.Tensor:
    """Per-coefficient scale towards a 1/f^decay natural-image spectrum, shape (height, width)."""
    fy, fx = _fftfreq(height), _fftfreq(width)
    freq = tf.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2)
    floor = 1.0 / tf.cast(tf.maximum(height, width), tf.float32)
    return tf.sqrt(tf.cast(height * width, tf.float32)) / tf.maximum(freq, floor) ** decay


def _mix_colours(images: tf.Tensor, inverse: bool = False) -> tf.Tensor:
    if images.shape[-1] != 3:
        return images
    mix = np.linalg.inv(COLOR_MIX.T) if inverse else COLOR_MIX.T
    return tf.tensordot(images, tf.constant(mix, tf.float32), axes=1)


def fourier(*, decay: float = 1.0, noise: float = 0.01) -> Param:
    """Fourier coefficients scaled towards a natural spectrum, decorrelated colour, sigmoid into [0, 1].

    Values have shape (batch, channels, height, width, 2): real and imaginary parts of a full 2-D FFT,
    which keeps the image size explicit in the shape for any height and width.
    """
    def init(rng, shape, channels):
        return rng.normal(0.0, noise, (channels, *shape, 2)).astype(np.float32)

    def to_image(values):
        height, width = tf.shape(values)[2], tf.shape(values)[3]
        spectrum = tf.complex(values[..., 0], values[..., 1]) * tf.cast(_frequency_scale(height, width, decay),
                                                                         tf.complex64)
        planes = tf.math.real(tf.signal.ifft2d(spectrum)) / 4.0
        return tf.sigmoid(_mix_colours(tf.transpose(planes, (0, 2, 3, 1))))

    def from_image(images):
        logits = tf.math.log(tf.clip_by_value(images, EPS, 1 - EPS) / tf.clip_by_value(1 - images, EPS, 1))
        planes = tf.transpose(_mix_colours(logits, inverse=True), (0, 3, 1, 2)) * 4.0
        height, width = tf.shape(planes)[2], tf.shape(planes)[3]
        spectrum = tf.signal.fft2d(tf.cast(planes, tf.complex64)) / tf.cast(
            _frequency_scale(height, width, decay), tf.complex64)
        return tf.stack([tf.math.real(spectrum), tf.math.imag(spectrum)], axis=-1)

    return Param("fourier", lambda channels: [None, channels, None, None, 2], init, to_image, from_image)


def decorrelated(*, noise: float = 0.1) -> Param:
    """Pixels stored in decorrelated colour (Lucid's colour basis), clipped to [0, 1] as images.

    A step of the same size moves brightness more than hue, which keeps colours closer to natural ones.
    """
    def to_image(values):
        return 0.5 + _mix_colours(values)

    def from_image(images):
        return _mix_colours(images - 0.5, inverse=True)

    def init(rng, shape, channels):
        grey_noise = rng.uniform(0.5 - noise, 0.5 + noise, (1, *shape, channels)).astype(np.float32)
        return from_image(tf.constant(grey_noise)).numpy()[0]

    return Param("decorrelated", _image_layout, init, to_image, from_image,
                 lambda values: from_image(tf.clip_by_value(to_image(values), 0.0, 1.0)))


PARAMS = {"pixel": pixel, "decorrelated": decorrelated, "fourier": fourier}
