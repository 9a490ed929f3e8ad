"""An objective maps a dict of layer activations to one value per batch item, to be maximised.

Objectives compose: `channel("block4_conv3", 12) + 0.5 * channel("block4_conv3", 40)`, and the same
expressions parse from strings with `parse("block4_conv3:12 + 0.5*block4_conv3:40")`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Mapping

import tensorflow as tf

from ..errors import ObjectiveError

Activations = Mapping[str, tf.Tensor]
LOGITS = "logit"  # models.FeatureModel reads this key as the classifier's pre-softmax output


@dataclass(frozen=True)
class Objective:
    """A named function from activations to a (batch,) tensor, with the layers it reads."""

    fn: Callable[[Activations], tf.Tensor]
    layers: frozenset[str]
    name: str

    def __call__(self, acts: Activations) -> tf.Tensor:
        return self.fn(acts)

    def __add__(self, other: Objective | float) -> Objective:
        if not isinstance(other, Objective):
            return self if other == 0 else NotImplemented
        return Objective(lambda a: self(a) + other(a), self.layers | other.layers, f"{self.name} + {other.name}")

    __radd__ = __add__  # lets sum() start from 0

    def __neg__(self) -> Objective:
        return -1.0 * self

    def __sub__(self, other: Objective) -> Objective:
        return self + (-other)

    def __mul__(self, weight: float) -> Objective:
        if not isinstance(weight, (int, float)):
            return NotImplemented
        return Objective(lambda a: weight * self(a), self.layers, f"{weight:g}*{self.name}")

    __rmul__ = __mul__

    def __truediv__(self, divisor: float) -> Objective:
        return self * (1.0 / divisor)


def evaluated(goal: Objective, acts: Activations, model: str) -> tf.Tensor:
    """The goal's values on `acts`, where an index its layers lack reads as one ObjectiveError naming their ranges.

    Raises:
        ObjectiveError: a filter (or class) outside its layer's range in `model`.
    """
    try:
        return goal(acts)
    except (tf.errors.InvalidArgumentError, IndexError, ValueError) as exc:
        reason = re.sub(r"\{\{.*?\}\}|\[Op:.*", "", str(exc).splitlines()[0]).strip().rstrip(".")
        reason = re.sub(r"slice index (\d+) of dimension \d+ out of bounds", r"index \1 is out of range", reason)
        ranges = ", ".join(f"{layer} 0-{acts[layer].shape[-1] - 1}" for layer in sorted(goal.layers))
        raise ObjectiveError(f"objective '{goal.name}' does not fit model '{model}': {reason}; the valid indices "
                             f"are {ranges}") from None


def spatial_mean(values: tf.Tensor) -> tf.Tensor:
    """Mean over every axis but the batch axis."""
    return tf.reduce_mean(values, axis=list(range(1, values.shape.rank)))


def _pick(values: tf.Tensor, index: int | tf.Tensor) -> tf.Tensor:
    """Channel `index` of each item, or with a (batch,) tensor each item's own channel."""
    return values[..., index] if isinstance(index, int) else tf.gather(values, index, axis=-1, batch_dims=1)


def _label(index: int | tf.Tensor) -> str:
    return str(index) if isinstance(index, int) else "*"


def channel(layer: str, index: int | tf.Tensor) -> Objective:
    """Mean activation of one channel; `index` may be a (batch,) tensor giving each item its own channel."""
    return Objective(lambda acts: spatial_mean(_pick(acts[layer], index)), frozenset({layer}),
                     f"{layer}:{_label(index)}")


def neuron(layer: str, index: int | tf.Tensor, *, x: int | None = None, y: int | None = None) -> Objective:
    """Activation of one channel at one spatial position (the centre by default); `index` as for `channel`."""
    def fn(acts):
        values = acts[layer]
        row = tf.shape(values)[1] // 2 if y is None else y
        col = tf.shape(values)[2] // 2 if x is None else x
        return _pick(values[:, row, col], index)
    return Objective(fn, frozenset({layer}), f"neuron({layer}:{_label(index)})")


