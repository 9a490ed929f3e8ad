"""Dataset examples: the streaming top-K equals brute force, runs add up, unreadable images are counted."""

import json

import keras
import numpy as np
import pytest
from PIL import Image

from actmax import models
from actmax.errors import LayerError
from actmax.inspect import examples

SIZE, TOP = 32, 3


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Twelve small random photos in nested folders, and one file that is not an image."""
    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for i in range(12):
        folder = root / ("a" if i % 2 else "b/c")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (40 + i, 36, 3), np.uint8)).save(folder / f"p{i:02d}.png")
    (root / "broken.jpg").write_bytes(b"not a jpeg")
    return root


def brute_force(spec, layer, paths, filters):
    """Every image's whole activation map on the host, then a stable sort per filter."""
    features = models.FeatureModel(spec, (layer,), pre_activation=False)
    maps = np.stack([features(examples.imaging.load_square(p, SIZE)[None])[layer].numpy()[0] for p in paths])
    maps = maps[..., filters].reshape(len(paths), -1, len(filters))
    peaks, spots = maps.max(axis=1), maps.argmax(axis=1)
    order = np.argsort(-peaks, axis=0, kind="stable")[:TOP].T
    return (np.take_along_axis(peaks.T, order, 1), order, np.take_along_axis(spots.T, order, 1))


def test_streaming_top_k_equals_brute_force(tiny_spec, photos):
    paths = examples.image_paths([photos])
    found = examples.collect(tiny_spec, "conv2", paths, filters=[0, 3, 5], top=TOP, size=SIZE, batch=5)
    readable = [p for p in paths if not p.endswith("broken.jpg")]
    scores, order, spots = brute_force(tiny_spec, "conv2", readable, [0, 3, 5])
    np.testing.assert_allclose(found.scores, scores, rtol=1e-5)
    assert [[found.paths[i] for i in row] for row in found.images] == [[readable[i] for i in row] for row in order]
    np.testing.assert_array_equal(found.peaks, spots)
    assert found.skipped == [str(photos / "broken.jpg")] and len(paths) == 13


def test_a_filter_silent_on_every_image_has_no_examples(photos):
    """A photo on which a filter never fires shows nothing of what it responds to; listing it as a top example
    would."""
    inputs = keras.Input((None, None, 3))
    conv = keras.layers.Conv2D(2, 3, activation="relu", name="conv")
    spec = models.ModelSpec("silent", keras.Model(inputs, conv(inputs)), "unit", "")
    conv.set_weights([np.stack([np.ones((3, 3, 3)), np.zeros((3, 3, 3))], axis=-1), np.array([0.0, -1.0])])
    found = examples.collect(spec, "conv", examples.image_paths([photos]), filters=[0, 1], top=TOP, size=SIZE)
    assert (found.images[0] >= 0).all() and (found.scores[0] > 0).all()
    assert (found.images[1] == -1).all() and np.isneginf(found.scores[1]).all()


def test_a_second_run_with_more_images_equals_one_run_over_all(tiny_spec, photos):
    paths = examples.image_paths([photos])
    once = examples.collect(tiny_spec, "conv2", paths, filters=[1, 2], top=TOP, size=SIZE, batch=4)
    first = examples.collect(tiny_spec, "conv2", paths[:5], filters=[1, 2], top=TOP, size=SIZE, batch=4)
    both = examples.collect(tiny_spec, "conv2", paths, filters=[1, 2], top=TOP, size=SIZE, batch=4, previous=first)
    assert both.paths == once.paths and both.skipped == once.skipped
    for a, b in ((both.scores, once.scores), (both.images, once.images), (both.peaks, once.peaks)):
        np.testing.assert_array_equal(a, b)


def test_boxes_hold_the_peak(hed, photos):
    found = examples.collect(hed, "block3_conv1", examples.image_paths([photos / "a"]), filters=[4], top=2,
                             size=64)
    (top, left, bottom, right), (y, x) = found.boxes(hed)[0, 0], found.positions[0, 0]
    assert 0 <= top < bottom <= 64 and 0 <= left < right <= 64
    assert top <= y * 4 < bottom and left <= x * 4 < right  # block3 maps are 4x smaller than the image


def test_boxes_of_a_fixed_non_square_model_are_in_the_photo_frame():
    """A model fixed at 20x40 sees each square photo squeezed to that size: its boxes scale back to the photo."""
    inputs = keras.Input((20, 40, 1))
    spec = models.ModelSpec("wide", keras.Model(inputs, keras.layers.Conv2D(
        1, 3, padding="same", name="conv")(inputs)), "unit", "")
    corner = examples.Examples("conv", [0], 40, 40, ["p.png"], np.zeros((1, 1), np.float32), np.zeros((1, 1), int),
                               np.array([[19 * 40 + 39]]), [])
    assert corner.boxes(spec)[0, 0].tolist() == [36, 38, 40, 40]  # rows 18-20 of 20, twice as tall in the photo


def test_a_classifiers_classes_have_whole_photo_examples_ranked_by_probability(tmp_path):
    """A class head's examples are the photos the model gives that class most confidently, whole (the unit has no
    map); a photo at or below chance (1 / classes) is no example of it."""
    from actmax.jobs.examples_job import examples_job
    inputs = keras.Input((None, None, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(3, 1, name="detect")(inputs))
    head = keras.layers.Dense(3, activation="softmax", name="colours")
    model = keras.Model(inputs, head(pooled))
    model.get_layer("detect").set_weights([np.eye(3, dtype=np.float32).reshape(1, 1, 3, 3), np.zeros(3, np.float32)])
    head.set_weights([8 * np.eye(3, dtype=np.float32), np.zeros(3, np.float32)])
    spec = models.ModelSpec("colours", model, "unit", "")
    for name, colour in [("red", (220, 30, 30)), ("pink", (200, 110, 110)), ("green", (30, 220, 30))]:
        Image.fromarray(np.full((20, 30, 3), colour, np.uint8)).save(tmp_path / f"{name}.png")
    (tmp_path / "names.txt").write_text("red\ngreen\nblue\n")
    with pytest.raises(LayerError, match="render its class head \\('colours'\\)"):
        examples_job(spec, [tmp_path], "detect", "all", out=tmp_path / "refused", class_names=tmp_path / "names.txt")
    assert not (tmp_path / "refused").exists()
    done = examples_job(spec, [tmp_path], "colours", "all", top=3, size=SIZE, out=tmp_path / "out",
                        class_names=tmp_path / "names.txt")
    saved = json.loads((done.path.parent / "examples.json").read_text())  # what a user reads
    units = {unit["index"]: unit["examples"] for unit in saved["units"]}
    assert saved["names"] == ["red", "green", "blue"]
    assert [e["image"].rsplit("/", 1)[1] for e in units[0]] == ["red.png", "pink.png"] and not units[2]
    assert [e["image"].rsplit("/", 1)[1] for e in units[1]] == ["green.png"]
    probabilities = model(np.stack([examples.imaging.load_square(str(tmp_path / n), SIZE) for n in
                                    ("red.png", "pink.png")])).numpy()[:, 0]
    np.testing.assert_allclose([e["score"] for e in units[0]], probabilities, rtol=1e-5)
    assert all(e["box"] == [0, 0, SIZE, SIZE] for e in units[0])
