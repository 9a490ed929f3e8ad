"""Parse filter selections such as `0-15`, `3,7,9`, `0-7,12` or `all` into sorted channel indices."""

from __future__ import annotations

import numbers
import re
from typing import Sequence

from ..errors import FilterError

INDEX_PART = re.compile(r"^(\d+)(?:-(\d+))?$")  # one part of a selection: an index or a range


def parse_filters(text: str, count: int, layer: str | None = None, *, noun: str = "filters") -> list[int]:
    """Indices selected by `text` for a layer with `count` filters, sorted and without repeats.

    `layer` names the layer in the error message (where more than one may be in play); `noun` what is selected
    (filters, maps, input channels).

    Raises:
        FilterError: malformed text, or an index outside 0..count-1.
    """
    text = text.strip().lower()
    if text == "all":
        return list(range(count))
    selected: set[int] = set()
    for part in text.split(","):
        match = INDEX_PART.match(part.strip())
        if not match:
            raise FilterError(f"bad filter selection '{text}'; write e.g. '0-15', '3,7,9', '0-7,12' or 'all'")
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if first > last:
            raise FilterError(f"filter range '{part.strip()}' runs backwards; write '{last}-{first}'")
        if last >= count:
            where = f"layer '{layer}'" if layer else "this layer"
            raise FilterError(f"{noun} '{part.strip()}' are outside the range of {where}, 0-{count - 1} "
                              f"({count} {noun})")
        selected.update(range(first, last + 1))
    return sorted(selected)


def checked(indices: Sequence, count: int, layer: str, *, noun: str = "filters") -> list[int]:
    """`indices` given as a list, as ints: whole numbers, at least one, each in the range of a layer of `count`.

    Raises:
        FilterError: a non-integer, an index outside 0..count-1 (named in runs, as `describe` writes them), or none.
    """
    if not all(isinstance(index, numbers.Integral) for index in indices):
        raise FilterError(f"{noun} are whole numbers, not {list(indices)}; pass e.g. [3, 7] or '0-15'")
    bad = [index for index in indices if not 0 <= index < count]
    if bad:
        which = f"{noun[:-1]} {bad[0]} is" if len(bad) == 1 else f"{noun} {describe(bad)} are"
        raise FilterError(f"{which} outside the range of layer '{layer}', 0-{count - 1} ({count} {noun})")
    if not len(indices):
        raise FilterError(f"no {noun} given; pass some of layer '{layer}' (0-{count - 1}), e.g. '0-15' or [3, 7]")
    return [int(index) for index in indices]


def describe(indices) -> str:
    """Indices in the syntax `parse_filters` reads, runs shortened: [0, 1, 2, 3, 7] → '0-3,7'."""
    runs: list[list[int]] = []
    for index in sorted(set(indices)):
        if runs and index == runs[-1][1] + 1:
            runs[-1][1] = index
        else:
            runs.append([index, index])
    return ",".join(str(first) if first == last else f"{first}-{last}" for first, last in runs)
