"""Class-activation heatmaps for classifiers: Grad-CAM and Grad-CAM++ on a convolutional layer."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .. import models
from ..models import memory
from ..output import colormaps, gallery, imaging
from ..errors import ActmaxError, LayerError

METHODS = ("gradcam", "gradcam++")


def _weights(grads: tf.Tensor, acts: tf.Tensor, method: str) -> tf.Tensor:
    """Per-channel weights: mean gradient (Grad-CAM) or the positive-gradient weighting of Grad-CAM++."""
    if method == "gradcam":
        return tf.reduce_mean(grads, axis=(0, 1))
    g2, g3 = tf.square(grads), grads ** 3
    denominator = 2 * g2 + tf.reduce_sum(acts, axis=(0, 1)) * g3
    alpha = tf.math.divide_no_nan(g2, denominator)
    return tf.reduce_sum(alpha * tf.nn.relu(grads), axis=(0, 1))


def default_layer(spec: models.ModelSpec) -> str:
    """The layer Grad-CAM maps unless told: the deepest convolution's block output that the class head reads.

    Raises:
        LayerError: the model has no classifier head.
    """
    if not any(len(output.shape) == 2 for output in spec.model.outputs):
        raise LayerError(f"model '{spec.name}' has no classifier head, so there is no class to explain; "
                         "use 'actmax occlusion' or 'actmax features' instead")
    return models.last_conv_layer(spec.model, feeding=models.logits_layer(spec.model).path)


def grad_cam(spec: models.ModelSpec, image: np.ndarray, *, class_index: int | None = None, layer: str | None = None,
             method: str = "gradcam") -> tuple[np.ndarray, int, np.ndarray]:
    """Heatmap (H, W) in [0, 1] at the image's size for a class (default: top-1), the class, and the probabilities.

    The class's score is its logit (`models.Head.scores`: a binary head's class 0 is its negated logit).

    Raises:
        LayerError: the model has no classifier head.
        ActmaxError: a class index out of range or an unknown method.
    """
    if method not in METHODS:
        raise ActmaxError(f"unknown method '{method}'; use one of: {', '.join(METHODS)}")
    default = default_layer(spec)
    layer = layer or default
    models.check_fits(spec, image.shape, layer, models.LOGITS)
    features, head = models.FeatureModel(spec, (layer, models.LOGITS), pre_activation=False), models.head(spec)
    if class_index is not None and not 0 <= class_index < head.classes:
        raise ActmaxError(f"class {class_index} is outside this model's range 0-{head.classes - 1}")
    acts, grads, probabilities, index = _class_gradient(features, head, layer, class_index)(
        tf.constant(image[None], tf.float32))
    if grads is None:
        raise LayerError(f"the class scores are not computed from layer '{layer}'; pick a layer before the classifier "
                         f"head, e.g. '{default}'")
    acts, grads = acts[0], grads[0]
    cam = tf.nn.relu(tf.reduce_sum(_weights(grads, acts, method) * acts, axis=-1))
    heat = tf.image.resize(cam[..., None], image.shape[:2], method="bilinear")[..., 0].numpy()
    heat = heat / heat.max() if heat.max() > 0 else heat
    return heat.astype(np.float32), int(index), probabilities.numpy()


def _class_gradient(features, head, layer: str, class_index: int | None):
    """A graph giving, in one forward pass, the layer's activations, the class score's gradient with respect to
    them, the probabilities and the class (`class_index`, else the top-1). In a graph, TensorFlow computes only the
    gradients asked for; eagerly it also computes every weight's, and its CPU kernel for the weight gradient of some
    strided 1×1 convolutions corrupts memory (TF 2.21, e.g. 8 channels at 60 px)."""
    @tf.function(autograph=False)
    def run(x):
        with tf.GradientTape() as tape:
            acts = features(x)
            probabilities = head.probabilities(acts[models.LOGITS])[0]
            index = tf.argmax(probabilities, output_type=tf.int32) if class_index is None else tf.constant(class_index)
            score = head.scores(acts[models.LOGITS])[0, index]
        return acts[layer], tape.gradient(score, acts[layer]), probabilities, index
    return run


def top_classes(probabilities: np.ndarray, names: list[str] | None = None,
                top: int = 5) -> list[tuple[int, str, float]]:
    """The `top` classes as (index, name, probability); names are empty where none are known."""
    order = [int(i) for i in np.argsort(-probabilities)[:top]]
    return [(i, names[i] if names else "", float(probabilities[i])) for i in order]


@memory.guard("lower --size")
def figure(spec: models.ModelSpec, image: np.ndarray, *, class_index: int | None = None, layer: str | None = None,
           method: str = "gradcam", colormap: str = "inferno",
           names: list[str] | None = None) -> tuple[np.ndarray, list[tuple[int, str, float]]]:
    """What `actmax cam` saves: the photo beside the heatmap over it; also returns the top-5 classes (`names`:
    the classes' names, see `models.class_names`)."""
    heat, index, probabilities = grad_cam(spec, image, class_index=class_index, layer=layer, method=method)
    shown = colormaps.overlay(image, heat, name=colormap)
    labels = ["input", f"{method}: {models.class_label(index, names)}"]
    return gallery.side_by_side([imaging.to_uint8(image), shown], labels=labels), top_classes(probabilities, names)
