"""The second-chance passes' candidate images (rescue): the settings each ascent pass runs under, and one object
per pass that, called with a part and the items it takes (picks), yields new images for those items, with their
objective values where it knows them.
"""

from __future__ import annotations

import functools
from typing import Callable, Iterator

import numpy as np
import tensorflow as tf

from .. import models
from . import metrics
from .engine import compile_engine, filter_engine, initial, padded
from .objectives import Objective
from .presets import Settings, get_preset
from .result import Rendering, quantise

PASS_BUDGET = 4  # a pass's steps in all, at most this many times the main ascent's (the default's passes fit)
CLIP_SHARE = 0.01  # the share of an image's values a boost may clip
TONE_COLOURS = 27  # the flat colours the tone pass picks each filter's tone from (metrics.flat_colours)
POLISH_SHARES = (0.5, 0.25, 0.125)  # the shares of the way to its polished image an image is offered next
POLISH_LONGER = 5  # how many times its steps an image still silent as shown is polished on for
Candidates = Iterator[tuple[np.ndarray, np.ndarray | None]]  # images for the items, with objective values if known


def main_steps(settings: Settings) -> int:
    """The steps the render's main ascent takes in all: the yardstick of what a pass may spend."""
    return settings.steps * settings.octaves


def pass_steps(settings: Settings, steps: int, octaves: int = 1) -> int:
    """The steps per octave a pass asking `steps` per octave over `octaves` takes under the render's settings: at
    most PASS_BUDGET times the main ascent's steps in all, at least one. A quick preview (`--steps 2`) stays quick:
    every filter it leaves weak would otherwise pay the passes' full hundreds of steps."""
    return max(1, min(steps, PASS_BUDGET * main_steps(settings) // octaves))


def classic_schedule(settings: Settings) -> Settings:
    """The rescue pass: the classic octaves, `rescue` steps each (pass_steps), no transforms."""
    classic = get_preset("classic")
    return settings.override(transforms="none", steps=pass_steps(settings, settings.rescue, classic.octaves),
                             octaves=classic.octaves, octave_scale=classic.octave_scale)


def lucid_recipe(settings: Settings, steps: int) -> Settings:
    """Lucid's parameterisation, optimiser and objective at full size, `steps` (pass_steps), no transforms."""
    lucid = get_preset("lucid")
    return Settings(param=lucid.param, optimizer=lucid.optimizer, lr=lucid.lr, pre_activation=True,
                    size=settings.size, steps=pass_steps(settings, steps), octaves=1, precision=settings.precision)


def revive_recipe(settings: Settings) -> Settings:
    """The revive pass: Lucid's whole recipe (its standard transforms: 8 px jitter, scales, rotations), `revive` steps,
    its images under the render's contrast cap."""
    return lucid_recipe(settings, settings.revive).override(transforms=get_preset("lucid").transforms,
                                                            contrast=settings.contrast)


def lattice_recipe(settings: Settings) -> Settings:
    """The wake pass: Lucid's recipe for positions one receptive field apart, `wake` steps (pass_steps), no jitter."""
    return lucid_recipe(settings, settings.wake).override(lattice=True)


class AscentPass:
    """An ascent pass's engine for one batch size: grows new images for some items of a part under its settings,
    each for its own filter of a layer, or all for one objective."""

    def __init__(self, spec: models.ModelSpec, target: str | Objective, settings: Settings, batch: int):
        self.batch = batch
        self.targets, self.engine = filter_engine(spec, target, settings, batch) if isinstance(target, str) \
            else (None, compile_engine(spec, target, settings))

    def __call__(self, part: Rendering, items: list[int], steps: int | None = None) -> Candidates:
        keys = padded([part.filters[i] for i in items], self.batch)
        if self.targets is not None:
            self.targets.assign(keys)
        run = self.engine.ascend(self.start(part, items, keys), part.seed, steps=steps)
        yield quantise(run.images.numpy()[:len(items)]), run.scores.numpy()[:len(items)]

    def start(self, part: Rendering, items: list[int], keys: list[int]) -> np.ndarray | tf.Tensor:
        """The values the ascent starts from: fresh, seeded by (seed, filter)."""
        return initial(self.engine, part.seed, keys)


def ascent_pass(settings_for: Callable[[Settings], Settings], kind: type[AscentPass] = AscentPass) -> Callable:
    """How an ascent pass is made: a `kind` (an AscentPass, or one that picks or starts its images its own way) under
    the settings `settings_for` derives from the render's."""
    return lambda spec, layer, settings, batch: kind(spec, layer, settings_for(settings), batch)


class Revive(AscentPass):
    """The revive pass's images, each offered only where its pattern holds its filter at least as well at equal
    contrast (metrics.pattern_hold) as the item's image does, or where that image leaves its filter silent, as shown
    or at equal contrast. Lucid's images, bolder than the ascent's, can hold a filter better on their contrast alone
    and lose once both are washed to the same contrast: on a MobileNet, 2 of 16 filters of block_9_expand that the
    default's faint images hold at equal contrast went below zero there."""

    def __init__(self, spec: models.ModelSpec, layer: str, settings: Settings, batch: int):
        super().__init__(spec, layer, settings, batch)
        self.hold = functools.partial(metrics.pattern_hold, spec, layer)

    def __call__(self, part: Rendering, items: list[int], steps: int | None = None) -> Candidates:
        current, group = part.images[items], [part.filters[i] for i in items]
        pattern = self.hold(current, group)
        for images, scores in super().__call__(part, items, steps):
            offered = ~part.alive[items] | (pattern <= part.floor) | (self.hold(images, group) >= pattern)
            yield np.where(offered[:, None, None, None], images, current), scores


class Boost:
    """The boost pass: `boost` contrasts evenly spaced from each image's own to its headroom, the same pattern."""

    def __init__(self, settings: Settings):
        self.cap, self.points = settings.contrast, settings.boost

    def __call__(self, part: Rendering, items: list[int]) -> Candidates:
        images = part.images[items]
        room = headroom(images, self.cap)
        for point in range(1, self.points + 1):
            yield quantise(metrics.stretched(images, 1 + (room - 1) * point / self.points)), None


def headroom(images: np.ndarray, cap: float) -> np.ndarray:
    """The largest factor each image's contrast may be stretched by (metrics.stretched): up to the contrast cap, and
    short of pushing more than CLIP_SHARE of its values past black or white."""
    mean = images.mean(axis=(1, 2, 3), keepdims=True)
    deviation = images - mean
    with np.errstate(divide="ignore", invalid="ignore"):  # the factor at which each value reaches white or black
        reach = np.where(deviation > 0, (1 - mean) / deviation, np.where(deviation < 0, -mean / deviation, np.inf))
        unclipped = np.quantile(reach.reshape(len(images), int(np.prod(images.shape[1:]))), CLIP_SHARE, axis=1)
    unclipped[np.isnan(unclipped)] = np.inf  # a flat image: the quantile falls between unbounded values
    return np.minimum(cap / np.maximum(metrics.rms_contrast(images, per_channel=True), 1e-6), unclipped)


class FlatPass:
    """The flat pass: the flat colour (metrics.flat_colours, `flat` of them) that drives each filter hardest. A unit
    that any pattern weakens (a linear conv before its normalisation, often) is best shown by no pattern at all, and
    no ascent from noise gets back there: its steps leave a faint texture weaker than a blank tile."""

    def __init__(self, spec: models.ModelSpec, layer: str, settings: Settings):
        self.spec, self.layer, self.count = spec, layer, settings.flat

    def __call__(self, part: Rendering, items: list[int]) -> Candidates:
        best = metrics.best_flat(self.spec, self.layer, part.images.shape[1:], self.count,
                                 [part.filters[i] for i in items])[0]
        yield flat_tiles(best, (len(items), *part.images.shape[1:])), None


def flat_tiles(colours: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Flat images of `shape` (items, height, width, channels), one per colour (items, channels), as saved."""
    return quantise(np.broadcast_to(colours[:, None, None, :], shape))


class Tone:
    """The tone pass: each image's mean colour moved `tone` evenly spaced shares of the way (up to all of it) to the
    flat colour that drives its filter hardest, the pattern unchanged but for clipping. A filter that wants a dark (or
    a bright, or a coloured) image gets a pattern on a tone the ascent, whose steps are small, had no time to reach.
    A shift whose pattern holds its filter less well at equal contrast than the image did (metrics.pattern_hold: its
    values clipped out of shape) is not offered: it would win on its tone alone, where the flat pass's margin says
    a pattern should stay."""

    def __init__(self, spec: models.ModelSpec, layer: str, settings: Settings):
        self.spec, self.layer, self.points = spec, layer, settings.tone

    def __call__(self, part: Rendering, items: list[int]) -> Candidates:
        images, group = part.images[items], [part.filters[i] for i in items]
        target = metrics.best_flat(self.spec, self.layer, images.shape[1:], TONE_COLOURS, group)[0]
        hold = functools.partial(metrics.pattern_hold, self.spec, self.layer, filters=group)
        pattern = hold(images)
        for point in range(1, self.points + 1):
            moved = quantise(metrics.toned(images, target, point / self.points))
            yield np.where((hold(moved) >= pattern)[:, None, None, None], moved, part.images[items]), None


def polish_schedule(settings: Settings) -> Settings:
    """The polish pass: `polish` steps (pass_steps) at full size with no transforms, from the image as it is."""
    return settings.override(transforms="none", steps=pass_steps(settings, settings.polish), octaves=1, polish=0)


class Polish(AscentPass):
    """The polish pass: a few transform-free steps from each image as it is. The robustness transforms make the
    ascent spend itself on what every shifted copy shares; a network that is not shift-invariant (strided
    convolutions: MobileNet, ResNet) then scores the image as shown far below its shifted copies (a class image it
    calls another class). The polish makes the pixels as shown drive the filter too, the pattern unchanged.

    An image whose full polish loses too much of its hold is offered the same change scaled back (POLISH_SHARES of
    the way), the first kept ending the search: the first share of a step does most of the gain as shown. One that
    still leaves its filter at or below the firing floor as shown (a linear unit's image, alive only against flat
    grey) and that the polish moved is polished on for POLISH_LONGER times the steps, from where it stands: its
    filter should fire on it."""

    def __call__(self, part: Rendering, items: list[int]) -> Candidates:
        original = part.images[items].copy()
        polished, scores = next(super().__call__(part, items))
        yield polished, scores
        for share in POLISH_SHARES:  # an item already kept is offered its own image, which cannot win
            kept = np.any(part.images[items] != original, axis=(1, 2, 3))[:, None, None, None]
            yield np.where(kept, part.images[items], quantise((1 - share) * original + share * polished)), None
        moved = np.any(polished != original, axis=(1, 2, 3))  # no step moves an image whose gradient is zero
        silent = [k for k, i in enumerate(items) if moved[k] and part.activations[i] <= part.floor]
        if silent:
            yield self.polished_on(part, items, silent)

    def polished_on(self, part: Rendering, items: list[int], silent: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """The items' images, those at `silent` positions polished POLISH_LONGER times as long from themselves, at most
        as many steps as the main ascent took."""
        chosen = [items[k] for k in silent]
        steps = min(POLISH_LONGER * self.engine.settings.steps, main_steps(part.settings))  # a preview stays quick
        longer, values = next(super().__call__(part, chosen, steps))
        images, scores = part.images[items].copy(), part.objective_values[items].copy()
        images[silent], scores[silent] = longer, values
        return images, scores

    def start(self, part: Rendering, items: list[int], keys: list[int]) -> tf.Tensor:
        """The items' own images (padded as their keys are)."""
        return self.engine.param.from_image(tf.constant(part.images[padded(items, self.batch)]))
