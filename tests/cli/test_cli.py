import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import conftest
from actmax import models
from actmax.cli import app

runner = CliRunner()
FAST = ["--size", "32", "--octaves", "2", "--steps", "3", "-q"]


def test_help_and_version():
    assert "render" in runner.invoke(app, ["--help"]).output
    result = runner.invoke(app, ["render", "--help"])
    assert result.exit_code == 0 and "--filters" in result.output and "--preset" in result.output
    assert result.output.count("actmax[ray]") == 2  # square brackets survive the help's rich markup
    assert runner.invoke(app, ["--version"]).output.startswith("actmax ")


def test_layers_lists_conv_layers_and_says_what_the_weights_are():
    result = runner.invoke(app, ["layers"])
    assert result.exit_code == 0
    assert "edge detection" in result.output and "block5_conv3" in result.output and "512" in result.output


def test_render_writes_gallery_and_manifest(tmp_path):
    out = tmp_path / "gallery"
    result = runner.invoke(app, ["render", "block2_conv2", "--filters", "0-3", "--out", str(out), *FAST])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert [f["index"] for f in manifest["filters"]] == [0, 1, 2, 3]
    assert (out / "gallery.png").stat().st_size > 0 and (out / "filter_0003.png").exists()


def test_render_objective(tmp_path):
    result = runner.invoke(app, ["render", "--objective", "block2_conv1:3 - block2_conv1:4", "--variants", "2",
                                 "--out", str(tmp_path), *FAST])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "manifest.json").read_text())["objective"] == "block2_conv1:3 + -1*block2_conv1:4"


@pytest.mark.parametrize("args, message", [
    (["block9_conv1"], "unknown layer 'block9_conv1'"),
    (["mine.keras"], "'mine.keras' is a model file, not a layer; give it as --model mine.keras"),
    (["block1_conv1", "--filters", "0-64"], "range of layer 'block1_conv1', 0-63"),
    (["block1_conv1", "--filters", "1-x"], "bad filter selection"),
    (["block1_conv1", "--model", "alexnet"], "unknown model 'alexnet'"),
    (["block1_conv1", "--transforms", "wobble:3"], "bad transform"),
    (["--objective", "block1_conv1:+"], "cannot parse objective"),
])
def test_bad_input_is_one_line_with_nonzero_exit_and_no_files(tmp_path, args, message):
    out = tmp_path / "out"
    result = runner.invoke(app, ["render", *args, "--out", str(out), *FAST])
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output and not out.exists()


@pytest.mark.parametrize("size, message", [
    ("12x", "size '12x' is not N or WxH with sides of at least 8 px; e.g. 128 or 320x180"),
    ("200x10", "the size asked, 200x10, is 10 px across"),
])
def test_a_bad_size_is_one_line_with_nonzero_exit_and_no_files(tmp_path, size, message):
    out = tmp_path / "out"
    result = runner.invoke(app, ["render", "block5_conv3", "--out", str(out), *FAST, "--size", size])
    assert result.exit_code == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_render_a_rectangle_resumes_it_and_refuses_another_in_its_folder(tmp_path):
    from PIL import Image
    out, args = tmp_path / "wide", ["render", "block2_conv1", "--filters", "0-1", *FAST]
    first = runner.invoke(app, [*args, "--size", "64x40", "--out", str(out)])
    assert first.exit_code == 0, first.output
    assert Image.open(out / "filter_0001.png").size == (64, 40)
    assert json.loads((out / "manifest.json").read_text())["settings"]["shape"] == "64x40"
    again = runner.invoke(app, [*args, "--size", "64x40", "--out", str(out)])
    assert "0 rendered, 2 reused" in again.output
    other = runner.invoke(app, [*args, "--size", "40x64", "--out", str(out)])
    assert other.exit_code == 2 and "holds a run with other settings" in other.stderr


def test_unwritable_output_folder(tmp_path):
    (tmp_path / "file").write_text("x")
    result = runner.invoke(app, ["render", "block1_conv1", "--out", str(tmp_path / "file" / "out"), *FAST])
    assert result.exit_code == 2 and "cannot write to output folder" in result.stderr


