"""Feature models: [0, 1] images to the activations of named layers, before, after or leaking through their ReLU."""

from __future__ import annotations

import functools

import keras
import tensorflow as tf

from ..errors import ModelError
from . import graph
from .layers import LOGITS, get_layer, is_softmax, logits_layer
from .loading import ModelSpec
from .preprocess import model_input
from .precision import with_precision
from .sides import side_step

ACTIVATION_LAYERS = (keras.layers.Activation, keras.layers.ReLU, keras.layers.LeakyReLU, keras.layers.ELU,
                     keras.layers.PReLU, keras.layers.Softmax)


class FeatureModel:
    """Maps a batch of [0, 1] images to activations of named layers, truncated at the deepest of them.

    Layers are named by path or unique name, nested models included; results are keyed by the names given.
    With `pre_activation`, a layer's values are taken before its nonlinearity (a conv's ReLU, or for an
    Activation/ReLU layer its input), so that the ReLU never blocks the gradient of a silent filter.
    With `leak` > 0 instead, the values are the layer's output plus `leak` times its pre-activation: the
    output's patterns lead, and a silent filter still has a gradient (a leaky ReLU, for ReLU layers).
    The name `logit` stands for the classifier's pre-softmax output, and a softmax layer gives each class's log-odds
    (`log_odds`) unless `probabilities`: a class's probability has no gradient once another class takes it all
    (ascent from noise stalls), and its logit alone may rise with a rival's, to an image the model calls the
    rival. With `select={layer: index}` (a (batch,) int variable), a plain Conv2D layer (or Dense layer on a map)
    computes only the channels in `index`: its output's channel k is filter index[k], so a batch of filters pays for
    batch-many channels, not all of them.
    With `compiled`, each call runs as one compiled graph (traced once for any batch and size): a model called
    eagerly pays Python for every layer, 0.8 s a call on EfficientNetV2S, where scoring calls it hundreds of times.
    """

    def __init__(self, spec: ModelSpec, layer_names: tuple[str, ...], *, pre_activation: bool = True,
                 leak: float = 0.0, policy: str = "float32", select: dict[str, tf.Variable] | None = None,
                 probabilities: bool = False, compiled: bool = False):
        self.spec, self.leak, self.step = spec, leak, side_step(spec.model)
        paths = {name: logits_layer(spec.model).path if name == LOGITS else get_layer(spec.model, name, units=True).path
                 for name in layer_names}
        self.model = spec.model if policy == "float32" else with_precision(spec.model, policy)
        traced = graph.trace(self.model)
        self.taps = [(name, tap, pre_activation or name == LOGITS or (is_softmax(tap.layer) and not probabilities))
                     for name, tap in ((name, traced.taps[paths[name]]) for name in layer_names)]
        self.odds = {name for name, tap, _ in self.taps  # a softmax's classes, as log-odds (one class has none)
                     if name != LOGITS and is_softmax(tap.layer) and not probabilities and tap.output.shape[-1] > 1}
        self.select = {name: index for name, index in (select or {}).items()
                       if sliceable(traced.taps[paths[name]])}
        self.body = keras.Model(traced.input, [tap.input if name in self.select or _needs_input(tap.layer, pre, leak)
                                              else tap.output for name, tap, pre in self.taps])
        self._run = tf.function(self._activations, reduce_retracing=True, autograph=False, input_signature=[
            tf.TensorSpec([None, None, None, spec.channels], tf.float32)]) if compiled else self._activations

    def __call__(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
        """Activations (float32) of each layer for images of shape (batch, height, width, channels) in [0, 1]."""
        return self._run(tf.cast(images, tf.float32))

    def _activations(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
        tapped = self.body(model_input(self.spec, images, self.step), training=False)
        tapped = tapped if isinstance(tapped, (list, tuple)) else [tapped]
        values = {name: tf.cast(_value(tap.layer, t, pre, self.leak, self.select.get(name)), tf.float32)
                  for (name, tap, pre), t in zip(self.taps, tapped)}
        return {**values, **{name: log_odds(values[name]) for name in self.odds}}


def scoring_features(spec: ModelSpec, layer: str, policy: str = "float32") -> FeatureModel:
    """The post-activation feature model that scores images of a layer (a softmax's probabilities)."""
    return judging_features(spec, (layer,), probabilities=True, policy=policy)


def judging_features(spec: ModelSpec, layers: tuple[str, ...], *, probabilities: bool,
                     policy: str = "float32") -> FeatureModel:
    """The post-activation feature model that judges images by `layers` (`probabilities`: a softmax's, else its
    classes' log-odds), built once per (model, layers, policy) and kept. A low-precision one's copy of the model
    takes the weights as they are now at each call; a model that cannot be rebuilt in that policy is judged in
    float32 (as `--precision auto` then renders it)."""
    try:
        features = _kept_features(spec, layers, probabilities, policy)
    except ModelError:
        return _kept_features(spec, layers, probabilities, "float32")
    if features.model is not spec.model:
        features.model.set_weights(spec.model.get_weights())
    return features


@functools.lru_cache(maxsize=16)
def _kept_features(spec: ModelSpec, layers: tuple[str, ...], probabilities: bool, policy: str) -> FeatureModel:
    return FeatureModel(spec, layers, pre_activation=False, probabilities=probabilities, compiled=True,
                        policy=policy)


def log_odds(logits: tf.Tensor) -> tf.Tensor:
    """Each class's log-odds, log(p / (1 - p)) under a softmax: its logit less the log-sum-exp of the others'. It
    rises only where the class gains on its rivals (a logit alone may rise with a rival's), never saturates as the
    probability does, and stays finite where one class takes all the probability."""
    top = tf.math.top_k(logits, k=2).values  # over the last axis: a segmenter's softmax is one per pixel
    first, second = top[..., :1], top[..., 1:]
    leader = tf.range(tf.shape(logits)[-1]) == tf.argmax(logits, axis=-1, output_type=tf.int32)[..., None]
    below_first = tf.exp(logits - first)  # every class against the leader, at most 1
    others = tf.reduce_sum(below_first, axis=-1, keepdims=True) - below_first  # holds the leader's 1 but for it
    against_second = tf.where(leader, 0.0, tf.exp(tf.minimum(logits - second, 0.0)))  # the leader's rivals
    rivals = tf.where(leader, second + tf.math.log(tf.reduce_sum(against_second, axis=-1, keepdims=True)),
                      first + tf.math.log(tf.where(leader, 1.0, others)))  # no log(0), nor its gradient, for it
    return logits - rivals


def _has_activation(layer: keras.layers.Layer) -> bool:
    activation = getattr(layer, "activation", None)
    return activation is not None and activation is not keras.activations.linear


def _is_activation_layer(layer: keras.layers.Layer) -> bool:
    return isinstance(layer, ACTIVATION_LAYERS)


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


def sliceable(tap: graph.Tap) -> bool:
    """A plain channels-last Conv2D, or a plain Dense layer on a map (a 1×1 conv: ConvNeXt's pointwise ones), whose
    output channels can be computed one by one."""
    layer = tap.layer
    if type(layer) is keras.layers.Dense:
        return len(tap.output.shape) == 4 and not layer.lora_enabled and layer.quantization_mode is None
    return (type(layer) is keras.layers.Conv2D and getattr(layer, "groups", 1) == 1
            and layer.data_format == "channels_last")


def _selected(layer: keras.layers.Layer, tapped: tf.Tensor, index: tf.Tensor) -> tf.Tensor:
    """The layer's output channels `index` only, before its nonlinearity, from its input, by its own convolution
    (a Dense layer's: its kernel's columns)."""
    kernel = tf.cast(tf.gather(layer.kernel, index, axis=-1), tapped.dtype)
    out = tf.tensordot(tapped, kernel, 1) if isinstance(layer, keras.layers.Dense) else \
        layer.convolution_op(tapped, kernel)
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
