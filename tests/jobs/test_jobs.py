import json
import os

import numpy as np
import pytest
from PIL import Image

import actmax
from actmax.output import imaging
from actmax.site import pages
from actmax import jobs
from actmax.errors import ActmaxError, ImageError, OutputError

from conftest import ROCKET, SMALL


@pytest.fixture(scope="module")
def rendering(hed):
    return actmax.render("block2_conv1", "1,4,6", model=hed, **SMALL)


def test_save_writes_pngs_gallery_and_manifest(rendering, tmp_path):
    gallery = actmax.save_rendering(rendering, tmp_path / "out", margin=2, labels=False)
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["filter_0001.png", "filter_0004.png", "filter_0006.png", "gallery.png", "index.html",
                     "manifest.json"]
    saved = np.asarray(Image.open(tmp_path / "out" / "filter_0004.png"))
    np.testing.assert_array_equal(saved, imaging.to_uint8(rendering.images[1]))
    grid = np.asarray(Image.open(gallery))  # 32 px tiles shown at 64 px, pixel for pixel
    assert grid.shape == (2 * 64 + 3 * 2, 2 * 64 + 3 * 2, 3)
    np.testing.assert_array_equal(grid[2:66, 68:132], saved.repeat(2, axis=0).repeat(2, axis=1))
    assert '<div class="grid crisp">' in (tmp_path / "out" / "index.html").read_text()  # shown blocky, not smoothed
    big = pages.gallery_page(tmp_path, [(tmp_path, {"settings": {"size": 64}}, [])], crisp_below=64)
    assert '<div class="grid">' in big


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
    assert jobs.label({"index": 3, "activation": 1.5, "alive": True}) == "#3 1.5"
    assert jobs.label({"index": 4, "activation": 0.0, "alive": False}) == "#4 dead"


def test_load_image_honours_exif_rotation(tmp_path):
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    image.save(tmp_path / "rotated.jpg", exif=exif)
    assert imaging.load_image(tmp_path / "rotated.jpg").shape == (40, 20, 3)
    assert imaging.load_image(tmp_path / "rotated.jpg", size=10).shape == (10, 5, 3)


JOB = dict(size=32, octaves=2, steps=3, batch=2)


def test_job_resumes_only_what_is_missing(hed, tmp_path):
    path, rendered, reused, _ = jobs.render_job("block1_conv1", "0-3", out=tmp_path, model=hed, **JOB)
    assert (rendered, reused) == (4, 0) and path.name == "gallery.png"
    before = (tmp_path / "filter_0002.png").stat().st_mtime_ns
    (tmp_path / "filter_0003.png").unlink()
    _, rendered, reused, _ = jobs.render_job("block1_conv1", "0-5", out=tmp_path, model=hed, **JOB)
    assert (rendered, reused) == (3, 3)  # 3 was lost, 4 and 5 are new
    assert (tmp_path / "filter_0002.png").stat().st_mtime_ns == before
    data = json.loads((tmp_path / "manifest.json").read_text())
    assert [f["index"] for f in data["filters"]] == [0, 1, 2, 3, 4, 5]
    _, rendered, reused, _ = jobs.render_job("block1_conv1", "0-5", out=tmp_path, model=hed, overwrite=True, **JOB)
    assert (rendered, reused) == (6, 0)


def test_job_refuses_to_mix_settings(hed, tmp_path):
    jobs.render_job("block1_conv1", "0-1", out=tmp_path, model=hed, **JOB)
    with pytest.raises(OutputError, match="other settings"):
        jobs.render_job("block1_conv1", "0-1", out=tmp_path, model=hed, **{**JOB, "steps": 4})


def test_shards_cover_every_filter_once_and_merge(hed, tmp_path):
    for shard in ("0/2", "1/2"):
        path = jobs.render_job("block1_conv1", "0-4", out=tmp_path, model=hed, shard=shard, **JOB).path
        assert path.name == f"manifest-shard-{shard[0]}-of-2.json"
    parts = [json.loads(p.read_text()) for p in sorted(tmp_path.glob("manifest-shard-*.json"))]
    assert [[f["index"] for f in p["filters"]] for p in parts] == [[0, 2, 4], [1, 3]]
    jobs.build_site(tmp_path)
    assert [f["index"] for f in json.loads((tmp_path / "manifest.json").read_text())["filters"]] == [0, 1, 2, 3, 4]
    assert (tmp_path / "gallery.png").exists() and "filter_0003.png" in (tmp_path / "index.html").read_text()


