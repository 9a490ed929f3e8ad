"""DeepDream over a photo: gradient ascent on layer energies, in octaves, re-injecting the detail each
downscale loses, with a random roll each step (no tile seams) and gradients computed tile by tile
so that large photos fit in memory.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import tensorflow as tf

from .. import models
from ..models import memory
from . import objectives
from .engine import check_objective
from .presets import get_preset, plain_numbers
from ..errors import ActmaxError


@dataclass(frozen=True)
class DreamSettings:
    """How a photo is dreamed."""

    octaves: int = 4
    octave_scale: float = 1.4
    steps: int = 20
    step_size: float = 0.003
    tile: int = 512
    max_loss: float | None = None
    seed: int = 0


DREAM_AT_LEAST = {"octaves": 1, "octave_scale": 1.0, "steps": 1, "tile": 32}  # every other count or weight: 0


def layer_weights(specs: list[str]) -> objectives.Objective:
    """`name` or `name:weight` layer terms to a weighted sum of layer energies (DeepDream's objective).

    Raises:
        ActmaxError: no layers, or a weight that is not a number.
    """
    if not specs:
        raise ActmaxError("no layers to dream with; give at least one, e.g. ['block4_conv3'] or ['block4_conv3:0.5']")
    terms = []
    for spec in specs:
        name, _, weight = spec.partition(":")
        try:
            scale = float(weight or 1.0)
        except ValueError:
            raise ActmaxError(f"bad layer weight in '{spec}'; write 'layer' or 'layer:0.5'") from None
        energy = objectives.layer_energy(name)
        terms.append(energy if scale == 1.0 else scale * energy)
    return sum(terms)


def octave_shapes(height: int, width: int, octaves: int, scale: float, floor: int = 1) -> list[tuple[int, int]]:
    """(height, width) of each octave, ending at the photo's own size, aspect ratio kept; no octave's shorter side
    goes below `floor` px (what the layers need), so a small photo has fewer octaves."""
    most = max(1.0, min(height, width) / floor)
    shrinks = dict.fromkeys(min(scale ** k, most) for k in range(octaves - 1, -1, -1))
    return [(max(1, round(height / s)), max(1, round(width / s))) for s in shrinks]


class Dreamer:
    """Compiled gradient of an objective for one model, applied to a photo tile by tile."""

    def __init__(self, spec: models.ModelSpec, goal: objectives.Objective):
        self.features = models.FeatureModel(spec, tuple(sorted(goal.layers)), pre_activation=False)
        self.goal = goal
        self.sides = spec.model_sides  # tiles at what the model itself takes
        self.floor = models.min_size(spec, *goal.layers)
        self.gradient = tf.function(self._gradient, reduce_retracing=True)

    def _gradient(self, image):
        with tf.GradientTape() as tape:
            tape.watch(image)
            loss = tf.reduce_sum(self.goal(self.features(image)))
        return tape.gradient(loss, image), loss

    def _tiling(self, height: int, width: int, tile: int) -> tuple[tuple[int, int], int]:
        """The tile's (height, width) and the margin of context around it, for a height × width image."""
        return tuple(side or tile for side in self.sides), 0 if tile >= max(height, width) else tile // 4

    def work(self, height: int, width: int, tile: int) -> int:
        """Pixels the model sees for one step over a height × width image: its tiles' windows, margins included."""
        tiles, margin = self._tiling(height, width, tile)
        return int(np.prod([sum(stop - start for _, start, stop in _spans(length, size, margin, window))
                            for length, size, window in zip((height, width), tiles, self.sides)]))

    def tiled_gradient(self, image: tf.Tensor, shift: tf.Tensor, tile: int) -> tuple[tf.Tensor, float]:
        """Gradient of the whole (rolled) image, computed tile by tile and rolled back.

        Each tile is seen with a margin of `tile // 4` px of real context around it (kept out of the
        result), so that tile borders do not show; objectives are spatial means, so each tile's part is
        weighted by its share of the image. Along a side the model fixes, tiles are that long, each seen pixel for
        pixel (a whole photo resized to its input would leave most pixels out of the gradient).
        """
        rolled = tf.roll(image, shift, axis=(1, 2))
        height, width = int(image.shape[1]), int(image.shape[2])
        tiles, margin = self._tiling(height, width, tile)
        rows, loss = [], 0.0
        for top, y0, y1 in _spans(height, tiles[0], margin, self.sides[0]):
            row = []
            for left, x0, x1 in _spans(width, tiles[1], margin, self.sides[1]):
                piece = rolled[:, y0:y1, x0:x1]
                grad, part = self.gradient(piece)
                share = piece.shape[1] * piece.shape[2] / (height * width)
                kept = grad[:, top - y0:top - y0 + tiles[0], left - x0:left - x0 + tiles[1]]
                row.append(kept * share)
                loss += float(part) * kept.shape[1] * kept.shape[2] / (height * width)
            rows.append(tf.concat(row, axis=2))
        return tf.roll(tf.concat(rows, axis=1), -shift, axis=(1, 2)), loss


def _spans(length: int, tile: int, margin: int, window: int | None) -> Iterator[tuple[int, int, int]]:
    """Along one axis, for each tile of `tile` px: where its kept part starts, and where the window the model sees
    starts and ends: the tile with `margin` px of context each side, or exactly `window` px (a fixed-size model's
    side) moved back inside the image."""
    for top in range(0, length, tile):
        start = max(0, min(top, length - window)) if window else max(top - margin, 0)
        yield top, start, min(start + window, length) if window else min(top + tile + margin, length)


@memory.guard("lower --tile (gradients are computed tile by tile) or --size")
def dream(spec: models.ModelSpec, image: np.ndarray, goal: objectives.Objective,
          settings: DreamSettings = DreamSettings(), *, dreamer: Dreamer | None = None,
          progress: Callable[[int, int, int, int, float], None] | None = None) -> np.ndarray:
    """DeepDream a [0, 1] RGB photo (H, W, 3); returns an image of the same size.

    `progress(done, total, octave, octaves, objective)` is told after every step, `done` and `total` counting
    pixel-steps (a step costs in proportion to the pixels its tiles show the model), so that a bar over them has a
    true ETA.

    Raises:
        ActmaxError: the photo is smaller than the layers can take, or a setting below its least (steps=0 …).
    """
    settings = plain_numbers(settings, DREAM_AT_LEAST)
    dreamer = dreamer or Dreamer(spec, goal)
    if min(image.shape[:2]) < dreamer.floor:
        raise ActmaxError(f"the photo is {image.shape[0]}×{image.shape[1]} px, too small for layer(s) "
                          f"{', '.join(sorted(goal.layers))}: they need "
                          f"at least {dreamer.floor} px a side; give a larger --size or photo")
    rng = np.random.default_rng(settings.seed)
    original = tf.constant(image[None], tf.float32)
    shapes = octave_shapes(*image.shape[:2], settings.octaves, settings.octave_scale, dreamer.floor)
    costs = [dreamer.work(height, width, settings.tile) for height, width in shapes]  # pixels seen per step
    current = tf.image.resize(original, shapes[0], antialias=True)
    for octave, shape in enumerate(shapes):
        if octave:
            previous = tf.image.resize(original, shapes[octave - 1], antialias=True)
            detail = tf.image.resize(original, shape, antialias=True) - tf.image.resize(previous, shape)
            current = tf.image.resize(current, shape) + detail  # re-inject what the downscale lost
        done = sum(costs[:octave]) * settings.steps
        tick = progress and (lambda step, loss: progress(done + step * costs[octave], sum(costs) * settings.steps,
                                                        octave + 1, len(shapes), loss))
        current = _ascend(dreamer, current, settings, rng, tick)
    return np.clip(current.numpy()[0], 0.0, 1.0)


def _ascend(dreamer: Dreamer, image: tf.Tensor, settings: DreamSettings, rng, tick: Callable | None) -> tf.Tensor:
    """`steps` normalised-gradient steps at one octave, each on a randomly rolled image; stops at `max_loss`.
    `tick(steps done, objective)` is told after each."""
    limit = max(1, min(int(image.shape[1]), int(image.shape[2])) // 4)
    for step in range(1, settings.steps + 1):
        shift = tf.constant(rng.integers(-limit, limit + 1, 2), tf.int32)
        grad, loss = dreamer.tiled_gradient(image, shift, settings.tile)
        grad = tf.math.divide_no_nan(grad, tf.math.reduce_std(grad))  # scale-free: tiny gradients take full steps
        image = tf.clip_by_value(image + settings.step_size * grad, 0.0, 1.0)
        if tick:
            tick(step, float(loss))
        if settings.max_loss is not None and float(loss) > settings.max_loss:
            break
    return image


def zoom(image: np.ndarray, factor: float) -> np.ndarray:
    """Crop the centre 1/factor of the image and scale it back to full size (one frame of a zoom)."""
    height, width = image.shape[:2]
    crop_h, crop_w = max(1, round(height / factor)), max(1, round(width / factor))
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    crop = tf.constant(image[None, top:top + crop_h, left:left + crop_w])
    return np.clip(tf.image.resize(crop, (height, width), method="bicubic").numpy()[0], 0.0, 1.0)


def zoom_frames(spec: models.ModelSpec, image: np.ndarray, goal: objectives.Objective, *, frames: int,
                factor: float, settings: DreamSettings = DreamSettings(),
                progress: Callable | None = None) -> list[np.ndarray]:
    """Dream, zoom in, and dream again, feeding each frame into the next; `progress` as `dream`'s, over all frames."""
    dreamer, result = Dreamer(spec, goal), []
    for frame in range(frames):
        whole = progress and functools.partial(_frame_progress, progress, frame, frames)
        image = dream(spec, image if frame == 0 else zoom(result[-1], factor), goal, settings, dreamer=dreamer,
                      progress=whole)
        result.append(image)
    return result


def _frame_progress(progress: Callable, frame: int, frames: int, done: int, total: int, *rest) -> None:
    """One frame's progress as a share of all frames' (each frame is the same work)."""
    progress(frame * total + done, frames * total, *rest)


def noise_image(size: int = 512, *, seed: int = 0, channels: int = 3) -> np.ndarray:
    """Grey noise to dream over when there is no photo (`channels=1` for grey-input models)."""
    return np.random.default_rng(seed).uniform(0.4, 0.6, (size, size, channels)).astype(np.float32)


def objective_for(spec: models.ModelSpec, layers: list[str] | None, expression: str | None) -> objectives.Objective:
    """The dream's objective: weighted layer energies, a filter expression, or (neither) a deep conv layer's energy."""
    if expression:
        goal = objectives.parse(expression)
    else:
        convs = models.convolutions(spec.model)
        goal = layer_weights(layers or [convs[int(len(convs) * 0.7)]])
    for name in goal.layers:
        models.get_layer(spec.model, name)
    if expression:  # a filter index the layer lacks reads as one line, before any tile is computed
        check_objective(spec, goal, get_preset("classic"))
    return goal
