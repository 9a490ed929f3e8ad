"""Project a filter's strongest activation back to pixels: Zeiler & Fergus's DeConvNet, or guided backpropagation.

Both are the gradient of one activation with respect to the image, with the ReLUs' backward pass
changed: DeConvNet passes only the positive part of the signal coming back (ReLU on the way back);
guided backpropagation also keeps the forward pass's mask. Max-pooling's gradient routes the
signal to the recorded maxima (the 'switches'), and a convolution's gradient is its transposed filter.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import keras
import numpy as np
import tensorflow as tf

from .. import models
from ..models import graph as layer_graph, memory
from ..models.selection import checked
from ..output import gallery, imaging
from ..errors import ActmaxError

TITLES = {"deconvnet": "DeConvNet", "guided": "guided backpropagation"}  # each method, as its figure names it
METHODS = tuple(TITLES)


def _relu(method: str, max_value: float | None = None):
    """A ReLU (capped at `max_value`, ReLU6's 6, if given) whose backward pass is `method`'s: DeConvNet passes the
    positive part of what comes back; guided backpropagation also keeps the forward pass's mask."""
    @tf.custom_gradient
    def relu(x):
        live = x > 0 if max_value is None else (x > 0) & (x < max_value)

        def backward(dy):
            signal = tf.nn.relu(dy)
            return signal if method == "deconvnet" else signal * tf.cast(live, dy.dtype)

        return (tf.nn.relu(x) if max_value is None else tf.clip_by_value(x, 0.0, max_value)), backward
    return relu


@contextlib.contextmanager
def backward_relus(model: keras.Model, method: str) -> Iterator[None]:
    """Temporarily give every ReLU of `model` the backward pass of `method`: layers with a relu activation, and
    ReLU layers (ReLU6 included; MobileNet's and many BatchNorm blocks' ReLUs are layers of their own)."""
    leaves = [tap.layer for tap in layer_graph.trace(model).taps.values()]
    activations = [layer for layer in leaves if getattr(layer, "activation", None) is keras.activations.relu]
    plain = [layer for layer in leaves if isinstance(layer, keras.layers.ReLU)
             and not layer.negative_slope and not layer.threshold]
    for layer in activations:
        layer.activation = _relu(method)
    for layer in plain:
        layer.call = _relu(method, layer.max_value)  # an instance attribute: Keras calls `self.call`
    try:
        yield
    finally:
        for layer in activations:
            layer.activation = keras.activations.relu
        for layer in plain:
            del layer.call


def strongest(acts: np.ndarray, top: int) -> list[int]:
    """The `top` filters of an (H, W, C) activation with the highest maximum."""
    return [int(i) for i in np.argsort(-acts.max(axis=(0, 1)), kind="stable")[:top]]


def project(spec: models.ModelSpec, image: np.ndarray, layer: str, filters: list[int] | None = None, *,
            top: int = 1, method: str = "deconvnet") -> tuple[list[int], np.ndarray]:
    """Project the strongest activation of each filter (default: the `top` strongest filters) to pixel space.

    Returns the filters and their projections (N, H, W, 3), signed, each scaled to a maximum magnitude of 1.

    Raises:
        ActmaxError: an unknown method; filters that are not whole numbers, lie outside the layer's range, or are
            none (an empty list).
    """
    if method not in METHODS:
        raise ActmaxError(f"unknown method '{method}'; use one of: {', '.join(METHODS)}")
    if filters is None and top < 1:
        raise ActmaxError(f"top must be at least 1, not {top}: how many of the strongest filters to project")
    if filters is not None:
        filters = checked(filters, models.filter_count(spec.model, layer), layer)
    models.check_fits(spec, image.shape, layer)
    features = models.FeatureModel(spec, (layer,), pre_activation=False)
    x = tf.constant(image[None], tf.float32)
    filters = filters if filters is not None else strongest(features(x)[layer].numpy()[0], top)
    projections = []
    with backward_relus(spec.model, method):
        gradient = _peak_gradient(features, layer)
        for f in filters:
            grad = gradient(x, tf.constant(f)).numpy()[0]
            peak = np.abs(grad).max()  # no floor: a small model's gradients (1e-13) are still its projection
            projections.append(grad / peak if peak else grad)
    return filters, np.stack(projections)


def _peak_gradient(features: models.FeatureModel, layer: str):
    """A graph giving the gradient of a filter's strongest activation with respect to the image: in a graph,
    TensorFlow computes no weight gradients (see `cam._class_gradient`)."""
    @tf.function(autograph=False)
    def run(x, f):
        with tf.GradientTape() as tape:
            tape.watch(x)
            peak = tf.reduce_max(tf.gather(features(x)[layer][0], f, axis=-1))
        return tape.gradient(peak, x)
    return run


def to_display(projections: np.ndarray, percentile: float = 99.5) -> np.ndarray:
    """Signed projections to [0, 1] images, 0 at mid-grey, each scaled so its strong values show clearly."""
    axes = tuple(range(1, projections.ndim))
    magnitude = np.abs(projections)
    scale = np.array([np.percentile(m[m > 0], percentile) if (m > 0).any() else 1.0 for m in magnitude])
    return np.clip(0.5 + 0.5 * projections / scale.reshape(-1, *[1] * len(axes)), 0.0, 1.0)


@memory.guard("lower --size")
def figure(spec: models.ModelSpec, image: np.ndarray, layer: str, *, filters: list[int] | None = None,
           top: int = 4, method: str = "deconvnet") -> tuple[np.ndarray, list[int]]:
    """What `actmax deconv` saves: the photo beside each filter's projection (labelled #filter, under a title naming
    the layer and method); also returns the filters."""
    chosen, projections = project(spec, image, layer, filters, top=top, method=method)
    tiles = [imaging.to_uint8(image)] + [imaging.to_uint8(p) for p in to_display(projections)]
    shown = gallery.side_by_side(tiles, labels=["input"] + [f"#{f}" for f in chosen])
    return gallery.titled(shown, f"{layer}: {TITLES[method]}"), chosen
