"""Gradient ascent on input images: a compiled per-octave loop, driven over a pure octave schedule.

The whole octave (transform → model → objective → gradient → update, `steps` times) runs inside one
`tf.function` call, so the loop never leaves the device between steps; the host only sees the
objective values once per octave.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import tensorflow as tf

from . import optim, param as params_module, regularisers, transforms
from .objectives import Objective
from .presets import Settings

Features = Callable[[tf.Tensor], dict]


def octave_sizes(size: int, octaves: int, scale: float) -> list[int]:
    """Image sizes of each octave: growing by `scale` per octave and ending exactly at `size`."""
    return [max(1, round(size / scale ** (octaves - 1 - i))) for i in range(octaves)]


@dataclass(frozen=True)
class Engine:
    """A compiled ascent for one feature model, objective and settings; reusable across batches."""

    settings: Settings
    param: params_module.Param
    optimizer: optim.Optimizer
    run_octave: Callable

    def ascend(self, start: np.ndarray, seed: int, on_octave: Callable | None = None) -> tuple[tf.Tensor, tf.Tensor]:
        """Optimise starting values over every octave; returns final images in [0, 1] and objective values."""
        s = self.settings
        values = tf.constant(start)
        objective = None
        for octave, size in enumerate(octave_sizes(s.size, s.octaves, s.octave_scale)):
            if octave:
                values = resize(self.param, values, size)
            values, objective = self.run_octave(values, tf.constant([seed, octave], tf.int32), tf.constant(s.steps))
            if on_octave:
                on_octave(octave, objective)
        return self.param.to_image(values), objective


def resize(param: params_module.Param, values: tf.Tensor, size: int) -> tf.Tensor:
    """Decode, upscale to `size` and re-encode: how an octave grows any parameterisation."""
    images = tf.image.resize(param.to_image(values), (size, size), method="bicubic")
    return param.from_image(tf.clip_by_value(images, 0.0, 1.0))


def build(features: Features, objective: Objective, settings: Settings, *, jit: bool = False) -> Engine:
    """Compile the ascent for `objective` on `features` with the given settings."""
    param = params_module.PARAMS[settings.param]()
    optimizer = optim.OPTIMIZERS[settings.optimizer](settings.lr)
    transform = transforms.from_spec(settings.transforms) or (lambda images, seed: images)
    penalty = regularisers.penalty(settings)

    def step(values, state, seed, t):
        with tf.GradientTape() as tape:
            tape.watch(values)
            images = param.to_image(values)
            scores = objective(features(transform(images, seed)))
            total = tf.reduce_sum(scores) - penalty(images)
        delta, state = optimizer.update(tape.gradient(total, values), state, t)
        return param.project(values + delta), state, tf.ensure_shape(scores, values.shape[:1])

    @tf.function(reduce_retracing=True, jit_compile=jit)
    def run_octave(values, seed, steps):
        state = optimizer.init(values)
        scores = tf.zeros(tf.shape(values)[:1])
        for t in tf.range(steps):
            values, state, scores = step(values, state, tf.random.experimental.stateless_fold_in(seed, t), t)
            values = regularisers.blur_every(param, values, t, settings.blur_every)
        return values, scores

    return Engine(settings, param, optimizer, run_octave)
