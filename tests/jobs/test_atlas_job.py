"""The atlas job: resumable renders per layer, variants, examples drawn from one copy of each photo, the site."""

import json

import keras
import pytest

import actmax
from actmax import jobs
from actmax.errors import ActmaxError, FilterError, OutputError

from conftest import DATA

FAST = dict(size=32, octaves=1, steps=3, quiet=True)


@pytest.fixture(scope="module")
def built(hed, tmp_path_factory):
    out = tmp_path_factory.mktemp("atlas")
    done = jobs.atlas_job(hed, ["block1_conv1", "block3_conv1"], "2-4", images=[DATA], top=2, photo_size=48,
                          variants=2, out=out, **FAST)
    return out, done


def test_every_layer_gets_renders_variants_examples_and_pages(built):
    out, done = built
    assert (done.path, done.units, done.rendered) == (out / "index.html", 6, 12)
    for stem in ("block1_conv1", "block3_conv1"):
        assert sorted(p.name for p in (out / stem / "render").glob("filter_*.png")) == [
            "filter_0002.png", "filter_0003.png", "filter_0004.png"]
        assert len(list((out / stem / "variant-1").glob("filter_*.png"))) == 3
        assert sorted(p.name for p in (out / stem).glob("unit_*.html")) == [
            "unit_0002.html", "unit_0003.html", "unit_0004.html"]
        assert len(list((out / stem / "thumbs").glob("*.jpg"))) == 3
    assert (out / "weights.png").is_file() and (out / "assets" / "atlas.js").is_file()


def test_examples_are_drawn_from_one_copy_of_each_photo(built):
    out, _ = built
    saved = json.loads((out / "block3_conv1" / "examples" / "examples.json").read_text())
    assert saved["size"] == 48 and len(saved["paths"]) == len(list(DATA.rglob("*.jpg")))
    assert not list((out / "block3_conv1" / "examples").glob("filter_*"))  # no per-example files in an atlas
    photos = {e["image"] for unit in saved["units"] for e in unit["examples"]}
    assert len(list((out / "photos").glob("*.jpg"))) >= len(photos)
    page = (out / "block3_conv1" / "unit_0003.html").read_text()
    assert page.count('class="mark"') == 2 and "../photos/" in page and "variant-1/filter_0003.png" in page


def test_a_rerun_resumes_and_adds_layers(hed, built):
    out, _ = built
    again = jobs.atlas_job(hed, ["block1_conv1", "block2_conv1"], "2-4", out=out, **FAST)
    assert again.rendered == 3 and again.units == 9  # only block2_conv1 was new; the index shows all three
    index = (out / "index.html").read_text()
    assert all(f'href="{stem}/index.html"' in index for stem in ("block1_conv1", "block2_conv1", "block3_conv1"))


@pytest.mark.parametrize("change, error, message", [
    (dict(preset="classic"), OutputError, "holds an atlas of vgg16-hed \\(preset default"),
    (dict(filters="2-70"), FilterError, "block1_conv1"),
    (dict(images=["/nonexistent-photos"]), ActmaxError, "does not exist"),
    (dict(images=[__file__]), ActmaxError, "none of the 1 files given could be read as an image"),
])
def test_bad_calls_fail_before_touching_the_atlas(hed, built, change, error, message):
    out, _ = built
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    call = dict(filters="2-4", **FAST) | change
    with pytest.raises(error, match=message):
        jobs.atlas_job(hed, ["block1_conv1", "block3_conv1"], call.pop("filters"), out=out, **call)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before


def test_a_sequential_model_with_a_nested_block(tmp_path):
    keras.utils.set_random_seed(0)
    block = keras.Sequential([keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="inner")],
                             name="block")
    model = keras.Sequential([keras.Input((None, None, 3)), keras.layers.Conv2D(6, 3, activation="relu",
                                                                                name="first"), block])
    spec = actmax.models.ModelSpec("seq", model, "unit", "a nested test net")
    done = jobs.atlas_job(spec, out=tmp_path, images=[DATA / "rocket.jpg"], top=1, photo_size=32, **FAST)
    assert done.units == 10  # every convolution (6 + 4 filters) by default
    assert (tmp_path / "block.inner" / "unit_0003.html").is_file()
    assert '<a href="block.inner/index.html">block/inner</a>' in (tmp_path / "index.html").read_text()


def test_a_classifiers_head_gets_class_pages_with_whole_photo_examples(tiny_spec, tmp_path):
    """Asked for, the class head is a layer of the atlas: one image per class, named where names are given (a names
    file with no class head to name is refused before anything is made), and as examples the photos the model gives
    that class most confidently, whole (its receptive field is the whole image)."""
    (tmp_path / "names.txt").write_text("cat\ndog\nfox\nowl\n")
    with pytest.raises(ActmaxError, match="render its class head \\('predictions'\\)"):
        jobs.atlas_job(tiny_spec, ["conv1"], out=tmp_path / "site", class_names=tmp_path / "names.txt", **FAST)
    assert not (tmp_path / "site").exists()
    done = jobs.atlas_job(tiny_spec, ["conv1", "predictions"], images=[DATA / "photos"], top=2, photo_size=32,
                          out=tmp_path / "site", class_names=tmp_path / "names.txt", **FAST)
    tmp_path = tmp_path / "site"
    assert done.units == 8 + 4 and len(list((tmp_path / "predictions" / "render").glob("filter_*.png"))) == 4
    index = (tmp_path / "index.html").read_text()
    assert '<a href="predictions/index.html">predictions</a>' in index and "the whole image" in index
    page = (tmp_path / "predictions" / "unit_0001.html").read_text()
    saved = json.loads((tmp_path / "predictions" / "examples" / "examples.json").read_text())
    shown = [e for unit in saved["units"] for e in unit["examples"]]
    assert shown and all(e["box"] == [0, 0, 32, 32] and e["score"] > 0.25 for e in shown)
    assert "a class's probability" in page and 'class="mark"' not in page
    assert "<title>predictions:1 dog · tiny" in page
    assert "#3 owl ·" in (tmp_path / "predictions" / "index.html").read_text()
