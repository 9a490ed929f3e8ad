"""The classic inspection plots: weights, feature maps, DeConvNet, occlusion, Grad-CAM."""

import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image
import tensorflow as tf

from conftest import ROCKET
from actmax.inspect import cam, deconv, feature_maps, occlusion, weights
from actmax.output import colormaps, imaging
from actmax import models
from actmax.errors import ActmaxError, FilterError, ImageError, LayerError



def one_conv_spec(kernel: np.ndarray, preprocess: str = "unit") -> models.ModelSpec:
    """A model whose only layer is a conv with the given (h, w, in, out) kernel and zero bias."""
    inputs = keras.Input((None, None, kernel.shape[2]))
    conv = keras.layers.Conv2D(kernel.shape[3], kernel.shape[:2], padding="same", activation="relu", name="conv")
    model = keras.Model(inputs, conv(inputs))
    conv.set_weights([kernel, np.zeros(kernel.shape[3], np.float32)])
    return models.ModelSpec("one", model, preprocess, "")


def test_first_layer_picture_has_one_tile_per_filter_with_sign_mapping():
    kernel = np.zeros((3, 3, 3, 5), np.float32)
    kernel[0, 0, 0, 2] = 1.0   # filter 2: positive red at the top-left
    kernel[2, 2, 1, 2] = -1.0  # and negative green at the bottom-right
    picture = weights.figure(one_conv_spec(kernel), "conv", zoom=4)
    rows, cols = 2, 3  # 5 tiles in a square-ish grid
    assert picture.shape == (rows * 12 + 3 * 2, cols * 12 + 4 * 2, 3)
    top, left = 2, 2 + 2 * (12 + 2)
    tile = picture[top:top + 12, left:left + 12]
    assert tuple(tile[0, 0]) == (255, 128, 128)   # +1 red → full red, others at mid-grey
    assert tuple(tile[11, 11]) == (128, 0, 128)   # −1 green → no green
    assert tuple(tile[5, 5]) == (128, 128, 128)   # 0 → mid-grey
    assert (tile[:4, :4] == tile[0, 0]).all()     # nearest-neighbour: a 3x3 kernel stays crisp


def test_bgr_models_show_first_layer_kernels_in_rgb():
    kernel = np.zeros((1, 1, 3, 1), np.float32)
    kernel[0, 0, 0, 0] = 1.0  # the model's channel 0 is blue for a caffe-style model
    shown = weights.kernel_of(one_conv_spec(kernel, "caffe"), "conv")
    assert shown[0, 0, 2, 0] == 1.0 and shown[0, 0, 0, 0] == 0.0


def test_deeper_layer_grid_is_filters_by_channels(hed):
    picture = weights.figure(hed, "block3_conv1", filters="0-3", channels="0-5", zoom=2)
    assert picture.shape == (4 * 6 + 5 * 2, 6 * 6 + 7 * 2, 3)


def test_weights_refuses_layers_without_kernels(hed):
    with pytest.raises(LayerError, match="no convolution kernel"):
        weights.kernel_of(hed, "block1_pool")


def test_feature_maps_of_a_constant_image_are_constant_inside(hed):
    maps = feature_maps.feature_maps(hed, np.full((48, 48, 3), 0.4, np.float32), ["block2_conv1"])["block2_conv1"]
    inner = maps[:, 3:-3, 3:-3]
    assert maps.shape == (128, 24, 24)
    np.testing.assert_allclose(inner, inner[:, :1, :1] * np.ones_like(inner), rtol=1e-4, atol=1e-3)


def test_block_ends_are_the_last_conv_of_each_block_and_shown_where_no_layer_is_named(hed):
    assert feature_maps.block_ends(hed) == ["block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3",
                                            "block5_conv3"]
    assert feature_maps.chosen_layers(hed, []) == feature_maps.block_ends(hed)
    assert feature_maps.chosen_layers(hed, ["block1_conv1"]) == ["block1_conv1"]
    inputs = keras.Input((8, 8, 3))
    dense = models.ModelSpec("mlp", keras.Model(inputs, keras.layers.Dense(4)(keras.layers.Flatten()(inputs))),
                             "unit", "")
    with pytest.raises(ActmaxError, match="model 'mlp' has no convolution whose maps to show; give --layer"):
        feature_maps.chosen_layers(dense, [])
    x = keras.layers.Dense(6, name="pointwise")(keras.layers.DepthwiseConv2D(3, padding="same", name="dw")(inputs))
    x = keras.layers.Dense(5, name="pointwise_2")(keras.layers.Conv2D(6, 2, 2, name="down")(x))
    convnext = models.ModelSpec("convnext", keras.Model(inputs, keras.layers.LayerNormalization()(x)), "unit", "")
    assert feature_maps.block_ends(convnext) == ["pointwise", "pointwise_2"]  # Dense on a map: a 1x1 conv


