"""Dtype policies: float32, or the device's low-precision policy where it is native and fast."""

from __future__ import annotations

import functools
from pathlib import Path

import keras

from ..errors import ModelError
from . import graph, memory

PRECISIONS = ("auto", "float32", "mixed")


def low_precision_policy() -> str:
    """`mixed_float16` on a GPU, `mixed_bfloat16` on a CPU (fast where it has AVX512-BF16 or AMX)."""
    return "mixed_float16" if memory.on_gpu() else "mixed_bfloat16"


def resolve_precision(precision: str) -> str:
    """`float32`, `mixed` (the device's low-precision policy) or `auto` → a dtype policy.

    `auto` is mixed where low precision is fast (bench/results/sweep_precision.md: in bfloat16, each layer's
    activation within -3.9%..+5.6% of float32).
    """
    if precision not in PRECISIONS:
        raise ModelError(f"unknown precision '{precision}'; use one of: {', '.join(PRECISIONS)}")
    auto = precision == "auto" and fast_low_precision()
    return low_precision_policy() if precision == "mixed" or auto else "float32"


def fast_low_precision() -> bool:
    """Whether low precision is native and fast here: on a GPU, or on a CPU with bfloat16 instructions."""
    return memory.on_gpu() or native_bfloat16()


@functools.lru_cache(maxsize=1)
def native_bfloat16() -> bool:
    """Whether this CPU has bfloat16 instructions (AVX512-BF16 or AMX), as Linux's /proc/cpuinfo says."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def with_precision(model: keras.Model, policy: str) -> keras.Model:
    """A copy of `model`, nested models included, whose layers compute in `policy` (same weights, same paths).

    The copy is made once per model and policy (2.8 s for EfficientNetV2S; every pass's engine asks for it), a failure
    too, and given the model's weights as they are now, each time: a model trained since still renders as it is.

    Raises:
        ModelError: a layer of the model cannot be rebuilt from its config.
    """
    copy = _copy(model, policy)
    try:
        if not isinstance(copy, Exception):
            copy.set_weights(model.get_weights())
            return copy
    except Exception as exc:
        copy = exc
    raise ModelError(f"cannot run this model in {policy} ({type(copy).__name__}); use --precision float32")


@functools.lru_cache(maxsize=4)
def _copy(model: keras.Model, policy: str) -> keras.Model | Exception:
    """The model rebuilt from its layers' configs under `policy`, or why it cannot be (kept: not tried again)."""
    def clone(layer):
        return layer.__class__.from_config({**layer.get_config(), "dtype": policy})
    try:
        return keras.models.clone_model(model, clone_function=clone, recursive=True)
    except Exception as exc:  # a layer whose config does not rebuild it
        return exc


def in_float32(model: keras.Model) -> keras.Model:
    """The model itself, or a float32 copy of a model saved under a mixed-precision policy."""
    policies = {tap.layer.dtype_policy.name for tap in graph.trace(model).taps.values()}
    return model if policies <= {"float32"} else with_precision(model, "float32")
