"""Gallery jobs on disk: per-filter PNGs written as each batch finishes, an atomically updated manifest,
resume after any interruption, shards that share one folder, and the gallery restitched from the files.

Every file is written to a temporary name and renamed, so a killed job leaves only complete files.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, NamedTuple, Sequence

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


GALLERY_OPTIONS = ("top", "sort", "cols", "labels", "stretch")  # build_gallery's options, as jobs take them


@dataclass
class Job:
    """One layer's job, open: its folder (a local staging copy when `out` is a URL), what is done and what is left."""

    spec: models.ModelSpec
    layer: str
    settings: Settings
    seed: int
    head: dict
    out: Path | str
    local: Path
    remote: storage.Remote | None
    sync: Callable[[], None]
    shard: tuple[int, int] | None
    done: dict[int, dict]
    todo: list[int]
    rest: dict

    def run_here(self) -> dict[int, dict]:
        """Render what is left in this process, saving (and uploading) after each batch; returns all entries."""
        return run_job(lambda fs: renders.render_batches(self.layer, fs, model=self.spec, preset=self.settings,
                                                         seed=self.seed, **self.rest),
                       self.head, self.local, self.todo, done=self.done, shard=self.shard, sync=self.sync)

    def ray_tasks(self) -> list[ray_backend.Task]:
        """What is left as Ray tasks, one per batch a single process would render (actors write the files)."""
        rest = {k: v for k, v in self.rest.items() if k not in ("batch", "progress")}
        batch = budget.batch_size(self.spec, self.layer, self.settings.size, len(self.todo), self.rest.get("batch"))
        where = str(self.out if self.remote else self.local)
        return [ray_backend.Task(f"filters {chunk[0]}-{chunk[-1]} of {self.layer}", "render",
                                 (self.layer, chunk, where, self.head, self.settings, self.seed, batch, rest))
                for chunk in ray_backend.chunks(self.todo, batch)]

    def finish(self, entries: dict[int, dict], **gallery) -> JobResult:
        """Merge the manifest parts, restitch the gallery (not for a shard), upload; returns the job's result."""
        name = manifest_name(self.shard) if self.shard else build_gallery(self.local, **gallery).name
        parts = [part.name for part in self.local.glob(ray_backend.PARTS)]  # merged into manifest.json
        if self.remote:
            self.remote.remove(parts)
        for part in parts:
            (self.local / part).unlink(missing_ok=True)
        return JobResult(storage.join(self.out, name), len(self.todo), len(self.done),
                         sum(not e["alive"] for e in entries.values()))


@contextlib.contextmanager
def open_job(layer: str, filters=None, *, out: Path | str, model=None, preset="default", seed: int = 0,
             overwrite: bool = False, shard: str | None = None, new_folder: bool = False,
             class_names: Path | str | None = None, **options) -> Iterator[Job]:
    """Open a layer's job in `out`: settings resolved, the folder staged and cleaned, done and missing filters
    listed; a class head's units named (`models.unit_names`). On an ActmaxError inside, the folder is left as it
    was (`undo_on_error`)."""
    shard_of = parse_shard(shard)
    overrides = {k: v for k, v in options.items() if k in Settings.__dataclass_fields__}
    spec, settings = engine.resolve(model or models.DEFAULT_MODEL, preset, overrides)
    layer = models.resolve_layer(spec.model, layer, units=True)
    names = models.unit_names(spec, layer, class_names)  # a bad names file is refused before the folder is touched
    by_index = models.units_by_name(filters, names, head=models.is_class_head(spec, layer))
    chosen = [f for f in renders.filter_list(spec, layer, by_index) if in_shard(f, shard_of)]
    head = header(spec.name, layer, settings, seed)
    if new_folder and not overwrite and not storage.is_url(out):
        out = free_folder(out, head)
    with storage.staged(out) as (local, sync, remote), undo_on_error(local):
        imaging.prepare_dir(local)
        for stale in local.glob(".*.tmp"):  # left by a job killed mid-write; never a finished file
            stale.unlink()
        done = {} if overwrite else {i: e for i, e in completed(local, head).items() if i in chosen}
        head = {**head, "names": names} if names else head  # shown, not identifying: not matched on resume
        yield Job(spec, layer, settings, seed, head, out, local, remote, sync, shard_of, done,
                  [f for f in chosen if f not in done], {k: v for k, v in options.items() if k not in overrides})