@pytest.mark.parametrize("command", [["render", "block1_conv1", *FAST], ["dream", str(conftest.ROCKET), "-q"],
                                     ["weights", "block1_conv1"], ["examples", str(conftest.ROCKET)]])
def test_an_out_that_names_a_picture_is_refused_in_one_line_before_any_work(tmp_path, command):
    out = tmp_path / "dream.png"
    result = runner.invoke(app, [*command, "--out", str(out)])
    assert result.exit_code == 2 and "--out is a folder" in result.stderr
    assert f"--out {tmp_path / 'dream'}" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()
    out.mkdir()  # a folder that happens to be named so is still a folder; -o is --out's short form
    assert runner.invoke(app, ["weights", "block1_conv1", "-o", str(out)]).exit_code == 0
    assert (out / "block1_conv1.png").exists()


def test_console_script_error_has_no_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "actmax", "render", "block1_conv1", "--filters", "99",
                           "--out", str(tmp_path / "x")], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip() == ("error: filters '99' are outside the range of layer 'block1_conv1', 0-63 "
                                   "(64 filters)")


def test_output_piped_to_a_reader_that_stops_early_ends_quietly():
    """`actmax layers | head -1`: once the reader has gone, writing fails; that is no error to report (nor a
    traceback from the final flush), and the exit code is SIGPIPE's, as for any program cut off so."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line
    done = subprocess.run([sys.executable, "-m", "actmax", "layers"], stdout=write, stderr=subprocess.PIPE, text=True)
    os.close(write)
    assert done.returncode == 141 and done.stderr == ""


def test_an_unforeseen_failure_is_one_line_unless_the_traceback_is_asked_for(monkeypatch, tmp_path):
    import actmax
    import tensorflow as tf

    def fail(*args, **kwargs):
        raise tf.errors.InvalidArgumentError(None, None, "Graph execution error:\n\nDetected at node x\n"
                                             "Computed output size would be negative: -1\n\t [[{{node x}}]]")
    monkeypatch.setattr(actmax, "layer_table", fail)
    result = runner.invoke(app, ["layers"])
    assert result.exit_code == 1 and result.stderr == (
        "error: unexpected InvalidArgumentError: Computed output size would be negative: -1; rerun with "
        "ACTMAX_TRACEBACK=1 for the traceback, and report it\n")
    monkeypatch.setattr(actmax, "layer_table", lambda *args: (_ for _ in ()).throw(TypeError(
        "Exception encountered when calling RandomCrop.call().\n\n\x1b[1mfloat() argument must be a number\x1b[0m")))
    assert runner.invoke(app, ["layers"]).stderr.startswith("error: unexpected TypeError: float() argument must be "
                                                            "a number; rerun")
    monkeypatch.setenv("ACTMAX_TRACEBACK", "1")
    assert isinstance(runner.invoke(app, ["layers"]).exception, TypeError)


def test_a_model_file_fed_raw_pixels_by_default_gets_a_note_naming_the_other_conventions(tmp_path):
    """A conv reading the input as it comes: 0..255 may be what it never saw. A Rescaling first, an asked
    --preprocess, or a named model: no note."""
    import keras
    inputs = keras.Input((None, None, 3))
    conv = keras.layers.Conv2D(2, 3, name="c1")
    keras.Model(inputs, conv(inputs)).save(tmp_path / "raw.keras")
    keras.Model(inputs, conv(keras.layers.Rescaling(1 / 255)(inputs))).save(tmp_path / "scaled.keras")
    for model, extra, noted in (("raw", [], True), ("raw", ["--preprocess", "unit"], False), ("scaled", [], False)):
        result = runner.invoke(app, ["layers", "--model", str(tmp_path / f"{model}.keras"), *extra])
        assert result.exit_code == 0 and result.output.startswith("note: model 'raw' is fed pixels 0..255") == noted
    assert "note:" not in runner.invoke(app, ["layers"]).output


def test_layers_takes_the_model_as_its_argument_too(tmp_path):
    import keras
    inputs = keras.Input((None, None, 3))
    keras.Model(inputs, keras.layers.Conv2D(2, 3, name="c1")(inputs)).save(tmp_path / "mine.keras")
    listed = runner.invoke(app, ["layers", str(tmp_path / "mine.keras"), "--preprocess", "unit"])
    assert listed.exit_code == 0 and listed.output.splitlines()[-1].split() == ["c1", "Conv2D", "222x222", "2"]
    both = runner.invoke(app, ["layers", str(tmp_path / "mine.keras"), "--model", "vgg16"])
    assert both.exit_code == 2 and "two models" in both.output and "block1_conv1" not in both.output


def test_trust_code_loads_a_model_file_with_a_lambda_layer(tmp_path):
    import keras
    inputs = keras.Input((None, None, 3))
    scaled = keras.layers.Lambda(lambda x: x / 127.5 - 1, name="scale")(inputs)
    keras.Model(inputs, keras.layers.Conv2D(2, 3, name="c1")(scaled)).save(tmp_path / "lambda.keras")
    args = ["render", "c1", "--model", str(tmp_path / "lambda.keras"), "--size", "32", "--steps", "2", "--octaves", "1",
            "-q", "--out", str(tmp_path / "out")]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2 and "--trust-code" in refused.output and not (tmp_path / "out").exists()
    trusted = runner.invoke(app, [*args, "--trust-code"])
    assert trusted.exit_code == 0 and (tmp_path / "out" / "gallery.png").exists()


ROCKET = str(conftest.ROCKET)


@pytest.mark.parametrize("args, produced", [
    (["weights", "block1_conv1"], ["block1_conv1.png", "block1_conv1.json"]),
    (["features", ROCKET, "--layer", "block2_conv1", "--maps", "0-15", "--size", "64"],
     ["rocket_block2_conv1.png", "rocket_block2_conv1.json"]),
    (["features", ROCKET, "--maps", "0-3", "--size", "64"],  # no layer named: the last conv of every block
     [f"rocket_{layer}.{kind}" for layer in ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3",
                                             "block5_conv3") for kind in ("png", "json")]),
    (["deconv", ROCKET, "--layer", "block2_conv2", "--top", "2", "--size", "64"],
     ["rocket_block2_conv2_deconvnet.png", "rocket_block2_conv2_deconvnet.json"]),
    (["occlusion", ROCKET, "--target", "block2_conv1:3", "--size", "64", "--patch", "16"],
     ["rocket_block2_conv1-3.png", "rocket_block2_conv1-3.json"]),
])
def test_inspection_commands_write_picture_and_sidecar(tmp_path, args, produced):
    result = runner.invoke(app, [*args, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(produced)
    assert json.loads((tmp_path / produced[1]).read_text())["model"] == "vgg16-hed"


@pytest.mark.parametrize("args, message", [
    (["cam", ROCKET], "no classifier head"),
    (["features", "missing.jpg", "--layer", "block1_conv1"], "does not exist"),
    (["features", ROCKET, "--layer", "block1_convX"], "unknown layer"),
    (["deconv", ROCKET, "--layer", "block1_conv1", "--filter", "99"], "range of layer 'block1_conv1', 0-63"),
    (["weights", "block1_pool"], "no convolution kernel"),
    (["occlusion", ROCKET, "--target", "block1_conv1:x"], "cannot parse objective"),
    (["occlusion", ROCKET, "--size", "64", "--patch", "64"], "covers the whole 64x43 photo"),
    (["deconv", ROCKET, "--layer", "block1_conv1", "--filter", "3", "--filter", "64"], "filter 64 is outside"),
])
def test_inspection_errors_are_one_line(tmp_path, args, message):
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_several_layers_shards_and_gallery(tmp_path):
    for shard in ("0/2", "1/2"):
        result = runner.invoke(app, ["render", "--layer", "block1_conv1", "--layer", "block1_conv2", "--filters",
                                     "0-3", "--shard", shard, "--out", str(tmp_path), *FAST])
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["gallery", str(tmp_path), "--sort", "activation"])
    assert result.exit_code == 0, result.output
    for layer in ("block1_conv1", "block1_conv2"):
        data = json.loads((tmp_path / layer / "manifest.json").read_text())
        assert [f["index"] for f in data["filters"]] == [0, 1, 2, 3]
    assert "block1_conv2/filter_0003.png" in (tmp_path / "index.html").read_text()


def test_animate_writes_a_gif_per_filter(tmp_path):
    result = runner.invoke(app, ["render", "block1_conv1", "--filters", "0-1", "--animate", "--out", str(tmp_path),
                                 *FAST])
    assert result.exit_code == 0, result.output
    from PIL import Image
    with Image.open(tmp_path / "filter_0001.gif") as gif:
        assert gif.n_frames >= 2 and gif.size == (32, 32)


def test_dream_keeps_the_photo_size(tmp_path):
    result = runner.invoke(app, ["dream", ROCKET, "--layer", "block3_conv1", "--size", "80", "--octaves", "2",
                                 "--steps", "2", "--out", str(tmp_path), "-q"])
    assert result.exit_code == 0, result.output
    from PIL import Image
    assert Image.open(tmp_path / "rocket.png").size == (80, 53)
    assert json.loads((tmp_path / "rocket.json").read_text())["objective"] == "energy(block3_conv1)"


def test_dream_shows_one_bar_over_its_octaves(tmp_path):
    result = runner.invoke(app, ["dream", ROCKET, "--layer", "block2_conv1", "--size", "48", "--octaves", "2",
                                 "--steps", "2", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "dream: 100%" in result.stderr and "octave 2/2, objective" in result.stderr
    assert result.stdout.strip() == f"dream: {tmp_path / 'rocket.png'}"


@pytest.mark.parametrize("args, message", [
    (["render", "block1_conv1", "--shard", "3/2"], "0 <= i < N"),
    (["gallery", "/nonexistent-folder"], "no rendered layers"),
    (["dream"], "--from-noise"),
    (["dream", ROCKET, "--layer", "block5_conv1:x"], "bad layer weight"),
    (["dream", ROCKET, "--objective", "block3_conv1:999"], "valid indices are block3_conv1 0-255"),
    (["render", "block1_conv1", "--ray", "--shard", "0/2"], "one of them"),
    (["render", "block1_conv1", "--transforms", "jitter:-3"], "bad transform"),
])
def test_job_errors_are_one_line(tmp_path, args, message):
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "o")] if args[0] != "gallery" else args)
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_regulariser_options_reach_the_manifest(tmp_path):
    result = runner.invoke(app, ["render", "block1_conv1", "--filters", "0", "--tv", "0.5", "--l2", "0.1",
                                 "--blur-every", "2", "--preset", "classic", "--out", str(tmp_path), *FAST])
    assert result.exit_code == 0, result.output
    settings = json.loads((tmp_path / "manifest.json").read_text())["settings"]
    chosen = (settings["tv"], settings["l2"], settings["blur_every"], settings["optimizer"])
    assert chosen == (0.5, 0.1, 2, "normalised")


def test_grey_input_model_file_works_end_to_end(tmp_path):
    import keras
    inputs = keras.Input((None, None, 1))
    hidden = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="c1")(inputs)
    keras.Model(inputs, keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="c2")(hidden)).save(
        tmp_path / "grey.keras")
    model = ["--model", str(tmp_path / "grey.keras"), "--preprocess", "unit"]
    for args in (["render", "c2", "--filters", "0-1", *FAST], ["occlusion", ROCKET, "--target", "c2:1", "--size", "48"],
                 ["features", ROCKET, "--layer", "c1", "--size", "48"]):
        result = runner.invoke(app, [*args, *model, "--out", str(tmp_path / args[0])])
        assert result.exit_code == 0, result.output


def test_a_panorama_is_shown_large_enough_for_the_deepest_layer(tmp_path):
    """At 64 px a 20:1 strip would be 3 px high, and VGG's fourth pooling would take a map of no pixels."""
    from PIL import Image
    Image.open(ROCKET).resize((400, 20)).save(tmp_path / "strip.png")
    for args in (["features", "--layer", "block5_conv3", "--maps", "0-3"], ["deconv", "--layer", "block5_conv3",
                                                                             "--top", "1"]):
        result = runner.invoke(app, [args[0], str(tmp_path / "strip.png"), *args[1:], "--size", "64",
                                     "--out", str(tmp_path / args[0])])
        assert result.exit_code == 0, result.output


