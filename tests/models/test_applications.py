"""Every keras.applications name actmax accepts builds (random weights, nothing downloaded), lists and renders."""

import numpy as np
import pytest

import actmax
from actmax import models


@pytest.mark.slow
@pytest.mark.parametrize("name", list(models.KERAS_APPS))
def test_every_application_lists_its_layers_and_renders_a_middle_filter(name):
    spec = actmax.load_model(name, pretrained=False)
    table = actmax.layer_table(spec, 96)
    convs = models.convolutions(spec.model)
    assert len(table) >= len(convs) > 10 and "random weights" in spec.description
    result = actmax.render(convs[len(convs) // 2], "0", model=spec, size=96, octaves=1, steps=2)
    assert result.images.shape == (1, 96, 96, 3) and np.isfinite(result.activations).all()
