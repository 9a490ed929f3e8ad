"""What a classifier's head reports: its classes, their probabilities, and the score to explain for each.

A softmax head's classes compete; a sigmoid head's are independent (multi-label); a head with one unit is a
binary classifier whose two classes (0 and 1, as its labels were) are the unit's logit negated and as is.
"""

from __future__ import annotations

import dataclasses
import functools

import keras
import numpy as np
import tensorflow as tf

from ..errors import LayerError
from . import graph
from .features import FeatureModel
from .layers import LOGITS, classifier_output, get_layer, is_classifier, logits_layer
from .loading import KERAS_APPS, ModelSpec, load_model
from .preprocess import model_input
from .sides import side_step


@dataclasses.dataclass(frozen=True)
class Head:
    """A classifier head: `units` logits, squashed by softmax or (`independent`) one sigmoid each."""

    units: int
    independent: bool

    @property
    def classes(self) -> int:
        """Number of classes: the units, or 2 for a one-unit (binary) head."""
        return 2 if self.units == 1 else self.units

    def scores(self, logits: tf.Tensor) -> tf.Tensor:
        """(batch, classes) scores to explain: the logits, a binary head's class 0 its negated logit."""
        return tf.concat([-logits, logits], axis=-1) if self.units == 1 else logits

    def probabilities(self, logits: tf.Tensor) -> tf.Tensor:
        """(batch, classes) class probabilities, as the model reports them."""
        if self.units == 1:
            return tf.concat([tf.sigmoid(-logits), tf.sigmoid(logits)], axis=-1)
        return tf.sigmoid(logits) if self.independent else tf.nn.softmax(logits)


@functools.lru_cache(maxsize=8)
def head(spec: ModelSpec) -> Head:
    """The model's classifier head. Its squashing is read off one image's output against its logits, so a sigmoid
    closing the model as a Dense activation, an Activation layer or a keras.ops call all count.

    Raises:
        LayerError: the model has no classifier head.
    """
    units = int(logits_layer(spec.model).output.shape[-1])
    if units == 1:
        return Head(1, True)
    image = tf.random.stateless_uniform((1, *spec.image_shape(224), spec.channels), (0, 0))
    logits = FeatureModel(spec, (LOGITS,))(image)[LOGITS]
    outputs = spec.model(model_input(spec, image, side_step(spec.model)), training=False)
    reported = np.asarray(keras.tree.flatten(outputs)[classifier_output(spec.model)], np.float32)
    misses = [np.abs(reported - squash(logits).numpy()).max() for squash in (tf.sigmoid, tf.nn.softmax)]
    return Head(units, bool(misses[0] < misses[1]))  # the nearer (a saturated softmax is near a sigmoid too)


def load_for(name, wants, **options) -> ModelSpec:
    """`load_model(name, **options)`, where a keras.applications model comes with its ImageNet classifier head if
    `wants` (layer names, `logit` for the classes) names a layer only the head has: `actmax render predictions
    --model vgg16` renders ImageNet's classes, where the body alone (the default, any input size) would not know
    the layer. The body is loaded first, and the classifier (fixed size, its own weights file) only if needed."""
    spec = load_model(name, **options)
    if isinstance(name, str) and name.lower() in KERAS_APPS and not options.get("classifier") \
            and not all(_has(spec, want) for want in wants):
        return load_model(name, **{**options, "classifier": True})
    return spec


def _has(spec: ModelSpec, name: str) -> bool:
    if name == LOGITS:
        return is_classifier(spec.model)
    try:
        get_layer(spec.model, name, units=True)
    except LayerError:
        return False
    return True


def raw_logits(spec: ModelSpec, layer: str) -> bool:
    """Whether `layer` is the class head and the model reports its raw logits: a linear layer that nothing in the
    model closes (the softmax or sigmoid it was trained under lived in its loss, which the file did not keep)."""
    if not is_classifier(spec.model):
        return False
    tap = logits_layer(spec.model)
    return (tap.path == get_layer(spec.model, layer, units=True).path
            and getattr(tap.layer, "activation", None) is keras.activations.linear
            and any(output is tap.output for output in graph.trace(spec.model).outputs))