def on_lattice(goal: Objective, spacings: Mapping[str, tuple[int, int]]) -> Objective:
    """`goal` read on the positions of each layer's map `spacings[layer]` (rows, columns) apart, one of them at the
    map's centre (layers not in `spacings`, such as the logits, as they are).

    A spacing of one receptive field lets no two positions see the same pixels, so each can fire on its own copy
    of a pattern: a filter that fires on one small patch shows it across the image.
    """
    def fn(acts):
        return goal({name: _on_grid(values, spacings[name]) if name in spacings else values
                     for name, values in acts.items()})
    return Objective(fn, goal.layers, f"lattice({goal.name})")


def _on_grid(values: tf.Tensor, spacing: tuple[int, int]) -> tf.Tensor:
    """A (batch, height, width, …) map's positions `spacing` apart, through its centre."""
    top, left = tf.shape(values)[1] // 2 % spacing[0], tf.shape(values)[2] // 2 % spacing[1]
    return values[:, top::spacing[0], left::spacing[1]]


def layer_energy(layer: str) -> Objective:
    """Mean squared activation of a whole layer: DeepDream's objective."""
    return Objective(lambda acts: spatial_mean(tf.square(acts[layer])), frozenset({layer}), f"energy({layer})")


def direction(layer: str, vector) -> Objective:
    """Mean projection of the activations onto a direction in channel space."""
    unit = tf.math.l2_normalize(tf.constant(vector, tf.float32))
    return Objective(lambda acts: spatial_mean(tf.tensordot(acts[layer], unit, axes=1)),
                     frozenset({layer}), f"direction({layer})")


def class_logit(index: int) -> Objective:
    """Pre-softmax score of one class of a classifier (the model's output layer before its softmax)."""
    return Objective(lambda acts: acts[LOGITS][:, index], frozenset({LOGITS}), f"{LOGITS}:{index}")


def diversity(layer: str) -> Objective:
    """Minus the mean cosine similarity of each item's Gram matrix to the others': rewards distinct images."""
    def fn(acts):
        values = acts[layer]
        flat = tf.reshape(values, (tf.shape(values)[0], -1, tf.shape(values)[-1]))
        grams = tf.math.l2_normalize(tf.reshape(tf.matmul(flat, flat, transpose_a=True), (tf.shape(flat)[0], -1)), 1)
        similarity = tf.matmul(grams, grams, transpose_b=True)
        count = tf.cast(tf.shape(similarity)[0] - 1, tf.float32)
        return -(tf.reduce_sum(similarity, 1) - tf.linalg.diag_part(similarity)) / tf.maximum(count, 1.0)
    return Objective(fn, frozenset({layer}), f"diversity({layer})")


_TERM = re.compile(r"\s*([+-])?\s*(?:(\d+(?:\.\d*)?|\.\d+)\s*\*\s*)?([A-Za-z_][\w./-]*)(?::(\d+))?\s*")


def parse(text: str) -> Objective:
    """Parse `layer:index` terms joined by + and -, each with an optional `weight*` prefix.

    `layer:index` is a channel, a bare `layer` its energy, and `logit:N` a class logit.

    Raises:
        ObjectiveError: the text is not of that form.
    """
    terms, position = [], 0
    while position < len(text):
        match = _TERM.match(text, position)
        if not match or match.end() == position or (terms and not match.group(1)):
            raise ObjectiveError(f"cannot parse objective '{text}' at '{text[position:]}'; write terms like "
                                 "'block4_conv3:12 + 0.5*block4_conv3:40' or 'logit:130'")
        sign, weight, name, index = match.groups()
        scale = (-1.0 if sign == "-" else 1.0) * float(weight or 1.0)
        atom = _atom(name, index)
        terms.append(atom if scale == 1.0 else scale * atom)
        position = match.end()
    if not terms:
        raise ObjectiveError("empty objective; write e.g. 'block4_conv3:12'")
    return sum(terms)


def _atom(name: str, index: str | None) -> Objective:
    if name == LOGITS:
        if index is None:
            raise ObjectiveError("'logit' needs a class index, e.g. 'logit:130'")
        return class_logit(int(index))
    return layer_energy(name) if index is None else channel(name, int(index))
