"""Out of memory anywhere: a smaller batch where possible, else one line, exit 2, and the folder as it was."""

import pytest
import tensorflow as tf
from typer.testing import CliRunner

import actmax
from conftest import ROCKET
from actmax.models import memory
from actmax.optvis import passes, render as rendering
from actmax.cli import app
from actmax.errors import OutOfMemoryError

runner = CliRunner()
FAST = ["--size", "32", "--octaves", "2", "--steps", "2", "-q"]


def exhausted(*args, **kwargs):
    raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor with shape [64,3,512,512]")


@pytest.mark.parametrize("error, expected", [
    (MemoryError(), True),
    (tf.errors.ResourceExhaustedError(None, None, "OOM"), True),
    (tf.errors.InternalError(None, None, "Failed to allocate 4.0GiB from device"), True),
    (tf.errors.InvalidArgumentError(None, None, "shapes do not match"), False),
    (ValueError("out of memory"), False),
])
def test_allocation_failures_are_recognised(error, expected):
    assert memory.is_out_of_memory(error) is expected


def test_a_size_that_cannot_fit_fails_before_any_work(hed):
    with pytest.raises(OutOfMemoryError, match="one 100000 px image .* GiB free; lower --size"):
        actmax.render("block1_conv1", "0", model=hed, size=100000)


@pytest.mark.parametrize("args", [["render", "block1_conv1", "--size", "100000"],
                                  ["render", "--objective", "block2_conv1:3", "--size", "100000"]])
def test_cli_out_of_memory_is_one_line_and_no_folder(tmp_path, args):
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 2 and "out of memory" in result.stderr and "--size" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_ascent_out_of_memory_halves_the_batch_then_says_what_to_lower(hed, monkeypatch):
    tried = []
    monkeypatch.setattr(rendering, "_ascend_group", lambda *a, **k: tried.append(a[6]) or exhausted())
    with pytest.raises(OutOfMemoryError, match="one 32 px image; lower --size"):
        actmax.render("block1_conv1", "0-7", model=hed, batch=8, size=32, octaves=1, steps=1)
    assert tried == [8, 4, 2, 1]


def test_rescue_out_of_memory_retries_the_batch_smaller(hed, monkeypatch):
    calls = []
    original = passes.AscentPass.__call__

    def once_exhausted(self, part, items, steps=None):
        calls.append(self.batch)
        return exhausted() if len(calls) == 1 else original(self, part, items, steps)
    monkeypatch.setattr(passes.AscentPass, "__call__", once_exhausted)
    result = actmax.render("block5_conv1", "0-3", model=hed, batch=4, size=32, octaves=1, steps=2, rescue=2, revive=4,
                           wake=4)
    assert calls and result.extra["batch"] == 2 and len(result.filters) == 4


def test_a_failed_job_leaves_the_earlier_run_intact(tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert runner.invoke(app, ["render", "block1_conv1", "--filters", "0-1", "--out", str(out), *FAST]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr(rendering, "_ascend_group", exhausted)
    result = runner.invoke(app, ["render", "block1_conv1", "--filters", "0-3", "--out", str(out), *FAST])
    assert result.exit_code == 2 and result.stderr.startswith("error: out of memory")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_dream_out_of_memory_says_to_lower_the_tile(tmp_path, monkeypatch):
    from actmax.optvis import dream
    monkeypatch.setattr(dream.Dreamer, "tiled_gradient", lambda *a, **k: exhausted())
    result = runner.invoke(app, ["dream", str(ROCKET), "--size", "40", "--out", str(tmp_path / "d"), "-q"])
    assert result.exit_code == 2 and "--tile" in result.stderr and not (tmp_path / "d").exists()


def test_gpu_memory_reads_nvidia_smi_and_says_nothing_without_it(tmp_path, monkeypatch):
    tool = tmp_path / "nvidia-smi"
    tool.write_text("#!/bin/sh\necho 81559\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    memory.gpu_memory.cache_clear()
    assert memory.gpu_memory() == 81559 << 20
    tool.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed'; exit 9\n")
    memory.gpu_memory.cache_clear()
    assert memory.gpu_memory() is None
    monkeypatch.setenv("PATH", "")
    memory.gpu_memory.cache_clear()
    assert memory.gpu_memory() is None
    memory.gpu_memory.cache_clear()
