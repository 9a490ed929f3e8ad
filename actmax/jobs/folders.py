"""Output folders and names that never mix runs: the next free folder or file name, and undo of a failed run."""

from __future__ import annotations

import contextlib
import itertools
import json
from pathlib import Path
from typing import Iterator

from ..errors import ActmaxError, OutputError
from ..output import imaging
from .manifest import completed, read_manifest


def free_folder(out: Path, head: dict) -> Path:
    """`out`, or the first of `out-2`, `out-3`, … that is new or holds this same run (never another run's files)."""
    out = Path(out)
    for number in itertools.count(1):
        candidate = out if number == 1 else out.with_name(f"{out.name}-{number}")
        try:
            completed(candidate, head)
            return candidate
        except OutputError:
            continue


@contextlib.contextmanager
def undo_on_error(folder: Path) -> Iterator[None]:
    """On an ActmaxError (e.g. out of memory), leave `folder` as it was: no file of the failed run stays behind.

    Files the run added are removed and the manifests it rewrote are restored; an interrupted run (Ctrl-C,
    a kill) is not undone, so that the next run resumes from its finished files.
    """
    folder = Path(folder)
    existed = folder.is_dir()
    before = set(folder.iterdir()) if existed else set()
    manifests = {path: path.read_bytes() for path in folder.glob("manifest*.json")} if existed else {}
    try:
        yield
    except ActmaxError:
        for path in (set(folder.iterdir()) - before) if folder.is_dir() else ():
            path.unlink()
        for path, data in manifests.items():
            imaging.atomic_write(path, data)
        if not existed and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        raise


def free_name(path: Path, params: dict) -> Path:
    """`path`, or `name-2.png`, `name-3.png`, … : the first that is new or was made with the same parameters."""
    path = Path(path)
    for number in itertools.count(1):
        candidate = path if number == 1 else path.with_name(f"{path.stem}-{number}{path.suffix}")
        made = read_manifest(candidate.with_suffix(".json"))
        if not candidate.exists() or (made and {k: made.get(k) for k in params} == json.loads(
                json.dumps(params, default=imaging.jsonable))):
            return candidate
