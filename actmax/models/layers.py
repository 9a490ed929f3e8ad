"""Which layers a model has to show: spatial layers by path, their filter counts, logits, and map shapes."""

from __future__ import annotations

import functools
import math

import keras

from ..errors import ImageError, LayerError
from . import graph
from .loading import ModelSpec
from .sides import fed_sides, side_step

LOGITS = "logit"  # the key objectives use for a classifier's pre-softmax output


def visual_layers(model: keras.Model) -> list[str]:
    """Paths of the layers whose output is a (batch, height, width, channels) map: layers with filters to render.

    Preprocessing layers (Rescaling, Normalization, …) are left out: their channels are the image's colours.
    """
    return [path for path, tap in graph.trace(model).taps.items()
            if _rank(tap) == 4 and ".preprocessing." not in type(tap.layer).__module__]


def convolutions(model: keras.Model) -> list[str]:
    """Paths of the convolutional layers (Conv2D, DepthwiseConv2D, SeparableConv2D, …) in call order, with the Dense
    layers applied to maps: 1×1 convolutions, as ConvNeXt writes its pointwise ones."""
    taps = graph.trace(model).taps
    return [path for path in visual_layers(model) if "Conv" in type(taps[path].layer).__name__
            or isinstance(taps[path].layer, keras.layers.Dense)]


def unit_layers(model: keras.Model) -> list[str]:
    """Paths of the dense layers and the classifier's head (a softmax after pooling, say), whose (batch, units) output
    renders one image per unit: per class, for the head."""
    head = logits_layer(model).path if is_classifier(model) else None
    return [path for path, tap in graph.trace(model).taps.items() if _rank(tap) == 2 and
            (path == head or isinstance(tap.layer, (keras.layers.Dense, keras.layers.EinsumDense)))]


@functools.lru_cache(maxsize=32)  # Grad-CAM asks again to name its layer in the figure's record
def last_conv_layer(model: keras.Model, feeding: str | None = None) -> str:
    """Where class evidence is still mapped (Grad-CAM's layer): the deepest convolution whose map is more than one
    pixel, carried on to the last layer after it at that map size (its normalisation, activation, residual sum or
    concatenation: ResNet's block output, DenseNet's whole concatenation, not the block's last branch conv). With
    `feeding` (a path), only layers that layer is computed from (the class head's, not a mask head's).

    Raises:
        LayerError: the model has no spatial layer (feeding that one).
    """
    sources = set(upstream(model, feeding)) if feeding else None
    visual = [path for path in visual_layers(model) if sources is None or path in sources]
    if not visual:
        raise LayerError("this model has no (batch, height, width, channels) layer to map class evidence on")
    sides = {tap.path: after[1:3] for tap, _, after in _shapes(model, visual[-1], _reference_input(model))}
    maps = [path for path in visual if tuple(sides[path]) != (1, 1)] or visual
    convs = set(convolutions(model))
    deepest = max((i for i, path in enumerate(maps) if path in convs), default=len(maps) - 1)
    return [path for path in maps[deepest:] if sides[path] == sides[maps[deepest]]][-1]


def _reference_input(model: keras.Model) -> tuple:
    """One image of the model's own input size, 224 px along a side it leaves free."""
    _, height, width, channels = graph.input_shape(model)
    return 1, height or 224, width or 224, channels


def upstream(model: keras.Model, path: str, *, direct: bool = False) -> list[str]:
    """Paths of the layers whose outputs the layer at `path` is computed from (`direct`: only those it reads), in
    call order."""
    traced = graph.trace(model)
    taps = traced.taps
    maker = {id(tap.output): name for name, tap in taps.items()}
    found, todo = set(), [path]
    while todo:
        for tensor in traced.sources(taps[todo.pop()].inputs):
            source = maker.get(id(tensor))
            if source is not None and source not in found:
                found.add(source)
                if not direct:
                    todo.append(source)
    return [name for name in taps if name in found]


def _rank(tap: graph.Tap) -> int | None:
    shape = getattr(tap.output, "shape", None)
    return None if shape is None else len(shape)


