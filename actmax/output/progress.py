"""tqdm progress bars: over filters (with the octave and the batch's mean objective), and over images."""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator

from tqdm import tqdm

Report = Callable[[int, int, int, int, float], None]


@contextlib.contextmanager
def bar(quiet: bool = False) -> Iterator[Report | None]:
    """Yield a `report(done, total, octave, octaves, value)` callback, or None when quiet.

    The bar appears at the first report, so an error found before any work prints no empty bar.
    """
    if quiet:
        yield None
        return
    shown: list[tqdm] = []

    def report(done, total, octave, octaves, value):
        if not shown:
            shown.append(tqdm(total=total, unit="filter", dynamic_ncols=True))
        progress = shown[0]
        progress.set_postfix_str(f"octave {octave}/{octaves}, objective {value:.3g}", refresh=False)
        progress.update(done - progress.n) if octave == octaves else progress.refresh()
    try:
        yield report
    finally:
        for progress in shown:
            progress.close()


@contextlib.contextmanager
def images(quiet: bool = False) -> Iterator[Callable[[int, int], None] | None]:
    """Yield a `report(done, total)` callback over images, or None when quiet; the bar appears at the first report."""
    if quiet:
        yield None
        return
    shown: list[tqdm] = []

    def report(done, total):
        if not shown:
            shown.append(tqdm(total=total, unit="image", dynamic_ncols=True))
        shown[0].update(done - shown[0].n)
    try:
        yield report
    finally:
        for progress in shown:
            progress.close()