def test_occlusions_default_patch_fits_a_small_fixed_size_model(tmp_path):
    """A 28 px classifier: the default patch is a seventh of its side (at 224 px it is 32, stride 16)."""
    import keras
    import numpy as np
    inputs = keras.Input((28, 28, 1))
    pooled = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, activation="relu")(inputs))
    keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(pooled)).save(tmp_path / "digits.keras")
    result = runner.invoke(app, ["occlusion", ROCKET, "--model", str(tmp_path / "digits.keras"), "--out",
                                 str(tmp_path)])
    assert result.exit_code == 0, result.output
    sidecar = json.loads((tmp_path / "rocket.json").read_text())
    assert (sidecar["patch"], sidecar["stride"]) == (4, 2)
    from actmax.inspect.occlusion import patch_and_stride
    assert patch_and_stride(np.zeros((224, 300, 3))) == (32, 16)


def test_a_multispectral_model_renders_its_first_bands_and_refuses_photos_in_one_line(tmp_path):
    import keras
    from PIL import Image
    inputs = keras.Input((None, None, 5))  # say RGB, near infrared and a height band
    keras.Model(inputs, keras.layers.Conv2D(4, 3, activation="relu", name="c1")(inputs)).save(tmp_path / "bands.keras")
    model = ["--model", str(tmp_path / "bands.keras"), "--preprocess", "unit"]
    result = runner.invoke(app, ["render", "c1", "--filters", "0-1", *FAST, *model, "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "r" / "filter_0000.png").mode == "RGB"
    for args in (["features", ROCKET, "--layer", "c1"], ["examples", ROCKET, "--layer", "c1"]):
        result = runner.invoke(app, [*args, *model, "--out", str(tmp_path / args[0])])
        assert result.exit_code == 2 and "reads 5-channel images" in result.output, result.output
        assert not (tmp_path / args[0]).exists()


def test_objective_renders_never_overwrite_each_other(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for objective, steps in (("block2_conv1:3", "3"), ("block2_conv1:4", "3"), ("block2_conv1:3", "2")):
        result = runner.invoke(app, ["render", "--objective", objective, "--steps", steps, "--size", "32",
                                     "--octaves", "2", "-q"])
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "outputs" / "vgg16-hed" / "objective").iterdir()) == [
        "block2_conv1-3", "block2_conv1-3-2", "block2_conv1-4"]


@pytest.mark.parametrize("args, stderr", [
    (["layers"], ""),
    (["render", "block1_conv1", "--filters", "0", "--size", "32", "--octaves", "1", "--steps", "2", "-q"], ""),
    (["cam", ROCKET], "error: model 'vgg16-hed' has no classifier head"),
])
def test_only_actmax_output_reaches_the_terminal(tmp_path, args, stderr):
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("TF_")}
    done = subprocess.run([sys.executable, "-m", "actmax", *args, *(["--out", str(tmp_path)] if args[0] != "layers"
                                                                     else [])],
                          capture_output=True, text=True, env=env)
    assert done.stderr.startswith(stderr) and len(done.stderr.splitlines()) == (1 if stderr else 0), done.stderr
    assert "I0000" not in done.stdout + done.stderr and "absl" not in done.stdout + done.stderr


