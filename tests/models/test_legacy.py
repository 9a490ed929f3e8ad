"""Keras 2 `.h5` model files (tests/data/keras2, written by its make.py with tf-keras) load in Keras 3 as they ran."""

from pathlib import Path

import numpy as np
import pytest

import actmax
from actmax.inspect import cam
from actmax.models import legacy

KERAS2 = Path(__file__).parents[1] / "data" / "keras2"
PROBE = np.linspace(0, 255, 32 * 32 * 3, dtype=np.float32).reshape(1, 32, 32, 3)


@pytest.mark.parametrize("name, layer", [("functional", "body/depthwise"), ("sequential", "body/depthwise"),
                                         ("teachable", "body/depthwise"), ("zipped.keras", "body/depthwise"),
                                         ("ops", "c")])
def test_a_keras_2_model_file_loads_and_computes_what_it_did(name, layer):
    """Recorded TensorFlow calls (preprocess_input's slicing and bias_add, tf.math.truediv), `groups` on a depthwise
    and a transposed conv, a list batch-norm axis, a nested body's calls numbered from 1 and its one output saved
    as a list, nested models' Keras 2 module, a head opened by `input_shape`, a recorded call's tensor argument
    saved by reference: each once stopped Keras 3 from loading such a file."""
    path = KERAS2 / (name if name.endswith(".keras") else f"{name}.h5")
    spec = actmax.load_model(str(path))
    np.testing.assert_allclose(spec.model(PROBE).numpy(), np.load(KERAS2 / f"{path.stem}.npy"), rtol=1e-5, atol=1e-6)
    assert actmax.models.resolve_layer(spec.model, layer.split("/")[-1]).endswith(layer)


def test_a_keras_2_classifier_renders_and_explains_through_its_nested_body():
    spec = actmax.load_model(str(KERAS2 / "functional.h5"))
    result = actmax.render("body/up", "0-1", model=spec, size=32, octaves=1, steps=3)
    assert result.images.shape == (2, 32, 32, 3) and np.isfinite(result.activations).all()
    heat, index, probabilities = cam.grad_cam(spec, np.random.default_rng(0).uniform(size=(32, 32, 3)))
    assert heat.shape == (32, 32) and np.isclose(probabilities.sum(), 1.0, atol=1e-5)


def test_keras_3_files_are_loaded_as_they_are(tmp_path):
    import conftest
    conftest.tiny_cnn().save(tmp_path / "tiny.h5")
    assert legacy._keras_2_config(tmp_path / "tiny.h5") is None
    assert legacy._keras_2_config(KERAS2 / "functional.npy") is None
    assert legacy._keras_2_config(KERAS2 / "functional.h5") is not None
    assert actmax.load_model(str(tmp_path / "tiny.h5")).model.get_layer("conv1")
