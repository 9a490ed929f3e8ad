"""Render filter galleries and single objectives: the library calls behind `actmax render`.

Returns arrays and numbers only; writing files is the job of `actmax.jobs`.
"""

from __future__ import annotations

import functools
import time
from typing import Callable, Iterator, Sequence

import numpy as np

from .. import models
from ..errors import ActmaxError
from ..models import memory
from ..models.selection import checked, parse_filters
from . import ascent, objectives
from .budget import batch_size, check_fits, image_bytes, smaller
from .engine import (batch_reporter, check_objective, compile_engine, filter_engine, initial, padded, reporter,
                     resolve)
from .metrics import GoalScorer, grey_means, measure
from .presets import Settings
from .rescue import rescue_weak
from .result import Rendering, combine, order, quantise


def filter_list(spec: models.ModelSpec, layer: str, filters: str | Sequence[int] | None) -> list[int]:
    """The filters a call asks for (default: the first 16), checked against the layer's range."""
    count = models.filter_count(spec.model, layer)
    if filters is None:
        return list(range(min(16, count)))
    if isinstance(filters, str):
        return parse_filters(filters, count, layer)
    return checked(filters, count, layer)


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


def check_layers(spec: models.ModelSpec, layers: Sequence[str], preset: str | Settings = "default",
                 size: int | str | None = None) -> None:
    """Fail in one line, before any folder or work, where `size` (N or WxH) is too small for a layer or too large
    for memory."""
    sized, settings = resolve(spec, preset, {"size": size})
    check_fits(sized, layers, settings.size)


