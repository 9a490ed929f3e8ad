"""Which image sides a model can take: any, or multiples of a step where its branches merge maps that must match.

A U-Net halves its maps on the way down and doubles them on the way up, then concatenates each with the skip
connection of the same level: a side that does not halve evenly at every level gives maps one pixel apart there.
Keras's shape inference does not check this (Concatenate takes its first input's sides), so the merges are checked
here, on symbolic shapes only.
"""

from __future__ import annotations

import functools

import keras

from . import graph

STEPS = (1, 2, 4, 8, 16, 32, 64, 128)
PROBE = 160  # sides are probed at odd multiples of each step from here on: large enough for any network's maps


@functools.lru_cache(maxsize=32)
def side_step(model: keras.Model) -> int:
    """The number free image sides must be a multiple of for every merge of the model to get maps of one size: 1 for
    most models, 2 ** levels for a U-Net. 1 also where no step up to 128 works (nothing to round to)."""
    traced = graph.trace(model)
    merges = [tap for tap in traced.taps.values() if len(_maps(tap.inputs)) > 1]
    if not merges or all(traced.input.shape[1:3]):
        return 1
    probe = keras.Model(traced.input, [t for tap in merges for t in _maps(tap.inputs)])
    for step in STEPS:
        odd = -(-PROBE // step) | 1  # an odd multiple of the step: it halves evenly exactly log2(step) times
        if all(_merges_meet(probe, merges, traced.input.shape, step * k) for k in (odd, odd + 2)):
            return step
    return 1


def fed_sides(sides: tuple, step: int) -> tuple:
    """`sides` rounded to the nearest multiple of `step` (at least one step)."""
    return tuple(max(step, round(side / step) * step) for side in sides)


def _maps(inputs: tuple) -> list:
    return [t for t in inputs if isinstance(t, keras.KerasTensor) and len(t.shape) == 4]


def _merges_meet(probe: keras.Model, merges: list, shape: tuple, side: int) -> bool:
    """Whether every merge gets its maps at one height and width (a side of 1 broadcasts) for `side` px images."""
    try:
        found = iter(probe.compute_output_spec(keras.KerasTensor((1, *(s or side for s in shape[1:3]), shape[3]))))
    except ValueError:  # a map shrinks below one pixel
        return False
    for tap in merges:
        axis = getattr(tap.layer, "axis", -1) % 4 if isinstance(tap.layer, keras.layers.Concatenate) else None
        sides = {tuple(d for i, d in enumerate(next(found).shape[1:3], 1) if i != axis) for _ in _maps(tap.inputs)}
        if len({s for s in sides if set(s) != {1}}) > 1:
            return False
    return True
