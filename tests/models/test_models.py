import keras
import numpy as np
import pytest
import tensorflow as tf

import actmax
from actmax import jobs, models
from actmax.errors import LayerError, ModelError

from conftest import tiny_cnn


def test_unknown_layer_lists_nearest_names(hed):
    with pytest.raises(LayerError, match="block5_conv1"):
        models.get_layer(hed.model, "block5_conv9")


def test_layer_without_spatial_axis_is_refused_where_a_map_is_needed(tiny_spec):
    """Where a map is needed, the classifier's head is refused with a pointer to rendering its units, a pooled
    vector without; a render (units=True) takes both, but not a layer of neither shape."""
    with pytest.raises(LayerError, match="not \\(batch, height, width, channels\\); render its units \\(one image "
                       "each\\) with 'actmax render', or pick"):
        models.get_layer(tiny_spec.model, "predictions")
    with pytest.raises(LayerError, match="channels\\); pick a convolutional layer"):
        models.get_layer(tiny_spec.model, "gap")
    assert models.filter_count(tiny_spec.model, "predictions") == 4
    assert models.resolve_layers(tiny_spec.model, ["gap", "predictions"], units=True) == ["gap", "predictions"]
    inputs = keras.Input((None, None, 3))
    tokens = keras.layers.Reshape((-1, 4))(keras.layers.Conv2D(4, 3, name="conv")(inputs))
    with pytest.raises(LayerError, match="not \\(batch, height, width, channels\\) or \\(batch, units\\); pick"):
        models.get_layer(keras.Model(inputs, tokens), "reshape", units=True)


def test_unit_layers_are_the_dense_layers_and_the_classifier_head():
    """A Dense layer, and a head that has no weights of its own (a softmax after pooling, as in small
    emotion and mobile nets) — not the pooled vector itself."""
    inputs = keras.Input((None, None, 3))
    x = keras.layers.GlobalAveragePooling2D(name="gap")(keras.layers.Conv2D(8, 3, name="conv")(inputs))
    hidden = keras.layers.Dense(6, activation="relu", name="fc")(x)
    head = keras.layers.Activation("softmax", name="probs")(keras.layers.Dropout(0.1, name="drop")(hidden))
    assert models.unit_table(keras.Model(inputs, head)) == [("fc", "Dense", 6), ("probs", "Activation", 6)]
    assert models.unit_layers(keras.Model(inputs, keras.layers.Conv2D(8, 3)(inputs))) == []


def test_a_dense_layer_on_a_map_counts_as_the_1x1_convolution_it_is():
    """ConvNeXt writes its pointwise convolutions as Dense layers on the map: `--all-layers`, the atlas and the
    sweep take them with the convolutions, and they render; the Dense head after pooling stays a unit layer."""
    inputs = keras.Input((None, None, 3))
    x = keras.layers.DepthwiseConv2D(7, padding="same", name="dw")(keras.layers.Conv2D(8, 2, 2, name="stem")(inputs))
    x = keras.layers.Dense(16, activation="gelu", name="pw1")(keras.layers.LayerNormalization(name="norm")(x))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Dense(8, name="pw2")(x))
    spec = models.ModelSpec("convnext", keras.Model(inputs, keras.layers.Dense(4, name="head")(x)), "unit", "")
    assert jobs.chosen_layers(spec, all_layers=True) == ["stem", "dw", "pw1", "pw2"]
    result = actmax.render("pw1", "0-1", model=spec, size=32, octaves=1, steps=4, rescue=0, wake=0, polish=0)
    assert result.alive.all() and result.images.std() > 0.01


def test_pre_activation_is_the_value_before_the_relu(tiny_spec):
    images = tf.random.stateless_uniform((2, 12, 12, 3), [0, 1])
    pre = models.FeatureModel(tiny_spec, ("conv1", "relu2"))(images)
    post = models.FeatureModel(tiny_spec, ("conv1", "relu2"), pre_activation=False)(images)
    for name in ("conv1", "relu2"):
        assert float(tf.reduce_min(pre[name])) < 0 <= float(tf.reduce_min(post[name]))
        np.testing.assert_allclose(tf.nn.relu(pre[name]).numpy(), post[name].numpy(), atol=1e-5)


def test_feature_model_is_truncated_at_the_layer(hed):
    features = models.FeatureModel(hed, ("block2_conv1",))
    assert "block3_conv1" not in [layer.name for layer in features.body.layers]
    assert features(tf.zeros((1, 32, 32, 3)))["block2_conv1"].shape == (1, 16, 16, 128)