def test_feature_grid_geometry(hed):
    picture = feature_maps.figure(hed, np.random.default_rng(0).uniform(size=(32, 32, 3)).astype(np.float32),
                                  "block1_conv1", maps="0-8", title=False)
    assert picture.shape == (3 * 64 + 4 * 2, 3 * 64 + 4 * 2, 3)  # 32 px maps doubled to reach 48 px


def test_selections_out_of_range_name_what_and_where(hed):
    """Maps, input channels, an occlusion target's filter and projected filters (out of range, or none)
    each say what is wrong in one line."""
    photo = np.full((32, 32, 3), 0.5, np.float32)
    with pytest.raises(FilterError, match="^maps '70-80' are outside the range of layer 'block1_conv1', 0-63 "):
        feature_maps.figure(hed, photo, "block1_conv1", maps="70-80")
    with pytest.raises(FilterError, match="^input channels '70' are outside .* 'block2_conv1', 0-63 \\(64 input"):
        weights.figure(hed, "block2_conv1", channels="70")
    with pytest.raises(ActmaxError, match="index 99 is out of range; the valid indices are block1_conv1 0-63$"):
        occlusion.score_function(hed, "block1_conv1:99", photo)
    with pytest.raises(ActmaxError, match="^top must be at least 1, not 0"):
        deconv.project(hed, photo, "block2_conv1", top=0)
    with pytest.raises(FilterError, match="^filter 128 is outside .* 'block2_conv1', 0-127 \\(128 filters"):
        deconv.project(hed, photo, "block2_conv1", [3, 128])
    with pytest.raises(FilterError, match="^no filters given; pass some of layer 'block2_conv1'"):
        deconv.project(hed, photo, "block2_conv1", [])  # was a numpy error from stacking no projections


def test_deconv_projection_lies_in_the_receptive_field(hed):
    image = np.full((64, 64, 3), 0.5, np.float32)
    image[40:48, 8:16] = [1.0, 0.0, 0.0]  # one small red square
    for method in deconv.METHODS:
        filters, projections = deconv.project(hed, image, "block2_conv1", top=1, method=method)
        energy = np.abs(projections[0]).sum(axis=-1)
        assert projections.shape == (1, 64, 64, 3) and energy.max() > 0
        y, x = np.unravel_index(np.argmax(energy), energy.shape)
        assert 30 <= y <= 58 and 0 <= x <= 26  # within the square's neighbourhood, not elsewhere
        assert energy[:20, 40:].sum() == 0  # far corners receive nothing


def test_deconv_projects_a_model_with_tiny_weights_as_any():
    """Each projection is scaled to a peak of 1 however small the model's gradients are (1e-14 here)."""
    image = np.random.default_rng(0).uniform(size=(16, 16, 3)).astype(np.float32)

    def projection(scale):
        inputs = keras.Input((None, None, 3))
        init = keras.initializers.RandomNormal(0, scale, seed=0)
        x = keras.layers.Conv2D(4, 3, activation="relu", name="c1", kernel_initializer=init)(inputs)
        spec = models.ModelSpec("m", keras.Model(inputs, keras.layers.Conv2D(4, 3, name="c2",
                                                                            kernel_initializer=init)(x)), "unit", "")
        return deconv.project(spec, image, "c2", [0, 1], method="guided")[1]
    np.testing.assert_allclose(projection(1e-7), projection(1.0), atol=1e-5)



