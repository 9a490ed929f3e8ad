"""Gallery jobs on disk: per-filter PNGs written as each batch finishes, an atomically updated manifest,
resume after any interruption, shards that share one folder, and the gallery restitched from the files.

Every file is written to a temporary name and renamed, so a killed job leaves only complete files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, NamedTuple

from .. import models
from ..errors import ActmaxError
from ..optvis import budget, engine, render as renders
from ..optvis.presets import Settings
from ..output import imaging, storage
from .folders import free_folder, undo_on_error
from .manifest import MANIFEST, completed, entries_of, filter_file, header, header_of, manifest_name, write_manifest
from . import ray_backend
from .restitch import build_gallery
from .shards import in_shard, parse_shard


def save_images(out_dir: Path, rendering) -> None:
    """Write each filter's PNG (and its GIF when animated)."""
    for i, (index, tile) in enumerate(zip(rendering.filters, imaging.to_uint8(rendering.images))):
        imaging.save_png(out_dir / filter_file(index), tile)
        if rendering.frames is not None:
            imaging.save_gif(out_dir / filter_file(index).replace(".png", ".gif"), rendering.frames[i])


def run_job(batches: Callable, head: dict, out_dir: Path, todo: list[int], *, done: dict[int, dict],
            shard: tuple[int, int] | None = None, sync: Callable[[], None] = lambda: None) -> dict[int, dict]:
    """Render `todo` with `batches(filters)`, saving images and the manifest (with this run's seconds) per batch,
    then calling `sync()` (which uploads them when the folder is a URL)."""
    entries, path, seconds = dict(done), Path(out_dir) / manifest_name(shard), 0.0
    where = shard and f"{shard[0]}/{shard[1]}"
    write_manifest(path, head, entries, shard=where)
    for part in batches(todo) if todo else []:
        save_images(out_dir, part)
        entries.update(entries_of(part))
        seconds += part.seconds
        write_manifest(path, head, entries, shard=where, seconds=round(seconds, 3))
        sync()
    return entries


class JobResult(NamedTuple):
    """Where a job's result is, how many filters it rendered and reused, and how many are dead."""

    path: Path
    rendered: int
    reused: int
    dead: int


def render_job(layer: str, filters=None, *, out: Path, model=None, preset="default", seed: int = 0,
               overwrite: bool = False, shard: str | None = None, top: int | None = None, sort: str = "index",
               cols: int | None = None, labels: bool = True, stretch: bool = False, new_folder: bool = False,
               ray: str | bool | None = None, **options) -> JobResult:
    """Render a layer's filters into `out` as a resumable job.

    Filters already in the folder's manifest with a decodable PNG are skipped unless `overwrite`; with
    `shard` (`i/N`) only filters with index % N == i are rendered, into a manifest part of their own, and
    `actmax gallery` merges the parts. With `new_folder`, a folder holding a run with other settings is left
    alone and `out-2`, `out-3`, … is used instead. With `ray` (True, or a cluster address such as `auto`) the
    filters are rendered by a pool of Ray actors (`ray_backend`), into the same files. Other options are
    settings overrides and those of `render_batches`.
    """
    shard_of = parse_shard(shard)
    if ray and shard_of:
        raise ActmaxError("--ray and --shard are two ways to split one job; use one of them")
    if ray:
        ray_backend.connect(ray)  # before any work: Ray missing, or no cluster at that address, is one line
    overrides = {k: v for k, v in options.items() if k in Settings.__dataclass_fields__}
    spec, settings = engine.resolve(model or models.DEFAULT_MODEL, preset, overrides)
    layer = models.resolve_layer(spec.model, layer)
    chosen = [f for f in renders.filter_list(spec, layer, filters) if in_shard(f, shard_of)]
    head = header(spec.name, layer, settings, seed)
    if new_folder and not overwrite and not storage.is_url(out):
        out = free_folder(out, head)
    with storage.staged(out) as (local, sync, remote), undo_on_error(local):
        imaging.prepare_dir(local)
        for stale in local.glob(".*.tmp"):  # left by a job killed mid-write; never a finished file
            stale.unlink()
        done = {} if overwrite else {i: e for i, e in completed(local, head).items() if i in chosen}
        todo = [f for f in chosen if f not in done]
        rest = {k: v for k, v in options.items() if k not in overrides}
        if ray:  # actors write into the folder (a URL: they upload), then the driver sees their files
            entries = {**done, **_on_ray(ray, spec, layer, todo, str(out if remote else local), head, settings,
                                         seed, rest)}
            if remote:
                remote.pull()
        else:
            entries = run_job(lambda fs: renders.render_batches(layer, fs, model=spec, preset=settings, seed=seed,
                                                                **rest), head, local, todo, done=done,
                              shard=shard_of, sync=sync)
        name = manifest_name(shard_of) if shard_of else build_gallery(local, top=top, sort=sort, cols=cols,
                                                                      labels=labels, stretch=stretch).name
        parts = [part.name for part in local.glob(ray_backend.PARTS)] if ray else []  # merged into manifest.json
        if remote:
            remote.remove(parts)
        for part in parts:
            (local / part).unlink(missing_ok=True)
    return JobResult(storage.join(out, name), len(todo), len(done), sum(not e["alive"] for e in entries.values()))


def _on_ray(address, spec, layer: str, todo: list[int], out: Path, head: dict, settings, seed: int,
            rest: dict) -> dict[int, dict]:
    """Render `todo` on a Ray actor pool in chunks of the batches a single process would use."""
    if not todo:
        return {}
    batch = budget.batch_size(spec, layer, settings.size, len(todo), rest.pop("batch", None))
    return ray_backend.run_on_ray(address, spec, layer, todo, out, head, settings=settings, seed=seed, batch=batch,
                                  **rest)


def save_rendering(rendering, out_dir: Path, *, cols: int | None = None, margin: int = 4, labels: bool = True,
                   stretch: bool = False) -> Path:
    """Save a rendering held in memory: per-filter PNGs, `manifest.json`, `gallery.png`; returns the gallery."""
    out_dir = imaging.prepare_dir(out_dir)
    save_images(out_dir, rendering)
    write_manifest(out_dir / MANIFEST, header_of(rendering), entries_of(rendering),
                   seconds=round(rendering.seconds, 3), **rendering.extra)
    return build_gallery(out_dir, cols=cols, margin=margin, labels=labels, stretch=stretch, sort=None)