def test_layer_table_reports_map_sizes(hed):
    table = {name: (shape, count) for name, _, shape, count in actmax.layer_table(hed)}
    assert table["block5_conv1"] == ((14, 14), 512) and table["block1_conv1"] == ((224, 224), 64)


def test_model_file_round_trip(tmp_path):
    path = tmp_path / "tiny.keras"
    tiny_cnn().save(path)
    spec = actmax.load_model(str(path), preprocess="unit")
    assert spec.name == "tiny" and spec.preprocess == "unit" and models.filter_count(spec.model, "conv2") == 8


def test_fixed_size_models_see_resized_images():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((24, 24, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs))
    spec = models.ModelSpec("fixed", model, "unit", "")
    assert spec.fixed_size == (24, 24)
    assert models.FeatureModel(spec, ("conv",))(tf.zeros((1, 40, 40, 3)))["conv"].shape == (1, 22, 22, 4)


@pytest.mark.parametrize("name, kwargs, message", [
    ("nope", {}, "unknown model 'nope'"),
    ("missing.keras", {}, "does not exist"),
    ("vgg16-hed", {"preprocess": "bgr"}, "unknown preprocessing"),
])
def test_bad_models(name, kwargs, message):
    with pytest.raises(ModelError, match=message):
        actmax.load_model(name, **kwargs)


def test_offline_download_failure_is_one_clear_line(monkeypatch, capsys):
    def offline(**kwargs):
        print("Downloading data from https://storage.googleapis.com/resnet50.h5")  # as keras.utils.get_file does
        raise Exception("URL fetch failure: [Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(keras.applications, "ResNet50", offline)
    with pytest.raises(ModelError, match="'resnet50'.*vgg16-hed") as info:
        actmax.load_model("resnet50")
    assert "\n" not in str(info.value) and capsys.readouterr().out == ""


def test_a_download_that_goes_ahead_is_announced(monkeypatch, capsys):
    def online(**kwargs):
        print("Downloading data from https://storage.googleapis.com/vgg16.h5")
        print("58889256/58889256 ━━━━━━━━━━━━━━━━━━━━ 2s 0us/step")
        return keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3, name="c")])
    monkeypatch.setattr(keras.applications, "VGG16", online)
    actmax.load_model("vgg16")
    assert capsys.readouterr().out.splitlines() == ["Downloading data from https://storage.googleapis.com/vgg16.h5",
                                                    "58889256/58889256 ━━━━━━━━━━━━━━━━━━━━ 2s 0us/step"]


def test_multi_input_model_is_refused(tmp_path):
    a, b = keras.Input((8, 8, 3)), keras.Input((8, 8, 3))
    keras.Model([a, b], keras.layers.Add()([a, b])).save(tmp_path / "two.keras")
    with pytest.raises(ModelError, match="one image input"):
        models.load_model(str(tmp_path / "two.keras"))


def channels_first_models() -> tuple[keras.Model, keras.Model]:
    """A Theano-era classifier (BatchNorm on axis 1, a Flatten read by a Dense) and a Sequential one holding a PReLU
    with shared axes and a nested block ending in a Concatenate on axis 1, both channels-first."""
    keras.utils.set_random_seed(0)
    first = {"data_format": "channels_first"}
    inputs = keras.Input((3, 16, 16))
    x = keras.layers.BatchNormalization(axis=1, name="bn")(keras.layers.Conv2D(4, 3, name="conv_a", **first)(inputs))
    x = keras.layers.Dropout(0.1)(keras.layers.Flatten()(keras.layers.MaxPooling2D(**first)(x)))
    theano = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="predictions")(x), name="theano")
    theano.get_layer("bn").set_weights([np.linspace(0.5, 2, 4, dtype=np.float32)] * 4)
    block_in = keras.Input((4, None, None))
    block = keras.Model(block_in, keras.layers.Concatenate(axis=1, name="cat")(
        [keras.layers.Conv2D(2, 1, name="one", **first)(block_in), keras.layers.Conv2D(3, 3, name="three", **first)(
            keras.layers.ZeroPadding2D(**first)(block_in))]), name="block")
    prelu = keras.layers.PReLU(shared_axes=[2, 3], name="prelu")
    sequential = keras.Sequential([keras.Input((3, None, None)), keras.layers.Conv2D(4, 3, name="stem", **first),
                                   prelu, block, keras.layers.GlobalAveragePooling2D(**first),
                                   keras.layers.Dense(2, activation="softmax", name="out")], name="sequential_cf")
    prelu.set_weights([np.linspace(0.1, 0.4, 4, dtype=np.float32).reshape(4, 1, 1)])
    return theano, sequential


