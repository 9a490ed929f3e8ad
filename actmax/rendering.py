"""Render filter galleries and single objectives: the library calls behind `actmax render`.

Returns arrays and numbers only; writing files is the job of `actmax.jobs`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

from . import ascent, models, objectives
from .errors import ActmaxError, FilterError, ObjectiveError
from .presets import Settings, get_preset
from .selection import parse_filters

MAX_AUTO_BATCH = 16


@dataclass
class Rendering:
    """Rendered images (float32 in [0, 1], exactly what is saved) with per-image scores."""

    model: str
    layer: str
    filters: list[int]
    images: np.ndarray
    activations: np.ndarray
    objective_values: np.ndarray
    settings: Settings
    seed: int
    seconds: float
    objective: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def alive(self) -> np.ndarray:
        """True where the filter's activation on its image is above zero (a silent filter renders noise)."""
        return self.activations > 0

    def select(self, order: Sequence[int]) -> Rendering:
        """A rendering with only the given items, in the given order."""
        order = list(order)
        return Rendering(self.model, self.layer, [self.filters[i] for i in order], self.images[order],
                         self.activations[order], self.objective_values[order], self.settings, self.seed,
                         self.seconds, self.objective, self.extra)


def quantise(images: np.ndarray) -> np.ndarray:
    """What an 8-bit PNG stores, back as floats in [0, 1]: so scores are those of the saved file."""
    return np.round(np.clip(images, 0.0, 1.0) * 255.0).astype(np.float32) / 255.0


def resolve(model: str | models.ModelSpec, preset: str | Settings, overrides: dict) -> tuple:
    """The model spec and settings a call asks for."""
    spec = model if isinstance(model, models.ModelSpec) else models.load_model(model)
    settings = preset if isinstance(preset, Settings) else get_preset(preset)
    unknown = set(overrides) - set(Settings.__dataclass_fields__)
    if unknown:
        raise ActmaxError(f"unknown setting(s) {sorted(unknown)}; valid: {', '.join(Settings.__dataclass_fields__)}")
    return spec, settings.override(**overrides)


def auto_batch(size: int, count: int) -> int:
    """A batch that keeps the cores busy at small sizes without oversized steps at large ones."""
    by_size = max(1, int(MAX_AUTO_BATCH * (128 / max(size, 1)) ** 2))
    return max(1, min(count, by_size, 64))


def measure(spec: models.ModelSpec, layer: str, images: np.ndarray, filters: Sequence[int],
            *, batch: int = 16) -> np.ndarray:
    """Mean post-activation value of each filter on its own image (the classic 'filter activation')."""
    features = models.FeatureModel(spec, (layer,), pre_activation=False)
    scores = []
    for start in range(0, len(filters), batch):
        acts = features(tf.constant(images[start:start + batch]))[layer]
        index = tf.constant(filters[start:start + batch], tf.int32)
        scores.append(objectives.channel(layer, index)({layer: acts}).numpy())
    return np.concatenate(scores) if scores else np.zeros(0, np.float32)


def _filter_list(spec: models.ModelSpec, layer: str, filters: str | Sequence[int]) -> list[int]:
    count = models.filter_count(spec.model, layer)
    if filters is None:
        return list(range(min(16, count)))
    if isinstance(filters, str):
        return parse_filters(filters, count)
    bad = [f for f in filters if not 0 <= f < count]
    if bad:
        raise FilterError(f"filters {bad} are outside layer '{layer}''s range 0-{count - 1}")
    return list(filters)


