"""Which items each second-chance pass takes (actmax.optvis.picks)."""

import keras
import numpy as np

import actmax
from actmax.optvis import metrics, picks


def test_an_image_that_loses_half_its_activation_when_perturbed_is_weak(monkeypatch):
    """Alive and filling its map is not enough: an image whose activation halves under a small shift, scale or
    rotation (above the layer's firing floor) gets the classic-schedule pass too."""
    part = actmax.Rendering("m", "conv", [0, 1, 2], np.zeros((3, 4, 4, 3), np.float32), np.array([1.0, 1.0, 1.0]),
                            np.zeros(3), actmax.PRESETS["default"], 0, 0.0)
    monkeypatch.setattr(metrics, "activity", lambda spec, layer, images, filters: (part.activations, np.ones(3)))
    assert picks.weak_items(None, part, np.array([0.9, 0.4, 0.6])) == [1]
    part.floor = 0.5  # a sigmoid: 0.9 above it, and 0.55 keeps only an eighth of that
    part.activations = np.array([0.9, 0.9, 0.9])
    assert picks.weak_items(None, part, np.array([0.8, 0.55, 0.75])) == [1]


def test_a_flat_colour_is_tried_where_it_beats_a_pattern_that_holds_its_filter_no_better(monkeypatch):
    part = actmax.Rendering("m", "conv", [0, 1, 2, 3, 4, 5, 6], np.zeros((7, 4, 4, 3), np.float32),
                            np.array([1.0, 0.5, -1.0, -1.0, 1.0, 1.0, 0.43]), np.zeros(7), actmax.PRESETS["default"],
                            0, 0.0)
    flats = np.array([[1.2, 1.2, 0.1, -0.5, 1.1, 1.1, 0.48],
                      [0.0, 0.0, 0.0, -0.2, 0.0, 0.0, 0.0]])  # two flat colours, per filter
    colours = np.ones((7, 3), np.float32)  # white tiles; the images are black
    monkeypatch.setattr(metrics, "best_flat", lambda spec, layer, shape, count, filters: (
        colours[list(filters)], flats.max(axis=0)[list(filters)]))
    held = {0.0: np.array([1.5, 1.5, 0, 0, 1.0, 1.5, -0.98]),  # the images at equal contrast
            1.0: np.array([1.2, 1.2, 1.2, 1.2, 1.2, 1.2, -1.0])}  # the white tiles
    monkeypatch.setattr(metrics, "pattern_hold",
                        lambda spec, layer, images, filters: held[float(images.max())][list(filters)])
    monkeypatch.setattr(picks, "called_their_class", lambda spec, part, items, colours: np.ones(len(items), bool))
    # 0, 5 and (by 2.4×) 1 are beaten, but their patterns hold better at equal contrast; 2 (a colour that fires a
    # silent image) and 4: theirs hold worse; 3's colour, -0.2, does not fire; 6 (a colour unit): its pattern holds
    # it better than the washed tile does, but neither fires it at equal contrast
    assert picks.flat_items(None, part, None) == [2, 4, 6]


def test_a_softmax_class_gets_no_flat_tile_that_the_model_calls_another_class():
    """A flat tile may stand for a class only where the model gives that tile the class (a MobileNet's class 4 lost
    its pattern to a black tile at p = 0.15 that the model calls a 1); a conv's filters have no such test."""
    inputs = keras.Input((8, 8, 3))
    head = keras.layers.Dense(3, activation="softmax", name="classes")
    model = keras.Model(inputs, head(keras.layers.GlobalAveragePooling2D()(inputs)))
    head.set_weights([np.array([[9, 0, 0], [0, 0, 0], [0, 0, 0]], np.float32), np.array([0, 2, 1], np.float32)])
    spec = actmax.load_model(model, preprocess="unit")  # black: class 1 (bias 2); white: class 0 (9 + 0 > 2)
    part = actmax.Rendering("m", "classes", [0, 1, 2], np.zeros((3, 8, 8, 3), np.float32), np.zeros(3), np.zeros(3),
                            actmax.PRESETS["default"], 0, 0.0)
    black, white = np.zeros((3, 3), np.float32), np.ones((3, 3), np.float32)
    assert picks.called_their_class(spec, part, np.arange(3), black).tolist() == [False, True, False]
    assert picks.called_their_class(spec, part, np.array([0, 2]), white[:2]).tolist() == [True, False]
    conv = actmax.Rendering("m", "block1_conv1", [0, 1], np.zeros((2, 32, 32, 3), np.float32), np.zeros(2),
                            np.zeros(2), actmax.PRESETS["default"], 0, 0.0)
    assert picks.called_their_class(actmax.load_model("vgg16-hed"), conv, np.arange(2), black[:2]).all()


def test_a_tone_is_tried_where_a_flat_tile_of_it_drives_the_filter_more_than_half_as_hard(monkeypatch):
    images = np.full((4, 4, 4, 3), 0.5, np.float32)
    part = actmax.Rendering("m", "conv", [0, 1, 2, 3], images, np.array([1.0, 1.0, 1.0, -1.0]), np.zeros(4),
                            actmax.PRESETS["default"], 0, 0.0)
    targets = np.array([[0, 0, 0], [0, 0, 0], [0.5, 0.5, 0.5], [1, 1, 1]], np.float32)
    monkeypatch.setattr(metrics, "best_flat", lambda *args: (targets, np.array([0.6, 0.4, 0.9, 0.1])))
    assert picks.toned_items(None, part, None) == [0, 3]  # 2 is that colour already; 3 is silent, its tone fires it


def test_only_images_with_a_pattern_are_polished():
    images = np.full((3, 8, 8, 3), 0.5, np.float32)
    images[1, ::2] = 0.7  # stripes
    part = actmax.Rendering("m", "conv", [0, 1, 2], images, np.ones(3), np.zeros(3), actmax.PRESETS["default"], 0, 0.0)
    assert picks.patterned_items(None, part, np.ones(3)) == [1]