def get_layer(model: keras.Model, name: str, *, units: bool = False) -> graph.Tap:
    """Find a visualisable layer by path, or by a name unique in the whole model (nested models included).

    With `units`, a layer with a flat (batch, units) output is taken too (a dense layer, a classifier's head): each
    unit renders as a filter with no map, one image per class of the head.

    Raises:
        LayerError: unknown or ambiguous name, or a layer without a spatial channel axis (nor units, with `units`).
    """
    tap = graph.trace(model).taps[graph.resolve(model, name)]
    if _rank(tap) == 4 or (units and _rank(tap) == 2):
        return tap
    shape = getattr(tap.output, "shape", "several outputs")
    wanted = "(batch, height, width, channels)" + (" or (batch, units)" if units else "")
    hint = ("render its units (one image each) with 'actmax render', or "
            if not units and _rank(tap) == 2 and tap.path in unit_layers(model) else "")
    raise LayerError(f"layer '{name}' has output shape {shape}, not {wanted}; {hint}pick a convolutional layer "
                     "(see 'actmax layers')")


def resolve_layer(model: keras.Model, name: str, *, units: bool = False) -> str:
    """The full path of a visualisable layer given by path or unique name (see `get_layer`)."""
    return get_layer(model, name, units=units).path


def resolve_layers(model: keras.Model, names, *, units: bool = False) -> list[str]:
    """The full paths of several layers (see `get_layer`), in the order given, each once."""
    return list(dict.fromkeys(resolve_layer(model, name, units=units) for name in names))


def filter_count(model: keras.Model, name: str) -> int:
    """Number of channels (filters) of a visualisable layer, or of units of a flat one."""
    return int(get_layer(model, name, units=True).output.shape[-1])


def logits_layer(model: keras.Model) -> graph.Tap:
    """The classifier's output layer, whose pre-softmax values are the class logits: the model's one (batch, classes)
    output, beside any others (a segmentation map, say); of several, the one softmax closes (a class head beside
    a box regressor).

    Raises:
        LayerError: the model has no (batch, classes) output, e.g. a convolutional body, or several and not one
            softmax among them.
    """
    taps = _class_outputs(model)
    return taps[_head_of(taps)]


def _class_outputs(model: keras.Model) -> list[graph.Tap]:
    """The layer making each of the model's outputs, looking through closing operations such as keras.ops.softmax,
    for every output (None for those that are not (batch, classes))."""
    traced = graph.trace(model)

    def maker(output):
        made = traced.sources([output])
        return next((tap for tap in reversed(traced.taps.values()) if any(tap.output is t for t in made)), None)

    return [maker(output) if len(output.shape) == 2 else None for output in traced.outputs]


def classifier_output(model: keras.Model) -> int:
    """Index, among the model's outputs, of its classifier head (see `logits_layer`).

    Raises:
        LayerError: no (batch, classes) output, or several and not exactly one closed by a softmax.
    """
    return _head_of(_class_outputs(model))


def _head_of(taps: list[graph.Tap | None]) -> int:
    heads = [i for i, tap in enumerate(taps) if tap is not None]
    if len(heads) > 1:
        heads = [i for i in heads if is_softmax(taps[i].layer)]
        if len(heads) != 1:
            names = ", ".join(tap.path for tap in taps if tap is not None)
            raise LayerError(f"this model has several (batch, classes) outputs ({names}) and not one softmax head "
                             "among them, so which one holds the class logits is not clear; in Python, pass "
                             "keras.Model(model.inputs, model.get_layer(NAME).output) to actmax.load_model")
    if not heads:
        raise LayerError("this model has no classifier head (no (batch, classes) output), so it has no logits; "
                         "use a filter objective such as 'block5_conv1:3', or load a classifier")
    return heads[0]


def is_softmax(layer: keras.layers.Layer) -> bool:
    """Whether the layer ends in a softmax: a Softmax layer, or a softmax activation (Dense's or Activation's)."""
    activation = getattr(layer, "activation", None)
    return isinstance(layer, keras.layers.Softmax) or getattr(activation, "__name__", "") == "softmax"


FLOORS = {"sigmoid": 0.5, "hard_sigmoid": 0.5, "softplus": math.log(2.0), "exponential": 1.0}


def firing_floor(model: keras.Model, name: str) -> float:
    """The value a unit of the layer takes where its input passes zero: 0 for a ReLU or a linear layer, 0.5 for a
    sigmoid, chance (1 / classes) for a softmax. Above it the unit fires; a sigmoid's or a softmax's output is above
    zero on any input, so zero cannot tell a unit its image raises from one it leaves silent."""
    tap = get_layer(model, name, units=True)
    if is_softmax(tap.layer):
        return 1.0 / int(tap.output.shape[-1])
    return FLOORS.get(getattr(getattr(tap.layer, "activation", None), "__name__", ""), 0.0)


