"""Class names for a classifier's head: read from a user's file, checked against the head, given to its units."""

import dataclasses
import importlib
import json

import keras
import numpy as np
import pytest
from PIL import ImageFont

from actmax import models
from actmax.errors import ActmaxError, LayerError
from actmax.output import gallery


def test_names_are_read_from_text_and_from_json_lists_and_index_objects(tmp_path):
    (tmp_path / "names.txt").write_text("cat\n dog \nbird\n\n")
    (tmp_path / "list.json").write_text(json.dumps(["cat", "dog", "bird"]))
    (tmp_path / "index.json").write_text(json.dumps({"2": ["n3", "bird"], "0": ["n1", "cat"], "1": ["n2", "dog"]}))
    for name in ("names.txt", "list.json", "index.json"):
        assert models.read_names(tmp_path / name, 3) == ["cat", "dog", "bird"]


@pytest.mark.parametrize("content, expected", [
    ("cat\ndog\n", "names 2 classes and the model has 3"),
    ('{"0": "cat", "2": "dog", "3": "bird"}', "not a list of names"),
    ("[1, 2", "not a list of names"),
])
def test_a_names_file_that_does_not_name_the_classes_is_refused_in_one_line(tmp_path, content, expected):
    path = tmp_path / ("names.json" if content[0] in "[{" else "names.txt")
    path.write_text(content)
    with pytest.raises(ActmaxError, match=expected) as error:
        models.read_names(path, 3)
    assert "\n" not in str(error.value)
    with pytest.raises(ActmaxError, match="cannot read class names"):
        models.read_names(tmp_path / "missing.txt", 3)


def test_only_the_class_head_gets_names_and_a_binary_heads_unit_is_class_one(tmp_path, tiny_spec):
    (tmp_path / "four.txt").write_text("a\nb\nc\nd\n")
    assert models.unit_names(tiny_spec, "predictions", tmp_path / "four.txt") == ["a", "b", "c", "d"]
    assert models.unit_names(tiny_spec, "conv1", tmp_path / "four.txt") is None
    assert models.unit_names(tiny_spec, "predictions") is None  # a model file names nothing by itself
    with pytest.raises(LayerError, match="render its class head \\('predictions'\\)"):
        models.check_named(tiny_spec, ["conv1", "conv2"], tmp_path / "four.txt")
    body = models.ModelSpec("body", keras.Model(tiny_spec.model.inputs, tiny_spec.model.get_layer("relu2").output),
                            "unit", "")
    assert models.class_names(body) is None
    with pytest.raises(LayerError, match="model 'body' has no class head"):
        models.check_named(body, ["conv1"], tmp_path / "four.txt")
    models.check_named(tiny_spec, ["conv1", "predictions"], tmp_path / "four.txt")

    inputs = keras.Input((None, None, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3, name="c")(inputs))
    closed = keras.layers.Activation("softmax", name="probs")(keras.layers.Dense(4, name="logits")(pooled))
    separate = models.ModelSpec("separate", keras.Model(inputs, closed), "unit", "")
    for layer in ("logits", "probs"):  # the Dense's units are the classes as much as the softmax layer's
        assert models.unit_names(separate, layer, tmp_path / "four.txt") == ["a", "b", "c", "d"]
    assert models.unit_names(separate, "c", tmp_path / "four.txt") is None
    binary = models.ModelSpec("binary", keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid",
                                                                                 name="is_dog")(pooled)), "unit", "")
    (tmp_path / "two.txt").write_text("cat\ndog\n")
    assert models.unit_names(binary, "is_dog", tmp_path / "two.txt") == ["dog"]
    with pytest.raises(ActmaxError, match="names 4 classes and the model has 2"):
        models.unit_names(binary, "is_dog", tmp_path / "four.txt")