def test_a_channels_first_model_is_rebuilt_channels_last_with_the_same_outputs_and_maps(tmp_path):
    """Read as channels last, a (3, 64, 64) input would be a 3 px tall image of 64 bands: the model is rebuilt to
    read (height, width, channels), each map and the classes as the original computes them (a Dense after a
    Flatten takes its rows in the new order; a PReLU's slopes move with their channels)."""
    images = np.random.default_rng(0).uniform(0, 1, (2, 16, 16, 3)).astype(np.float32)
    for model in channels_first_models():
        model.save(tmp_path / f"{model.name}.keras")
        spec = models.load_model(str(tmp_path / f"{model.name}.keras"), preprocess="unit")
        assert spec.channels == 3 and "rebuilt channels-last" in spec.description
        first, second = models.visual_layers(spec.model)[:2]
        traced = models.graph.trace(model)  # the original's own maps, channels first
        original = keras.Model(traced.input, [traced.outputs[0], traced.taps[first].output, traced.taps[second].output])
        expected = [np.asarray(t) for t in original(images.transpose(0, 3, 1, 2))]
        acts = models.FeatureModel(spec, (first, second, "logit"), pre_activation=False)(images)
        np.testing.assert_allclose(spec.model(images).numpy(), expected[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(acts[first].numpy(), expected[1].transpose(0, 2, 3, 1), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(acts[second].numpy(), expected[2].transpose(0, 2, 3, 1), rtol=1e-5, atol=1e-5)
    assert models.visual_layers(spec.model)[-2:] == ["block/three", "block/cat"]


def test_a_channels_first_model_whose_order_cannot_be_moved_is_refused_in_one_line():
    inputs = keras.Input((3, 16, 16))
    maps = keras.layers.Conv2D(4, 3, data_format="channels_first", name="cf")(inputs)
    with pytest.raises(ModelError, match="reads channels first and actmax cannot rebuild it channels-last: its "
                                         "layer 'reshape' \\(Reshape\\).*data_format='channels_last'") as info:
        models.load_model(keras.Model(inputs, keras.layers.Reshape((4, 196), name="reshape")(maps)))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("suffix", ["keras", "h5"])
def test_a_head_of_logits_trained_under_a_softmax_cross_entropy_is_read_through_that_softmax(tmp_path, suffix):
    """Keras's tutorials end in a linear Dense and put the softmax in the loss (from_logits=True): saved so, the
    head gets its softmax back, and its classes render, score and fire as a softmax's; saved without that loss
    (uncompiled, or a loss on probabilities) it stays as it is."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, name="outputs")])
    images = np.random.default_rng(0).uniform(0, 1, (2, 16, 16, 3)).astype(np.float32)
    logits = model(images).numpy()
    for loss, closed in [(keras.losses.SparseCategoricalCrossentropy(from_logits=True), True),
                         (keras.losses.CategoricalCrossentropy(from_logits=False), False), (None, False)]:
        path = tmp_path / f"tutorial-{closed}-{loss is None}.{suffix}"
        if loss is not None:
            model.compile("adam", loss)
        model.save(path)
        spec = models.load_model(str(path), preprocess="unit")
        head = spec.model.get_layer("outputs")
        assert models.layers.is_softmax(head) is closed and ("softmax" in spec.description) is closed
        expected = tf.nn.softmax(logits).numpy() if closed else logits
        np.testing.assert_allclose(spec.model(images).numpy(), expected, rtol=1e-5, atol=1e-6)
        assert models.firing_floor(spec.model, "outputs") == pytest.approx(1 / 3 if closed else 0.0)
    assert not models.layers.is_softmax(model.get_layer("outputs"))  # the user's own model object is not changed


def test_a_model_in_memory_compiled_under_a_softmax_of_its_logits_is_read_through_it_on_a_copy():
    """A notebook's model, just trained with from_logits=True: actmax reads a copy through the softmax, and the
    caller's model still reports its logits."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, name="outputs")])
    images = np.random.default_rng(1).uniform(0, 1, (2, 16, 16, 3)).astype(np.float32)
    logits = model(images).numpy()
    assert "softmax" not in models.load_model(model).description  # not compiled: nothing says so
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    spec = models.load_model(model, preprocess="unit")
    assert spec.model is not model and "read through that softmax" in spec.description
    np.testing.assert_allclose(spec.model(images).numpy(), tf.nn.softmax(logits).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model(images).numpy(), logits, rtol=1e-6)


def test_a_model_in_memory_renders_as_its_saved_file_does(tmp_path):
    """A notebook's freshly trained model goes straight in; it renders what its saved file renders."""
    model = tiny_cnn(seed=3)
    spec = actmax.load_model(model, preprocess="unit")
    assert (spec.name, spec.preprocess, spec.model) == (model.name, "unit", model)
    model.save(tmp_path / "tiny.keras")
    kwargs = dict(preset="classic", size=32, octaves=1, steps=5)
    direct = actmax.render("conv2", "0-1", model=model, **kwargs)
    saved = actmax.render("conv2", "0-1", model=str(tmp_path / "tiny.keras"), **kwargs)
    np.testing.assert_array_equal(direct.images, saved.images)
    with pytest.raises(ModelError, match="one image input"):
        actmax.load_model(keras.Sequential([keras.Input((16,)), keras.layers.Dense(2)]))  # no image


def test_a_file_with_a_registered_custom_layer_names_it_and_the_way_to_load_it(tmp_path):
    @keras.saving.register_keras_serializable(package="actmax_test")
    class Twice(keras.layers.Layer):
        def call(self, x):
            return 2 * x

    keras.Sequential([keras.Input((8, 8, 3)), Twice(), keras.layers.Conv2D(2, 3)]).save(tmp_path / "custom.keras")
    keras.saving.get_custom_objects().pop("actmax_test>Twice")  # a fresh process: the layer's code is not imported
    with pytest.raises(ModelError, match="uses custom 'Twice'.*--custom-code FILE.py.*custom_objects") as info:
        models.load_model(str(tmp_path / "custom.keras"))
    assert "\n" not in str(info.value)


def test_a_file_with_a_lambda_layer_loads_only_when_trusted(tmp_path):
    """Keras runs a Lambda layer's saved code as it loads, so only with safe_mode=False; the refusal says how."""
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Lambda(lambda x: 2 * x), keras.layers.Conv2D(2, 3)])
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(ModelError, match="Lambda layer.*--trust-code.*safe_mode=False") as info:
        models.load_model(str(tmp_path / "lambda.keras"))
    assert "\n" not in str(info.value)
    trusted = models.load_model(str(tmp_path / "lambda.keras"), safe_mode=False).model
    image = np.random.default_rng(0).uniform(size=(1, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(trusted(image), model(image), rtol=1e-6)


def test_a_weights_file_or_a_folder_says_what_to_save_instead(tmp_path, monkeypatch):
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3)])
    model.save_weights(tmp_path / "only.weights.h5")
    with pytest.raises(ModelError, match="holds weights only.*model.save\\('model.keras'\\)"):
        models.load_model(str(tmp_path / "only.weights.h5"))
    (tmp_path / "exported").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelError, match="'exported' is a folder \\(a TensorFlow SavedModel\\?\\)"):
        models.load_model("exported")

