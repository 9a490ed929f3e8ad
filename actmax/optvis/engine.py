"""Compile an ascent engine for a goal under settings: checks first, then the feature model, then the loop."""

from __future__ import annotations

import functools
from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

from .. import models
from ..models import receptive
from ..errors import ActmaxError, ModelError
from . import ascent, objectives, optim, param as param_module, transforms
from .presets import AT_LEAST, Settings, get_preset, plain_numbers, shape_of, size_settings
from .result import Rendering


def resolve(model: str | models.ModelSpec, preset: str | Settings, overrides: dict) -> tuple:
    """The model spec and settings a call asks for."""
    spec = model if isinstance(model, models.ModelSpec) else models.load_model(model)
    settings = preset if isinstance(preset, Settings) else get_preset(preset)
    unknown = set(overrides) - set(Settings.__dataclass_fields__)
    if unknown:
        raise ActmaxError(f"unknown setting(s) {sorted(unknown)}; valid: {', '.join(Settings.__dataclass_fields__)}")
    settings = settings.override(**{**overrides, **size_settings(overrides.get("size"))})
    if all(spec.model_sides):  # rendered pixel for pixel at the model's own input size (spec.image_shape)
        settings = settings.override(size=max(spec.model_sides), shape="")
    settings = plain_numbers(settings, AT_LEAST)
    _check(settings)
    return spec.sized(shape_of(settings)), settings


def _check(settings: Settings) -> None:
    """Fail on a bad setting now, before any output folder or compile."""
    for name, choices in (("param", param_module.PARAMS), ("optimizer", optim.OPTIMIZERS)):
        if getattr(settings, name) not in choices:
            raise ActmaxError(f"unknown {name} '{getattr(settings, name)}'; use one of: {', '.join(choices)}")
    transforms.from_spec(settings.transforms)
    if settings.shape and size_settings(settings.shape) != {"size": settings.size, "shape": settings.shape}:
        raise ActmaxError(f"shape '{settings.shape}' does not match size {settings.size}; ask for a rectangle as "
                          "size='WxH', e.g. size='320x180'")
    models.resolve_precision(settings.precision)


@functools.lru_cache(maxsize=8)
def filter_engine(spec: models.ModelSpec, layer: str, settings: Settings, batch: int,
                  snapshot_every: int = 0, jit: bool = False) -> tuple[tf.Variable, ascent.Engine]:
    """An engine where batch item k maximises filter `targets[k]`; assign the variable, never retrace.

    Kept for the next call with the same arguments (a Ray actor renders chunk after chunk on one engine).

    A plain conv layer computes only the batch's filters (channel k of its output is filter targets[k]).
    The goal is each filter's mean over its map (with `settings.lattice`, see compile_engine); a unit of a flat
    (batch, units) layer has no map, and its goal is its value.
    """
    targets = tf.Variable(tf.zeros(batch, tf.int32), trainable=False)
    sliced = models.sliceable(models.get_layer(spec.model, layer, units=True)) and \
        batch < models.filter_count(spec.model, layer)
    goal = objectives.channel(layer, tf.range(batch) if sliced else targets)
    select = {layer: targets} if sliced else None
    return targets, compile_engine(spec, goal, settings, snapshot_every=snapshot_every, jit=jit, select=select)


def compile_engine(spec: models.ModelSpec, goal: objectives.Objective, settings: Settings,
                   snapshot_every: int = 0, jit: bool = False, select: dict | None = None) -> ascent.Engine:
    """The compiled ascent for `goal`, in the precision the settings ask for (float16 with loss scaling); with
    `settings.lattice`, the goal read on positions one receptive field apart in each of its layers' maps.

    `jit` compiles the octave loop with XLA; bench/speed.py measured it slower on CPU, so it is off by default.
    """
    if settings.lattice:
        goal = objectives.on_lattice(goal, {layer: receptive.spacing(spec, layer, settings.size)
                                            for layer in _map_layers(spec, goal.layers)})
    floor = models.min_size(spec, *goal.layers)
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
                        shape=spec.image_shape(settings.size),
                        loss_scale=1024.0 if policy == "mixed_float16" else 1.0, snapshot_every=snapshot_every)


def _map_layers(spec: models.ModelSpec, layers) -> list[str]:
    """Those of `layers` that have a map (not the logits, nor a dense layer's units)."""
    return [layer for layer in layers if layer != objectives.LOGITS
            and len(models.get_layer(spec.model, layer, units=True).output.shape) == 4]


def check_objective(spec: models.ModelSpec, goal: objectives.Objective, settings: Settings) -> None:
    """Evaluate an objective once on a small grey image, so that a bad index reads as one clear line."""
    features = models.FeatureModel(spec, tuple(sorted(goal.layers)), pre_activation=settings.pre_activation,
                                   leak=settings.leak)
    side = max(32, settings.size // 4, models.min_size(spec, *goal.layers))
    objectives.evaluated(goal, features(tf.fill((1, side, side, spec.channels), 0.5)), spec.name)


def padded(keys: Sequence[int], batch: int) -> list[int]:
    """`keys` filled up to `batch` with its last key: one batch shape (one trace), and a repeat changes no result."""
    return list(keys) + [keys[-1]] * (batch - len(keys))


def initial(engine: ascent.Engine, seed: int, keys: Sequence[int]) -> np.ndarray:
    """Starting values for each item at the first octave's size, seeded by (seed, key): batching never changes them."""
    shape = engine.shapes()[0]
    return np.stack([engine.param.init(np.random.default_rng([seed, key]), shape, engine.channels) for key in keys])


def reporter(progress: Callable | None, done: int, total: int, octaves: int) -> Callable | None:
    """Adapt a `progress(done, total, octave, octaves, value)` callback to the engine's per-octave hook."""
    if progress is None:
        return None
    return lambda octave, values: progress(done, total, octave + 1, octaves, float(tf.reduce_mean(values)))


def batch_reporter(progress: Callable | None, first: int, total: int, part: Rendering) -> Callable | None:
    """Adapt `progress` to `note(stage)` for a batch past its ascent: each pass that starts on it (its filters not
    yet done), then `note(None)` once it is done."""
    if progress is None:
        return None

    def note(stage: str | None) -> None:
        done = first + (len(part.filters) if stage is None else 0)
        octaves, value = part.settings.octaves, float(np.mean(part.objective_values))
        progress(done, total, octaves, octaves, value, **({"stage": stage} if stage else {}))
    return note
