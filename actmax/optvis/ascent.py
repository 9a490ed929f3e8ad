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


def octave_sizes(size: int, octaves: int, scale: float, floor: int = 1) -> list[int]:
    """Image sizes of each octave: growing by `scale` per octave, never below `floor`, ending exactly at `size`."""
    return [max(floor, 1, round(size / scale ** (octaves - 1 - i))) for i in range(octaves)]


@dataclass(frozen=True)
class Engine:
    """A compiled ascent for one feature model, objective and settings; reusable across batches."""

    settings: Settings
    param: params_module.Param
    optimizer: optim.Optimizer
    run_octave: Callable
    layout: list
    snapshot_every: int = 0
    floor: int = 1  # the smallest image the model's layers can take
    channels: int = 3
    shape: tuple[int, int] | None = None  # the final (height, width); default `settings.size` square

    def shapes(self) -> list[tuple[int, int]]:
        """The (height, width) of each octave: each side grown by the octave scale, aspect ratio kept."""
        s = self.settings
        height, width = self.shape or (s.size, s.size)
        return list(zip(*(octave_sizes(side, s.octaves, s.octave_scale, self.floor) for side in (height, width))))

    def traces(self) -> int:
        """How many times the octave loop was compiled (bounded by the distinct image shapes)."""
        return self.run_octave.experimental_get_tracing_count()

    def ascend(self, start: np.ndarray, seed: int, on_octave: Callable | None = None, *,
               steps: int | None = None) -> Ascent:
        """Optimise starting values over every octave, from a `(seed, octave)` seed per octave; `steps` per octave
        (default the settings'), with no new trace."""
        s = self.settings
        values, steps_run, frames = tf.constant(start), 0, []
        if not self.traces():
            # One trace for every octave: image sizes open, batch and channels fixed (static shapes run faster).
            self.run_octave.get_concrete_function(tf.TensorSpec([len(start), *self.layout[1:]], tf.float32),
                                                  tf.TensorSpec([2], tf.int32), tf.TensorSpec([], tf.int32))
        for octave, shape in enumerate(self.shapes()):
            if octave:
                values = resize(self.param, values, shape)
            values, scores, steps, snapshots = self.run_octave(values, tf.constant([seed, octave], tf.int32),
                                                               tf.constant(steps or s.steps))
            steps_run += steps
            frames.extend(tf.image.resize(snapshot, self.shapes()[-1], method="bicubic") for snapshot in snapshots)
            if on_octave:
                on_octave(octave, scores)
        return Ascent(self.param.to_image(values), scores, steps_run, frames)


@dataclass(frozen=True)
class Ascent:
    """The result of one ascent: images in [0, 1], the last step's objective values, steps run, snapshots."""

    images: tf.Tensor
    scores: tf.Tensor
    steps: tf.Tensor
    frames: list[tf.Tensor]  # snapshots (batch, height, width, channels) when the engine keeps them


def resize(param: params_module.Param, values: tf.Tensor, shape: tuple[int, int]) -> tf.Tensor:
    """Decode, upscale to (height, width) and re-encode: how an octave grows any parameterisation."""
    images = tf.image.resize(param.to_image(values), shape, method="bicubic")
    return param.from_image(tf.clip_by_value(images, 0.0, 1.0))


def build(features: Features, objective: Objective, settings: Settings, *, channels: int = 3, jit: bool = False,
          loss_scale: float = 1.0, snapshot_every: int = 0, floor: int = 1,
          shape: tuple[int, int] | None = None) -> Engine:
    """Compile the ascent for `objective` on `features` with the given settings.

    `loss_scale` multiplies the objective before differentiation and divides the gradient after, so
    that float16 gradients do not underflow; float32 and bfloat16 need none. With `snapshot_every`,
    the images every that many steps are kept on the device (for animations).
    """
    param = params_module.PARAMS[settings.param]()
    optimizer = optim.OPTIMIZERS[settings.optimizer](settings.lr)
    side = min(shape) if shape else settings.size
    step = _step(features, objective, settings, param, optimizer, side, loss_scale)
    run_octave = _octave_loop(step, settings, param, optimizer, jit, snapshot_every)
    return Engine(settings, param, optimizer, run_octave, param.layout(channels), snapshot_every, floor, channels,
                  shape)