def test_deconv_treats_relu_layers_as_relu_activations():
    """Conv → ReLU() (a BatchNorm block's, MobileNet's ReLU6) projects as Conv(activation='relu') does, not as the
    plain gradient."""
    keras.utils.set_random_seed(0)
    image = np.random.default_rng(0).uniform(size=(24, 24, 3)).astype(np.float32)

    def model(relu_layer):
        inputs = keras.Input((None, None, 3))
        x = keras.layers.Conv2D(8, 3, activation=None if relu_layer else "relu", name="c1")(inputs)
        x = relu_layer(x) if relu_layer else x
        return models.ModelSpec("m", keras.Model(inputs, keras.layers.Conv2D(4, 3, name="c2")(x)), "unit", "")

    fused, split, capped = model(None), model(keras.layers.ReLU()), model(keras.layers.ReLU(max_value=6.0))
    for spec in (split, capped):
        spec.model.get_layer("c1").set_weights(fused.model.get_layer("c1").get_weights())
        spec.model.get_layer("c2").set_weights(fused.model.get_layer("c2").get_weights())
    for method in deconv.METHODS:
        projections = [deconv.project(spec, image, "c2", [1, 2], method=method)[1] for spec in (fused, split, capped)]
        np.testing.assert_allclose(projections[1], projections[0], atol=1e-6)
        np.testing.assert_allclose(projections[2], projections[0], atol=1e-6)  # nothing reaches 6 here
    with tf.GradientTape() as tape:
        x = tf.constant(image[None])
        tape.watch(x)
        peak = tf.reduce_max(split.model(x)[0, ..., 1])
    plain = tape.gradient(peak, x).numpy()[0]
    assert not np.allclose(plain / np.abs(plain).max(), projections[1][0], atol=1e-3)

def test_occlusion_peaks_at_the_patch_the_score_depends_on():
    image = np.full((64, 64, 3), 0.5, np.float32)
    image[40:56, 8:24] = 1.0
    score = lambda x: tf.reduce_mean(x[:, 40:56, 8:24], axis=(1, 2, 3))  # depends on one patch only
    heat = occlusion.occlusion_map(score, image, patch=16, stride=8)
    y, x = np.unravel_index(np.argmax(heat), heat.shape)
    assert 40 <= y < 56 and 8 <= x < 24 and heat[:16, 40:].max() == 0


def test_occlusion_positions_cover_the_edge():
    assert occlusion.positions(50, 16, 16) == [0, 16, 32, 34]


