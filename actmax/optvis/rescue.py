"""The rescue pass: weak filters of the main render get a second, differently grown image, kept if it holds better."""

from __future__ import annotations

import time

import numpy as np

from .. import models
from . import metrics
from .engine import filter_engine, initial
from .presets import Settings, get_preset
from .result import Rendering, quantise

WEAK_COVERAGE = 0.5


def weak_items(spec: models.ModelSpec, part: Rendering) -> list[int]:
    """Items whose filter is silent, or active on less than half its map: its pattern does not fill the tile.

    Judged on each filter's own image alone, so the choice never depends on the rest of the batch.
    """
    coverage = metrics.activity(spec, part.layer, part.images, part.filters)[1]
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
        activations = metrics.measure(self.spec, self.layer, images, group)
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


def rescue_weak(spec: models.ModelSpec, part: Rendering, rescues: dict, batch: int) -> Rendering:
    """Run the rescue pass on the part's weak filters, one engine per power-of-two batch (few compiled shapes)."""
    weak = weak_items(spec, part) if part.settings.rescue else []
    if not weak:
        return part
    size = min(batch, 1 << (len(weak) - 1).bit_length())
    rescues[size] = rescues.get(size) or Rescue(spec, part.layer, part.settings, size)
    return rescues[size](part, weak)
