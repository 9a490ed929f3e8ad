"""A model's layers as one flat graph: every leaf layer, however deeply nested, by its path (`vgg16/block3_conv1`).

Nested Functional and Sequential models are walked through, and their layers are called again on one
fresh symbolic input. The graph's tensors therefore connect to the outer model's input, preprocessing
layers included, and any of them can be an output of a new `keras.Model` sharing the same weights.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass
from typing import Callable

import keras

from ..errors import LayerError, ModelError

SEP = "/"


@dataclass(frozen=True)
class Tap:
    """One leaf layer in the flat graph: its path, the layer, and the symbolic tensors of its first call.

    `input` is its first input; `inputs` all of them (several for merges such as Add or Concatenate).
    """

    path: str
    layer: keras.layers.Layer
    input: keras.KerasTensor
    output: keras.KerasTensor
    inputs: tuple = ()


@dataclass(frozen=True)
class Graph:
    """The flat graph: one image input, the model's outputs, and every leaf layer in call order.

    `links` maps each output of an operation that is not a layer (a `keras.ops` call between layers, such as
    `ops.relu(x) * 2`) to that operation's inputs, so walks through the graph can pass over it.
    """

    input: keras.KerasTensor
    outputs: list
    taps: dict[str, Tap]
    links: dict[int, tuple]

    def sources(self, tensors) -> list:
        """The tensors that `tensors` are, looking through operations that are not layers: layer outputs or
        the input."""
        found, todo = [], list(tensors)
        while todo:
            tensor = todo.pop()
            if id(tensor) in self.links:
                todo.extend(self.links[id(tensor)])
            elif all(tensor is not seen for seen in found):
                found.append(tensor)
        return found


def copy_weights(old: Graph, new: Graph, adapt: Callable[[Tap, list], list]) -> None:
    """Give each layer of `new`, a model rebuilt from `old`'s, the weights of `old`'s layer at the same path, passed
    through `adapt(tap, weights)` where the rebuilt layer stores them in another layout."""
    for path, tap in old.taps.items():
        weights = tap.layer.get_weights()
        if weights:
            new.taps[path].layer.set_weights(adapt(tap, weights))


def input_shape(model: keras.Model) -> tuple:
    """The model's (batch, height, width, channels) input shape.

    Raises:
        ModelError: a subclassed model (no layer graph to follow), or one never built, so its input is unknown.
    """
    if not isinstance(model, keras.Sequential) and not hasattr(model, "_run_through_graph"):
        raise ModelError(f"model '{model.name}' is a subclassed keras.Model, whose layers actmax cannot follow; "
                         "build the same layers as a Functional model (keras.Model(inputs, outputs)) or a "
                         "Sequential one, and load its weights")
    try:
        return tuple(model.inputs[0].shape)
    except (AttributeError, TypeError, ValueError, IndexError):
        pass
    try:
        return tuple(model.input_shape)
    except (AttributeError, ValueError):
        raise ModelError(f"model '{model.name}' has no known input shape; start it with keras.Input, e.g. "
                         "keras.Sequential([keras.Input((224, 224, 3)), ...])") from None


def reads_raw_pixels(model: keras.Model) -> bool:
    """Whether the model's first layer is one with weights (a convolution, batch norm) fed its input as it comes:
    nothing in the model (a Rescaling, a Normalization, an operation) scales the pixels for it."""
    traced = trace(model)
    first = next((tap for tap in traced.taps.values()
                  if any(source is traced.input for source in traced.sources([tap.input]))), None)
    return (first is not None and first.input is traced.input and bool(first.layer.weights)
            and ".preprocessing." not in type(first.layer).__module__)


def leading_resize(model: keras.Model) -> tuple[int, int] | None:
    """The (height, width) that a Resizing or crop layer at the model's start (after other preprocessing layers only,
    such as Rescaling) gives every input, or None: a model that sees one size whatever size it takes. (Traced for
    any size, Keras's CenterCrop also gives a smaller input a wrong size, 8 px for 32, and RandomCrop fails.)"""
    return _leading_resize(trace(model))


def _leading_resize(traced: Graph) -> tuple[int, int] | None:
    current = traced.input
    for tap in traced.taps.values():
        if not any(source is current for source in traced.sources([tap.input])):
            continue
        if isinstance(tap.layer, (keras.layers.Resizing, keras.layers.CenterCrop, keras.layers.RandomCrop)):
            return int(tap.layer.height), int(tap.layer.width)
        if ".preprocessing." not in type(tap.layer).__module__:
            return None
        current = tap.output
    return None


@functools.lru_cache(maxsize=32)
def trace(model: keras.Model) -> Graph:
    """Call every leaf layer of `model` on one symbolic input of the model's own input shape; of any height and
    width where the model resizes its input at once, so that images of the size it sees can go in unresampled."""
    shape = input_shape(model)
    traced = _trace(model, shape)
    if all(shape[1:3]) and _leading_resize(traced):
        return _trace(model, (shape[0], None, None, *shape[3:]))
    return traced


def _trace(model: keras.Model, shape: tuple) -> Graph:
    image = keras.Input(batch_shape=shape)
    taps: dict[str, Tap] = {}
    links: dict[int, tuple] = {}
    outputs = _walk(model, taps, links, top=True)(image)
    return Graph(image, keras.tree.flatten(outputs), taps, links)


def _walk(operation, taps: dict[str, Tap], links: dict[int, tuple], prefix: str = "", top: bool = False):
    """A callable that applies `operation`, recursing into nested models and recording each leaf's tensors."""
    path = "" if top else prefix + operation.name

    def call(*args, **kwargs):
        inner = path + SEP if path else ""
        if isinstance(operation, keras.Sequential):
            x = args[0]
            for layer in operation.layers:
                x = _walk(layer, taps, links, inner)(x)
            return x
        if isinstance(operation, keras.Model) and hasattr(operation, "_run_through_graph"):
            # Functional models: Keras's own graph walk, with each operation replaced by our recording call.
            return operation._run_through_graph(args[0], operation_fn=lambda op: _walk(op, taps, links, inner))
        output = operation(*args, **kwargs)
        inputs = tuple(keras.tree.flatten(args))
        if not isinstance(operation, keras.layers.Layer):
            tensors = tuple(x for x in inputs if isinstance(x, keras.KerasTensor))
            links.update((id(tensor), tensors) for tensor in keras.tree.flatten(output))
        elif path not in taps:
            taps[path] = Tap(path, operation, inputs[0], output, inputs)
        return output

    return call


def resolve(model: keras.Model, name: str) -> str:
    """The path of a layer given by its path, or by a name or path ending unique in the whole model.

    Raises:
        LayerError: unknown (with the nearest names), ambiguous (with the candidates) or a nested model's name.
    """
    taps = trace(model).taps
    if name in taps:
        return name
    matches = [path for path in taps if path.endswith(SEP + name)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise LayerError(f"layer name '{name}' is ambiguous in this model: {', '.join(matches[:8])}; give its path")
    inside = [path for path in taps if path.startswith(name + SEP)]
    if inside:
        raise LayerError(f"'{name}' is a nested model; pick one of its layers, e.g. {inside[-1]} "
                         "(see 'actmax layers')")
    if name.lower().endswith((".keras", ".h5")):
        raise LayerError(f"'{name}' is a model file, not a layer; give it as --model {name} and name one of its "
                         f"layers (see 'actmax layers --model {name}')")
    paths = list(taps)
    near = difflib.get_close_matches(name, paths, n=5, cutoff=0.4)
    hint = f"did you mean: {', '.join(near)}" if near else f"the model's layers run from {paths[0]} to {paths[-1]}"
    raise LayerError(f"unknown layer '{name}'; {hint} (see 'actmax layers')")