def render(layer: str, filters: str | Sequence[int] | None = None, *, model: str | models.ModelSpec = models.DEFAULT_MODEL,
           preset: str | Settings = "default", seed: int = 0, batch: int | None = None, top: int | None = None,
           sort: str = "index", progress: Callable | None = None, **overrides) -> Rendering:
    """Render one image per filter of `layer` that maximises the filter's mean activation.

    Args:
        layer: layer name, e.g. `block5_conv1`.
        filters: `0-15`, `3,7,9`, `all`, or a list of indices; default the first 16.
        model: model name, file path, or a loaded `ModelSpec`.
        preset: `default`, `classic`, `lucid`, or a `Settings`; `overrides` change single fields
            (size, steps, octaves, octave_scale, lr, param, optimizer, transforms, pre_activation …).
        seed: makes the run reproducible; each filter's start depends only on (seed, filter).
        batch: filters optimised together per step (default: chosen from the image size).
        top: keep only the `top` filters with the highest activation (sorted by activation).
        sort: `index` or `activation` (descending).
        progress: called as `progress(done, total, octave, octaves, mean_objective)` after each octave.

    Raises:
        ActmaxError: bad model, layer, filters or settings.
    """
    spec, settings = resolve(model, preset, overrides)
    chosen = _filter_list(spec, layer, filters)
    batch = batch or auto_batch(settings.size, len(chosen))
    targets = tf.Variable(tf.zeros(batch, tf.int32), trainable=False)
    features = models.FeatureModel(spec, (layer,), pre_activation=settings.pre_activation)
    engine = ascent.build(features, objectives.channel(layer, targets), settings)
    started = time.perf_counter()
    images, scores = [], []
    for first in range(0, len(chosen), batch):
        group = chosen[first:first + batch]
        padded = group + [group[-1]] * (batch - len(group))  # a constant batch shape never retraces
        targets.assign(padded)
        report = _reporter(progress, first + len(group), len(chosen), settings.octaves)
        image, value = engine.ascend(initial(engine.param, spec, settings, seed, padded), seed, report)
        images.append(image.numpy()[:len(group)])
        scores.append(value.numpy()[:len(group)])
    saved = quantise(np.concatenate(images))
    result = Rendering(spec.name, layer, chosen, saved, measure(spec, layer, saved, chosen), np.concatenate(scores),
                       settings, seed, time.perf_counter() - started)
    return order(result, top=top, sort=sort)


def _reporter(progress: Callable | None, done: int, total: int, octaves: int) -> Callable | None:
    """Adapt a `progress(done, total, octave, octaves, value)` callback to the engine's per-octave hook."""
    if progress is None:
        return None
    return lambda octave, values: progress(done, total, octave + 1, octaves, float(tf.reduce_mean(values)))


def initial(param, spec: models.ModelSpec, settings: Settings, seed: int, keys: Sequence[int]) -> np.ndarray:
    """Starting values for each item, seeded by (seed, key) so that batching never changes them."""
    size = ascent.octave_sizes(settings.size, settings.octaves, settings.octave_scale)[0]
    return np.stack([param.init(np.random.default_rng([seed, key]), size, spec.channels) for key in keys])


def order(result: Rendering, *, top: int | None = None, sort: str = "index") -> Rendering:
    """Keep the `top` strongest filters and order by `index` or `activation`."""
    if sort not in ("index", "activation"):
        raise ActmaxError(f"unknown sort '{sort}'; use 'index' or 'activation'")
    by_activation = list(np.argsort(-result.activations, kind="stable"))
    if top is not None:
        if top < 1:
            raise ActmaxError(f"--top must be at least 1, got {top}")
        kept = by_activation[:top]
        return result.select(kept if sort == "activation" else sorted(kept))
    return result.select(by_activation if sort == "activation" else range(len(result.filters)))


def render_objective(objective: str | objectives.Objective, *, model: str | models.ModelSpec = models.DEFAULT_MODEL,
                     preset: str | Settings = "default", seed: int = 0, variants: int = 1,
                     diversity: float = 0.0, progress: Callable | None = None, **overrides) -> Rendering:
    """Render `variants` images maximising one objective expression (e.g. `block4_conv3:12 + logit:130`).

    With `diversity` > 0, a Gram-matrix diversity term on the objective's first layer pushes variants apart.
    """
    spec, settings = resolve(model, preset, overrides)
    goal = objectives.parse(objective) if isinstance(objective, str) else objective
    if diversity:
        goal = goal + diversity * objectives.diversity(sorted(goal.layers)[0])
    features = _objective_features(spec, goal, settings)
    engine = ascent.build(features, goal, settings)
    started = time.perf_counter()
    report = _reporter(progress, variants, variants, settings.octaves)
    image, value = engine.ascend(initial(engine.param, spec, settings, seed, range(variants)), seed, report)
    saved = quantise(image.numpy())
    return Rendering(spec.name, ",".join(sorted(goal.layers)), list(range(variants)), saved, value.numpy(),
                     value.numpy(), settings, seed, time.perf_counter() - started, objective=goal.name)


def _objective_features(spec, goal, settings):
    """Feature model for an objective's layers, checked once on a tiny input so errors read well."""
    features = models.FeatureModel(spec, tuple(sorted(goal.layers)), pre_activation=settings.pre_activation)
    try:
        goal(features(tf.fill((1, max(32, settings.size // 4), max(32, settings.size // 4), spec.channels), 0.5)))
    except (tf.errors.InvalidArgumentError, IndexError, ValueError) as exc:
        reason = re.sub(r"\{\{.*?\}\}|\[Op:.*", "", str(exc).splitlines()[0]).strip()
        raise ObjectiveError(f"objective '{goal.name}' does not fit model '{spec.name}': {reason}") from None
    return features
