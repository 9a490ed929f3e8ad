"""Gallery jobs on disk: per-filter PNGs written as each batch finishes, an atomically updated manifest,
resume after any interruption, shards that share one folder, and the gallery restitched from the files.

Every file is written to a temporary name and renamed, so a killed job leaves only complete files.
"""

from __future__ import annotations

import contextlib
import datetime
import itertools
import json
import platform
import re
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

import numpy as np
from PIL import Image

from ..optvis import render as renders
from ..output import gallery, imaging
from ..site import page as html
from ..errors import ActmaxError, OutputError

MANIFEST = "manifest.json"
GALLERY = "gallery.png"
INDEX = "index.html"


def filter_file(index: int) -> str:
    """File name of one filter's image."""
    return f"filter_{index:04d}.png"


def manifest_name(shard: tuple[int, int] | None) -> str:
    """The manifest a run writes: `manifest.json`, or one part per shard."""
    return MANIFEST if shard is None else f"manifest-shard-{shard[0]}-of-{shard[1]}.json"


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """`i/N` → (i, N).

    Raises:
        ActmaxError: not of that form, or i outside 0..N-1.
    """
    if text is None:
        return None
    try:
        i, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise ActmaxError(f"bad shard '{text}'; write i/N, e.g. 0/4 for the first of 4 shards") from None
    if not 0 <= i < n:
        raise ActmaxError(f"shard '{text}' must have 0 <= i < N, e.g. 0/{max(n, 1)} … {max(n, 1) - 1}/{max(n, 1)}")
    return i, n


def in_shard(index: int, shard: tuple[int, int] | None) -> bool:
    """Filters go to shards by index modulo N, whatever the selection."""
    return shard is None or index % shard[1] == shard[0]


