"""Render filter galleries and single objectives: the library calls behind `actmax render`.

Returns arrays and numbers only; writing files is the job of `actmax.jobs`.
"""

from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

import numpy as np
import tensorflow as tf

from .. import models
from ..models import memory
from . import ascent, metrics, objectives, optim, param as param_module, transforms
from ..errors import ActmaxError, FilterError, ModelError, ObjectiveError, OutOfMemoryError
from .presets import Settings, get_preset
from ..models.selection import parse_filters

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
    frames: np.ndarray | None = None  # (N, frames, H, W, C) progress snapshots when animated

    @property
    def alive(self) -> np.ndarray:
        """True where the filter's activation on its image is above zero (a silent filter renders noise)."""
        return self.activations > 0

    def select(self, order: Sequence[int]) -> Rendering:
        """A rendering with only the given items, in the given order."""
        order = list(order)
        return Rendering(self.model, self.layer, [self.filters[i] for i in order], self.images[order],
                         self.activations[order], self.objective_values[order], self.settings, self.seed,
                         self.seconds, self.objective, self.extra, None if self.frames is None else self.frames[order])


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
    settings = settings.override(**overrides)
    _check(settings)
    return spec, settings


def _check(settings: Settings) -> None:
    """Fail on a bad setting now, before any output folder or compile."""
    for name, choices in (("param", param_module.PARAMS), ("optimizer", optim.OPTIMIZERS)):
        if getattr(settings, name) not in choices:
            raise ActmaxError(f"unknown {name} '{getattr(settings, name)}'; use one of: {', '.join(choices)}")
    transforms.from_spec(settings.transforms)
    models.resolve_precision(settings.precision)


