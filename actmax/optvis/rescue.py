"""Second chances: filters the main render leaves weak get other images, each kept only if it holds better.

Seven passes, each for the filters the ones before left behind:
- *rescue* (filters silent, active on less than half their map, or whose image loses more than half its activation
  when shifted, scaled or rotated a little): the classic schedule, many octaves grown from a small image with no
  robustness transforms, so patterns come out large and a barely reachable filter (one that lives at the image
  border, say) can hold on to them;
- *revive* (filters whose image still does not hold them: silent, or silent once shifted): the Lucid recipe at full
  size — a decorrelated Fourier image, Adam, the pre-activation as objective, a one-pixel jitter — which reaches
  filters that pixel ascent leaves below zero (off in the default preset: the wake pass, which takes the same
  filters, replaced or bettered every image it kept on the sweep);
- *wake* (filters still not held): the same recipe, without the jitter, for the filter on a lattice of positions
  one receptive field apart (objectives.on_lattice). A filter whose mean cannot climb above zero may still fire on
  one small patch; each position then grows its own copy, so the image shows the patch across the tile, where the
  mean objectives leave the filter dead or barely alive (a grey tile). No jitter: the positions are fixed, and a
  jittered image puts other pixels under them at every step.
- *boost* (images with contrast to spare): a line search along each image's own contrast, up to the cap and short
  of clipping. The ascent often ends short of the contrast it may spend (a faint, greyish tile); stretching the
  pattern is free and, for most filters, drives them harder — not for all (a filter tuned to a faint tint), hence
  the check. It stops before clipping more than CLIP_SHARE of the values: clipped patterns lose their shape, and
  a boost up to the cap cut robust activation at equal contrast by 6% over the sweep (19% on block5_conv2).
- *flat* (images that some flat colour beats, where their pattern holds their filter no better than that colour at
  equal contrast, or leaves it silent there): that flat colour. A unit that any pattern weakens (common among linear
  convs before their normalisation, e.g. in fer's emotion model) peaks on a blank tile of the right brightness, and
  the ascent, whose steps never shrink, ends on a faint texture that drives it less than that blank; the image then
  says it wants that texture. A pattern that holds its filter better at equal contrast is kept, however much harder
  the colour drives it: a linear unit also rises with its image's mean colour (MobileNet's, before their batch
  norm), and a saturated tile that beats a pattern on colour alone says less than the pattern; a pattern that loses
  to the blank tile at any contrast (a brightness unit's faint noise, on the first layers of small models) says
  nothing, nor does one that its filter, a colour unit, is silent on once its colour is washed to equal contrast.
  A softmax's class is offered only a tile the model gives that class (called_their_class): a black tile that a
  MobileNet scored class 4 at p = 0.15 (and calls a 1) took class 4's pattern, which the polish would have taken
  to p = 1.00.
- *tone* (images whose filter a flat tile of its best colour alone drives more than TONE_SHARE as hard): the same
  pattern with its mean colour moved towards that colour. A filter that wants a dark image (common in fer's
  emotion model) gets a mid-grey pattern from the ascent, whose small steps spend themselves on the pattern before
  they reach the tone; moved, the pattern fires it harder. Offered only where the moved pattern holds its filter at
  least as well at equal contrast: clipped out of shape, it would win on its tone alone.
- *polish* (every image with a pattern): `polish` transform-free steps from the image itself (Polish), kept where
  the image as shown drives its filter harder and keeps POLISH_HOLD of its hold (drives_harder); where it loses
  more, the change scaled back to POLISH_SHARES of the way; one its filter still does not fire on as shown, polished
  on for POLISH_LONGER times the steps.
An objective's variants get the rescue (for images that leave it silent or do not hold it), wake (on each of its
layers' lattice), boost and polish passes (GOAL_PASSES), judged by the objective (metrics.GoalScorer) where filters
are judged by their own channel.
Only those filters pay for them, and an image is replaced only if it activates its filter and holds it at least as
well under shifts, scales and rotations (metrics.robust_activation), the plain activation breaking ties, or if it
activates a filter that its image leaves silent (a filter that fires on one spot only is still alive: the classic
recipe's image of it is what it responds to, and a silent image reports an activatable filter dead). Holds are
measured in the render's precision (bfloat16 where it is native: 3.4× quicker), and a call that precision's error
could turn (CLOSE_CALL), to keep an image or to pick an item for a pass, is made again in float32, so the passes keep
the images float32 would.
"""

from __future__ import annotations

import functools
import time
from typing import Callable, Iterator

import numpy as np
import tensorflow as tf

from .. import models
from . import metrics
from .engine import compile_engine, filter_engine, initial, padded
from .objectives import Objective
from .presets import Settings, get_preset
from .result import Rendering, quantise, responds

