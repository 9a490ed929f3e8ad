"""Render jobs on Ray: the driver cuts the work (every layer's missing filters, or an objective's variants) into
chunks of whole batches, and a pool of actors (one per GPU, or a few on a CPU-only cluster), each holding the model
and its compiled engines, renders chunk after chunk; a filter chunk's PNGs and manifest part are written into the
job's folder as it finishes.

Ray is imported only here and only when a job asks for it (`pip install "actmax[ray]"`). An actor that dies is
replaced and its chunk run again; a filter's image depends only on (seed, filter), so it is
the same whichever actor renders it, and a rerun after the driver dies resumes from the manifest parts.
"""

from __future__ import annotations

from typing import Callable, Iterator, NamedTuple, Sequence

from .. import models
from ..errors import ActmaxError
from ..optvis import render
from ..optvis.result import Rendering, combine
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
    """A Ray actor's state: the model, loaded once; engines are kept between chunks by the caches of
    `filter_engine` and `render.objective_engine`."""

    def __init__(self, model: list):
        import keras
        import ray
        keras.saving.get_custom_objects().update(ray.get(model[0]))  # the model's custom layers, before the model
        self.spec: models.ModelSpec = ray.get(model[1])  # a ref inside a list arrives unresolved: fetched here

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

    def objective(self, objective, variants: list[int], settings, seed: int, batch: int, diversity: float):
        """Render some of an objective's variants; returns their Rendering (the driver saves the whole set)."""
        return render.render_objective(objective, model=self.spec, preset=settings, seed=seed, variants=variants,
                                       batch=batch, diversity=diversity)


class Task(NamedTuple):
    """One piece of work for an actor: the `Renderer` method, its arguments, and what it is (for errors)."""

    what: str
    method: str
    args: tuple


def run_on_ray(address, spec: models.ModelSpec, tasks: Sequence[Task]) -> Iterator[tuple[int, object]]:
    """Run `tasks` on the model's actor pool, each idle actor taking the next; yields (task number, result) as
    each finishes. A task whose actor dies goes back to the front of the queue and a fresh actor replaces the dead one.

    Raises:
        ActmaxError: a task failed on RETRIES + 1 actors in turn.
    """
    ray = connect(address)
    pool, queue, tries, running = _pool(ray, spec), list(range(len(tasks))), {}, {}
    while queue or running:
        while pool.idle and queue:
            actor, number = pool.idle.pop(), queue.pop(0)
            running[getattr(actor, tasks[number].method).remote(*tasks[number].args)] = actor, number
        (ready,), _ = ray.wait(list(running), num_returns=1)
        actor, number = running.pop(ready)
        try:
            result = ray.get(ready)
        except ray.exceptions.RayActorError as exc:
            tries[number] = tries.get(number, 0) + 1
            if tries[number] > RETRIES:
                raise ActmaxError(f"{tasks[number].what} failed on {tries[number]} Ray actors; the last said: "
                                  f"{exc}") from None
            pool.replace(actor)
            queue.insert(0, number)
            continue
        except ray.exceptions.RayTaskError as exc:
            raise exc.as_instanceof_cause() from None  # an actmax error in the actor reads as it would here
        pool.idle.append(actor)
        yield number, result


def objective_on_ray(address, objective, *, model: models.ModelSpec, preset="default", seed: int = 0,
                     variants: int = 1, diversity: float = 0.0, batch: int | None = None,
                     progress: Callable | None = None, **overrides) -> Rendering:
    """`render.render_objective` on the actor pool: the variants cut into the batches one process would render
    (one batch when a diversity term couples them), a chunk per actor; the same images as one process."""
    connect(address)
    spec, settings, goal, batch = render.objective_plan(objective, model=model, preset=preset, diversity=diversity,
                                                        count=variants, batch=batch, overrides=overrides)
    tasks = [Task(f"variants {chunk[0]}-{chunk[-1]} of {goal.name}", "objective",
                  (objective, chunk, settings, seed, batch, diversity)) for chunk in chunks(range(variants), batch)]
    parts: dict[int, Rendering] = {}
    if progress:
        progress(0, variants, 0, settings.octaves, 0.0)  # the bar starts with the job, so its rate is true
    for number, part in run_on_ray(address, spec, tasks):
        parts[number] = part
        if progress:
            progress(sum(len(p.filters) for p in parts.values()), variants, settings.octaves, settings.octaves,
                     float(part.objective_values.mean()))
    return combine([parts[number] for number in sorted(parts)])


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
        # one copy per node, fetched by each actor as it starts: the model's custom layers first, then the model
        self.model = [ray.put(models.custom_objects_of(spec.model)), ray.put(spec)]
        self.idle = [self.actor.remote(self.model) for _ in range(count)]

    def replace(self, dead) -> None:
        """A fresh actor in place of one that died (its process or node gone); the old one is never reused."""
        self.ray.kill(dead, no_restart=True)
        self.idle.append(self.actor.remote(self.model))


_POOLS: dict = {}


def release() -> None:
    """End the render actors kept for later jobs, so that other Ray work (an examples pass) gets their CPUs/GPUs."""
    for pool in _POOLS.values():
        for actor in pool.idle:
            pool.ray.kill(actor)
    _POOLS.clear()


def _pool(ray, spec: models.ModelSpec) -> _Pool:
    """The pool for this model in this Ray session, made once (actors keep their engines between jobs); another
    model's pool is ended first, as its actors hold the CPUs or GPUs the new ones need."""
    key = (id(spec), ray.get_runtime_context().get_job_id())
    if key not in _POOLS:
        release()
        _POOLS[key] = _Pool(ray, spec)
    return _POOLS[key]