def auto_batch(spec: models.ModelSpec, layer: str, size: int, count: int) -> int:
    """The largest batch (at most 64, at most `count`) whose activations fit a quarter of the free memory.

    On a GPU the budget is GPU_BUDGET bytes; a batch that still runs out of memory is retried smaller.
    """
    budget = GPU_BUDGET if memory.on_gpu() else memory.free_memory() // 4
    return int(max(1, min(count, MAX_BATCH, budget // max(image_bytes(spec, layer, size), 1))))


def image_bytes(spec: models.ModelSpec, layer: str, size: int) -> int:
    """Memory one image's ascent needs: float32 forward values, their gradients and workspace up to `layer`."""
    return 3 * 4 * activation_count(spec, layer, size)


def check_fits(spec: models.ModelSpec, layers: Sequence[str], size: int, fix: str = "lower --size") -> None:
    """Fail in one line, before any work or file, when `size` px is too small for a layer or too large for memory."""
    floor = max(models.min_size(spec, layer) for layer in layers)
    if size < floor:
        raise ActmaxError(f"layer(s) {', '.join(sorted(layers))} need images of at least {floor} px; "
                          f"use --size {floor} or more")
    for layer in layers:
        memory.check_fits(image_bytes(spec, layer, size), f"one {size} px image up to layer '{layer}'", fix)


def activation_count(spec: models.ModelSpec, layer: str, size: int) -> int:
    """Number of activation values one `size` px image produces up to and including `layer` (from shapes alone)."""
    return int(sum(np.prod(after) for _, _, after in models.shapes_upto(spec, layer, size)))


def measure(spec: models.ModelSpec, layer: str, images: np.ndarray, filters: Sequence[int],
            *, batch: int = 16) -> np.ndarray:
    """Mean post-activation value of each filter on its own image (the classic 'filter activation')."""
    return activity(spec, layer, images, filters, batch=batch)[0]


def activity(spec: models.ModelSpec, layer: str, images: np.ndarray, filters: Sequence[int],
             *, batch: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Per filter, on its own image: the mean post-activation, and the share of map positions where it is active."""
    features = models.scoring_features(spec, layer)
    means, shares = [np.zeros(0, np.float32)], [np.zeros(0, np.float32)]
    for start in range(0, len(filters), batch):
        acts = features(tf.constant(images[start:start + batch]))[layer]
        own = tf.gather(acts, tf.constant(filters[start:start + batch], tf.int32), axis=-1, batch_dims=1)
        means.append(tf.reduce_mean(own, axis=(1, 2)).numpy())
        shares.append(tf.reduce_mean(tf.cast(own > 0, tf.float32), axis=(1, 2)).numpy())
    return np.concatenate(means), np.concatenate(shares)


def filter_list(spec: models.ModelSpec, layer: str, filters: str | Sequence[int] | None) -> list[int]:
    """The filters a call asks for (default: the first 16), checked against the layer's range."""
    count = models.filter_count(spec.model, layer)
    if filters is None:
        return list(range(min(16, count)))
    if isinstance(filters, str):
        return parse_filters(filters, count)
    bad = [f for f in filters if not 0 <= f < count]
    if bad:
        raise FilterError(f"filters {bad} are outside layer '{layer}''s range 0-{count - 1}")
    return list(filters)


def render(layer: str, filters: str | Sequence[int] | None = None, *, top: int | None = None, sort: str = "index",
           **options) -> Rendering:
    """Render one image per filter of `layer` that maximises the filter's mean activation.

    Takes the options of `render_batches`, plus:
        top: keep only the `top` filters with the highest activation.
        sort: `index` or `activation` (descending).

    Raises:
        ActmaxError: bad model, layer, filters or settings.
    """
    if sort not in ("index", "activation"):
        raise ActmaxError(f"unknown sort '{sort}'; use 'index' or 'activation'")
    return order(combine(list(render_batches(layer, filters, **options))), top=top, sort=sort)


def render_batches(layer: str, filters: str | Sequence[int] | None = None, *,
                   model: str | models.ModelSpec = models.DEFAULT_MODEL, preset: str | Settings = "default",
                   seed: int = 0, batch: int | None = None, progress: Callable | None = None,
                   animate: bool = False, **overrides) -> Iterator[Rendering]:
    """Render filters batch by batch, yielding each finished batch (so a job can save it at once).

    Args:
        layer: layer name, e.g. `block5_conv1`.
        filters: `0-15`, `3,7,9`, `all`, or a list of indices; default the first 16.
        model: model name, file path, or a loaded `ModelSpec`.
        preset: `default`, `classic`, `lucid`, or a `Settings`; `overrides` change single fields
            (size, steps, octaves, octave_scale, lr, param, optimizer, transforms, pre_activation,
            contrast, patience, precision …).
        seed: makes the run reproducible; each filter's start depends only on (seed, filter).
        batch: filters optimised together per step (default: the most that fit in memory); a batch that
            runs out of device memory is retried at half the size.
        progress: called as `progress(done, total, octave, octaves, mean_objective)` after each octave.
        animate: keep about 6 snapshots per octave of each image, as `Rendering.frames`.
    """
    spec, settings = resolve(model, preset, overrides)
    layer = models.resolve_layer(spec.model, layer)
    chosen = filter_list(spec, layer, filters)
    check_fits(spec, [layer], settings.size)
    batch = min(batch or auto_batch(spec, layer, settings.size, len(chosen)), max(len(chosen), 1))
    snapshot_every = max(1, settings.steps // 6) if animate else 0
    targets, engine = filter_engine(spec, layer, settings, batch, snapshot_every)
    first, rescues = 0, {}
    while first < len(chosen):
        group = chosen[first:first + batch]
        started = time.perf_counter()
        try:
            run = _ascend_group(engine, targets, spec, settings, seed, group, batch,
                                _reporter(progress, first + len(group), len(chosen), settings.octaves))
            part = _finish(spec, layer, group, run, settings, seed, time.perf_counter() - started,
                           {"batch": batch, "batch_steps": int(run.steps), "traces": engine.traces()})
            part = _rescue(spec, part, rescues, batch)
        except Exception as exc:
            if not memory.is_out_of_memory(exc):
                raise
            batch = _smaller(batch, settings.size)  # too large for the device: go on at half the batch
            targets, engine = filter_engine(spec, layer, settings, batch, snapshot_every)
            continue
        yield part
        first += len(group)


def _smaller(batch: int, size: int) -> int:
    """Half the batch after running out of memory; at a batch of one, one line saying to lower the size."""
    if batch == 1:
        raise OutOfMemoryError(f"out of memory rendering one {size} px image; lower --size")
    return batch // 2


def _rescue(spec: models.ModelSpec, part: Rendering, rescues: dict, batch: int) -> Rendering:
    """Run the rescue pass on the part's weak filters, one engine per power-of-two batch (few compiled shapes)."""
    weak = weak_items(spec, part) if part.settings.rescue else []
    if not weak:
        return part
    size = min(batch, 1 << (len(weak) - 1).bit_length())
    rescues[size] = rescues.get(size) or Rescue(spec, part.layer, part.settings, size)
    return rescues[size](part, weak)


WEAK_COVERAGE = 0.5


def weak_items(spec: models.ModelSpec, part: Rendering) -> list[int]:
    """Items whose filter is silent, or active on less than half its map: its pattern does not fill the tile.

    Judged on each filter's own image alone, so the choice never depends on the rest of the batch.
    """
    coverage = activity(spec, part.layer, part.images, part.filters)[1]
    return [int(i) for i in np.flatnonzero(~part.alive | (coverage < WEAK_COVERAGE))]


class Rescue:
    """Renders weak filters a second time, another way, and keeps whichever image holds its filter better.

    The second pass follows the classic schedule (many octaves grown from a small image, no robustness
    transforms, `rescue` steps each): patterns grown from a few pixels come out large, and a barely
    reachable filter (one that lives at the image border, say) can hold on to them. Only weak filters pay
    for it, and an image is replaced only if its robust activation (metrics.robust_activation) is higher.
    """

    def __init__(self, spec: models.ModelSpec, layer: str, settings: Settings, batch: int):
        self.spec, self.layer, self.batch = spec, layer, batch
        classic = get_preset("classic")
        self.settings = settings.override(transforms="none", steps=settings.rescue, octaves=classic.octaves,
                                          octave_scale=classic.octave_scale)
        self.targets, self.engine = filter_engine(spec, layer, self.settings, batch)

    def __call__(self, part: Rendering, weak: list[int]) -> Rendering:
        started = time.perf_counter()
        weak = weak[:self.batch]
        group = [part.filters[i] for i in weak]
        padded = weak + [weak[-1]] * (self.batch - len(weak))
        self.targets.assign([part.filters[i] for i in padded])
        run = self.engine.ascend(initial(self.engine, part.seed, [part.filters[i] for i in padded]), part.seed)
        images = quantise(run.images.numpy()[:len(weak)])
        activations = measure(self.spec, self.layer, images, group)
        held = metrics.robust_activation(self.spec, self.layer, np.concatenate([part.images[weak], images]),
                                         group * 2)
        rose = [k for k, a in enumerate(activations) if a > 0 and held[len(weak) + k] > held[k]]
        for k in rose:
            i = weak[k]
            part.images[i], part.activations[i] = images[k], activations[k]
            part.objective_values[i] = run.scores.numpy()[k]
        part.extra = {**part.extra, "rescued": len(rose)}
        part.seconds += time.perf_counter() - started
        return part


def _ascend_group(engine, targets, spec, settings, seed, group, batch, report) -> ascent.Ascent:
    """Ascend one group of filters, padded to the batch (a constant batch shape never retraces)."""
    padded = group + [group[-1]] * (batch - len(group))
    targets.assign(padded)
    return engine.ascend(initial(engine, seed, padded), seed, report)


def _finish(spec, layer, group, run, settings, seed, seconds, extra) -> Rendering:
    """A batch's Rendering: quantised images scored as saved, and animation frames if kept."""
    count = len(group)
    images = quantise(run.images.numpy()[:count])
    frames = quantise(np.stack([f.numpy() for f in run.frames], axis=1)[:count]) if run.frames else None
    return Rendering(spec.name, layer, list(group), images, measure(spec, layer, images, group),
                     run.scores.numpy()[:count], settings, seed, seconds, extra=extra, frames=frames)


def combine(parts: list[Rendering]) -> Rendering:
    """One Rendering from consecutive batches of the same run."""
    first = parts[0]
    frames = np.concatenate([p.frames for p in parts]) if first.frames is not None else None
    extra = {**first.extra, "traces": parts[-1].extra.get("traces"),
             **{key: sum(p.extra.get(key, 0) for p in parts) for key in ("batch_steps", "rescued")}}
    return Rendering(first.model, first.layer, [f for p in parts for f in p.filters],
                     np.concatenate([p.images for p in parts]), np.concatenate([p.activations for p in parts]),
                     np.concatenate([p.objective_values for p in parts]), first.settings, first.seed,
                     sum(p.seconds for p in parts), first.objective, extra, frames)


def _reporter(progress: Callable | None, done: int, total: int, octaves: int) -> Callable | None:
    """Adapt a `progress(done, total, octave, octaves, value)` callback to the engine's per-octave hook."""
    if progress is None:
        return None
    return lambda octave, values: progress(done, total, octave + 1, octaves, float(tf.reduce_mean(values)))


def initial(engine: ascent.Engine, seed: int, keys: Sequence[int]) -> np.ndarray:
    """Starting values for each item at the first octave's size, seeded by (seed, key): batching never changes them."""
    size = engine.sizes()[0]
    return np.stack([engine.param.init(np.random.default_rng([seed, key]), size, engine.channels) for key in keys])


def order(result: Rendering, *, top: int | None = None, sort: str = "index") -> Rendering:
    """Keep the `top` strongest filters and order by `index` or `activation`."""
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
    check_fits(spec, sorted(goal.layers), settings.size)
    _check_objective(spec, goal, settings)
    engine = compile_engine(spec, goal, settings)
    started = time.perf_counter()
    report = _reporter(progress, variants, variants, settings.octaves)
    with memory.guard("lower --size or --variants"):
        run = engine.ascend(initial(engine, seed, range(variants)), seed, report)
    scores = run.scores.numpy()
    return Rendering(spec.name, ",".join(sorted(goal.layers)), list(range(variants)), quantise(run.images.numpy()),
                     scores, scores, settings, seed, time.perf_counter() - started, objective=goal.name,
                     extra={"batch_steps": int(run.steps)})


def filter_engine(spec: models.ModelSpec, layer: str, settings: Settings, batch: int,
                  snapshot_every: int = 0, jit: bool = False) -> tuple[tf.Variable, ascent.Engine]:
    """An engine where batch item k maximises filter `targets[k]`; assign the variable, never retrace.

    A plain conv layer computes only the batch's filters (channel k of its output is filter targets[k]).
    """
    targets = tf.Variable(tf.zeros(batch, tf.int32), trainable=False)
    sliced = models.sliceable(models.get_layer(spec.model, layer).layer) and batch < models.filter_count(spec.model,
                                                                                                         layer)
    goal = objectives.channel(layer, tf.range(batch) if sliced else targets)
    select = {layer: targets} if sliced else None
    return targets, compile_engine(spec, goal, settings, snapshot_every=snapshot_every, jit=jit, select=select)


def compile_engine(spec: models.ModelSpec, goal: objectives.Objective, settings: Settings,
                   snapshot_every: int = 0, jit: bool = False, select: dict | None = None) -> ascent.Engine:
    """The compiled ascent for `goal`, in the precision the settings ask for (float16 with loss scaling).

    `jit` compiles the octave loop with XLA; bench/speed.py measured it slower on CPU, so it is off by default.
    """
    floor = max(models.min_size(spec, layer) for layer in goal.layers)
    policy = models.resolve_precision(settings.precision)
    make = functools.partial(models.FeatureModel, spec, tuple(sorted(goal.layers)), select=select,
                             pre_activation=settings.pre_activation, leak=settings.leak)
    try:
        features = make(policy=policy)
    except ModelError:
        if settings.precision != "auto":
            raise
        policy, features = "float32", make(policy="float32")  # a model that cannot be cloned stays in float32
    return ascent.build(features, goal, settings, channels=spec.channels, jit=jit, floor=floor,
                        loss_scale=1024.0 if policy == "mixed_float16" else 1.0, snapshot_every=snapshot_every)


def _check_objective(spec: models.ModelSpec, goal: objectives.Objective, settings: Settings) -> None:
    """Evaluate an objective once on a small grey image, so that a bad index reads as one clear line."""
    features = models.FeatureModel(spec, tuple(sorted(goal.layers)), pre_activation=settings.pre_activation,
                                   leak=settings.leak)
    side = max(32, settings.size // 4, *(models.min_size(spec, layer) for layer in goal.layers))
    try:
        goal(features(tf.fill((1, side, side, spec.channels), 0.5)))
    except (tf.errors.InvalidArgumentError, IndexError, ValueError) as exc:
        reason = re.sub(r"\{\{.*?\}\}|\[Op:.*", "", str(exc).splitlines()[0]).strip()
        raise ObjectiveError(f"objective '{goal.name}' does not fit model '{spec.name}': {reason}") from None