def render_batches(layer: str, filters: str | Sequence[int] | None = None, *,
                   model: str | models.ModelSpec = models.DEFAULT_MODEL, preset: str | Settings = "default",
                   seed: int = 0, batch: int | None = None, progress: Callable | None = None,
                   animate: bool = False, **overrides) -> Iterator[Rendering]:
    """Render filters batch by batch, yielding each finished batch (so a job can save it at once).

    Args:
        layer: layer name, e.g. `block5_conv1`.
        filters: `0-15`, `3,7,9`, `all`, or a list of indices; default the first 16.
        model: model name, file path, a keras.Model (read as `load_model(model)` reads it), or a `ModelSpec`.
        preset: `default`, `classic`, `lucid`, or a `Settings`; `overrides` change single fields
            (size: N, or "WxH" for a rectangle where the model takes any size; steps, octaves, octave_scale, lr,
            param, optimizer, transforms, pre_activation, contrast, patience, precision …).
        seed: makes the run reproducible; each filter's start depends only on (seed, filter).
        batch: filters optimised together per step (default: the most that fit in memory); a batch that
            runs out of device memory is retried at half the size.
        progress: called as `progress(done, total, octave, octaves, mean_objective)` after each octave and when a
            batch is done (`done` counts the filters finished, second-chance passes included), and with `stage=`
            (e.g. `rescue: 5 filters`) as each of those passes starts.
        animate: keep about 6 snapshots per octave of each image, as `Rendering.frames`.
    """
    spec, settings = resolve(model, preset, overrides)
    layer = models.resolve_layer(spec.model, layer, units=True)
    chosen = filter_list(spec, layer, filters)
    check_fits(spec, [layer], settings.size)
    batch = batch_size(spec, layer, settings.size, len(chosen), batch)
    snapshot_every = max(1, settings.steps // 6) if animate else 0
    targets, engine = filter_engine(spec, layer, settings, batch, snapshot_every)
    first, rescues = 0, {}
    while first < len(chosen):
        group = chosen[first:first + batch]
        started = time.perf_counter()
        try:
            run = _ascend_group(engine, targets, spec, settings, seed, group, batch,
                                reporter(progress, first, len(chosen), settings.octaves))
            part = _finish(spec, layer, group, run, settings, seed, time.perf_counter() - started,
                           {"batch": batch, "batch_steps": int(run.steps), "traces": engine.traces()})
            note = batch_reporter(progress, first, len(chosen), part)
            part = rescue_weak(spec, part, rescues, batch, note)
        except Exception as exc:
            if not memory.is_out_of_memory(exc):
                raise
            batch = smaller(batch, settings.size)  # too large for the device: go on at half the batch
            targets, engine = filter_engine(spec, layer, settings, batch, snapshot_every)
            continue
        if note:
            note(None)
        yield part
        first += len(group)


def _ascend_group(engine, targets, spec, settings, seed, group, batch, report) -> ascent.Ascent:
    """Ascend one group of filters, padded to the batch (a constant batch shape never retraces)."""
    keys = padded(group, batch)
    targets.assign(keys)
    return engine.ascend(initial(engine, seed, keys), seed, report)


def _finish(spec, layer, group, run, settings, seed, seconds, extra) -> Rendering:
    """A batch's Rendering: quantised images scored as saved, and animation frames if kept."""
    count = len(group)
    images = quantise(run.images.numpy()[:count])
    frames = quantise(np.stack([f.numpy() for f in run.frames], axis=1)[:count]) if run.frames else None
    greys = grey_means(spec, layer, images.shape[1:])[list(group)]
    return Rendering(spec.name, layer, list(group), images, measure(spec, layer, images, group),
                     run.scores.numpy()[:count], settings, seed, seconds, extra=extra, frames=frames, greys=greys,
                     floor=models.firing_floor(spec.model, layer))


def render_objective(objective: str | objectives.Objective, *, model: str | models.ModelSpec = models.DEFAULT_MODEL,
                     preset: str | Settings = "default", seed: int = 0, variants: int | Sequence[int] = 1,
                     diversity: float = 0.0, batch: int | None = None, progress: Callable | None = None,
                     **overrides) -> Rendering:
    """Render `variants` images (a count, or which variant indices) maximising one objective expression
    (e.g. `block4_conv3:12 + logit:130`), in batches of `batch` (default: as many as fit).

    Variant k starts from (seed, k), so a variant is the same whichever batch renders it. With `diversity` > 0, a
    Gram-matrix diversity term on the objective's first layer pushes variants apart, so they form one batch.
    """
    chosen = list(range(variants)) if isinstance(variants, int) else list(variants)
    spec, settings, _, batch = objective_plan(objective, model=model, preset=preset, diversity=diversity,
                                              count=len(chosen), batch=batch, overrides=overrides)
    engine, goal, aim, passes = objective_engine(spec, objective, diversity, settings)
    return combine([_variants(engine, spec, goal, aim, settings, seed, chosen[first:first + batch], batch, passes,
                              progress, first, len(chosen))
                    for first in range(0, len(chosen), batch)])


@functools.lru_cache(maxsize=4)
def objective_engine(spec: models.ModelSpec, objective: str | objectives.Objective, diversity: float,
                     settings: Settings) -> tuple[ascent.Engine, objectives.Objective, objectives.Objective, dict]:
    """The compiled ascent for an objective with its diversity term, that goal, the objective its images are scored
    by (without the term), and the pass objects its batches share. Kept for the next call with the same arguments,
    as filter_engine keeps its engines: a Ray actor renders chunk after chunk of variants on one."""
    aim = as_objective(objective)
    goal = with_diversity(aim, diversity)
    return compile_engine(spec, goal, settings), goal, aim, {}


def with_diversity(goal: objectives.Objective, diversity: float) -> objectives.Objective:
    """`goal` plus `diversity` times a Gram-matrix diversity term on its first layer (none at 0)."""
    return goal + diversity * objectives.diversity(sorted(goal.layers)[0]) if diversity else goal


def as_objective(objective: str | objectives.Objective) -> objectives.Objective:
    """An objective given as text or as an Objective.

    Raises:
        ObjectiveError: text that does not parse.
    """
    return objectives.parse(objective) if isinstance(objective, str) else objective


def objective_plan(objective: str | objectives.Objective, *, model, preset, diversity: float, count: int,
                   batch: int | None, overrides: dict) -> tuple[models.ModelSpec, Settings, objectives.Objective, int]:
    """An objective render's model, settings, goal (with its diversity term) and batch, all checked first.

    The batch is `batch`, else as many variants as fit, or all `count` when a diversity term couples them.

    Raises:
        ActmaxError: bad model, settings or objective, or an image size that does not fit.
    """
    spec, settings = resolve(model, preset, overrides)
    goal = with_diversity(as_objective(objective), diversity)
    check_fits(spec, sorted(goal.layers), settings.size)
    check_objective(spec, goal, settings)
    deepest = max(goal.layers, key=lambda layer: image_bytes(spec, layer, settings.size))
    return spec, settings, goal, count if diversity else batch_size(spec, deepest, settings.size, count, batch)


def _variants(engine, spec, goal, aim, settings, seed: int, group: list[int], batch: int, passes: dict,
              progress: Callable | None, first: int, total: int) -> Rendering:
    """One batch of an objective's variants (the `first` of `total`, for `progress`), padded to `batch` (one batch
    shape: one trace, the same numbers), then given the second chances that read no single filter's map
    (rescue.GOAL_PASSES; the pass objects kept in `passes` between batches).

    Each image is scored by `aim` (the objective without its diversity term) as saved and shown, after the layers'
    nonlinearities, and counts as alive where that is above zero or clearly above a flat grey image's."""
    started = time.perf_counter()
    with memory.guard("lower --size, --variants or --batch"):
        report = reporter(progress, first, total, settings.octaves)
        run = engine.ascend(initial(engine, seed, padded(group, batch)), seed, report)
        images, scorer = quantise(run.images.numpy()[:len(group)]), GoalScorer(spec, aim)
        grey = scorer.shown(np.full((1, *images.shape[1:]), 0.5, np.float32), [0])
        part = Rendering(spec.name, ",".join(sorted(goal.layers)), group, images, scorer.shown(images, group),
                         run.scores.numpy()[:len(group)], settings, seed, time.perf_counter() - started,
                         objective=goal.name, extra={"batch": batch, "batch_steps": int(run.steps)},
                         greys=np.repeat(grey, len(group)))
        note = batch_reporter(progress, first, total, part)
        part = rescue_weak(spec, part, passes, batch, note, goal=aim)
    if note:
        note(None)
    return part
