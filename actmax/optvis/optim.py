"""Optimisers as pure functions: `init(params) -> state` and `update(grad, state, step) -> (delta, state)`.

Pure state keeps the whole optimisation of an octave inside one compiled loop on the device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import tensorflow as tf


@dataclass(frozen=True)
class Optimizer:
    """An ascent rule: `update` returns the step to add to the parameters (gradient ascent)."""

    name: str
    init: Callable[[tf.Tensor], Any]
    update: Callable[[tf.Tensor, Any, tf.Tensor], tuple[tf.Tensor, Any]]


def _item_rms(grad: tf.Tensor) -> tf.Tensor:
    """Root mean square of each batch item's gradient, broadcastable against the gradient."""
    axes = list(range(1, grad.shape.rank))
    return tf.sqrt(tf.reduce_mean(tf.square(grad), axis=axes, keepdims=True))


def normalised(lr: float) -> Optimizer:
    """Classic ascent: each item's gradient divided by its RMS, times `lr`. Scale-free: a model whose gradients are
    tiny (one with small weights or activations) takes full steps, where an epsilon would stall it; an item with no
    gradient stays put."""
    def update(grad, state, step):
        return lr * tf.math.divide_no_nan(grad, _item_rms(grad)), state
    return Optimizer("normalised", lambda params: tf.zeros(()), update)


def adam(lr: float, beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8) -> Optimizer:
    """Adam (Kingma & Ba) for ascent, with bias correction; `step` counts from 0. `epsilon` is a share of each item's
    gradient RMS, not an absolute value, so that a model with small gradients takes the steps a large one does."""
    def init(params):
        return tf.zeros_like(params), tf.zeros_like(params)

    def update(grad, state, step):
        m, v = state
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * tf.square(grad)
        t = tf.cast(step, tf.float32) + 1.0
        m_hat, root = m / (1 - beta1 ** t), tf.sqrt(v / (1 - beta2 ** t))
        return lr * tf.math.divide_no_nan(m_hat, root + epsilon * _item_rms(root)), (m, v)
    return Optimizer("adam", init, update)


OPTIMIZERS = {"normalised": normalised, "adam": adam}