def render_job(layer: str, filters=None, *, out: Path | str, ray: str | bool | None = None, **options) -> JobResult:
    """Render a layer's filters into `out` as a resumable job.

    Filters already in the folder's manifest with a decodable PNG are skipped unless `overwrite`; with
    `shard` (`i/N`) only filters with index % N == i are rendered, into a manifest part of their own, and
    `actmax gallery` merges the parts. With `new_folder`, a folder holding a run with other settings is left
    alone and `out-2`, `out-3`, … is used instead. With `ray` (True, or a cluster address such as `auto`) the
    filters are rendered by a pool of Ray actors (`ray_backend`), into the same files. Other options: the
    gallery's (top, sort, cols, labels, stretch), `open_job`'s, settings overrides and `render_batches`'s.
    """
    if ray:
        (_, result), = render_on_ray(ray, [(layer, out)], filters, **options)
        return result
    gallery = _gallery(options)
    with open_job(layer, filters, out=out, **options) as job:
        return job.finish(job.run_here(), **gallery)


def render_on_ray(address, folders: Sequence[tuple[str, Path | str]], filters=None, *,
                  progress: Callable | None = None, **options) -> Iterator[tuple[str, JobResult]]:
    """Render several layers' jobs (layer, folder) on one Ray actor pool, with one queue of chunks over all of
    them; yields (layer, result) as each layer's last chunk lands and its gallery is restitched.

    `progress(done, total, octave, octaves, value, dead)` is called as chunks finish, over all layers' filters.
    """
    if options.get("shard"):
        raise ActmaxError("--ray and --shard are two ways to split one job; use one of them")
    ray_backend.connect(address)  # before any work: Ray missing, or no cluster at that address, is one line
    gallery = _gallery(options)
    with contextlib.ExitStack() as stack:
        opened = [stack.enter_context(open_job(layer, filters, out=out, **options)) for layer, out in folders]
        plans = [job.ray_tasks() for job in opened]
        owners = [at for at, plan in enumerate(plans) for _ in plan]
        entries, left = [dict(job.done) for job in opened], [len(plan) for plan in plans]
        report = _ray_report(progress, opened)
        for at in (at for at, count in enumerate(left) if not count):
            yield opened[at].layer, _finish_on_ray(opened[at], entries[at], gallery)
        for number, new in ray_backend.run_on_ray(address, opened[0].spec, [task for plan in plans for task in plan]):
            at = owners[number]
            entries[at].update(new)
            report(new)
            left[at] -= 1
            if not left[at]:
                yield opened[at].layer, _finish_on_ray(opened[at], entries[at], gallery)


def _finish_on_ray(job: Job, entries: dict[int, dict], gallery: dict) -> JobResult:
    """Finish a layer whose chunks the actors wrote: fetched first when they uploaded them to a URL."""
    if job.remote:
        job.remote.pull()
    return job.finish(entries, **gallery)


def _gallery(options: dict) -> dict:
    """Take the gallery's options (top, sort, cols, labels, stretch) out of a job's options."""
    return {key: options.pop(key) for key in GALLERY_OPTIONS if key in options}


def _ray_report(progress: Callable | None, opened: list[Job]) -> Callable[[dict], None]:
    """`report(new entries)` for a finished chunk: filters done over the whole job's work, the chunk's mean
    objective, and the dead so far (those reused included). Starts the bar at once, so its rate and ETA are true."""
    total, octaves = sum(len(job.todo) for job in opened), opened[0].settings.octaves
    counts = {"done": 0, "dead": sum(not e["alive"] for job in opened for e in job.done.values())}
    if progress and total:
        progress(0, total, 0, octaves, 0.0, counts["dead"])

    def report(new: dict) -> None:
        counts["done"] += len(new)
        counts["dead"] += sum(not e["alive"] for e in new.values())
        if progress:
            progress(counts["done"], total, octaves, octaves,
                     sum(e["objective"] for e in new.values()) / max(len(new), 1), counts["dead"])
    return report


def save_rendering(rendering, out_dir: Path, *, cols: int | None = None, margin: int = 4, labels: bool = True,
                   stretch: bool = False) -> Path:
    """Save a rendering held in memory: per-filter PNGs, `manifest.json`, `gallery.png`; returns the gallery."""
    out_dir = imaging.prepare_dir(out_dir)
    save_images(out_dir, rendering)
    write_manifest(out_dir / MANIFEST, header_of(rendering), entries_of(rendering),
                   seconds=round(rendering.seconds, 3), **rendering.extra)
    return build_gallery(out_dir, cols=cols, margin=margin, labels=labels, stretch=stretch, sort=None)