WEAK_COVERAGE = 0.5
WEAK_HOLD = 0.5  # the share of its activation an image must keep under the robustness perturbations
BOOST_ROOM = 0.95  # an image within 5% of its headroom leaves no room worth a search
CLIP_SHARE = 0.01  # the share of an image's values a boost may clip
TONE_COLOURS = 27  # the flat colours the tone pass picks each filter's tone from (metrics.flat_colours)
TONE_SHARE = 0.5  # how hard (a share of its image's activation) that flat colour alone must drive a filter
POLISH_HOLD = 0.75  # the share of how well its image held its filter a polished image must keep
POLISH_SHARES = (0.5, 0.25, 0.125)  # the shares of the way to its polished image an image is offered next
POLISH_LONGER = 5  # how many times its steps an image still silent as shown is polished on for
CLOSE_CALL = 0.02  # a low-precision hold's error, a share of the values it averages: closer calls are made again
PASS_BUDGET = 4  # a pass's steps in all, at most this many times the main ascent's (the default's passes fit)
Candidates = Iterator[tuple[np.ndarray, np.ndarray | None]]  # images for the items, with objective values if known
Scorer = metrics.FilterScorer | metrics.GoalScorer  # how keep_better judges images


def weak_items(spec: models.ModelSpec, part: Rendering, held: np.ndarray) -> list[int]:
    """Items whose filter is silent, or active on less than half its map (its pattern does not fill the tile), or
    whose image loses more than half its activation when shifted, scaled or rotated a little (it does not hold it).

    Judged on each filter's own image alone, so the choice never depends on the rest of the batch; `held`: how well
    each image holds its filter (metrics.robust_activation).
    """
    coverage = metrics.activity(spec, part.layer, part.images, part.filters)[1]
    return [int(i) for i in np.flatnonzero(~part.alive | (coverage < WEAK_COVERAGE) | _loose(part, held))]


def loose_items(spec: models.ModelSpec, part: Rendering, held: np.ndarray) -> list[int]:
    """Items whose image leaves its objective silent, or loses more than half of it when shifted, scaled or rotated a
    little: weak_items for an objective's variants, which have no one map to fill."""
    return [int(i) for i in np.flatnonzero(~part.alive | _loose(part, held))]


def _loose(part: Rendering, held: np.ndarray) -> np.ndarray:
    """Where an image keeps less than WEAK_HOLD of its activation (above the floor) under the perturbations."""
    return held - part.floor < WEAK_HOLD * (part.activations - part.floor)


def unheld_items(spec: models.ModelSpec, part: Rendering, held: np.ndarray) -> list[int]:
    """Items whose image does not hold its filter: silent on it, or silent (at or below its layer's firing floor) once
    it is shifted, scaled or rotated."""
    return [int(i) for i in np.flatnonzero(~part.alive | _unheld(part, held))]


def _unheld(part: Rendering, held: np.ndarray) -> np.ndarray:
    """Where an image leaves its filter silent (at or below the firing floor) under the perturbations."""
    return held <= part.floor


def faint_items(spec: models.ModelSpec, part: Rendering, held: np.ndarray) -> list[int]:
    """Items whose image could be stretched to a contrast worth trying (none without a cap)."""
    return [int(i) for i in np.flatnonzero(headroom(part.images, part.settings.contrast) > 1 / BOOST_ROOM)]


def flat_items(spec: models.ModelSpec, part: Rendering, held: np.ndarray) -> list[int]:
    """Items whose image some flat colour beats (above the firing floor) where the image's pattern holds its filter no
    better than that colour does at equal contrast, or leaves it silent there (`pattern_loses`): a pattern that holds
    it better says more about its filter than the blank tile does, one that loses to it at any contrast says nothing
    (FlatPass). A softmax's class takes only a tile that the model gives that class (`called_their_class`)."""
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


