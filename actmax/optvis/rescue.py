"""Second chances: filters the main render leaves weak get another image grown another way, kept if it holds better.

Three passes, each for the filters the one before left behind:
- *rescue* (filters silent, or active on less than half their map): the classic schedule, many octaves grown from a
  small image with no robustness transforms, so patterns come out large and a barely reachable filter (one that lives
  at the image border, say) can hold on to them;
- *revive* (filters whose image still does not hold them: silent, or silent once shifted): the Lucid recipe at full
  size — a decorrelated Fourier image, Adam, the pre-activation as objective, a one-pixel jitter — which reaches
  filters that pixel ascent leaves below zero;
- *wake* (filters still not held): the same recipe, without the jitter, for the filter on a lattice of positions
  one receptive field apart (objectives.lattice). A filter whose mean cannot climb above zero may still fire on
  one small patch; each position then grows its own copy, so the image shows the patch across the tile, where the
  mean objectives leave the filter dead or barely alive (a grey tile). No jitter: the positions are fixed, and a
  jittered image puts other pixels under them at every step.
Only those filters pay for them, and an image is replaced only if it activates its filter and holds it at least as
well under shifts, scales and rotations (metrics.robust_activation), the plain activation breaking ties.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from .. import models
from . import metrics
from .engine import filter_engine, initial, padded
from .presets import Settings, get_preset
from .result import Rendering, quantise

WEAK_COVERAGE = 0.5


def weak_items(spec: models.ModelSpec, part: Rendering) -> list[int]:
    """Items whose filter is silent, or active on less than half its map: its pattern does not fill the tile.

    Judged on each filter's own image alone, so the choice never depends on the rest of the batch.
    """
    coverage = metrics.activity(spec, part.layer, part.images, part.filters)[1]
    return [int(i) for i in np.flatnonzero(~part.alive | (coverage < WEAK_COVERAGE))]


def unheld_items(spec: models.ModelSpec, part: Rendering) -> list[int]:
    """Items whose image does not hold its filter: silent on it, or silent once it is shifted, scaled or rotated."""
    held = metrics.robust_activation(spec, part.layer, part.images, part.filters)
    return [int(i) for i in np.flatnonzero(~part.alive | (held <= 0))]


def classic_schedule(settings: Settings) -> Settings:
    """The rescue pass: the classic octaves, `rescue` steps each, no transforms."""
    classic = get_preset("classic")
    return settings.override(transforms="none", steps=settings.rescue, octaves=classic.octaves,
                             octave_scale=classic.octave_scale)


def lucid_recipe(settings: Settings) -> Settings:
    """The revive pass: Lucid's parameterisation, optimiser and objective at full size, `revive` steps, jitter 1."""
    lucid = get_preset("lucid")
    return Settings(param=lucid.param, optimizer=lucid.optimizer, lr=lucid.lr, pre_activation=True,
                    transforms="jitter:1", size=settings.size, steps=settings.revive, octaves=1,
                    precision=settings.precision)


def lattice_recipe(settings: Settings) -> Settings:
    """The wake pass: Lucid's recipe for positions one receptive field apart, `wake` steps, no jitter."""
    return lucid_recipe(settings).override(steps=settings.wake, lattice=True, transforms="none")


# (Settings field that turns the pass on, the items it takes, the settings it renders with, extra's counter)
PASSES: tuple[tuple[str, Callable, Callable, str], ...] = (
    ("rescue", weak_items, classic_schedule, "rescued"),
    ("revive", unheld_items, lucid_recipe, "revived"),
    ("wake", unheld_items, lattice_recipe, "woken"),
)


class Rescue:
    """One pass's engine for one batch size: renders some items of a part again and keeps the images that hold."""

    def __init__(self, spec: models.ModelSpec, layer: str, settings: Settings, batch: int, counter: str):
        self.spec, self.layer, self.batch, self.counter = spec, layer, batch, counter
        self.targets, self.engine = filter_engine(spec, layer, settings, batch)

    def __call__(self, part: Rendering, weak: list[int]) -> Rendering:
        started = time.perf_counter()
        weak = weak[:self.batch]
        group = [part.filters[i] for i in weak]
        keys = padded(group, self.batch)
        self.targets.assign(keys)
        run = self.engine.ascend(initial(self.engine, part.seed, keys), part.seed)
        images = quantise(run.images.numpy()[:len(weak)])
        activations = metrics.measure(self.spec, self.layer, images, group)
        held = metrics.robust_activation(self.spec, self.layer, np.concatenate([part.images[weak], images]),
                                         group * 2)
        better = [k for k, a in enumerate(activations)
                  if a > 0 and (held[len(weak) + k], a) > (held[k], part.activations[weak[k]])]
        for k in better:
            i = weak[k]
            part.images[i], part.activations[i] = images[k], activations[k]
            part.objective_values[i] = run.scores.numpy()[k]
        part.extra = {**part.extra, self.counter: part.extra.get(self.counter, 0) + len(better)}
        part.seconds += time.perf_counter() - started
        return part


def rescue_weak(spec: models.ModelSpec, part: Rendering, rescues: dict, batch: int) -> Rendering:
    """Run each pass the settings turn on over the items the passes before left behind; one engine per pass and
    power-of-two batch (few compiled shapes), kept in `rescues` between batches."""
    for field, pick, settings_for, counter in PASSES:
        items = pick(spec, part) if getattr(part.settings, field) else []
        if not items:
            continue
        size = min(batch, 1 << (len(items) - 1).bit_length())
        if (field, size) not in rescues:
            rescues[field, size] = Rescue(spec, part.layer, settings_for(part.settings), size, counter)
        part = rescues[field, size](part, items)
    return part
