"""Which items each second-chance pass takes (rescue): tests on a part's images, their filters' activations and how
well each image holds its filter under the robustness perturbations (`held`), each judged on an item's own image.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import models
from . import metrics
from .passes import TONE_COLOURS, flat_tiles, headroom
from .result import Rendering, quantise

WEAK_COVERAGE = 0.5
WEAK_HOLD = 0.5  # the share of its activation an image must keep under the robustness perturbations
BOOST_ROOM = 0.95  # an image within 5% of its headroom leaves no room worth a search
TONE_SHARE = 0.5  # how hard (a share of its image's activation) that flat colour alone must drive a filter


def weak_items(spec: models.ModelSpec, part: Rendering, held: np.ndarray) -> list[int]:
    """Items whose filter is silent, or active on less than half its map (its pattern does not fill the tile), or
    whose image loses more than half its activation when shifted, scaled or rotated a little (it does not hold it).

    Judged on each filter's own image alone, so the choice never depends on the rest of the batch; `held`: how well
    each image holds its filter (metrics.robust_activation).
    """
    coverage = metrics.activity(spec, part.layer, part.images, part.filters)[1]
    return [int(i) for i in np.flatnonzero(~part.alive | (coverage < WEAK_COVERAGE) | loose(part, held))]


def loose_items(spec: models.ModelSpec, part: Rendering, held: np.ndarray) -> list[int]:
    """Items whose image leaves its objective silent, or loses more than half of it when shifted, scaled or rotated a
    little: weak_items for an objective's variants, which have no one map to fill."""
    return [int(i) for i in np.flatnonzero(~part.alive | loose(part, held))]


def loose(part: Rendering, held: np.ndarray) -> np.ndarray:
    """Where an image keeps less than WEAK_HOLD of its activation (above the floor) under the perturbations."""
    return held - part.floor < WEAK_HOLD * (part.activations - part.floor)


def slipping_items(spec: models.ModelSpec, part: Rendering, held: np.ndarray) -> list[int]:
    """Items whose image fires its filter but loses more than half of it when shifted, scaled or rotated a little:
    a filter that the image reaches without holding. A silent one is the lattice pass's (unheld_items)."""
    return [int(i) for i in np.flatnonzero(part.alive & loose(part, held))]


def unheld_items(spec: models.ModelSpec, part: Rendering, held: np.ndarray) -> list[int]:
    """Items whose image does not hold its filter: silent on it, or silent (at or below its layer's firing floor) once
    it is shifted, scaled or rotated."""
    return [int(i) for i in np.flatnonzero(~part.alive | unheld(part, held))]


def unheld(part: Rendering, held: np.ndarray) -> np.ndarray:
    """Where an image leaves its filter silent (at or below the firing floor) under the perturbations."""
    return held <= part.floor


def faint_items(spec: models.ModelSpec, part: Rendering, held: np.ndarray) -> list[int]:
    """Items whose image could be stretched to a contrast worth trying (none without a cap)."""
    return [int(i) for i in np.flatnonzero(headroom(part.images, part.settings.contrast) > 1 / BOOST_ROOM)]


def flat_items(spec: models.ModelSpec, part: Rendering, held: np.ndarray) -> list[int]:
    """Items whose image some flat colour beats (above the firing floor) where the image's pattern holds its filter no
    better than that colour does at equal contrast, or leaves it silent there (`pattern_loses`): a pattern that holds
    it better says more about its filter than the blank tile does, one that loses to it at any contrast says nothing
    (passes.FlatPass). A softmax's class takes only a tile that the model gives that class (`called_their_class`)."""
    colours, beaten = flat_over(spec, part, part.settings.flat, 1.0)
    beaten = np.flatnonzero(beaten)
    losing = beaten[pattern_loses(spec, part, beaten, colours[beaten])] if len(beaten) else beaten
    return [int(i) for i in losing[called_their_class(spec, part, losing, colours[losing])]]


def called_their_class(spec: models.ModelSpec, part: Rendering, items: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """Whether the model gives each item's flat tile (`colours`, one per item) the item's class, where the layer is a
    softmax (every tile passes on any other layer): a class image the model calls another class is no image of that
    class. A MobileNet's class 4 lost its pattern to a black tile it scored at p = 0.15, which the model calls a 1."""
    if not len(items) or not models.layers.is_softmax(models.get_layer(spec.model, part.layer, units=True).layer):
        return np.ones(len(items), bool)
    responses = metrics.flat_responses(spec, part.layer, part.images.shape[1:], quantise(colours))  # as saved
    return responses.argmax(axis=1) == np.array([part.filters[i] for i in items])


def pattern_loses(spec: models.ModelSpec, part: Rendering, items: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """Whether each item's pattern holds its filter no better at equal contrast (metrics.pattern_hold) than a tile of
    its filter's best flat colour (`colours`, one per item) does, or leaves it silent there (at or below the firing
    floor). The first layers of small models show it: a unit near-linear in the image's brightness wants a flat
    tile, and the ascent leaves faint noise on it; a unit that contrast drives (a ReLU's, by its convexity) wants the
    pattern, however faint, and keeps it. A colour unit (MobileNet's linear ones) is silent on any pattern washed to
    equal contrast, the flat tile's included: neither holds it there, and its colour is what drives it."""
    images = part.images[items]
    hold = functools.partial(metrics.pattern_hold, spec, part.layer, filters=[part.filters[i] for i in items])
    pattern = hold(images)
    return (pattern <= hold(flat_tiles(colours, images.shape))) | (pattern <= part.floor)


def toned_items(spec: models.ModelSpec, part: Rendering, held: np.ndarray) -> list[int]:
    """Items whose tone matters (passes.Tone): a flat tile in the colour that drives their filter hardest (of
    TONE_COLOURS) drives it more than TONE_SHARE as hard as their image does, above the firing floor (for a silent
    image: fires it at all), and their image's mean colour is not that colour already."""
    target, over = flat_over(spec, part, TONE_COLOURS, TONE_SHARE)
    off = np.abs(part.images.mean(axis=(1, 2)) - target).max(axis=1) > 1 / 255
    return [int(i) for i in np.flatnonzero(off & over)]


def flat_over(spec: models.ModelSpec, part: Rendering, count: int, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """Each item's best flat colour (of flat_colours(count)), and whether that colour alone drives its filter more
    than `factor` times as hard as its image does, above the firing floor (for a silent image: fires it at all)."""
    target, best = metrics.best_flat(spec, part.layer, part.images.shape[1:], count, part.filters)
    return target, best - part.floor > factor * np.maximum(part.activations - part.floor, 0)


def patterned_items(spec: models.ModelSpec, part: Rendering, held: np.ndarray) -> list[int]:
    """Items whose image has a pattern to polish (not a flat tile)."""
    return [int(i) for i in np.flatnonzero(metrics.rms_contrast(part.images) > 0)]