@pytest.mark.parametrize("text, message", [("2/2", "0 <= i < N"), ("a/b", "bad shard"), ("1", "bad shard")])
def test_bad_shards(text, message):
    with pytest.raises(ActmaxError, match=message):
        jobs.parse_shard(text)


def test_gallery_rebuild_sorts_and_keeps_top(hed, tmp_path):
    jobs.render_job("block1_conv1", "0-5", out=tmp_path, model=hed, **JOB)
    jobs.build_gallery(tmp_path, top=2, sort="activation", labels=False, margin=1)
    data = json.loads((tmp_path / "manifest.json").read_text())
    strongest = sorted(data["filters"], key=lambda f: -f["activation"])[:2]
    assert data["gallery"]["filters"] == [f["index"] for f in strongest]
    assert np.asarray(Image.open(tmp_path / "gallery.png")).shape == (64 + 2, 2 * 64 + 3, 3)


def test_killed_job_leaves_valid_files_and_resume_finishes_exactly(tmp_path):
    import signal
    import subprocess
    import sys
    import time
    command = [sys.executable, "-m", "actmax", "render", "block1_conv1", "--filters", "0-9", "--batch", "2",
               "--size", "32", "--octaves", "2", "--steps", "25", "--out", str(tmp_path), "-q"]
    job = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len((jobs.read_manifest(tmp_path / "manifest.json") or {}).get("filters", [])) < 2:
        time.sleep(0.05)
    job.send_signal(signal.SIGKILL)
    job.wait()
    data = json.loads((tmp_path / "manifest.json").read_text())  # valid JSON at any moment
    assert 2 <= len(data["filters"]) < 10
    for entry in data["filters"]:
        Image.open(tmp_path / entry["file"]).load()
    finished = subprocess.run(command, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert f"{10 - len(data['filters'])} rendered, {len(data['filters'])} reused" in finished.stdout
    final = json.loads((tmp_path / "manifest.json").read_text())
    assert [f["index"] for f in final["filters"]] == list(range(10))
    for entry in final["filters"]:
        Image.open(tmp_path / entry["file"]).load()
    assert not list(tmp_path.glob(".*.tmp")) and (tmp_path / "gallery.png").exists()


def test_written_files_are_readable_by_others(tmp_path):
    imaging.save_json(tmp_path / "a.json", {})
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o666 & ~imaging._UMASK  # not mkstemp's 0o600


def test_load_image_as_grey_for_grey_models(tmp_path):
    Image.new("RGB", (8, 4), (255, 0, 0)).save(tmp_path / "red.png")
    grey = imaging.load_image(tmp_path / "red.png", channels=1)
    assert grey.shape == (4, 8, 1) and abs(float(grey.mean()) - 76 / 255) < 0.01  # ITU-R 601 luma of red


def test_new_folder_keeps_other_runs_and_resumes_its_own(hed, tmp_path):
    out = tmp_path / "block1_conv1"
    jobs.render_job("block1_conv1", "0-1", out=out, model=hed, **JOB)
    other = jobs.render_job("block1_conv1", "0-1", out=out, model=hed, new_folder=True, **{**JOB, "steps": 4})
    assert other.path.parent.name == "block1_conv1-2" and other.rendered == 2
    again = jobs.render_job("block1_conv1", "0-1", out=out, model=hed, new_folder=True, **{**JOB, "steps": 4})
    assert again.path.parent.name == "block1_conv1-2" and again.reused == 2
    assert json.loads((out / "manifest.json").read_text())["settings"]["steps"] == 3


def test_figures_made_otherwise_get_a_new_name(tmp_path):
    picture = np.zeros((4, 4, 3), np.uint8)
    first = jobs.save_figure(tmp_path / "rocket.png", picture, {"layer": "a", "steps": 2})
    same = jobs.save_figure(tmp_path / "rocket.png", picture, {"layer": "a", "steps": 2})
    other = jobs.save_figure(tmp_path / "rocket.png", picture, {"layer": "b", "steps": 2})
    assert (first.name, same.name, other.name) == ("rocket.png", "rocket.png", "rocket-2.png")
    assert json.loads((tmp_path / "rocket-2.json").read_text())["layer"] == "b"


@pytest.mark.parametrize("image, from_noise", [(None, False), (ROCKET, True)])
def test_dream_needs_exactly_one_source(hed, tmp_path, image, from_noise):
    with pytest.raises(ActmaxError, match="--from-noise"):
        jobs.dream_job(hed, image, from_noise=from_noise, out=tmp_path)
    assert not any(tmp_path.iterdir())


def test_a_large_photo_dreamed_at_its_own_size_gets_a_note_of_a_quicker_size(tmp_path):
    import keras
    from actmax.optvis import dream
    inputs = keras.Input((None, None, 3))
    spec = actmax.load_model(keras.Model(inputs, keras.layers.Conv2D(2, 3, name="conv")(inputs)))
    Image.new("RGB", (2100, 1000), "grey").save(tmp_path / "large.png")
    notes, quick = [], dream.DreamSettings(octaves=1, steps=1)
    for size in (None, 1024):
        jobs.dream_job(spec, tmp_path / "large.png", layers=["conv"], size=size, settings=quick, note=notes.append,
                       out=tmp_path / "dream")
    assert notes == ["dreaming at the photo's own 2100×1000 px; --size 1024 is about 4× quicker"]


def test_examples_job_adds_to_an_earlier_run_and_counts_unreadable(hed, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(1)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (48, 40, 3), np.uint8)).save(photos / f"p{i}.png")
    (photos / "broken.png").write_bytes(b"no")
    out = tmp_path / "ex"
    first = jobs.examples_job(hed, [photos / "p0.png"], "block2_conv1", "0,2,4,6", top=2, size=32, out=out)
    assert (first.images, first.new, first.skipped) == (1, 1, 0)
    again = jobs.examples_job(hed, [photos], "block2_conv1", "0,2,4,6", top=2, size=32, out=out)
    assert (again.images, again.new, again.skipped) == (3, 2, 1)  # readable images; the broken file apart
    saved = json.loads((out / "examples.json").read_text())
    assert [len(u["examples"]) for u in saved["units"]] == [0, 2, 2, 2]  # filter 0 fires on none of these photos
    for unit in saved["units"]:
        for example in unit["examples"]:
            assert (out / example["file"]).is_file() and not example["image"].endswith("broken.png")
    assert Image.open(again.path).size[0] > 2 * 96
    with pytest.raises(OutputError, match="other settings"):
        jobs.examples_job(hed, [photos], "block2_conv1", "0,2,4,6", top=3, size=32, out=out)
    with pytest.raises(ImageError, match="none of the 1 files given could be read as an image"):
        jobs.examples_job(hed, [photos / "broken.png"], "block2_conv1", "0", out=tmp_path / "none")
    assert not (tmp_path / "none").exists()


def test_a_fixed_size_model_says_when_its_own_size_overrides_the_size_asked(tiny_spec):
    import keras
    from actmax.jobs.runs import fixed_size_note

    def spec(height, width):
        inputs = keras.Input((height, width, 1))
        return actmax.models.ModelSpec("fixed", keras.Model(inputs, keras.layers.Conv2D(2, 3)(inputs)), "unit", "")

    assert fixed_size_note(spec(28, 40), 64) == "model 'fixed' takes 40×28 px images: rendering at that size, not 64×64"
    assert fixed_size_note(spec(28, 40), "40x28") is None and fixed_size_note(spec(28, 40), None) is None
    assert fixed_size_note(spec(32, None), "64x32") is None  # a text-line model: only its height is fixed
    expected = "model 'fixed' takes 64×32 px images: rendering at that size, not 64×64"
    assert fixed_size_note(spec(32, None), 64) == expected
    assert fixed_size_note(tiny_spec, "64x48") is None
