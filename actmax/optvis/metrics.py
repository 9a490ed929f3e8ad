"""How strongly rendered images drive their filters: mean activation and coverage, and the robust measures.

A good filter image keeps its filter active when shifted, scaled or rotated a little (robust
activation); measured at equal RMS contrast, it must earn that with its pattern, not its saturation.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

from .. import models
from . import objectives, transforms

ROBUST_CONTRAST = 0.15
Goals = Callable[[Sequence[int]], objectives.Objective]  # a chunk of items' keys → the objective they are judged by


def measure(spec: models.ModelSpec, layer: str, images: np.ndarray, filters: Sequence[int],
            *, batch: int = 16) -> np.ndarray:
    """Mean post-activation value of each filter on its own image (the classic 'filter activation')."""
    return activity(spec, layer, images, filters, batch=batch)[0]


def flat_responses(spec: models.ModelSpec, layer: str, shape: tuple[int, ...], colours: np.ndarray,
                   *, batch: int = 16) -> np.ndarray:
    """Every filter's mean post-activation on a flat image of `shape` (height, width, channels) in each of `colours`,
    shape (colours, filters): what a filter gives for no pattern at all."""
    features, means = models.scoring_features(spec, layer), []
    for start in range(0, len(colours), batch):
        values = features(tf.ones((1, *shape)) * colours[start:start + batch, None, None, :])[layer]
        means.append(tf.reduce_mean(values, axis=list(range(1, values.shape.rank - 1))).numpy())
    return np.concatenate(means)


@functools.lru_cache(maxsize=32)
def grey_means(spec: models.ModelSpec, layer: str, shape: tuple[int, ...]) -> np.ndarray:
    """Mean post-activation of every filter of `layer` on one flat grey image of `shape`: what a filter gives for
    nothing, measured once per layer and size, not per batch."""
    return flat_responses(spec, layer, shape, np.full((1, shape[-1]), 0.5, np.float32))[0]


def flat_colours(count: int, channels: int) -> np.ndarray:
    """About `count` flat colours spread over the colour cube, shape (colours, channels): every colour whose channels
    take the same evenly spaced levels (3 levels give 27 for RGB), or `count` greys where that leaves under 3 levels
    (a grey model, or one with many channels)."""
    levels = int(count ** (1 / channels) + 1e-9)
    if levels < 3:
        return np.repeat(np.linspace(0, 1, count, dtype=np.float32)[:, None], channels, axis=1)
    grid = np.meshgrid(*[np.linspace(0, 1, levels, dtype=np.float32)] * channels, indexing="ij")
    return np.stack(grid, axis=-1).reshape(-1, channels)


@functools.lru_cache(maxsize=32)
def flat_means(spec: models.ModelSpec, layer: str, shape: tuple[int, ...], count: int) -> tuple[np.ndarray, np.ndarray]:
    """The colours of flat_colours(count) and every filter's response to each (flat_responses), measured once per
    layer and size."""
    colours = flat_colours(count, shape[-1])
    return colours, flat_responses(spec, layer, shape, colours)


def best_flat(spec: models.ModelSpec, layer: str, shape: tuple[int, ...], count: int,
              filters: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Per filter, the flat colour (of flat_colours(count)) that drives it hardest, shape (filters, channels), and
    its mean post-activation on it."""
    colours, means = flat_means(spec, layer, shape, count)
    means = means[:, list(filters)]
    return colours[means.argmax(axis=0)], means.max(axis=0)


def toned(images: np.ndarray, colours: np.ndarray, share: float) -> np.ndarray:
    """Each image with its mean colour moved `share` of the way to its colour in `colours`, clipped to [0, 1]: the
    same pattern on another tone."""
    mean = images.mean(axis=(1, 2), keepdims=True)
    return np.clip(images + share * (colours[:, None, None, :] - mean), 0.0, 1.0).astype(np.float32)