def test_examples_command_writes_a_contact_sheet(tmp_path):
    result = runner.invoke(app, ["examples", ROCKET, "--layer", "block3_conv1", "-f", "0-3", "--top", "1",
                                 "--size", "48", "--out", str(tmp_path / "ex"), "-q"])
    assert result.exit_code == 0, result.output
    assert "1 images (1 new): " in result.output and (tmp_path / "ex" / "examples.png").is_file()
    missing = runner.invoke(app, ["examples", str(tmp_path / "nothing"), "--layer", "block3_conv1"])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    (tmp_path / "empty").mkdir()
    empty = runner.invoke(app, ["examples", str(tmp_path / "empty"), "--layer", "block3_conv1"])
    assert empty.exit_code == 2 and "no images" in empty.output


def test_examples_of_few_photos_show_the_columns_found_and_say_which_filters_fired_on_none(tmp_path):
    import keras
    import numpy as np
    from PIL import Image
    inputs = keras.Input((None, None, 3))
    conv = keras.layers.Conv2D(2, 3, activation="relu", name="conv")
    model = keras.Model(inputs, conv(inputs))
    conv.set_weights([np.ones((3, 3, 3, 2), np.float32), np.array([0.0, -100.0], np.float32)])  # 1 never fires
    model.save(tmp_path / "m.keras")
    widths = {}
    for top in (1, 9):
        out = tmp_path / f"top{top}"
        result = runner.invoke(app, ["examples", ROCKET, "--layer", "conv", "-f", "all", "--top", str(top), "--size",
                                     "32", "--model", str(tmp_path / "m.keras"), "--preprocess", "unit", "--out",
                                     str(out), "-q"])
        assert result.exit_code == 0, result.output
        assert "note: 1 filter fires on none of these images" in result.output
        widths[top] = Image.open(out / "examples.png").width
    assert widths[9] == widths[1]  # one photo: one column, not nine mostly empty ones


