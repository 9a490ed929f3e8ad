"""Dataset examples: the images, among many, that excite each filter of a layer most, and where.

Images stream through the feature model in batches (a tf.data pipeline decodes, resizes and prefetches);
per filter, a running top-K of (peak activation, image, position of the peak) is merged on the device
batch by batch, so no activation map ever reaches the host. Unreadable images are counted, not fatal.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

from .. import models
from ..errors import ImageError
from ..models import receptive
from ..output import imaging


@dataclass
class Examples:
    """Per filter (rows), the top images (columns, best first): peak activation, index into `paths`, and
    the peak's flat position in the layer's map (`width` units wide)."""

    layer: str
    filters: list[int]
    size: int
    width: int
    paths: list[str]
    scores: np.ndarray  # (filters, K) float32; -inf where fewer than K readable images were seen
    images: np.ndarray  # (filters, K) int64 index into paths; -1 where none
    peaks: np.ndarray   # (filters, K) int64 flat position in the map
    skipped: list[str]

    @property
    def flat(self) -> bool:
        """Whether the layer has no map (a dense layer's units, a classifier's classes): each example is a whole
        photo."""
        return self.width == 0

    @property
    def positions(self) -> np.ndarray:
        """(filters, K, 2) (y, x) of each peak in the layer's map (a layer with a map: see `flat`)."""
        return np.stack([self.peaks // self.width, self.peaks % self.width], axis=-1)

    def boxes(self, spec: models.ModelSpec) -> np.ndarray:
        """(filters, K, 4) receptive-field boxes (top, left, bottom, right) of each peak, in `size` px images
        (scaled from the model's own input where it takes a fixed size that the photos are resized to)."""
        if self.flat:
            return np.broadcast_to(np.array([0, 0, self.size, self.size], np.int64), (*self.peaks.shape, 4)).copy()
        height, width = spec.image_shape(self.size)
        rows, cols = receptive.fields(spec, self.layer, self.size)
        boxes = np.array([[receptive.box(rows, cols, y, x, height, width) for y, x in row]
                          for row in self.positions], np.float64).reshape(*self.peaks.shape, 4)
        scaled = boxes * np.array([self.size / height, self.size / width] * 2)
        return np.concatenate([np.floor(scaled[..., :2]), np.ceil(scaled[..., 2:])], axis=-1).astype(np.int64)


def image_paths(sources: Sequence[str | Path]) -> list[str]:
    """Image files of folders (recursively, sorted, by suffix) and files given by name, each once.

    Raises:
        ImageError: a source that does not exist.
    """
    found = []
    for source in map(Path, sources):
        if not source.exists():
            raise ImageError(f"'{source}' does not exist; give folders of images or image files")
        photos = (p for p in source.rglob("*") if p.suffix.lower() in imaging.PHOTO_SUFFIXES)
        found += sorted(str(p) for p in photos) if source.is_dir() else [str(source)]
    return list(dict.fromkeys(found))


def batches(paths: Sequence[str], size: int, *, channels: int = 3, batch: int = 32) -> tf.data.Dataset:
    """(images, readable, index) batches: images decoded and centre-cropped to `size` on parallel workers."""
    def read(path):
        try:
            return imaging.load_square(path.decode(), size, channels=channels), True
        except ImageError:
            return np.zeros((size, size, channels), np.float32), False

    def load(path, index):
        image, ok = tf.numpy_function(read, [path], [tf.float32, tf.bool])
        return tf.ensure_shape(image, (size, size, channels)), tf.ensure_shape(ok, ()), index

    data = tf.data.Dataset.from_tensor_slices((tf.constant(list(paths), tf.string),
                                               tf.range(len(paths), dtype=tf.int64)))
    return data.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).batch(batch).prefetch(2)


def candidates(acts: tf.Tensor, index: tf.Tensor, readable: tf.Tensor, floor: float = 0.0) -> tuple:
    """A batch's (score, image, peak) per (image, filter): the peak of each map (a unit's value, for a layer with
    no map); none (-inf, image -1) for an unreadable image or a filter silent on the whole image (at or below its
    layer's firing floor), which is no example of what it responds to."""
    flat = tf.reshape(acts, (tf.shape(acts)[0], -1, tf.shape(acts)[-1]))
    peak = tf.reduce_max(flat, axis=1)
    fired = readable[:, None] & (peak > floor)
    spot = tf.argmax(flat, axis=1, output_type=tf.int64)
    image = tf.broadcast_to(tf.cast(index, tf.int64)[:, None], tf.shape(spot))
    return tf.where(fired, peak, -np.inf), tf.where(fired, image, -1), spot


@tf.function(reduce_retracing=True)
def merge(state: tuple, other: tuple) -> tuple:
    """Rows of `other` merged into the running (K, filters) top-K of (score, image, peak); ties keep `state`'s."""
    best = tf.math.top_k(tf.transpose(tf.concat([state[0], other[0]], 0)), tf.shape(state[0])[0])

    def pick(old, new):
        return tf.transpose(tf.gather(tf.transpose(tf.concat([old, new], 0)), best.indices, batch_dims=1))
    return tf.transpose(best.values), pick(state[1], other[1]), pick(state[2], other[2])


def collect(spec: models.ModelSpec, layer: str, paths: Sequence[str], *, filters: Sequence[int], top: int = 9,
            size: int = 224, batch: int = 32, previous: Examples | None = None,
            progress: Callable[[int, int], None] | None = None) -> Examples:
    """The top `top` images of each filter among `paths` (added to `previous`'s, whose images are not read again)."""
    known = previous.paths if previous else []
    seen = set(known)
    new = [p for p in paths if p not in seen]
    features, floor = models.scoring_features(spec, layer), models.firing_floor(spec.model, layer)
    chosen = tf.constant(list(filters), tf.int32)
    state = start(previous, len(filters), top)
    skipped, done = list(previous.skipped) if previous else [], 0
    for images, readable, index in batches(new, size, channels=spec.channels, batch=batch):
        acts = tf.gather(features(images)[layer], chosen, axis=-1)
        state = merge(state, candidates(acts, index + len(known), readable, floor))
        skipped += [new[i] for i in index.numpy()[~readable.numpy()]]
        done += len(index)
        if progress:
            progress(done, len(new))
    return finish(spec, layer, filters, size, [*known, *new], state, skipped)


def finish(spec: models.ModelSpec, layer: str, filters: Sequence[int], size: int, paths: list[str], state: tuple,
           skipped: list[str]) -> Examples:
    """The Examples a finished pass over `paths` found, from its running top-K `state`."""
    shape = models.shapes_upto(spec, layer, size)[-1][2]
    width = int(shape[2]) if len(shape) == 4 else 0  # no map: a dense layer's units
    scores, images, peaks = (np.asarray(t).T for t in state)
    return Examples(layer, list(filters), size, width, paths, scores, images, peaks, skipped)


def start(previous: Examples | None, count: int, top: int) -> tuple:
    """The running top-K to begin from: `previous`'s, or K empty places (-inf, no image) per filter."""
    if previous is not None:
        return tuple(tf.constant(a.T) for a in (previous.scores, previous.images, previous.peaks))
    return (tf.fill((top, count), -np.inf), tf.fill((top, count), tf.constant(-1, tf.int64)),
            tf.zeros((top, count), tf.int64))
