"""How many images fit: per-image memory from the layer shapes, the automatic batch, and the one-line preflight."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .. import models
from ..errors import ActmaxError, OutOfMemoryError
from ..models import memory

MAX_BATCH = 64
GPU_BUDGET = 4 << 30


def auto_batch(spec: models.ModelSpec, layer: str, size: int, count: int) -> int:
    """The largest batch (at most 64, at most `count`) whose activations fit a quarter of the free memory.

    On a GPU, a quarter of its memory (GPU_BUDGET where it cannot be read): batch 64 fills a large GPU, where 16
    loses about 9% (bench/results/gpu_h200.md). A batch that still runs out of memory is retried smaller.
    """
    budget = max(GPU_BUDGET, (memory.gpu_memory() or 0) // 4) if memory.on_gpu() else memory.free_memory() // 4
    return int(max(1, min(count, MAX_BATCH, budget // max(image_bytes(spec, layer, size), 1))))


def batch_size(spec: models.ModelSpec, layer: str, size: int, count: int, asked: int | None = None) -> int:
    """The batch a render of `count` filters uses: `asked` (or `auto_batch`), never more than `count`.

    A Ray job cuts its chunks with it, so its groups are the ones a single process renders.
    """
    return min(asked or auto_batch(spec, layer, size, count), max(count, 1))


def image_bytes(spec: models.ModelSpec, layer: str, size: int) -> int:
    """Memory one image's ascent needs: float32 forward values, their gradients and workspace up to `layer`."""
    return 3 * 4 * activation_count(spec, layer, size)


def check_fits(spec: models.ModelSpec, layers: Sequence[str], size: int, fix: str = "lower --size") -> None:
    """Fail in one line, before any work or file, when `size` px is too small for a layer or too large for memory."""
    floor, side = models.min_size(spec, *layers), min(spec.image_shape(size))
    if side < floor:
        asked = f"the size asked, {spec.shape[1]}x{spec.shape[0]}, is {side} px across" if spec.shape else ""
        raise ActmaxError(f"layer(s) {', '.join(sorted(layers))} need images of at least {floor} px a side; "
                          + (asked or f"use --size {floor} or more"))
    for layer in layers:
        memory.check_fits(image_bytes(spec, layer, size), f"one {size} px image up to layer '{layer}'", fix)


def activation_count(spec: models.ModelSpec, layer: str, size: int) -> int:
    """Number of activation values one `size` px image produces up to and including `layer` (from shapes alone)."""
    return int(sum(np.prod(after) for _, _, after in models.shapes_upto(spec, layer, size)))


def smaller(batch: int, size: int) -> int:
    """Half the batch after running out of memory; at a batch of one, one line saying to lower the size."""
    if batch == 1:
        raise OutOfMemoryError(f"out of memory rendering one {size} px image; lower --size")
    return batch // 2