def test_a_model_file_named_like_a_keras_application_is_not_given_imagenets_names(tmp_path, monkeypatch):
    fetched, module = [], importlib.import_module("actmax.models.class_names")
    monkeypatch.setattr(module, "imagenet_names", lambda: fetched.append(1) or ("x",) * 1000)
    inputs = keras.Input((8, 8, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3)(inputs))
    keras.Model(inputs, keras.layers.Dense(1000, activation="softmax", name="predictions")(pooled)).save(
        tmp_path / "resnet50.keras")
    spec = models.load_model(str(tmp_path / "resnet50.keras"))
    assert spec.name == "resnet50" and not spec.imagenet
    assert models.unit_names(spec, "predictions") is None and not fetched  # its own 1,000 classes, unnamed
    assert models.class_names(dataclasses.replace(spec, imagenet=True)) == ["x"] * 1000


def test_a_label_wider_than_its_tile_is_cut_short_within_it():
    font = ImageFont.load_default()
    label = "#207 0.983 golden_retriever_with_a_long_name"
    short = gallery.fitted(label, font, 100)
    assert short.startswith("#207 0.983 golden") and short.endswith("…") and font.getlength(short) <= 100
    assert gallery.fitted("#3 1.5", font, 64) == "#3 1.5"
    assert gallery.fitted("#1234 1.23e-05", font, 40) == "#1234 1.23e-05"  # a number is never cut into another


def test_a_title_wider_than_its_figure_is_cut_short_within_it():
    font, figure = ImageFont.load_default(), np.zeros((20, 120, 3), np.uint8)
    title = "resnet50/conv3_block2_2_conv: guided backpropagation"
    assert gallery.clipped(title, font, 400) == title
    short = gallery.clipped(title, font, 112)
    assert short.startswith("resnet50/") and short.endswith("…") and font.getlength(short) <= 112
    strip = gallery.titled(figure, title)[:16]
    assert strip.shape == (16, 120, 3) and strip[:, -4:].max() == strip[0, 0].max()  # no text in the right margin
    nested = "convnext_digits, convnext_tiny/convnext_tiny_stage_0_block_2_pointwise_conv_2: maps 0-63"
    kept = gallery.middle_clipped(nested, font, 300)  # the model and what the figure shows; the path's middle goes
    assert kept.startswith("convnext_digits, conv") and kept.endswith("conv_2: maps 0-63") and "…" in kept
    assert font.getlength(kept) <= 300 and gallery.middle_clipped(nested, font, 1000) == nested


def test_a_class_is_taken_by_index_or_by_name_and_a_misspelt_name_gets_the_nearest():
    names = ["cat", "dog", "bird"]
    assert models.class_index("2", names) == 2 and models.class_index("dog", names) == 1
    assert models.class_index("7", None) == 7  # its range is checked where the class is used
    with pytest.raises(ActmaxError, match="did you mean bird"):
        models.class_index("brid", names)
    with pytest.raises(ActmaxError, match="name them with --class-names"):
        models.class_index("dog", None)


def test_imagenet_names_offline_fall_back_quietly(monkeypatch, capsys):
    module = importlib.import_module("actmax.models.class_names")

    def offline(*args, **kwargs):
        print("Downloading data from https://storage.googleapis.com/imagenet_class_index.json")
        raise Exception("URL fetch failure")
    monkeypatch.setattr(keras.applications.imagenet_utils, "decode_predictions", offline)
    module.imagenet_names.cache_clear()
    assert module.imagenet_names() is None and capsys.readouterr().out == ""
    module.imagenet_names.cache_clear()


def test_a_class_heads_filters_may_name_their_classes():
    names = ["cat", "dog", "black-and-tan_coonhound", "fish"]
    assert models.units_by_name("fish, 0-1,black-and-tan_coonhound", names) == "3,0-1,2"
    assert models.units_by_name("all", names) == "all" and models.units_by_name([1], names) == [1]
    assert models.units_by_name("dog", names, head=False) == "dog"  # not the head: parse_filters says what is wrong
    with pytest.raises(ActmaxError, match="classes have none; give its index, or name them with --class-names"):
        models.units_by_name("dog,1", None)
    with pytest.raises(ActmaxError, match="did you mean dog"):
        models.units_by_name("dgo", names)
