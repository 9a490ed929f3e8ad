"""Running out of memory as one clear error: host and device allocation failures become `OutOfMemoryError`."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess

import tensorflow as tf

from ..errors import OutOfMemoryError

GIB = 1 << 30
_DEVICE_SIGNS = ("OOM", "out of memory", "Failed to allocate", "failed to allocate")


def free_memory() -> int:
    """Available host memory in bytes."""
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def on_gpu() -> bool:
    """Whether TensorFlow computes on a GPU."""
    return bool(tf.config.list_physical_devices("GPU"))


@functools.lru_cache(maxsize=1)
def gpu_memory() -> int | None:
    """The first GPU's total memory in bytes, as `nvidia-smi` reports it; None where it cannot say (no NVIDIA tool)."""
    tool = shutil.which("nvidia-smi")
    if not tool:
        return None
    try:
        done = subprocess.run([tool, "--query-gpu=memory.total", "--format=csv,noheader,nounits", "--id=0"],
                              capture_output=True, text=True, timeout=10, check=True)
        return int(float(done.stdout.split()[0])) << 20  # MiB
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def is_out_of_memory(exc: BaseException) -> bool:
    """An allocation failure: numpy's MemoryError, TensorFlow's ResourceExhausted, or a GPU op that could not
    allocate."""
    if isinstance(exc, (MemoryError, tf.errors.ResourceExhaustedError)):
        return True
    return isinstance(exc, tf.errors.OpError) and any(sign in str(exc) for sign in _DEVICE_SIGNS)


@contextlib.contextmanager
def guard(fix: str):
    """Turn an allocation failure inside the block (or decorated function) into one line saying what to lower."""
    try:
        yield
    except Exception as exc:
        if not is_out_of_memory(exc):
            raise
        raise OutOfMemoryError(f"out of memory; {fix}") from None


def check_fits(needed: int, what: str, fix: str) -> None:
    """Fail before any work when `what` alone needs more than the free host memory (on a CPU; GPUs retry smaller).

    Raises:
        OutOfMemoryError: saying how much is needed, how much is free, and what to lower.
    """
    free = free_memory()
    if not on_gpu() and needed > free:
        raise OutOfMemoryError(f"out of memory: {what} needs about {needed / GIB:.3g} GiB, more than the "
                               f"{free / GIB:.3g} GiB free; {fix}")