def activity(spec: models.ModelSpec, layer: str, images: np.ndarray, filters: Sequence[int],
             *, batch: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Per filter, on its own image: the mean post-activation, and the share of map positions where it fires, above
    its layer's floor (`models.firing_floor`; for a unit of a flat layer, which has no map: its value, and 1 or 0)."""
    features, floor = models.scoring_features(spec, layer), models.firing_floor(spec.model, layer)
    means, shares = [np.zeros(0, np.float32)], [np.zeros(0, np.float32)]
    for start in range(0, len(filters), batch):
        acts = features(tf.constant(images[start:start + batch]))[layer]
        own = tf.gather(acts, tf.constant(filters[start:start + batch], tf.int32), axis=-1, batch_dims=1)
        means.append(objectives.spatial_mean(own).numpy())
        shares.append(objectives.spatial_mean(tf.cast(own > floor, tf.float32)).numpy())
    return np.concatenate(means), np.concatenate(shares)


def robustness_transform(size: int) -> transforms.Transform:
    """The fixed family of perturbations images are judged under (a shift of up to 8 px, ±10% scale, ±10°); for
    images of 8 px or less, a shift of up to one pixel less than their size (a reflection cannot reach further)."""
    shift = min(8, size - 1)
    return transforms.compose(transforms.pad(shift), transforms.jitter(2 * shift),
                              transforms.scale(tuple(0.9 + 0.02 * i for i in range(11))),
                              transforms.rotate(tuple(range(-10, 11))))


@functools.lru_cache(maxsize=16)
def compiled_perturbation(size: int) -> transforms.Transform:
    """robustness_transform(size) as one compiled graph: run eagerly, its ops' dispatch cost more than the model's
    forward pass on small images."""
    return tf.function(robustness_transform(size), autograph=False, reduce_retracing=True,
                       input_signature=[tf.TensorSpec(None, tf.float32), tf.TensorSpec([2], tf.int32)])


def rms_contrast(images: np.ndarray, *, per_channel: bool = False) -> np.ndarray:
    """Each image's RMS contrast about its mean: one grey mean over pixels and channels (the benchmark's), or each
    channel's own mean (the ascent's cap, regularisers.limit_contrast)."""
    axes = tuple(range(1, images.ndim))
    deviation = images - images.mean(axis=(1, 2) if per_channel else axes, keepdims=True)
    return np.sqrt(np.mean(np.square(deviation), axis=axes))


def stretched(images: np.ndarray, factors: np.ndarray | float) -> np.ndarray:
    """Each image's deviations from its grey mean times its factor, clipped to [0, 1]: its pattern at another
    contrast (every channel's contrast scales by the same factor)."""
    axes = tuple(range(1, images.ndim))
    mean = images.mean(axis=axes, keepdims=True)
    factors = np.reshape(factors, (-1,) + (1,) * len(axes))
    return np.clip(mean + (images - mean) * factors, 0.0, 1.0).astype(np.float32)


def equal_contrast(images: np.ndarray, rms: float = ROBUST_CONTRAST) -> np.ndarray:
    """Rescale each image about its mean to the same RMS contrast, then clip to [0, 1]."""
    return stretched(images, rms / np.maximum(rms_contrast(images), 1e-6))


def robust_activation(spec: models.ModelSpec, layer: str, images: np.ndarray, filters: Sequence[int],
                      *, samples: int = 8, seed: int = 0, batch: int = 16) -> np.ndarray:
    """Mean post-activation of each filter on its image over `samples` seeded random perturbations."""
    return robust_values(models.scoring_features(spec, layer), _own_channels(layer), images, filters,
                         samples=samples, seed=seed, batch=batch)


def robust_values(features: models.FeatureModel, goals: Goals, images: np.ndarray, keys: Sequence[int],
                  *, samples: int = 8, seed: int = 0, batch: int = 16) -> np.ndarray:
    """Mean of each item's objective (`goals` of its chunk's keys) on its image over `samples` seeded random
    perturbations (robustness_transform)."""
    perturb, totals = compiled_perturbation(min(images.shape[1:3])), np.zeros(len(keys), np.float32)
    for sample in range(samples):
        totals += values_of(features, goals, images, keys, batch=batch,
                            perturb=lambda chunk: perturb(chunk, tf.constant([seed, sample], tf.int32)))
    return totals / samples


def values_of(features: models.FeatureModel, goals: Goals, images: np.ndarray, keys: Sequence[int], *,
              batch: int = 16, perturb: Callable[[tf.Tensor], tf.Tensor] = lambda chunk: chunk) -> np.ndarray:
    """Each item's objective (`goals` of its chunk's keys) on its image, as shown or perturbed by `perturb`."""
    values = [np.zeros(0, np.float32)]
    for start in range(0, len(keys), batch):
        shown = perturb(tf.constant(images[start:start + batch]))
        values.append(goals(keys[start:start + batch])(features(shown)).numpy())
    return np.concatenate(values)


def _own_channels(layer: str) -> Goals:
    """Each item's own filter of `layer`, its key."""
    return lambda keys: objectives.channel(layer, tf.constant(list(keys), tf.int32))


@dataclass(frozen=True)
class FilterScorer:
    """Judges each item's image by its own filter of a layer (its key): as shown, and held under perturbations, the
    hold in `policy` (a render's own precision: in bfloat16 3.4× quicker than float32, and off by under 1% of the
    values it averages; rescue makes its close calls again in float32, `held_exactly`)."""

    spec: models.ModelSpec
    layer: str
    policy: str = "float32"

    def shown(self, images: np.ndarray, keys: Sequence[int]) -> np.ndarray:
        return measure(self.spec, self.layer, images, keys)

    def held(self, images: np.ndarray, keys: Sequence[int]) -> np.ndarray:
        return robust_values(self._holding, _own_channels(self.layer), images, keys)

    def held_exactly(self, images: np.ndarray, keys: Sequence[int]) -> np.ndarray:
        """The hold in float32, for the close calls (rescue.keep_better, rescue.settled)."""
        return robust_activation(self.spec, self.layer, images, keys)

    @functools.cached_property
    def _holding(self) -> models.FeatureModel:
        return models.scoring_features(self.spec, self.layer, self.policy)


@dataclass(frozen=True)
class GoalScorer:
    """Judges every item's image by one objective, read after the layers' nonlinearities (a softmax's classes as
    log-odds): as shown, and held under perturbations."""

    spec: models.ModelSpec
    goal: objectives.Objective
    policy: str = "float32"

    def shown(self, images: np.ndarray, keys: Sequence[int]) -> np.ndarray:
        return values_of(self._features("float32"), self._goals, images, keys)

    def held(self, images: np.ndarray, keys: Sequence[int]) -> np.ndarray:
        return robust_values(self._holding, self._goals, images, keys)

    def held_exactly(self, images: np.ndarray, keys: Sequence[int]) -> np.ndarray:
        return robust_values(self._features("float32"), self._goals, images, keys)

    @functools.cached_property
    def _holding(self) -> models.FeatureModel:
        return self._features(self.policy)

    def _features(self, policy: str) -> models.FeatureModel:
        return models.judging_features(self.spec, tuple(sorted(self.goal.layers)), probabilities=False, policy=policy)

    def _goals(self, keys: Sequence[int]) -> objectives.Objective:
        return self.goal


def pattern_hold(spec: models.ModelSpec, layer: str, images: np.ndarray, filters: Sequence[int]) -> np.ndarray:
    """Robust activation at equal contrast (ROBUST_CONTRAST): how well each image's pattern holds its filter, its
    contrast set aside."""
    return robust_activation(spec, layer, equal_contrast(images), filters)


def geometric_mean(values: np.ndarray, floor: float = 1e-6) -> float:
    """Geometric mean of positive scores (values below `floor` count as `floor`)."""
    return float(np.exp(np.mean(np.log(np.maximum(values, floor))))) if len(values) else 0.0