def versions() -> dict:
    """Versions of the libraries that shape the result, for the manifest."""
    found = {"python": platform.python_version()}
    for package in ("actmax", "tensorflow", "keras", "numpy", "pillow"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def header(model: str, layer: str, settings, seed: int, objective: str = "") -> dict:
    """What identifies a run: images from runs with different headers never mix in one folder."""
    return {"model": model, "layer": layer, "objective": objective or f"{layer}:<filter>",
            "settings": settings.as_dict(), "seed": seed}


def header_of(rendering) -> dict:
    """The header of a rendering held in memory."""
    return header(rendering.model, rendering.layer, rendering.settings, rendering.seed, rendering.objective)


def slug(text: str) -> str:
    """A folder name for an objective: `block4_conv3:12 + 0.5*block4_conv3:40` → `block4_conv3-12+0.5xblock4_conv3-40`."""
    return re.sub(r"[^\w.+-]+", "-", text.replace("*", "x").replace(" ", "")).strip("-")[:80] or "objective"


def file_stem(layer: str) -> str:
    """A file or folder name for a layer path: `vgg16/block3_conv1` → `vgg16.block3_conv1` (never a subfolder)."""
    return layer.replace("/", ".")


def entries_of(rendering) -> dict[int, dict]:
    """Manifest entries of a rendering's filters."""
    return {int(f): {"index": int(f), "file": filter_file(f), "activation": float(a), "objective": float(o),
                     "alive": bool(alive)}
            for f, a, o, alive in zip(rendering.filters, rendering.activations, rendering.objective_values,
                                      rendering.alive)}


def write_manifest(path: Path, head: dict, entries: dict[int, dict], **extra) -> None:
    """Atomically write a manifest holding `entries` sorted by filter index."""
    ordered = [entries[i] for i in sorted(entries)]
    alive = [e["alive"] for e in ordered]
    imaging.save_json(path, {**head, **extra, "updated": _now(), "versions": versions(), "filters": ordered,
                             "summary": {"count": len(ordered), "dead": alive.count(False),
                                         "mean_activation": float(np.mean([e["activation"] for e in ordered]))
                                         if ordered else 0.0}})


def read_manifest(path: Path) -> dict | None:
    """A manifest's content, or None if it is missing or not valid JSON."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def _decodes(path: Path) -> bool:
    try:
        with Image.open(path) as image:
            image.load()
        return True
    except (OSError, ValueError):
        return False


def completed(out_dir: Path, head: dict) -> dict[int, dict]:
    """Entries of this run already in the folder (any manifest part) whose PNG exists and decodes.

    Raises:
        OutputError: the folder holds a run made with other settings.
    """
    done = {}
    for path in sorted(Path(out_dir).glob("manifest*.json")):
        data = read_manifest(path)
        if data is None:
            continue
        if {k: data.get(k) for k in head} != head:
            raise OutputError(f"'{out_dir}' holds a run with other settings ({path.name}); "
                              "use --overwrite to replace it, or another --out")
        done.update({e["index"]: e for e in data.get("filters", []) if _decodes(Path(out_dir) / e["file"])})
    return done


def save_images(out_dir: Path, rendering) -> None:
    """Write each filter's PNG (and its GIF when animated)."""
    for i, (index, tile) in enumerate(zip(rendering.filters, imaging.to_uint8(rendering.images))):
        imaging.save_png(out_dir / filter_file(index), tile)
        if rendering.frames is not None:
            imaging.save_gif(out_dir / filter_file(index).replace(".png", ".gif"), rendering.frames[i])


def run_job(batches: Callable, head: dict, out_dir: Path, todo: list[int], *, done: dict[int, dict],
            shard: tuple[int, int] | None = None) -> dict[int, dict]:
    """Render `todo` with `batches(filters)`, saving images and the manifest (with this run's seconds) per batch."""
    entries, path, seconds = dict(done), Path(out_dir) / manifest_name(shard), 0.0
    where = shard and f"{shard[0]}/{shard[1]}"
    write_manifest(path, head, entries, shard=where)
    for part in batches(todo) if todo else []:
        save_images(out_dir, part)
        entries.update(entries_of(part))
        seconds += part.seconds
        write_manifest(path, head, entries, shard=where, seconds=round(seconds, 3))
    return entries


class JobResult(NamedTuple):
    """Where a job's result is, how many filters it rendered and reused, and how many are dead."""

    path: Path
    rendered: int
    reused: int
    dead: int


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


def render_job(layer: str, filters=None, *, out: Path, model=None, preset="default", seed: int = 0,
               overwrite: bool = False, shard: str | None = None, top: int | None = None, sort: str = "index",
               cols: int | None = None, labels: bool = True, stretch: bool = False, new_folder: bool = False,
               **options) -> JobResult:
    """Render a layer's filters into `out` as a resumable job.

    Filters already in the folder's manifest with a decodable PNG are skipped unless `overwrite`; with
    `shard` (`i/N`) only filters with index % N == i are rendered, into a manifest part of their own, and
    `actmax gallery` merges the parts. With `new_folder`, a folder holding a run with other settings is left
    alone and `out-2`, `out-3`, … is used instead. Other options are settings overrides and those of
    `render_batches`.
    """
    shard_of = parse_shard(shard)
    overrides = {k: v for k, v in options.items() if k in renders.Settings.__dataclass_fields__}
    spec, settings = renders.resolve(model or renders.models.DEFAULT_MODEL, preset, overrides)
    layer = renders.models.resolve_layer(spec.model, layer)
    chosen = [f for f in renders.filter_list(spec, layer, filters) if in_shard(f, shard_of)]
    head = header(spec.name, layer, settings, seed)
    out = Path(free_folder(out, head) if new_folder and not overwrite else out)
    with undo_on_error(out):
        imaging.prepare_dir(out)
        for stale in out.glob(".*.tmp"):  # left by a job killed mid-write; never a finished file
            stale.unlink()
        done = {} if overwrite else {i: e for i, e in completed(out, head).items() if i in chosen}
        todo = [f for f in chosen if f not in done]
        rest = {k: v for k, v in options.items() if k not in overrides}
        entries = run_job(lambda fs: renders.render_batches(layer, fs, model=spec, preset=settings, seed=seed,
                                                            **rest), head, out, todo, done=done, shard=shard_of)
        path = out / manifest_name(shard_of) if shard_of else build_gallery(out, top=top, sort=sort, cols=cols,
                                                                              labels=labels, stretch=stretch)
    return JobResult(path, len(todo), len(done), sum(not e["alive"] for e in entries.values()))


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


def save_rendering(rendering, out_dir: Path, *, cols: int | None = None, margin: int = 4, labels: bool = True,
                   stretch: bool = False) -> Path:
    """Save a rendering held in memory: per-filter PNGs, `manifest.json`, `gallery.png`; returns the gallery."""
    out_dir = imaging.prepare_dir(out_dir)
    save_images(out_dir, rendering)
    write_manifest(out_dir / MANIFEST, header_of(rendering), entries_of(rendering),
                   seconds=round(rendering.seconds, 3), **rendering.extra)
    return build_gallery(out_dir, cols=cols, margin=margin, labels=labels, stretch=stretch, sort=None)


def merged(out_dir: Path) -> tuple[dict, dict[int, dict]]:
    """The header and all filter entries of a folder's manifest parts, merged.

    Raises:
        OutputError: no manifest in the folder.
    """
    parts = [d for d in (read_manifest(p) for p in sorted(Path(out_dir).glob("manifest*.json"))) if d]
    if not parts:
        raise OutputError(f"no manifest.json in '{out_dir}'; give a folder that 'actmax render' wrote")
    entries = {e["index"]: e for part in parts for e in part.get("filters", [])
               if (Path(out_dir) / e["file"]).exists()}
    head = {k: v for k, v in parts[0].items() if k not in ("filters", "summary", "shard", "updated")}
    return head, entries


def build_gallery(out_dir: Path, *, top: int | None = None, sort: str | None = "index", cols: int | None = None,
                  margin: int = 4, labels: bool = True, stretch: bool = False) -> Path:
    """Merge the manifest parts into `manifest.json`, restitch `gallery.png` from the PNGs, write `index.html`."""
    _restitch(Path(out_dir), top=top, sort=sort, cols=cols, margin=margin, labels=labels, stretch=stretch)
    return Path(out_dir) / GALLERY


def _restitch(out_dir: Path, *, top, sort, cols, margin, labels, stretch) -> tuple[dict, list[dict]]:
    """Do `build_gallery`'s work; returns the run's header and the entries the gallery shows, in order."""
    head, entries = merged(out_dir)
    shown = _ordered(list(entries.values()), top=top, sort=sort)
    if not shown:
        raise OutputError(f"'{out_dir}' has no rendered filters yet")
    tiles = np.stack([np.asarray(Image.open(out_dir / e["file"]).convert("RGB")) for e in shown])
    if stretch:
        tiles = imaging.to_uint8(imaging.stretch(tiles.astype(np.float32) / 255.0))
    grid = gallery.make_grid(tiles, cols=cols, margin=margin, dead=[not e["alive"] for e in shown],
                             labels=[label(e) for e in shown] if labels else None)
    imaging.save_png(out_dir / GALLERY, grid)
    write_manifest(out_dir / MANIFEST, head, entries, gallery={"file": GALLERY, "height": grid.shape[0],
                                                              "width": grid.shape[1],
                                                              "filters": [e["index"] for e in shown]})
    imaging.atomic_write(out_dir / INDEX, html.page([html.section(out_dir, out_dir, head, shown)]).encode())
    return head, shown


def _ordered(entries: list[dict], *, top: int | None, sort: str | None) -> list[dict]:
    """Entries by index, or by activation (descending); `top` keeps the strongest."""
    if sort not in (None, "index", "activation"):
        raise ActmaxError(f"unknown sort '{sort}'; use 'index' or 'activation'")
    by_index = sorted(entries, key=lambda e: e["index"])
    strongest = sorted(by_index, key=lambda e: -e["activation"])
    if top is not None:
        kept = strongest[:top]
        return kept if sort == "activation" else sorted(kept, key=lambda e: e["index"])
    return strongest if sort == "activation" else by_index


def label(entry: dict) -> str:
    """Tile label: filter index and activation, or 'dead' for a filter that stayed silent."""
    return f"#{entry['index']} {entry['activation']:.3g}" if entry["alive"] else f"#{entry['index']} dead"


def build_site(root: Path, *, top: int | None = None, sort: str | None = "index", cols: int | None = None,
               margin: int = 4, labels: bool = True, stretch: bool = False) -> Path:
    """Rebuild every layer folder under `root` (or `root` itself) and write one `index.html` for all."""
    root = Path(root)
    folders = [root] if any(root.glob("manifest*.json")) else sorted(
        {p.parent for p in root.glob("*/manifest*.json")})
    if not folders:
        raise OutputError(f"no rendered layers in '{root}'; give a folder that 'actmax render' wrote")
    sections = []
    for folder in folders:
        head, shown = _restitch(folder, top=top, sort=sort, cols=cols, margin=margin, labels=labels,
                                stretch=stretch)
        sections.append(html.section(root, folder, head, shown))
    imaging.atomic_write(root / INDEX, html.page(sections).encode())
    return root / INDEX


def free_name(path: Path, params: dict) -> Path:
    """`path`, or `name-2.png`, `name-3.png`, … : the first that is new or was made with the same parameters."""
    path = Path(path)
    for number in itertools.count(1):
        candidate = path if number == 1 else path.with_name(f"{path.stem}-{number}{path.suffix}")
        made = read_manifest(candidate.with_suffix(".json"))
        if not candidate.exists() or (made and {k: made.get(k) for k in params} == json.loads(
                json.dumps(params, default=imaging.jsonable))):
            return candidate


def save_figure(path: Path, image: np.ndarray, params: dict) -> Path:
    """Save one picture and a JSON sidecar of the parameters that made it (`name.png` + `name.json`), atomically.

    A picture made with other parameters is never overwritten: the new one gets the next free name.
    """
    imaging.prepare_dir(Path(path).parent)
    path = free_name(path, params)
    imaging.save_png(path, image)
    imaging.save_json(path.with_suffix(".json"), {**params, "versions": versions(), "created": _now()})
    return path


def save_dream(folder: Path, stem: str, pictures: list[np.ndarray], params: dict) -> Path:
    """Save a dream: `stem.png` (+ sidecar); for a zoom, also every frame and `stem.gif`. Returns the main file."""
    path = save_figure(Path(folder) / f"{stem}.png", pictures[-1], params)
    if len(pictures) > 1:
        for i, picture in enumerate(pictures):
            imaging.save_png(path.parent / f"{path.stem}_frame_{i:03d}.png", picture)
        path = path.with_suffix(".gif")
        imaging.save_gif(path, np.stack(pictures))
    return path