def flat_tiles(colours: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Flat images of `shape` (items, height, width, channels), one per colour (items, channels), as saved."""
    return quantise(np.broadcast_to(colours[:, None, None, :], shape))


def toned_items(spec: models.ModelSpec, part: Rendering, held: np.ndarray) -> list[int]:
    """Items whose tone matters (Tone): a flat tile in the colour that drives their filter hardest (of TONE_COLOURS)
    drives it more than TONE_SHARE as hard as their image does, above the firing floor (for a silent image: fires
    it at all), and their image's mean colour is not that colour already."""
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


def lucid_recipe(settings: Settings, steps: int | None = None) -> Settings:
    """The revive pass: Lucid's parameterisation, optimiser and objective at full size, `revive` steps (or `steps`;
    pass_steps), jitter 1."""
    lucid = get_preset("lucid")
    return Settings(param=lucid.param, optimizer=lucid.optimizer, lr=lucid.lr, pre_activation=True,
                    transforms="jitter:1", size=settings.size, steps=pass_steps(settings, steps or settings.revive),
                    octaves=1, precision=settings.precision)


def lattice_recipe(settings: Settings) -> Settings:
    """The wake pass: Lucid's recipe for positions one receptive field apart, `wake` steps (pass_steps), no jitter."""
    return lucid_recipe(settings, settings.wake).override(lattice=True, transforms="none")


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


class Boost:
    """The boost pass: `boost` contrasts evenly spaced from each image's own to its headroom, the same pattern."""

    def __init__(self, settings: Settings):
        self.cap, self.points = settings.contrast, settings.boost

    def __call__(self, part: Rendering, items: list[int]) -> Candidates:
        images = part.images[items]
        room = headroom(images, self.cap)
        for point in range(1, self.points + 1):
            yield quantise(metrics.stretched(images, 1 + (room - 1) * point / self.points)), None


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


def holds_better(holds: float, held: float, activation: float, current: float) -> bool:
    """A candidate holds its filter better under the perturbations, the plain activation breaking ties."""
    return (holds, activation) > (held, current)


def drives_harder(holds: float, held: float, activation: float, current: float) -> bool:
    """A candidate drives its filter harder as shown and keeps POLISH_HOLD of how well the image held it: loses at
    most the rest of the hold's size, whatever its sign (a linear unit's mean may stay below zero when perturbed)."""
    return activation > current and holds >= held - (1 - POLISH_HOLD) * abs(held)


def ascent_pass(settings_for: Callable[[Settings], Settings]) -> Callable:
    """How an ascent pass is made: an AscentPass under the settings `settings_for` derives from the render's."""
    return lambda spec, layer, settings, batch: AscentPass(spec, layer, settings_for(settings), batch)


# (Settings field that turns the pass on, the items it takes, how it is made, extra's counter, when it wins)
PASSES: tuple[tuple[str, Callable, Callable, str, Callable], ...] = (
    ("rescue", weak_items, ascent_pass(classic_schedule), "rescued", holds_better),
    ("revive", unheld_items, ascent_pass(lucid_recipe), "revived", holds_better),
    ("wake", unheld_items, ascent_pass(lattice_recipe), "woken", holds_better),
    ("boost", faint_items, lambda spec, layer, settings, batch: Boost(settings), "boosted", holds_better),
    ("flat", flat_items, lambda spec, layer, settings, batch: FlatPass(spec, layer, settings), "flattened",
     holds_better),
    ("tone", toned_items, lambda spec, layer, settings, batch: Tone(spec, layer, settings), "toned", holds_better),
    ("polish", patterned_items, lambda spec, layer, settings, batch: Polish(spec, layer, polish_schedule(settings),
                                                                             batch), "polished", drives_harder),
)
# An objective's variants (rescue_weak with a goal; the makers get the goal where PASSES' get the layer): the passes
# that read no single filter's map. The flat colours (and the tone they set) are a filter's.
_NAMED = {entry[0]: entry for entry in PASSES}
GOAL_PASSES = (("rescue", loose_items, *_NAMED["rescue"][2:]), _NAMED["wake"], _NAMED["boost"], _NAMED["polish"])


def keep_better(scorer: Scorer, part: Rendering, items: list[int], images: np.ndarray, scores: np.ndarray | None,
                held: np.ndarray, wins: Callable = holds_better) -> set[int]:
    """Put `images` in place of the items' images where they activate their filter (`result.responds`) and win
    (`wins(holds, held, activation, current)`: by default, hold it better), or where the current image leaves it
    silent; which. An item offered its own image is not measured: it cannot win.

    `scorer` judges the images (metrics.FilterScorer, or GoalScorer for an objective's variants); `held`: how well
    the items' current images hold their filters (its `held`), kept up to date.
    """
    new = [k for k, i in enumerate(items) if not np.array_equal(images[k], part.images[i])]
    if not new:
        return set()
    chosen, group = [items[k] for k in new], [part.filters[items[k]] for k in new]
    activations = scorer.shown(images[new], group)
    current, greys = part.activations[chosen], None if part.greys is None else part.greys[chosen]
    fires, fired = responds(activations, greys, part.floor), responds(current, greys, part.floor)

    def takes(j: int, hold: float) -> bool:  # candidate j, holding its filter so, replaces its item's image
        return not fired[j] or wins(hold, held[new[j]], activations[j], current[j])

    # The hold (8 perturbed forward passes) is measured only where it can decide: a candidate that fires, and that
    # some hold would let win (the polish's cannot win without driving harder as shown).
    contenders = [j for j in range(len(new)) if fires[j] and takes(j, np.inf)]
    holds = np.full(len(new), np.nan)
    if contenders:
        holds[contenders] = scorer.held(images[[new[j] for j in contenders]], [group[j] for j in contenders])

    def close(j: int) -> bool:  # a low-precision hold whose error (a share of the values it averages) could turn it
        margin = 2 * CLOSE_CALL * max(abs(holds[j]), abs(held[new[j]]), abs(activations[j]), abs(current[j]))
        return scorer.policy != "float32" and takes(j, holds[j] - margin) != takes(j, holds[j] + margin)
    if unsure := [j for j in contenders if close(j)]:  # both images' holds measured again in float32
        pair = [group[j] for j in unsure]
        holds[unsure] = scorer.held_exactly(images[[new[j] for j in unsure]], pair)
        held[[new[j] for j in unsure]] = scorer.held_exactly(part.images[[chosen[j] for j in unsure]], pair)
    better = [j for j in contenders if takes(j, holds[j])]
    for j in better:
        k, i = new[j], chosen[j]
        part.images[i], part.activations[i], held[k] = images[k], activations[j], holds[j]
        if scores is not None:
            part.objective_values[i] = scores[k]
    return {chosen[j] for j in better}


def rescue_weak(spec: models.ModelSpec, part: Rendering, passes: dict, batch: int,
                note: Callable[[str], None] | None = None, *, goal: Objective | None = None) -> Rendering:
    """Run each pass the settings turn on over the items the passes before left behind, counting the images kept;
    `note(stage)` is told of each pass that has items (e.g. `rescue: 5 filters`). Each item is judged by its own
    filter of the part's layer, or with `goal` every item by that objective (GOAL_PASSES, metrics.GoalScorer).

    How well each image holds its filter is measured once, in the render's precision (settled: in float32 where that
    could change which passes pick it), and kept up to date as passes replace images."""
    policy = models.resolve_precision(part.settings.precision)
    scorer = metrics.GoalScorer(spec, goal, policy) if goal else metrics.FilterScorer(spec, part.layer, policy)
    chosen = [entry for entry in (GOAL_PASSES if goal else PASSES) if getattr(part.settings, entry[0])]
    held = settled(scorer, part, scorer.held(part.images, part.filters)) if chosen else None
    for field, pick, make, counter, wins in chosen:
        items = pick(spec, part, held)
        if note and items:
            note(f"{field}: {len(items)} {'variant' if goal else 'filter'}{'s' * (len(items) > 1)}")
        build = functools.partial(make, spec, goal or part.layer, part.settings)
        kept = _run_pass(scorer, part, items, held, passes, field, build, batch, wins) if items else set()
        part.extra = {**part.extra, counter: part.extra.get(counter, 0) + len(kept)}
    return part


def settled(scorer: Scorer, part: Rendering, held: np.ndarray) -> np.ndarray:
    """`held` (low-precision holds), measured again in float32 where the error (CLOSE_CALL) could turn a rule the
    picks apply to it: silent under the perturbations (_unheld), or keeping less than WEAK_HOLD (_loose)."""
    if scorer.policy == "float32":
        return held
    margin = 2 * CLOSE_CALL * np.maximum(np.abs(held), np.abs(part.activations))
    turns = [rule(part, held - margin) != rule(part, held + margin) for rule in (_unheld, _loose)]
    unsure = np.flatnonzero(np.any(turns, axis=0))
    if len(unsure):
        held = held.copy()
        held[unsure] = scorer.held_exactly(part.images[unsure], [part.filters[i] for i in unsure])
    return held


def pass_batch(count: int, batch: int) -> int:
    """The batch a pass runs `count` items in: the smallest 2^k or 3·2^k that holds them, at most `batch`.

    Few sizes (few compiled shapes) and at most a third of the batch padding (a power of two alone pads 6 items
    to 8; every padded item costs a full image's ascent).
    """
    power = 1 << (count - 1).bit_length()
    return min(batch, 3 * power // 4 if 3 * power // 4 >= count else power)


def _run_pass(scorer, part, items, held, passes, field, make, batch, wins) -> set[int]:
    """One pass over `items`: one pass object per pass and batch size (pass_batch), made by `make(size)` and kept in
    `passes` between batches; its time counts in the part's, and `held` (every item's) is updated for the images it
    keeps."""
    started, size = time.perf_counter(), pass_batch(len(items), batch)
    if (field, size) not in passes:
        passes[field, size] = make(size)
    holds = held[items]
    kept = set().union(*(keep_better(scorer, part, items, images, scores, holds, wins)
                         for images, scores in passes[field, size](part, items)))
    held[items] = holds
    part.seconds += time.perf_counter() - started
    return kept