def test_models_without_a_layer_graph_get_one_line_on_what_to_build():
    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__(name="subclassed")
            self.conv = keras.layers.Conv2D(2, 3)

        def call(self, x):
            return self.conv(x)

    built = Subclassed()
    built(keras.ops.zeros((1, 8, 8, 3)))
    with pytest.raises(ModelError, match="'subclassed' is a subclassed keras.Model.*Functional model"):
        models.load_model(built)
    with pytest.raises(ModelError, match="^model 'unbuilt' has no known input shape; start it with keras.Input"):
        models.load_model(keras.Sequential([keras.layers.Conv2D(2, 3)], name="unbuilt"))  # said once, not wrapped

def test_logits_are_the_pre_softmax_scores(tiny_spec):
    images = tf.random.stateless_uniform((2, 16, 16, 3), [0, 2])
    logits = models.FeatureModel(tiny_spec, ("logit",), pre_activation=False)(images)["logit"]
    np.testing.assert_allclose(tf.nn.softmax(logits).numpy(), tiny_spec.model(images).numpy(), atol=1e-5)


def test_a_softmax_layer_gives_each_classs_log_odds_finite_where_one_class_takes_all(tiny_spec):
    """Rendered, a softmax head's unit is its class's log-odds, log(p / (1 - p)), which a probability near 1 leaves
    finite (a segmenter's softmax, one per pixel, too); the scores keep the probabilities."""
    logits = tf.constant([[1.0, 2.0, 3.0, 0.0], [100.0, 0.0, -5.0, 0.0], [0.0, 0.0, 0.0, 0.0], [5.0, 5.0, 1.0, 0.0]])
    odds = models.features.log_odds(logits).numpy()
    p = tf.nn.softmax(tf.cast(logits, tf.float64)).numpy()
    np.testing.assert_allclose(odds[[0, 2, 3]], np.log(p[[0, 2, 3]] / (1 - p[[0, 2, 3]])), rtol=1e-5)
    np.testing.assert_allclose(odds[1], [100 - np.log(2 + np.exp(-5)), -100 - np.log1p(np.exp(-100)), -105, -100],
                               rtol=1e-6)
    with tf.GradientTape() as tape:
        tape.watch(logits)
        top = models.features.log_odds(logits)[1, 0]
    np.testing.assert_allclose(tape.gradient(top, logits)[1].numpy(), [1, -1 / (2 + np.exp(-5)),
                                                                       -np.exp(-5) / (2 + np.exp(-5)),
                                                                       -1 / (2 + np.exp(-5))], atol=1e-6)
    np.testing.assert_allclose(models.features.log_odds(tf.reshape(logits, (2, 2, 1, 4))).numpy().reshape(4, 4), odds)
    images = tf.random.stateless_uniform((2, 16, 16, 3), [0, 3])
    rendered = models.FeatureModel(tiny_spec, ("predictions",))(images)["predictions"]
    scored = models.scoring_features(tiny_spec, "predictions")(images)["predictions"]
    np.testing.assert_allclose(tf.sigmoid(rendered).numpy(), scored.numpy(), atol=1e-5)