def quadrant_classifier(units: int = 2) -> models.ModelSpec:
    """A tiny classifier trained in the test: class 1 when a bright square sits in the top-left quadrant (class 0:
    bottom-right); a softmax head, or with `units=1` a binary sigmoid head."""
    rng = np.random.default_rng(0)
    images = rng.uniform(0.0, 0.3, (240, 32, 32, 3)).astype(np.float32)
    labels = np.arange(240) % 2
    for i in range(240):
        y, x = rng.integers(0, 10, 2) + (0 if labels[i] else 16)
        images[i, y:y + 6, x:x + 6] = 1.0
    keras.utils.set_random_seed(1)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv")(inputs)
    x = keras.layers.MaxPooling2D(4)(x)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_b")(x)
    x = keras.layers.Flatten()(x)
    model = keras.Model(inputs, keras.layers.Dense(units, activation="softmax" if units > 1 else "sigmoid",
                                                   name="out")(x))
    model.compile("adam", "sparse_categorical_crossentropy" if units > 1 else "binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(images, labels, epochs=25, batch_size=32, verbose=0)
    assert model.evaluate(images, labels, verbose=0)[1] > 0.9
    return models.ModelSpec("quadrant", model, "unit", "")


def test_grad_cam_peaks_in_the_quadrant_that_decides():
    spec = quadrant_classifier()
    image = np.full((32, 32, 3), 0.1, np.float32)
    image[4:10, 5:11] = 1.0  # the decisive square, top-left
    for method in cam.METHODS:
        heat, index, probabilities = cam.grad_cam(spec, image, class_index=1, method=method)
        y, x = np.unravel_index(np.argmax(heat), heat.shape)
        assert heat.shape == (32, 32) and y < 16 and x < 16
        assert heat[:16, :16].mean() > heat[16:, 16:].mean()


def test_a_binary_classifier_explains_both_its_classes_with_its_own_probabilities():
    """One sigmoid unit: class 1 is its logit, class 0 the logit negated, and the probabilities are 1 - p and p,
    not a softmax over one unit (always 1, which left the occlusion map flat)."""
    spec = quadrant_classifier(units=1)
    image = np.full((32, 32, 3), 0.1, np.float32)
    image[21:27, 20:26] = 1.0  # bottom-right: class 0
    p = float(spec.model(image[None])[0, 0])
    heat, index, probabilities = cam.grad_cam(spec, image)
    np.testing.assert_allclose(probabilities, [1 - p, p], atol=1e-5)
    assert index == 0 and np.unravel_index(np.argmax(heat), heat.shape) >= (16, 16)
    (score, target), (other, _) = (occlusion.score_function(spec, name, image) for name in (None, "class:1"))
    drops = [occlusion.occlusion_map(each, image, patch=8, stride=4) for each in (score, other)]
    assert target == "class:0" and np.ptp(drops[0]) > 1e-4  # the map is not flat
    np.testing.assert_allclose(drops[0], -drops[1], atol=1e-6)  # what class 0 loses, class 1 gains
    with pytest.raises(ActmaxError, match="range 0-1"):
        cam.grad_cam(spec, image, class_index=2)


@pytest.mark.parametrize("close, independent", [
    ("softmax", False), ("sigmoid", True), ("layer", True), ("ops", True), (None, False), ("saturated", False)])
def test_head_reads_how_the_model_squashes_its_logits(close, independent):
    """Softmax or sigmoid (multi-label), as a Dense activation, an Activation layer or a keras.ops call; a model
    that outputs its logits is read as softmax."""
    inputs = keras.Input((None, None, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, name="body")(inputs))
    saturated = dict(activation="softmax", bias_initializer=keras.initializers.Constant([40.0, -20.0, -25.0]))
    logits = (keras.layers.Dense(3, **saturated) if close == "saturated" else  # near a sigmoid's output too
              keras.layers.Dense(3, activation=close if close in ("softmax", "sigmoid") else None))(pooled)
    outputs = {"layer": keras.layers.Activation("sigmoid"), "ops": keras.ops.sigmoid}.get(close, lambda x: x)(logits)
    head = models.head(models.ModelSpec(f"head_{close}", keras.Model(inputs, outputs), "unit", ""))
    assert (head.classes, head.independent) == (3, independent)
    probabilities = head.probabilities(tf.constant([[0.0, 1.0, -1.0]])).numpy()[0]
    assert np.isclose(probabilities.sum(), 1.0) != independent


def test_grad_cam_errors(hed, tiny_spec):
    image = np.zeros((32, 32, 3), np.float32)
    with pytest.raises(LayerError, match="no classifier head.*occlusion"):
        cam.grad_cam(hed, image)
    with pytest.raises(ActmaxError, match="range 0-3"):
        cam.grad_cam(tiny_spec, image, class_index=9)


def test_an_image_too_small_for_the_layer_is_refused_in_one_line_naming_the_side_it_needs(hed, tiny_spec):
    strip = np.zeros((6, 300, 3), np.float32)  # block5_conv3 sits behind four 2x poolings
    for call in (lambda: feature_maps.feature_maps(hed, strip, ["block1_conv1", "block5_conv3"]),
                 lambda: deconv.project(hed, strip, "block5_conv3"),
                 lambda: occlusion.score_function(hed, "block5_conv3:0", strip)):
        with pytest.raises(ImageError, match=r"6x300 px, too small for layer 'block5_conv3'.* at least 16 px"):
            call()
    inputs = keras.Input((None, None, 3))
    x = keras.layers.MaxPooling2D(4)(keras.layers.Conv2D(4, 3, name="conv")(inputs))
    pooled = models.ModelSpec("pooled", keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(
        keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, name="conv_b")(x)))), "unit", "")
    with pytest.raises(ImageError, match="too small for layer 'conv_b'"):
        cam.grad_cam(pooled, np.zeros((8, 8, 3), np.float32), layer="conv")  # the head reads conv_b's maps
    heat, _, _ = cam.grad_cam(tiny_spec, np.zeros((4, 4, 3), np.float32))  # no pooling: 4 px fits, is not refused
    assert heat.shape == (4, 4)


