"""Every keras.applications name actmax accepts builds (random weights, nothing downloaded), lists its layers,
renders and has receptive fields."""

import numpy as np
import pytest

import actmax
from actmax import models
from actmax.models import receptive


@pytest.mark.slow
@pytest.mark.parametrize("name", list(models.KERAS_APPS))
def test_every_application_lists_its_layers_renders_a_middle_filter_and_has_its_receptive_field(name):
    spec = actmax.load_model(name, pretrained=False)
    table = actmax.layer_table(spec, 96)
    convs = models.convolutions(spec.model)
    assert len(table) >= len(convs) > 10 and "random weights" in spec.description
    middle = convs[len(convs) // 2]
    # The main ascent only: the later passes run the same engine under other settings (tested on three of these
    # architectures and the model zoo), and re-tracing them on the largest graphs costs minutes; what they need
    # of an architecture is its receptive field (the wake pass's lattice), measured here.
    result = actmax.render(middle, "0", model=spec, size=96, octaves=1, steps=2, rescue=0, revive=0, wake=0,
                           boost=0, flat=0, tone=0, polish=0)
    assert result.images.shape == (1, *spec.image_shape(96), 3) and np.isfinite(result.activations).all()  # NASNet: 224
    assert all(isinstance(step, int) and step >= 1 for step in receptive.spacing(spec, middle, 96))