def test_conv_body_has_no_logits(hed):
    with pytest.raises(LayerError, match="no classifier head"):
        models.FeatureModel(hed, ("logit",))


@pytest.mark.parametrize("constructor, preprocess, layers", [
    ("ResNet50", "caffe", ("conv4_block2_out",)),  # a residual Add
    ("InceptionV3", "tf", ("mixed2",)),  # a Concatenate of branches
    ("MobileNetV2", "tf", ("block_3_expand", "block_6_project_BN")),
])
def test_other_architectures_render(constructor, preprocess, layers):
    keras.utils.set_random_seed(0)
    model = getattr(keras.applications, constructor)(weights=None, include_top=False, input_shape=(None, None, 3))
    spec = models.ModelSpec(constructor.lower(), model, preprocess, "random weights")
    for layer in layers:
        result = actmax.render(layer, "0-1", model=spec, size=80, octaves=2, steps=2, octave_scale=1.1, rescue=2,
                               revive=4, wake=4)  # every pass that runs, on a few steps
        assert result.images.shape == (2, 80, 80, 3) and np.isfinite(result.activations).all()


def test_selected_channels_equal_the_full_layer(hed):
    images = tf.random.stateless_uniform((3, 40, 40, 3), [3, 4])
    index = tf.Variable([7, 0, 200])
    for pre in (True, False):
        full = models.FeatureModel(hed, ("block3_conv1",), pre_activation=pre)(images)["block3_conv1"]
        picked = models.FeatureModel(hed, ("block3_conv1",), pre_activation=pre,
                                     select={"block3_conv1": index})(images)["block3_conv1"]
        assert picked.shape == (3, 10, 10, 3)
        np.testing.assert_allclose(picked.numpy(), tf.gather(full, index, axis=-1).numpy(), rtol=1e-4, atol=1e-3)
    assert not models.sliceable(models.get_layer(hed.model, "block3_pool"))


def test_a_dense_layer_on_a_map_computes_only_the_selected_channels_as_a_conv_does():
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Dense(12, activation="gelu", name="pointwise")(keras.layers.Conv2D(6, 3, name="conv")(inputs))
    head = keras.layers.Dense(4, activation="softmax", name="head")(keras.layers.GlobalAveragePooling2D()(x))
    spec = models.ModelSpec("convnext", keras.Model(inputs, head), "unit", "")
    images, index = tf.random.stateless_uniform((3, 16, 16, 3), [1, 2]), tf.Variable([7, 0, 11])
    for leak in (0.0, 0.05):
        full = models.FeatureModel(spec, ("pointwise",), pre_activation=False, leak=leak)(images)["pointwise"]
        picked = models.FeatureModel(spec, ("pointwise",), pre_activation=False, leak=leak,
                                     select={"pointwise": index})(images)["pointwise"]
        assert picked.shape == (3, 14, 14, 3)
        np.testing.assert_allclose(picked.numpy(), tf.gather(full, index, axis=-1).numpy(), rtol=1e-5, atol=1e-5)
    assert not models.sliceable(models.get_layer(spec.model, "head", units=True))  # a softmax needs every class