def test_grad_cam_of_a_two_headed_model_explains_its_class_head():
    """A class head beside a mask head: the class head holds the logits, and the default layer is the deepest
    convolution it is computed from, not the mask's."""
    inputs = keras.Input((32, 32, 3))
    body = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="body")(inputs)
    mask = keras.layers.Conv2D(1, 1, activation="sigmoid", name="mask")(body)
    head = keras.layers.Dense(3, name="classes")(keras.layers.GlobalAveragePooling2D()(body))
    spec = models.ModelSpec("two_heads", keras.Model(inputs, [head, mask]), "unit", "")
    assert models.logits_layer(spec.model).path == "classes" and models.last_conv_layer(spec.model) == "mask"
    assert models.last_conv_layer(spec.model, feeding="classes") == "body"
    heat, index, probabilities = cam.grad_cam(spec, np.random.default_rng(0).uniform(size=(32, 32, 3)))
    assert heat.shape == (32, 32) and probabilities.shape == (3,) and 0 <= index < 3
    with pytest.raises(LayerError, match="not computed from layer 'mask'.*e.g. 'body'"):
        cam.grad_cam(spec, np.zeros((32, 32, 3), np.float32), layer="mask")
    two = keras.Model(inputs, [head, keras.layers.Dense(2, name="box")(keras.layers.GlobalMaxPooling2D()(body))])
    with pytest.raises(LayerError, match="several \\(batch, classes\\) outputs \\(classes, box\\)"):
        models.logits_layer(two)


