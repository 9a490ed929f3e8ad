"""Render filter galleries and single objectives: the library calls behind `actmax render`.

Returns arrays and numbers only; writing files is the job of `actmax.jobs`.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from . import ascent, models, objectives
from .errors import ActmaxError, FilterError, ObjectiveError
from .presets import Settings, get_preset
from .selection import parse_filters

MAX_BATCH = 64
GPU_BUDGET = 4 << 30


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


def auto_batch(spec: models.ModelSpec, layer: str, size: int, count: int) -> int:
    """The largest batch (at most 64, at most `count`) whose activations fit a quarter of the free memory.

    On a GPU the budget is GPU_BUDGET bytes; a batch that still runs out of memory is retried smaller.
    """
    per_image = 3 * 4 * activation_count(spec, layer, size)  # float32 forward values, gradients, workspace
    budget = GPU_BUDGET if tf.config.list_physical_devices("GPU") else free_memory() // 4
    return int(max(1, min(count, MAX_BATCH, budget // max(per_image, 1))))


def activation_count(spec: models.ModelSpec, layer: str, size: int) -> int:
    """Number of activation values one `size` px image produces up to and including `layer`."""
    target = models.get_layer(spec.model, layer)
    truncated = keras.Model(spec.model.inputs, target.output)
    outputs = [l.output for l in truncated.layers if not isinstance(l, keras.layers.InputLayer)]
    probe = keras.Model(truncated.inputs, outputs)
    values = probe(tf.zeros((1, *(spec.fixed_size or (size, size)), spec.channels)), training=False)
    return int(sum(np.prod(v.shape) for v in (values if isinstance(values, (list, tuple)) else [values])))


def free_memory() -> int:
    """Available host memory in bytes."""
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


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
    batch = batch or auto_batch(spec, layer, settings.size, len(chosen))
    started = time.perf_counter()
    while True:
        try:
            images, scores, counts = _render_batches(spec, layer, chosen, settings, seed, batch, progress)
            break
        except tf.errors.ResourceExhaustedError:
            if batch == 1:
                raise ActmaxError(f"out of memory rendering one {settings.size} px image; use a smaller --size") \
                    from None
            batch //= 2  # too large for the device: retry the whole job at half the batch
    saved = quantise(images)
    result = Rendering(spec.name, layer, chosen, saved, measure(spec, layer, saved, chosen), scores, settings, seed,
                       time.perf_counter() - started, extra={"batch": batch, **counts})
    return order(result, top=top, sort=sort)


def _render_batches(spec, layer, chosen, settings, seed, batch, progress):
    """Ascend `chosen` filters `batch` at a time with one compiled engine; returns images, scores and counts."""
    targets = tf.Variable(tf.zeros(batch, tf.int32), trainable=False)
    engine = compile_engine(spec, objectives.channel(layer, targets), settings)
    images, scores, steps = [], [], 0
    for first in range(0, len(chosen), batch):
        group = chosen[first:first + batch]
        padded = group + [group[-1]] * (batch - len(group))  # a constant batch shape never retraces
        targets.assign(padded)
        report = _reporter(progress, first + len(group), len(chosen), settings.octaves)
        run = engine.ascend(initial(engine.param, spec, settings, seed, padded), seed, report)
        images.append(run.images.numpy()[:len(group)])
        scores.append(run.scores.numpy()[:len(group)])
        steps += int(run.steps)
    return np.concatenate(images), np.concatenate(scores), {"batch_steps": steps, "traces": engine.traces()}


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
    _check_objective(spec, goal, settings)
    engine = compile_engine(spec, goal, settings)
    started = time.perf_counter()
    report = _reporter(progress, variants, variants, settings.octaves)
    run = engine.ascend(initial(engine.param, spec, settings, seed, range(variants)), seed, report)
    scores = run.scores.numpy()
    return Rendering(spec.name, ",".join(sorted(goal.layers)), list(range(variants)), quantise(run.images.numpy()),
                     scores, scores, settings, seed, time.perf_counter() - started, objective=goal.name,
                     extra={"batch_steps": int(run.steps)})


def compile_engine(spec: models.ModelSpec, goal: objectives.Objective, settings: Settings) -> ascent.Engine:
    """The compiled ascent for `goal`, in the precision the settings ask for (float16 with loss scaling)."""
    policy = models.resolve_precision(settings.precision)
    features = models.FeatureModel(spec, tuple(sorted(goal.layers)), pre_activation=settings.pre_activation,
                                   policy=policy)
    return ascent.build(features, goal, settings, loss_scale=1024.0 if policy == "mixed_float16" else 1.0)


def _check_objective(spec: models.ModelSpec, goal: objectives.Objective, settings: Settings) -> None:
    """Evaluate an objective once on a small grey image, so that a bad index reads as one clear line."""
    features = models.FeatureModel(spec, tuple(sorted(goal.layers)), pre_activation=settings.pre_activation)
    side = max(32, settings.size // 4)
    try:
        goal(features(tf.fill((1, side, side, spec.channels), 0.5)))
    except (tf.errors.InvalidArgumentError, IndexError, ValueError) as exc:
        reason = re.sub(r"\{\{.*?\}\}|\[Op:.*", "", str(exc).splitlines()[0]).strip()
        raise ObjectiveError(f"objective '{goal.name}' does not fit model '{spec.name}': {reason}") from None
