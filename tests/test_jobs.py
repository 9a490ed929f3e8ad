import json
import os

import numpy as np
import pytest
from PIL import Image

import actmax
from actmax import imaging, jobs
from actmax.errors import OutputError

from conftest import SMALL


@pytest.fixture(scope="module")
def rendering(hed):
    return actmax.render("block2_conv1", "1,4,6", model=hed, **SMALL)


def test_save_writes_pngs_gallery_and_manifest(rendering, tmp_path):
    gallery = actmax.save_rendering(rendering, tmp_path / "out", margin=2, labels=False)
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["filter_0001.png", "filter_0004.png", "filter_0006.png", "gallery.png", "manifest.json"]
    saved = np.asarray(Image.open(tmp_path / "out" / "filter_0004.png"))
    np.testing.assert_array_equal(saved, imaging.to_uint8(rendering.images[1]))
    assert np.asarray(Image.open(gallery)).shape == (2 * 32 + 3 * 2, 2 * 32 + 3 * 2, 3)


def test_manifest_holds_model_layer_settings_and_scores(rendering, tmp_path):
    actmax.save_rendering(rendering, tmp_path)
    data = json.loads((tmp_path / "manifest.json").read_text())
    assert data["model"] == "vgg16-hed" and data["layer"] == "block2_conv1"
    assert data["settings"]["size"] == 32 and data["settings"]["steps"] == 4 and data["seed"] == 0
    assert [f["index"] for f in data["filters"]] == [1, 4, 6]
    assert [f["activation"] for f in data["filters"]] == pytest.approx(rendering.activations.tolist())
    assert all(f["alive"] == (f["activation"] > 0) for f in data["filters"])
    assert data["versions"]["tensorflow"] and data["seconds"] > 0
    assert data["gallery"]["file"] == "gallery.png"


def test_atomic_write_leaves_old_file_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "manifest.json"
    imaging.save_json(target, {"old": True})

    def crash(*args):
        raise KeyboardInterrupt
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        imaging.save_json(target, {"new": True})
    assert json.loads(target.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_unwritable_output_is_refused_before_anything_is_made(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="not a writable folder"):
        imaging.check_writable(blocker / "sub")
    imaging.check_writable(tmp_path / "new" / "deeper")
    assert not (tmp_path / "new").exists()


def test_labels_mark_dead_filters():
    class Fake:
        filters, activations, alive = [3, 4], np.array([1.5, 0.0]), np.array([True, False])
    assert jobs.labels_for(Fake) == ["#3 1.5", "#4 dead"]


def test_load_image_honours_exif_rotation(tmp_path):
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    image.save(tmp_path / "rotated.jpg", exif=exif)
    assert imaging.load_image(tmp_path / "rotated.jpg").shape == (40, 20, 3)
    assert imaging.load_image(tmp_path / "rotated.jpg", size=10).shape == (10, 5, 3)
