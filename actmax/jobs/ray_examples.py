"""Dataset examples as a Ray Data job: the image list is read and run through the layer in batches on actors
(one per GPU, else one per 4 CPUs), each batch reduced to its own per-filter top-K there; the driver merges the
batches in image order, so the result is the one a single process finds."""

from __future__ import annotations

import logging
from typing import Callable, Sequence

import numpy as np

from .. import models
from ..errors import ImageError
from ..inspect import examples
from ..output import imaging
from .ray_backend import connect, release, workers


class TopK:
    """A Ray Data actor: the layer's feature model, built once; a batch of paths becomes its (K, filters) top-K."""

    def __init__(self, model: list, layer: str, filters: Sequence[int], top: int, size: int):
        import ray
        self.spec: models.ModelSpec = ray.get(model[0])  # one copy per node in the object store
        self.features = models.scoring_features(self.spec, layer)  # as examples.collect scores them
        self.floor = models.firing_floor(self.spec.model, layer)
        self.layer, self.filters, self.top, self.size = layer, list(filters), top, size

    def __call__(self, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import tensorflow as tf
        pictures, readable = zip(*(self._read(path) for path in rows["path"]))
        acts = tf.gather(self.features(np.stack(pictures))[self.layer], self.filters, axis=-1)
        found = examples.candidates(acts, tf.constant(rows["index"]), tf.constant(readable), self.floor)
        state = examples.merge(examples.start(None, len(self.filters), self.top), found)
        unread = "\n".join(path for path, ok in zip(rows["path"], readable) if not ok)
        return {"first": rows["index"][:1], "scores": state[0].numpy()[None], "images": state[1].numpy()[None],
                "peaks": state[2].numpy()[None], "unreadable": np.array([unread])}

    def _read(self, path: str) -> tuple[np.ndarray, bool]:
        try:
            return imaging.load_square(path, self.size, channels=self.spec.channels), True
        except ImageError:
            return np.zeros((self.size, self.size, self.spec.channels), np.float32), False


def collect_on_ray(address, spec: models.ModelSpec, layer: str, paths: Sequence[str], *, filters: Sequence[int],
                   top: int = 9, size: int = 224, batch: int = 32, previous: examples.Examples | None = None,
                   progress: Callable[[int, int], None] | None = None) -> examples.Examples:
    """`examples.collect` on a Ray cluster (`address` as `ray_backend.connect` takes it), with the same result."""
    ray = connect(address)
    known = previous.paths if previous else []
    seen = set(known)
    new = [p for p in paths if p not in seen]
    state, skipped = examples.start(previous, len(filters), top), list(previous.skipped) if previous else []
    if new:
        _quiet(ray)
        release()  # render actors kept for later jobs would hold the CPUs/GPUs this pass needs
        count, gpus, cpus = workers(ray, spare_cpu=True)
        items = ray.data.from_items([{"path": p, "index": len(known) + i} for i, p in enumerate(new)])
        parts = items.map_batches(TopK, fn_constructor_args=([ray.put(spec)], layer, list(filters), top, size),
                                  batch_size=batch, batch_format="numpy", num_gpus=gpus, num_cpus=cpus,
                                  compute=ray.data.ActorPoolStrategy(size=count))
        done = 0
        for row in sorted(parts.iter_rows(), key=lambda row: row["first"]):  # image order: ties as in one process
            state = examples.merge(state, (row["scores"], row["images"], row["peaks"]))
            skipped += [p for p in str(row["unreadable"]).split("\n") if p]
            done = min(done + batch, len(new))
            if progress:
                progress(done, len(new))
    return examples.finish(spec, layer, filters, size, [*known, *new], state, skipped)


def _quiet(ray) -> None:
    """No Ray Data progress bars or INFO lines: the caller's bar reports progress."""
    ray.data.DataContext.get_current().enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)
