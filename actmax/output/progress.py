"""A tqdm progress bar over filters, showing the octave and the batch's current mean objective."""

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
