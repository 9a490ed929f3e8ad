"""Render jobs on a real local Ray cluster: the same files as one process, actors that die, resume, no Ray."""

import contextlib
import filecmp
import json
import os
import signal
from pathlib import Path
import sys
import threading
import time

import pytest

from actmax import jobs
from actmax.errors import ActmaxError
from actmax.jobs import ray_backend, runs

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[test]')")
FAST = dict(size=32, octaves=1, steps=3, batch=2)


@pytest.fixture(scope="module", autouse=True)
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


def busy_actors() -> list[int]:
    """Pids of Ray actor processes rendering a chunk right now (Ray titles them `ray::Renderer.render`)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if b"ray::Renderer.render" in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


def entries(folder):
    return json.loads((folder / "manifest.json").read_text())["filters"]


def same_entries(a, b):
    """Manifest entries equal, activations to float rounding (Ray workers may batch and thread differently)."""
    def exact(entry):
        return {key: value for key, value in entry.items() if not isinstance(value, float)}
    def floats(entry):
        return [value for value in entry.values() if isinstance(value, float)]
    return ([exact(e) for e in a] == [exact(e) for e in b]
            and all(floats(x) == pytest.approx(floats(y), rel=1e-5) for x, y in zip(a, b)))


def same_images(a, b, filters):
    return all(filecmp.cmp(a / f"filter_{i:04d}.png", b / f"filter_{i:04d}.png", shallow=False) for i in filters)


@pytest.fixture(scope="module")
def single(hed, tmp_path_factory):
    out = tmp_path_factory.mktemp("single")
    list(jobs.render_layers(hed, ["block1_conv2", "block2_conv1"], "0-6", out=out, quiet=True, **FAST))
    return out


def test_two_layers_under_ray_match_one_process_byte_for_byte(hed, single, tmp_path, monkeypatch):
    bars = []

    @contextlib.contextmanager
    def recorded(quiet=False, label=None):
        bars.append((label, []))
        yield lambda *report: bars[-1][1].append(report)
    monkeypatch.setattr(runs, "bar", recorded)
    done = dict(jobs.render_layers(hed, ["block1_conv2", "block2_conv1"], "0-6", out=tmp_path, ray=True, **FAST))
    assert [r.rendered for r in done.values()] == [7, 7]
    for layer in ("block1_conv2", "block2_conv1"):
        assert same_images(single / layer, tmp_path / layer, range(7))
        assert same_entries(entries(single / layer), entries(tmp_path / layer))
        assert not list((tmp_path / layer).glob(ray_backend.PARTS))  # merged into manifest.json
    (label, reports), = bars  # one bar over both layers' 14 filters, as chunks land, with the dead so far
    done_so_far = [report[0] for report in reports]
    assert label == "2 layers" and {report[1] for report in reports} == {14}
    assert len(reports) == 1 + 8 and done_so_far == sorted(done_so_far) and done_so_far[::8] == [0, 14]
    assert reports[-1][-1] == sum(r.dead for r in done.values())


def test_objective_variants_on_ray_match_one_process(hed, tmp_path):
    options = dict(variants=5, out=None, quiet=True, **FAST)
    here = jobs.objective_job(hed, "block3_conv1:5", **{**options, "out": tmp_path / "here"})
    there = jobs.objective_job(hed, "block3_conv1:5", ray=True, **{**options, "out": tmp_path / "ray"})
    assert there == tmp_path / "ray" / here.name
    assert same_images(tmp_path / "here", tmp_path / "ray", range(5))
    assert same_entries(entries(tmp_path / "here"), entries(tmp_path / "ray"))


def test_a_killed_actor_costs_no_filter_and_repeats_none(hed, tmp_path):
    single = tmp_path / "single"
    jobs.render_job("block3_conv1", "0-15", out=single, model=hed, **FAST)
    killed, result = [], {}
    job = threading.Thread(target=lambda: result.update(done=jobs.render_job(
        "block3_conv1", "0-15", out=tmp_path / "ray", model=hed, ray=True, **FAST)))
    job.start()
    while job.is_alive() and not killed:  # kill the first actor process seen working: mid-chunk
        for pid in busy_actors():
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        time.sleep(0.05)
    job.join()
    assert killed and result["done"].rendered == 16
    assert [e["index"] for e in entries(tmp_path / "ray")] == list(range(16))
    assert same_images(single, tmp_path / "ray", range(16)) and same_entries(entries(single), entries(tmp_path / "ray"))


def test_a_rerun_after_the_driver_died_renders_only_what_is_missing(hed, single, tmp_path):
    with jobs.open_job("block2_conv1", "0-6", out=tmp_path, model=hed, **FAST) as job:
        list(ray_backend.run_on_ray(True, hed, job.ray_tasks()[:2]))  # the driver died after two chunks (4 filters)
    assert len(list(tmp_path.glob(ray_backend.PARTS))) == 2
    again = jobs.render_job("block2_conv1", "0-6", out=tmp_path, model=hed, ray=True, **FAST)
    assert (again.rendered, again.reused) == (3, 4)
    assert same_images(single / "block2_conv1", tmp_path, range(7))


def test_without_ray_installed_it_is_one_line(hed, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ActmaxError, match=r'pip install "actmax\[ray\]"'):
        jobs.render_job("block1_conv1", "0-1", out=tmp_path / "x", model=hed, ray=True, **FAST)
    assert not (tmp_path / "x").exists()


def test_ray_and_shards_do_not_mix(hed, tmp_path):
    with pytest.raises(ActmaxError, match="one of them"):
        jobs.render_job("block1_conv1", "0-1", out=tmp_path, model=hed, ray=True, shard="0/2", **FAST)


def test_examples_as_a_ray_data_job_equal_the_local_pass(hed, tmp_path):
    from conftest import DATA
    photos = [str(p) for p in sorted(DATA.rglob("*.jpg"))]
    (tmp_path / "broken.jpg").write_bytes(b"not a photo")
    sources = [*photos[:3], str(tmp_path / "broken.jpg"), *photos[3:]]
    local = jobs.examples_job(hed, sources, "block3_conv1", "0-7", top=3, size=48, batch=3, out=tmp_path / "local")
    on_ray = jobs.examples_job(hed, sources, "block3_conv1", "0-7", top=3, size=48, batch=3, out=tmp_path / "ray",
                               ray=True)
    assert (on_ray.images, on_ray.skipped) == (local.images, local.skipped) == (len(photos), 1)
    mine, theirs = (json.loads((tmp_path / name / "examples.json").read_text()) for name in ("local", "ray"))
    assert theirs["units"] == mine["units"] and theirs["skipped"] == mine["skipped"]


def test_actors_upload_their_chunks_to_a_url(hed, single, tmp_path):
    url = f"file://{tmp_path}/bucket/block2_conv1"  # actors are other processes: a store they all reach
    done = jobs.render_job("block2_conv1", "0-6", out=url, model=hed, ray=True, **FAST)
    assert done.path == f"{url}/gallery.png" and done.rendered == 7
    assert same_images(single / "block2_conv1", tmp_path / "bucket" / "block2_conv1", range(7))
    assert not list((tmp_path / "bucket" / "block2_conv1").glob(ray_backend.PARTS))


def test_a_model_with_custom_layers_renders_on_ray(tmp_path):
    """Actors rebuild the model from a pickle: its custom layer (from a file run with --custom-code, which no worker
    can import) and custom activation travel with it, and the images equal one process's."""
    import keras
    from actmax import models
    (tmp_path / "my_layers.py").write_text(
        "import keras\n\nclass Halve(keras.layers.Layer):\n    def call(self, x):\n        return x / 2\n\n"
        "def softsign(x):\n    return x / (1 + keras.ops.abs(x))\n")
    code = models.objects_in(tmp_path / "my_layers.py")
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3, activation=code["softsign"], name="c1")(code["Halve"]()(inputs))
    spec = models.ModelSpec("custom", keras.Model(inputs, keras.layers.Conv2D(3, 3, name="c2")(x)), "unit", "")
    assert set(models.custom_objects_of(spec.model)) >= {"Halve", "softsign"}
    list(jobs.render_layers(spec, ["c2"], "0-2", out=tmp_path / "here", quiet=True, **FAST))
    list(jobs.render_layers(spec, ["c2"], "0-2", out=tmp_path / "ray", quiet=True, ray=True, **FAST))
    assert same_images(tmp_path / "here", tmp_path / "ray", range(3))  # one layer: its folder is the out