def test_grad_cam_of_a_box_and_class_model_explains_the_softmax_head():
    """Of two (batch, classes) outputs, a box regressor and a softmax class head (listed second), the softmax one
    is the classifier: Grad-CAM's probabilities are that output's."""
    inputs = keras.Input((32, 32, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(6, 3, activation="relu", name="body")(inputs))
    box = keras.layers.Dense(4, name="box")(pooled)
    classes = keras.layers.Dense(3, activation="softmax", name="classes")(pooled)
    spec = models.ModelSpec("box_and_class", keras.Model(inputs, [box, classes]), "unit", "")
    image = np.random.default_rng(1).uniform(size=(32, 32, 3)).astype(np.float32)
    assert models.logits_layer(spec.model).path == "classes"
    _, index, probabilities = cam.grad_cam(spec, image)
    reported = spec.model(image[None])[1].numpy()[0]
    np.testing.assert_allclose(probabilities, reported, atol=1e-5)
    assert index == int(np.argmax(reported))




def test_grad_cam_maps_the_block_output_not_its_last_branch_conv():
    """A residual block's sum after its last conv (ResNet's block output), carried past normalisation and activation
    but not past pooling; a 1×1 conv on pooled features (MobileNetV3's head) is no map to explain on."""
    layers = keras.layers
    inputs = keras.Input((None, None, 3))
    stem = layers.Conv2D(8, 3, padding="same", name="stem")(inputs)
    branch = layers.BatchNormalization(name="bn")(layers.Conv2D(8, 3, padding="same", name="branch")(stem))
    block = layers.Activation("relu", name="out")(layers.Add(name="sum")([stem, branch]))
    pooled = layers.MaxPooling2D(name="pool")(block)
    head = layers.Conv2D(3, 1, name="logits_conv")(layers.GlobalAveragePooling2D(keepdims=True)(pooled))
    spec = models.ModelSpec("res", keras.Model(inputs, layers.Flatten(name="logits")(head)), "unit", "")
    assert models.last_conv_layer(spec.model, feeding="logits") == "out"
    heat, _, _ = cam.grad_cam(spec, np.random.default_rng(0).uniform(size=(32, 32, 3)))
    assert heat.shape == (32, 32)

def test_grad_cam_looks_through_keras_ops_between_layers():
    """`ops.tanh(conv)` before the head and `ops.softmax` after it are operations, not layers: the head is still
    computed from the conv, and its output is still the logits."""
    inputs = keras.Input((None, None, 3))
    body = keras.layers.Conv2D(4, 3, padding="same", name="body")(inputs)
    pooled = keras.layers.GlobalAveragePooling2D()(keras.ops.tanh(keras.ops.relu(body) * 2.0))
    outputs = keras.ops.softmax(keras.layers.Dense(3, name="classes")(pooled))
    spec = models.ModelSpec("ops", keras.Model(inputs, outputs), "unit", "")
    assert models.logits_layer(spec.model).path == "classes"
    assert models.last_conv_layer(spec.model, feeding="classes") == "body"
    heat, _, _ = cam.grad_cam(spec, np.random.default_rng(0).uniform(size=(32, 32, 3)))
    assert heat.shape == (32, 32)

def test_colormaps_and_overlay():
    ramp = colormaps.apply(np.linspace(0, 1, 5), "viridis")
    assert tuple(ramp[0]) == (0x44, 0x01, 0x54) and tuple(ramp[-1]) == (0xfd, 0xe7, 0x25)
    assert tuple(colormaps.apply(np.array([0.5]), "grey")[0]) == (128, 128, 128)
    with pytest.raises(ActmaxError, match="unknown colormap"):
        colormaps.apply(np.zeros(2), "jet")
    blended = colormaps.overlay(np.zeros((2, 2, 3)), np.ones((2, 2)), name="grey", alpha=0.5)
    assert (blended == 128).all()


def test_load_image_errors(tmp_path):
    from actmax.errors import ImageError
    with pytest.raises(ImageError, match="does not exist"):
        imaging.load_image(tmp_path / "missing.jpg")
    (tmp_path / "fake.jpg").write_text("not an image")
    with pytest.raises(ImageError, match="cannot read image"):
        imaging.load_image(tmp_path / "fake.jpg")


def test_high_bit_depth_photos_load_as_their_8_bit_selves(tmp_path):
    """A 16-bit grey PNG, a 32-bit TIFF and a float one are scaled, not clipped white."""
    grey = np.asarray(Image.open(ROCKET).convert("L"))
    Image.fromarray(grey).save(tmp_path / "grey8.png")
    Image.fromarray(grey.astype(np.uint16) * 257).save(tmp_path / "grey16.png")
    Image.fromarray(grey.astype(np.int32) * 257, "I").save(tmp_path / "grey32.tif")
    Image.fromarray(grey.astype(np.float32) / 255, "F").save(tmp_path / "float.tif")
    expected = imaging.load_image(tmp_path / "grey8.png", channels=1)
    for name in ("grey16.png", "grey32.tif", "float.tif"):
        np.testing.assert_allclose(imaging.load_image(tmp_path / name, channels=1), expected, atol=1 / 255)
        np.testing.assert_allclose(imaging.load_square(tmp_path / name, 32), imaging.load_square(
            tmp_path / "grey8.png", 32), atol=1 / 255)


@pytest.mark.online
def test_grad_cam_on_imagenet_vgg16_names_classes():  # downloads ImageNet weights: run with --run-online

    from actmax import load_model
    spec = load_model("vgg16", classifier=True)
    image = imaging.load_image(ROCKET, exact=spec.fixed_size)
    heat, index, probabilities = cam.grad_cam(spec, image)
    names = cam.top_classes(probabilities, models.class_names(spec))
    assert heat.shape == image.shape[:2] and len(names) == 5 and all(name for _, name, _ in names)


STRIDED_1X1 = """
import keras, numpy as np
from actmax import models
from actmax.inspect import cam, deconv
inputs = keras.Input((60, 60, 3))
x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c1")(inputs)
x = keras.layers.Conv2D(16, 1, strides=2, padding="same", name="shortcut")(x)
outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
spec = models.ModelSpec("strided", keras.Model(inputs, outputs), "unit", "")
image = np.random.default_rng(0).uniform(size=(60, 60, 3)).astype(np.float32)
heat, _, _ = cam.grad_cam(spec, image, layer="c1")
_, projections = deconv.project(spec, image, "shortcut", [0, 3])
import actmax
rendered = actmax.render("shortcut", "0-1", model=spec, size=60, octaves=1, steps=2, rescue=0, wake=0, boost=0)
print(heat.shape, projections.shape, rendered.images.shape)
"""


def test_cam_and_deconv_compute_no_weight_gradients():
    """An eager tape computes every weight's gradient too, and TensorFlow's CPU kernel for that of a 1×1 stride-2
    conv over 8 channels at an even size corrupts memory (a user's Keras 2 emotion model aborted `cam` and
    `deconv`): both now differentiate in a graph, where only the gradient asked for is computed, as the render
    engine always has. In a subprocess, so that a crash fails this test rather than the run."""
    done = subprocess.run([sys.executable, "-c", STRIDED_1X1], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == "(60, 60) (2, 60, 60, 3) (2, 60, 60, 3)"
