"""Output folders given as fsspec URLs (`gs://…`, `s3://…`, `memory://…`, `file://…`): a job works in a local
staging copy of the folder and uploads each finished file whole, so the store never holds a partial object."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterator

from ..errors import OutputError


def is_url(path) -> bool:
    """Whether an output folder names an fsspec URL rather than a local path."""
    return "://" in str(path)


def refuse_url(out, what: str) -> None:
    """Stop, in one line, a command that writes only to local folders when `out` is a URL.

    Raises:
        OutputError: `out` is a URL.
    """
    if is_url(out):
        raise OutputError(f"--out '{out}': {what} is written to a local folder; URLs are for "
                          "galleries (actmax render, actmax gallery)")


def join(folder, name: str):
    """`folder/name`: a URL string for a URL (Path would fold its `//`), else a Path."""
    return f"{str(folder).rstrip('/')}/{name}" if is_url(folder) else Path(folder) / name


class Remote:
    """A folder at an fsspec URL mirrored in a local staging folder: `pull` fetches it, `push` uploads changes."""

    def __init__(self, url: str):
        try:
            import fsspec
        except ImportError:
            raise OutputError(f"--out '{url}' is a URL; install fsspec (pip install \"actmax[ray]\") and the "
                              "filesystem for it (gcsfs, s3fs, …)") from None
        try:
            self.fs, self.root = fsspec.core.url_to_fs(url)
        except (ImportError, ValueError) as exc:
            raise OutputError(f"cannot open output URL '{url}': {exc}") from None
        self.local = Path(tempfile.mkdtemp(prefix="actmax-staging-"))
        self.sent: dict[str, tuple[int, int]] = {}

    def pull(self) -> Path:
        """Copy the folder's files (subfolders too) into the staging folder, emptied first; returns it."""
        shutil.rmtree(self.local)
        self.local.mkdir()
        root = self.root.rstrip("/")
        for name in self.fs.find(root) if self.fs.exists(root) else []:
            target = self.local / name[len(root):].lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            self.fs.get_file(name, str(target))
        self.sent = {key: _stamp(path) for key, path in self._files()}
        return self.local

    def push(self) -> None:
        """Upload every finished file of the staging folder that changed since the last push, each in one piece."""
        for key, path in self._files():
            if self.sent.get(key) != _stamp(path):
                self.fs.makedirs(self._remote(key).rsplit("/", 1)[0], exist_ok=True)
                self.fs.pipe_file(self._remote(key), path.read_bytes())
                self.sent[key] = _stamp(path)

    def remove(self, names: list[str]) -> None:
        """Delete files (paths relative to the folder) from the folder and its staging copy."""
        for name in names:
            (self.local / name).unlink(missing_ok=True)
            if self.fs.exists(self._remote(name)):
                self.fs.rm_file(self._remote(name))

    def _files(self) -> list[tuple[str, Path]]:
        """(relative name, path) of the staging folder's finished files (never a `.…tmp` being written)."""
        return [(path.relative_to(self.local).as_posix(), path) for path in sorted(self.local.rglob("*"))
                if path.is_file() and not path.name.startswith(".")]

    def _remote(self, key: str) -> str:
        return f"{self.root.rstrip('/')}/{key}"

    def close(self) -> None:
        shutil.rmtree(self.local, ignore_errors=True)


@contextlib.contextmanager
def staged(out, *, fetch: bool = True) -> Iterator[tuple[Path, Callable[[], None], Remote | None]]:
    """(the local folder to write, `sync()` that uploads what changed, the Remote or None) for an output folder.

    A local `out` is itself and `sync` does nothing. A URL is staged (fetched first unless `fetch` is False) and
    uploaded at the end, and at each `sync()` before; on an error, what was synced stays (a rerun resumes).
    """
    if not is_url(out):
        yield Path(out), lambda: None, None
        return
    remote = Remote(str(out))
    try:
        yield remote.pull() if fetch else remote.local, remote.push, remote
        remote.push()
    finally:
        remote.close()


def _stamp(path: Path) -> tuple[int, int]:
    status = os.stat(path)
    return status.st_size, status.st_mtime_ns