def _step(features: Features, objective: Objective, settings: Settings, param: params_module.Param,
          optimizer: optim.Optimizer, side: int, loss_scale: float) -> Callable:
    """One ascent step: transform → model → objective → gradient → update, then the contrast projection."""
    transform = transforms.from_spec(settings.transforms, side) or (lambda images, seed: images)
    penalty = regularisers.penalty(settings)
    project = regularisers.contrast_projection(param, settings.contrast)

    def step(values, state, seed, t):
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(values)
            images = param.to_image(values)
            scores = objective(features(transform(images, seed)))
            total = (tf.reduce_sum(scores) - penalty(images)) * loss_scale
        # Some gradients (e.g. of the rotation) lose the static batch size; the loop needs it kept.
        grad = tf.ensure_shape(tape.gradient(total, values), values.shape) / loss_scale
        delta, state = optimizer.update(grad, state, t)
        return tf.ensure_shape(project(values + delta), values.shape), state, tf.ensure_shape(scores, values.shape[:1])

    return step


def _octave_loop(step: Callable, settings: Settings, param: params_module.Param, optimizer: optim.Optimizer,
                 jit: bool, snapshot_every: int) -> Callable:
    """One octave's `steps` steps as one compiled call: (values, seed, steps) → (values, scores, steps taken,
    snapshots), stopping early once no item improves for `settings.patience` steps."""

    def going(t, steps, since):
        """Whether step `t` runs: `steps` not reached and, with patience, some item still improving."""
        more = t < steps
        return more & ~tf.reduce_all(since >= settings.patience) if settings.patience else more

    def keep(snapshots, t, steps, values):
        """The snapshots with the current image added after every `snapshot_every`-th step but the last."""
        due = tf.logical_and((t + 1) % snapshot_every == 0, t + 1 < steps)
        return tf.cond(due, lambda: snapshots.write(snapshots.size(), param.to_image(values)), lambda: snapshots)

    # A written-out while loop, not AutoGraph: converting the loop's source took most of the first trace's second.
    @tf.function(reduce_retracing=True, jit_compile=jit, autograph=False)
    def run_octave(values, seed, steps):
        def body(t, values, state, scores, best, since, snapshots):
            values, state, scores = step(values, state, tf.random.experimental.stateless_fold_in(seed, t), t)
            values = regularisers.blur_every(param, values, t, settings.blur_every)
            best, since = _track_best(scores, best, since)
            snapshots = keep(snapshots, t, steps, values) if snapshot_every else snapshots
            return t + 1, values, state, scores, best, since, snapshots

        start = tf.fill(tf.shape(values)[:1], -float("inf"))
        loop = (tf.constant(0), values, optimizer.init(values), start, start, tf.zeros(tf.shape(values)[:1], tf.int32),
                tf.TensorArray(tf.float32, size=0, dynamic_size=True, infer_shape=False))
        taken, values, _, scores, _, _, snapshots = tf.while_loop(
            lambda t, values, state, scores, best, since, snapshots: going(t, steps, since), body, loop)
        if not snapshot_every:
            return values, scores, taken, tf.zeros((0,))
        return values, scores, taken, snapshots.write(snapshots.size(), param.to_image(values)).stack()

    return run_octave


def _track_best(scores: tf.Tensor, best: tf.Tensor, since: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Per item: the best score so far and the steps since it last rose by more than 0.1%."""
    improved = ~tf.math.is_finite(best) | (scores > best + 1e-3 * tf.abs(best))
    return tf.where(improved, scores, best), tf.where(improved, 0, since + 1)