def test_atlas_command_builds_a_site_and_refuses_bad_layers(tmp_path):
    result = runner.invoke(app, ["atlas", "--layers", "block1_conv1,block2_conv1", "-f", "0-1", "--images",
                                 str(conftest.DATA / "photos"), "--top", "1", "--photo-size", "32",
                                 "--out", str(tmp_path / "site"), *FAST])
    assert result.exit_code == 0, result.output
    assert "atlas: 4 units (4 images rendered" in result.output
    assert (tmp_path / "site" / "block2_conv1" / "unit_0001.html").is_file()
    wide = runner.invoke(app, ["atlas", "--layers", "block1_conv1", "-f", "0", "--out", str(tmp_path / "wide"),
                               *FAST, "--size", "40x24"])  # a rectangle, as render draws one
    assert wide.exit_code == 0, wide.output
    from PIL import Image
    assert Image.open(next((tmp_path / "wide" / "block1_conv1" / "render").rglob("filter_0000.png"))).size == (40, 24)
    bad = runner.invoke(app, ["atlas", "--layers", "block1_conv9", "--out", str(tmp_path / "other"), *FAST])
    assert bad.exit_code == 2 and "block1_conv9" in bad.output and len(bad.output.strip().splitlines()) == 1
    assert not (tmp_path / "other").exists()