def is_classifier(model: keras.Model) -> bool:
    """Whether the model has a classifier head (see `logits_layer`)."""
    try:
        logits_layer(model)
    except LayerError:
        return False
    return True


def unit_table(model: keras.Model) -> list[tuple[str, str, int]]:
    """(path, type, units) for every dense layer and the classifier's head (see `unit_layers`)."""
    taps = graph.trace(model).taps
    return [(path, type(taps[path].layer).__name__, int(taps[path].output.shape[-1])) for path in unit_layers(model)]


def layer_table(spec: ModelSpec, size: int = 224) -> list[tuple[str, str, tuple[int, int], int]]:
    """(path, type, (height, width) at a `size` px input, filters) for every visualisable layer (no compute)."""
    visual = visual_layers(spec.model)
    return [(tap.path, type(tap.layer).__name__, tuple(after[1:3]), int(after[-1]))
            for tap, _, after in (shapes_upto(spec, visual[-1], size) if visual else []) if tap.path in visual]


MIN_SIZES = (8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)


def min_size(spec: ModelSpec, *layers: str) -> int:
    """The smallest square image (px) that leaves every map up to each of `layers` at least one pixel wide.

    1 for fixed-size models (images are resized to their size) and for the logits.
    """
    return max((_min_size(spec, layer) for layer in layers), default=1)


def check_fits(spec: ModelSpec, image_shape: tuple, *layers: str) -> None:
    """Raise ImageError where an (H, W, ...) image is too small for the maps up to `layers` (for the logits: up to
    the deepest visual layer, which they are computed from), naming the smallest side that would do."""
    deepest = visual_layers(spec.model)[-1:]
    needs = {layer: min_size(spec, layer) for name in layers for layer in (deepest if name == LOGITS else [name])}
    side = min(image_shape[:2])
    short = [layer for layer in needs if side < needs[layer] and not _maps_fit(spec.sized(None), layer, side)]
    if short:
        layer = max(short, key=needs.get)
        raise ImageError(f"the image is {image_shape[0]}x{image_shape[1]} px, too small for layer '{layer}', which "
                         f"needs at least {needs[layer]} px a side; give a larger image (imaging.load_image(path, "
                         f"floor={needs[layer]}) keeps a photo's shorter side at least that)")


def _min_size(spec: ModelSpec, layer: str) -> int:
    if all(spec.model_sides) or layer == LOGITS:
        return 1
    square = spec.sized(None)  # a shape asked for is checked against this floor, not part of it
    return next((size for size in MIN_SIZES if _maps_fit(square, layer, size)), MIN_SIZES[-1])


def _maps_fit(spec: ModelSpec, layer: str, size: int) -> bool:
    try:
        shapes = shapes_upto(spec, layer, size)
    except ValueError:  # Keras refuses a map that would shrink below one pixel
        return False
    return all(d > 0 for _, before, after in shapes for d in (*before[1:3], *after[1:3]) if d is not None)


def shapes_upto(spec: ModelSpec, layer: str, size: int) -> list[tuple[graph.Tap, tuple, tuple]]:
    """(tap, input shape, output shape) of every leaf up to `layer` for one `size` px image: shapes only, no compute.

    Layers after `layer` are left out, so a small image that they could not take is fine.
    """
    path = logits_layer(spec.model).path if layer == LOGITS else graph.resolve(spec.model, layer)
    return _shapes(spec.model, path, (1, *fed_sides(spec.image_shape(size), side_step(spec.model)), spec.channels))


def _shapes(model: keras.Model, path: str, image: tuple) -> list[tuple[graph.Tap, tuple, tuple]]:
    """(tap, input shape, output shape) of every leaf up to `path` for an input of shape `image`."""
    taps = _taps_upto(model, path)
    shapes = [tuple(x.shape) for x in _upto(model, path).compute_output_spec(keras.KerasTensor(image))]
    return [(tap, shapes[2 * i], shapes[2 * i + 1]) for i, tap in enumerate(taps)]


def _taps_upto(model: keras.Model, path: str) -> list[graph.Tap]:
    taps = list(graph.trace(model).taps.values())
    return taps[:[tap.path for tap in taps].index(path) + 1]


@functools.lru_cache(maxsize=32)
def _upto(model: keras.Model, path: str) -> keras.Model:
    """A model whose outputs are the first input and the first output of every leaf up to `path`."""
    return keras.Model(graph.trace(model).input, [keras.tree.flatten(tensor)[0] for tap in
                                                         _taps_upto(model, path) for tensor in (tap.input, tap.output)])
