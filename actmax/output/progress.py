"""tqdm progress bars: over filters (with the octave and the batch's mean objective), and over images."""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator

from tqdm import tqdm

Report = Callable[[int, int, int, int, float], None]


def bar(quiet: bool = False, label: str | None = None, unit: str = "filter"
        ) -> contextlib.AbstractContextManager[Report | None]:
    """A `report(done, total, octave, octaves, value[, dead][, stage=])` callback over filters (or another `unit`,
    an objective's variants), or None when quiet.

    A Ray job, which learns of filters a chunk at a time, also reports the dead so far; a render names each
    second-chance pass it runs (`stage`), shown in place of the octave."""
    return _lazy(quiet, unit, _show_octave, label)


def images(quiet: bool = False, label: str | None = None
           ) -> contextlib.AbstractContextManager[Callable[[int, int], None] | None]:
    """A `report(done, total)` callback over images, or None when quiet."""
    return _lazy(quiet, "image", lambda progress, done: progress.update(done - progress.n), label)


def work(quiet: bool = False, label: str | None = None) -> contextlib.AbstractContextManager[Report | None]:
    """A `report(done, total, octave, octaves, value)` callback over work counted in any unit (a dream's
    pixel-steps), shown as a share with its ETA, or None when quiet."""
    return _lazy(quiet, "", _show_octave, label, bar_format="{l_bar}{bar}| {elapsed}<{remaining}{postfix}")


def say(line: str) -> None:
    """Print a line to stdout above any progress bar on screen (which is redrawn below it)."""
    tqdm.write(line)


def _show_octave(progress: tqdm, done: int, octave: int, octaves: int, value: float, dead: int | None = None,
                 stage: str | None = None) -> None:
    where = stage or (f"octave {octave}/{octaves}" if dead is None else f"dead {dead}")
    progress.set_postfix_str(f"{where}, objective {value:.3g}", refresh=False)
    progress.update(done - progress.n) if done > progress.n else progress.refresh()


@contextlib.contextmanager
def _lazy(quiet: bool, unit: str, show: Callable, label: str | None, **options) -> Iterator[Callable | None]:
    """Yield `report(done, total, *rest)`, which makes the bar (titled `label`, with tqdm's `options`) at its first
    call and passes the rest to `show`.

    The bar appears at the first report, so an error found before any work prints no empty bar.
    """
    if quiet:
        yield None
        return
    shown: list[tqdm] = []

    def report(done, total, *rest, **named):
        if not shown:
            shown.append(tqdm(total=total, unit=unit, desc=label, dynamic_ncols=True, **options))
        show(shown[0], done, *rest, **named)
    try:
        yield report
    finally:
        for progress in shown:
            progress.close()