def test_cam_records_the_layer_it_mapped(tmp_path, tiny_spec):
    tiny_spec.model.save(tmp_path / "tiny.keras")
    result = runner.invoke(app, ["cam", ROCKET, "-m", str(tmp_path / "tiny.keras"), "--preprocess", "unit",
                                 "--size", "32", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    record = json.loads(next((tmp_path / "out").glob("*.json")).read_text())
    assert record["layer"] == models.last_conv_layer(tiny_spec.model, feeding=models.logits_layer(tiny_spec.model).path)


def test_a_classifier_file_lists_its_head_and_renders_a_gallery_of_its_classes(tmp_path):
    conftest.tiny_cnn().save(tmp_path / "classifier.keras")
    model = ["--model", str(tmp_path / "classifier.keras"), "--preprocess", "unit"]
    listed = runner.invoke(app, ["layers", *model])
    assert listed.exit_code == 0 and listed.output.splitlines()[-1].split() == ["predictions", "Dense", "units", "4"]
    result = runner.invoke(app, ["render", "predictions", "-f", "all", *FAST, *model, "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["layer"] == "predictions" and len(manifest["filters"]) == 4
    refused = runner.invoke(app, ["features", ROCKET, "--layer", "predictions", *model, "--out", str(tmp_path / "f")])
    assert refused.exit_code == 2 and "render its units (one image each) with 'actmax render'" in refused.stderr


def test_class_names_label_the_class_gallery_its_page_and_cams_classes(tmp_path):
    conftest.tiny_cnn().save(tmp_path / "classifier.keras")
    (tmp_path / "names.txt").write_text("cat\ndog\n<bird>\nfish\n")
    model = ["--model", str(tmp_path / "classifier.keras"), "--preprocess", "unit"]
    named = ["--class-names", str(tmp_path / "names.txt")]
    result = runner.invoke(app, ["render", "predictions", "-f", "all", *FAST, *model, *named, "--out",
                                 str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r" / "manifest.json").read_text())["names"] == ["cat", "dog", "<bird>", "fish"]
    assert "#2 &lt;bird&gt;" in (tmp_path / "r" / "index.html").read_text()
    restitched = runner.invoke(app, ["gallery", str(tmp_path / "r")])  # the names stay with the folder
    assert restitched.exit_code == 0 and "fish" in (tmp_path / "r" / "index.html").read_text()

    cam = runner.invoke(app, ["cam", ROCKET, *model, *named, "--size", "32", "--out", str(tmp_path / "cam")])
    assert cam.exit_code == 0, cam.output
    top = [line.split() for line in cam.output.splitlines()[:4]]
    assert sorted(row[1] for row in top) == ["<bird>", "cat", "dog", "fish"]

    by_name = runner.invoke(app, ["cam", ROCKET, *model, *named, "--class", "dog", "--size", "32", "--out",
                                  str(tmp_path / "dog")])
    assert by_name.exit_code == 0, by_name.output
    assert json.loads((tmp_path / "dog" / "rocket_gradcam_class-1.json").read_text())["class"] == 1
    again = runner.invoke(app, ["cam", ROCKET, *model, *named, "--class", "fish", "--size", "32", "--out",
                                str(tmp_path / "dog")])  # another class's map sits beside the first
    assert again.exit_code == 0 and {p.name for p in (tmp_path / "dog").glob("*.png")} == {
        "rocket_gradcam_class-1.png", "rocket_gradcam_class-3.png"}
    occluded = runner.invoke(app, ["occlusion", ROCKET, *model, *named, "--target", "class:fish", "--size", "32",
                                   "--patch", "8", "--out", str(tmp_path / "occ")])
    assert occluded.exit_code == 0 and json.loads((tmp_path / "occ" / "rocket_class-fish.json").read_text())[
        "target"] == "class:3"
    some = runner.invoke(app, ["render", "predictions", "-f", "fish,0", *FAST, *model, *named, "--out",
                               str(tmp_path / "some")])
    assert some.exit_code == 0, some.output
    assert [f["index"] for f in json.loads((tmp_path / "some" / "manifest.json").read_text())["filters"]] == [0, 3]
    typo = runner.invoke(app, ["cam", ROCKET, *model, *named, "--class", "dgo", "--size", "32"])
    assert typo.exit_code != 0 and "no class is named 'dgo'; did you mean dog?" in typo.output
    wrong = runner.invoke(app, ["render", "conv1", *FAST, *model, *named, "--out", str(tmp_path / "w")])
    assert wrong.exit_code != 0 and "render its class head ('predictions')" in wrong.output
    (tmp_path / "three.txt").write_text("cat\ndog\nbird\n")
    short = runner.invoke(app, ["cam", ROCKET, *model, "--class-names", str(tmp_path / "three.txt"), "--size",
                                "32", "--out", str(tmp_path / "cam2")])
    assert short.exit_code != 0 and "names 3 classes and the model has 4" in short.output
    assert len(short.output.strip().splitlines()) == 1 and not (tmp_path / "w").exists()


def test_weights_takes_the_models_convention_and_shows_a_bgr_models_kernels_in_rgb(tmp_path):
    import keras
    import numpy as np
    from PIL import Image
    inputs = keras.Input((None, None, 3))
    conv = keras.layers.Conv2D(1, 1, name="conv")
    model = keras.Model(inputs, conv(inputs))
    conv.set_weights([np.array([1.0, 0.0, 0.0], np.float32).reshape(1, 1, 3, 1), np.zeros(1, np.float32)])
    model.save(tmp_path / "bgr.keras")
    shown = {}
    for convention in ("caffe", "unit"):
        result = runner.invoke(app, ["weights", "conv", "-m", str(tmp_path / "bgr.keras"), "--preprocess", convention,
                                     "--out", str(tmp_path / convention)])
        assert result.exit_code == 0, result.output
        picture = np.asarray(Image.open(next((tmp_path / convention).glob("*.png"))).convert("RGB"))
        shown[convention] = tuple(picture[picture.shape[0] // 2, picture.shape[1] // 2])
    assert shown["caffe"] == (128, 128, 255) and shown["unit"] == (255, 128, 128)  # channel 0: blue, or red


def test_a_keras_application_comes_with_its_classifier_head_where_a_command_asks_for_a_class(monkeypatch, tmp_path):
    """`render predictions --model mobilenet_v2` renders ImageNet classes and `occlusion` watches one: the head is
    loaded only where asked for (the body alone takes any size, and its weights file is the smaller)."""
    import keras
    built, real = [], keras.applications.MobileNetV2

    def random_weights(**kwargs):  # nothing downloaded
        built.append(kwargs["include_top"])
        return real(**{**kwargs, "weights": None})
    monkeypatch.setattr(keras.applications, "MobileNetV2", random_weights)
    fast = ["--model", "mobilenet_v2", "--preset", "classic", "--octaves", "1", "--steps", "2", "-q"]
    result = runner.invoke(app, ["render", "predictions", "--filters", "0-1", *fast, "--out", str(tmp_path / "head")])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "head" / "manifest.json").read_text())
    assert built == [False, True] and [f["index"] for f in manifest["filters"]] == [0, 1]
    built.clear()
    result = runner.invoke(app, ["render", "--objective", "logit:7", *fast, "--out", str(tmp_path / "objective")])
    assert result.exit_code == 0 and built == [False, True], result.output
    built.clear()
    result = runner.invoke(app, ["render", "block_1_expand", "--filters", "0", *fast, "--out", str(tmp_path / "body")])
    assert result.exit_code == 0 and built == [False], result.output
    built.clear()
    result = runner.invoke(app, ["occlusion", str(conftest.ROCKET), "--model", "mobilenet_v2", "--patch", "64",
                                 "--stride", "64", "--out", str(tmp_path / "occlusion")])
    assert result.exit_code == 0 and built == [False, True], result.output
    assert json.loads((tmp_path / "occlusion" / "rocket.json").read_text())["target"].startswith("class:")


def test_a_head_of_raw_logits_is_rendered_with_a_note_saying_how_to_give_it_its_softmax(tmp_path):
    """Saved uncompiled, a tutorial's logits head renders as it is, with one note; saved compiled with its softmax
    cross-entropy (from_logits=True), it is read through that softmax, and no note is needed."""
    import keras
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, name="outputs")])
    model.save(tmp_path / "plain.keras")
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.save(tmp_path / "compiled.keras")
    fast = ["--filters", "all", "--preprocess", "unit", "--size", "16", "--octaves", "1", "--steps", "2", "-q"]
    for name, noted in [("plain", True), ("compiled", False)]:
        result = runner.invoke(app, ["render", "outputs", "--model", str(tmp_path / f"{name}.keras"), *fast,
                                     "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        assert result.output.startswith("note: 'outputs' reports raw logits") is noted
    conv = runner.invoke(app, ["render", "conv", "--model", str(tmp_path / "plain.keras"), *fast,
                               "--out", str(tmp_path / "conv")])
    assert conv.exit_code == 0 and "raw logits" not in conv.output
