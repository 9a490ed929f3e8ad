"""Second chances: filters the main render leaves weak get other images, each kept only if it holds better.

Seven passes, each for the filters the ones before left behind:
- *rescue* (filters silent, active on less than half their map, or whose image loses more than half its activation
  when shifted, scaled or rotated a little): the classic schedule, many octaves grown from a small image with no
  robustness transforms, so patterns come out large and a barely reachable filter (one that lives at the image
  border, say) can hold on to them;
- *revive* (filters whose image fires them but loses more than half of it when shifted, scaled or rotated a little):
  Lucid's whole recipe at full size — a decorrelated Fourier image, Adam, the pre-activation as objective, its
  standard transforms (12 px pad, 8 px jitter, scales, rotations) — under the render's contrast cap, each image
  offered only where its pattern holds its filter at least as well at equal contrast (passes.Revive). On a ConvNeXt's
  deep layers (a 2×2 map at 64 px) the ascent's jitter of a few pixels leaves images that keep about 1/1000 of their
  activation once shifted; Lucid's strong transforms find blobs of colour and texture that hold the filter. A silent
  filter is the next pass's: a mean objective that never climbed above zero seldom climbs under Lucid's either.
- *wake* (filters still not held): Lucid's recipe with no transforms, for the filter on a lattice of positions
  one receptive field apart (objectives.on_lattice). A filter whose mean cannot climb above zero may still fire on
  one small patch; each position then grows its own copy, so the image shows the patch across the tile, where the
  mean objectives leave the filter dead or barely alive (a grey tile). No jitter: the positions are fixed, and a
  jittered image puts other pixels under them at every step.
- *boost* (images with contrast to spare): a line search along each image's own contrast, up to the cap and short
  of clipping. The ascent often ends short of the contrast it may spend (a faint, greyish tile); stretching the
  pattern is free and, for most filters, drives them harder — not for all (a filter tuned to a faint tint), hence
  the check. It stops before clipping more than passes.CLIP_SHARE of the values: clipped patterns lose their shape, and
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
  A softmax's class is offered only a tile the model gives that class (picks.called_their_class): a black tile that a
  MobileNet scored class 4 at p = 0.15 (and calls a 1) took class 4's pattern, which the polish would have taken
  to p = 1.00.
- *tone* (images whose filter a flat tile of its best colour alone drives more than picks.TONE_SHARE as hard): the same
  pattern with its mean colour moved towards that colour. A filter that wants a dark image (common in fer's
  emotion model) gets a mid-grey pattern from the ascent, whose small steps spend themselves on the pattern before
  they reach the tone; moved, the pattern fires it harder. Offered only where the moved pattern holds its filter at
  least as well at equal contrast: clipped out of shape, it would win on its tone alone.
- *polish* (every image with a pattern): `polish` transform-free steps from the image itself (passes.Polish), kept
  where the image as shown drives its filter harder and keeps POLISH_HOLD of its hold (drives_harder); where it
  loses more, the change scaled back to passes.POLISH_SHARES of the way; one its filter still does not fire on as
  shown, polished on for passes.POLISH_LONGER times the steps.
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

The passes' candidate images come from `passes`, the items each pass takes from `picks`; this module judges the
candidates and runs the passes in turn.
"""

from __future__ import annotations

import functools
import time
from typing import Callable

import numpy as np

from .. import models
from . import metrics
from .objectives import Objective
from .passes import (Boost, FlatPass, Polish, Revive, Tone, ascent_pass, classic_schedule, lattice_recipe,
                     polish_schedule, revive_recipe)
from .picks import (faint_items, flat_items, loose, loose_items, patterned_items, slipping_items, toned_items, unheld,
                    unheld_items, weak_items)
from .result import Rendering, responds

POLISH_HOLD = 0.75  # the share of how well its image held its filter a polished image must keep
CLOSE_CALL = 0.02  # a low-precision hold's error, a share of the values it averages: closer calls are made again
Scorer = metrics.FilterScorer | metrics.GoalScorer  # how keep_better judges images


def holds_better(holds: float, held: float, activation: float, current: float) -> bool:
    """A candidate holds its filter better under the perturbations, the plain activation breaking ties."""
    return (holds, activation) > (held, current)


def drives_harder(holds: float, held: float, activation: float, current: float) -> bool:
    """A candidate drives its filter harder as shown and keeps POLISH_HOLD of how well the image held it: loses at
    most the rest of the hold's size, whatever its sign (a linear unit's mean may stay below zero when perturbed)."""
    return activation > current and holds >= held - (1 - POLISH_HOLD) * abs(held)


# (Settings field that turns the pass on, the items it takes, how it is made, extra's counter, when it wins)
PASSES: tuple[tuple[str, Callable, Callable, str, Callable], ...] = (
    ("rescue", weak_items, ascent_pass(classic_schedule), "rescued", holds_better),
    ("revive", slipping_items, ascent_pass(revive_recipe, Revive), "revived", holds_better),
    ("wake", unheld_items, ascent_pass(lattice_recipe), "woken", holds_better),
    ("boost", faint_items, lambda spec, layer, settings, batch: Boost(settings), "boosted", holds_better),
    ("flat", flat_items, lambda spec, layer, settings, batch: FlatPass(spec, layer, settings), "flattened",
     holds_better),
    ("tone", toned_items, lambda spec, layer, settings, batch: Tone(spec, layer, settings), "toned", holds_better),
    ("polish", patterned_items, ascent_pass(polish_schedule, Polish), "polished", drives_harder),
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
    picks apply to it: silent under the perturbations (unheld), or keeping less than picks.WEAK_HOLD (loose)."""
    if scorer.policy == "float32":
        return held
    margin = 2 * CLOSE_CALL * np.maximum(np.abs(held), np.abs(part.activations))
    turns = [rule(part, held - margin) != rule(part, held + margin) for rule in (unheld, loose)]
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
