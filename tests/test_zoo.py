"""Every command on every model of the zoo (nested, Sequential, multi-output, mixed-precision, preprocessing, …)."""

import json

import numpy as np
import pytest
import tensorflow as tf
from typer.testing import CliRunner

import actmax
from conftest import ROCKET
from actmax.optvis import ascent, engine as engines, metrics, result
from actmax.cli import app

import zoo

runner = CliRunner()
PHOTO = str(ROCKET)
FAST = ["--size", "32", "--octaves", "2", "--steps", "20", "-q"]
COMMANDS = ("layers", "render", "objective", "dream", "features", "deconv", "occlusion", "cam", "weights")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return zoo.build(tmp_path_factory.mktemp("zoo"))


def arguments(command: str, model: zoo.Zoo, out) -> list[str]:
    """The command line a user would type for this model."""
    common = ["--model", str(model.path), "--out", str(out)]
    return {
        "layers": ["layers", "--model", str(model.path)],
        "render": ["render", "conv_b", "--filters", "0-3", *FAST, *common],
        "objective": ["render", "--objective", "logit:1" if model.classifier else "conv_b:1", *FAST, *common],
        "dream": ["dream", PHOTO, "--layer", "conv_b", "--size", "40", "--octaves", "2", "--steps", "2",
                  "--tile", "32", "-q", *common],
        "features": ["features", PHOTO, "--layer", "conv_b", "--size", "40", *common],
        "deconv": ["deconv", PHOTO, "--layer", "conv_b", "--top", "2", "--size", "40", *common],
        "occlusion": ["occlusion", PHOTO, "--size", "40", "--patch", "16", "--stride", "8", *common],
        "cam": ["cam", PHOTO, "--size", "40", *common],
        "weights": ["weights", "conv_a", *common],
    }[command]


def start_activation(spec, layer: str, filters: list[int]) -> np.ndarray:
    """Each filter's activation on the noise its render starts from."""
    settings = actmax.get_preset("default").override(size=32, octaves=2, steps=20)
    engine = ascent.build(lambda x: x, actmax.channel("x", 0), settings, channels=spec.channels)
    noise = engine.param.to_image(tf.constant(engines.initial(engine, 0, filters))).numpy()
    return metrics.measure(spec, layer, result.quantise(noise), filters)


@pytest.mark.parametrize("name", list(zoo.BUILDERS))
@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_on_every_model(models, name, command, tmp_path):
    model = models[name]
    result = runner.invoke(app, arguments(command, model, tmp_path / "out"))
    if command == "cam" and not model.classifier:
        assert result.exit_code == 2 and "no classifier head" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()
        return
    assert result.exit_code == 0, result.output + str(result.exception)
    if command == "layers":
        assert "conv_b" in result.output and "conv_a" in result.output
        return
    pictures = list((tmp_path / "out").glob("*.png"))
    assert pictures and all(p.stat().st_size > 0 for p in pictures)
    if command == "render":
        manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
        rendered = np.array([f["activation"] for f in manifest["filters"]])
        spec = actmax.load_model(str(model.path))
        assert rendered.sum() > start_activation(spec, manifest["layer"], [0, 1, 2, 3]).sum()
