"""Render jobs on Ray: the driver cuts a layer's missing filters into chunks of whole batches, and a pool of actors
(one per GPU, or a few on a CPU-only cluster), each holding the model and its compiled engines, renders chunk
after chunk and writes each chunk's PNGs and manifest part into the job's folder as it finishes.

Ray is imported only here and only when a job asks for it (`pip install "actmax[ray]"`). An actor that dies is
replaced and its chunk run again; a filter's image depends only on (seed, filter), so it is
the same whichever actor renders it, and a rerun after the driver dies resumes from the manifest parts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from .. import models
from ..errors import ActmaxError
from ..output import storage
from .manifest import entries_of, write_manifest

RETRIES = 3  # fresh actors a chunk may try after the first dies
PARTS = "manifest-chunk-*.json"


def connect(address: str | bool | None):
    """The `ray` module, connected: to `address` (`auto`, `host:port`, `ray://…`), else to the cluster that
    `RAY_ADDRESS` names, else a new local one. Reuses a connection the caller already made.

    Raises:
        ActmaxError: Ray is not installed.
    """
    try:
        import ray
    except ImportError:
        raise ActmaxError("--ray needs Ray; install it with: pip install \"actmax[ray]\"") from None
    if not ray.is_initialized():
        ray.init(address=address if isinstance(address, str) and address else None, include_dashboard=False,
                 log_to_driver=False, logging_level="ERROR")
    return ray


def chunks(todo: Sequence[int], batch: int) -> list[list[int]]:
    """`todo` in order, cut into chunks of one batch each (the same groups a single process renders)."""
    return [list(todo[i:i + batch]) for i in range(0, len(todo), batch)]


def part_name(chunk: Sequence[int]) -> str:
    """The manifest part a chunk writes (merged into `manifest.json` when the job ends)."""
    return f"manifest-chunk-{chunk[0]:05d}-{len(chunk)}.json"


class Renderer:
    """A Ray actor's state: the model, loaded once; engines are kept between chunks by `filter_engine`'s cache."""

    def __init__(self, model: list):
        import ray
        self.spec: models.ModelSpec = ray.get(model[0])  # a ref inside a list arrives unresolved: fetched here

    def render(self, layer: str, chunk: list[int], out: str, head: dict, settings, seed: int, batch: int,
               rest: dict) -> dict[int, dict]:
        """Render one chunk, write its PNGs and its manifest part; returns its manifest entries."""
        from ..optvis.render import render_batches
        from .render_job import save_images
        entries, seconds = {}, 0.0
        with storage.staged(out, fetch=False) as (folder, _, _):  # a URL: uploaded, file by file, at the end
            for part in render_batches(layer, chunk, model=self.spec, preset=settings, seed=seed, batch=batch,
                                       **rest):
                save_images(folder, part)
                entries.update(entries_of(part))
                seconds += part.seconds
            write_manifest(folder / part_name(chunk), head, entries, seconds=round(seconds, 3))
        return entries


def run_on_ray(address, spec: models.ModelSpec, layer: str, todo: list[int], out: Path, head: dict, *, settings,
               seed: int, batch: int, progress: Callable | None = None, **rest) -> dict[int, dict]:
    """Render `todo` on the pool, a chunk per idle actor; returns the new entries (the caller merges the parts).

    A chunk whose actor dies goes back to the queue and a fresh actor takes the dead one's place.

    Raises:
        ActmaxError: a chunk failed on RETRIES + 1 actors in turn.
    """
    ray = connect(address)
    pool, queue, done, tries = _pool(ray, spec), chunks(todo, batch), {}, {}
    running: dict = {}
    if progress:
        progress(0, len(todo), 0, settings.octaves, 0.0)  # the bar starts now, so its rate and ETA are true
    while queue or running:
        while pool.idle and queue:
            actor, chunk = pool.idle.pop(), queue.pop(0)
            running[actor.render.remote(layer, chunk, str(out), head, settings, seed, batch, rest)] = actor, chunk
        (ready,), _ = ray.wait(list(running), num_returns=1)
        actor, chunk = running.pop(ready)
        try:
            entries = ray.get(ready)
        except ray.exceptions.RayActorError as exc:
            tries[chunk[0]] = tries.get(chunk[0], 0) + 1
            if tries[chunk[0]] > RETRIES:
                raise ActmaxError(f"filters {chunk[0]}-{chunk[-1]} of {layer} failed on {tries[chunk[0]]} Ray "
                                  f"actors; the last said: {exc}") from None
            pool.replace(actor)
            queue.insert(0, chunk)
            continue
        except ray.exceptions.RayTaskError as exc:
            raise exc.as_instanceof_cause() from None  # an actmax error in the actor reads as it would here
        pool.idle.append(actor)
        done.update(entries)
        if progress:
            progress(len(done), len(todo), settings.octaves, settings.octaves,
                     sum(e["objective"] for e in entries.values()) / max(len(entries), 1))
    return done


def workers(ray, spare_cpu: bool = False) -> tuple[int, int, int]:
    """(actors, GPUs each, CPUs each) for this cluster: one actor per GPU, else one per 4 CPUs (TensorFlow uses
    them all). `spare_cpu` leaves one of each actor's CPUs to Ray Data's own read tasks."""
    resources = ray.cluster_resources()
    gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 1))
    if gpus:
        return gpus, 1, 0
    each = max(1, min(cpus, 4))
    return max(1, cpus // each), 0, max(1, each - spare_cpu)


class _Pool:
    """This model's actors in this Ray session: one per GPU, else one per 4 CPUs (TensorFlow uses them all)."""

    def __init__(self, ray, spec: models.ModelSpec):
        self.ray, (count, gpus, cpus) = ray, workers(ray)
        env = {"TF_CPP_MIN_LOG_LEVEL": "3", **({} if gpus else {"TF_NUM_INTRAOP_THREADS": str(cpus)})}
        self.actor = ray.remote(Renderer).options(num_gpus=gpus, num_cpus=cpus, runtime_env={"env_vars": env})
        self.model = ray.put(spec)  # one copy per node; actors fetch it when they start
        self.idle = [self.actor.remote([self.model]) for _ in range(count)]

    def replace(self, dead) -> None:
        """A fresh actor in place of one that died (its process or node gone); the old one is never reused."""
        self.ray.kill(dead, no_restart=True)
        self.idle.append(self.actor.remote([self.model]))


_POOLS: dict = {}


def release() -> None:
    """End the render actors kept for later jobs, so that other Ray work (an examples pass) gets their CPUs/GPUs."""
    for pool in _POOLS.values():
        for actor in pool.idle:
            pool.ray.kill(actor)
    _POOLS.clear()


def _pool(ray, spec: models.ModelSpec) -> _Pool:
    """The pool for this model in this Ray session, made once (actors keep their engines between jobs)."""
    key = (id(spec), ray.get_runtime_context().get_job_id())
    if key not in _POOLS:
        _POOLS[key] = _Pool(ray, spec)
    return _POOLS[key]
