"""Keras's downloads (ImageNet weights, the class index), announced only once they are under way."""

from __future__ import annotations

import contextlib
import io
import sys
from typing import Iterator


@contextlib.contextmanager
def announced_when_under_way() -> Iterator[None]:
    """Hold Keras's "Downloading data from …" line until the download prints its progress: offline, the one-line
    error (or the quiet fallback) that follows is all the user sees."""
    with contextlib.redirect_stdout(_Held(sys.stdout)):
        yield


class _Held(io.TextIOBase):
    """Standard output that holds an announcement back until something else is written after it."""

    def __init__(self, out):
        self.out, self.held = out, ""

    def write(self, text: str) -> int:
        if text.startswith("Downloading data from") or (self.held and not text.strip()):  # print() ends apart
            self.held += text
        else:
            self.out.write(self.held + text)
            self.held = ""
        return len(text)

    def flush(self) -> None:
        self.out.flush()
