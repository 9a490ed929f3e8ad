import numpy as np
import pytest
import tensorflow as tf

from actmax.optvis import ascent, objectives
from actmax import models
from actmax.errors import ObjectiveError
from actmax.optvis.presets import get_preset


def fake_acts():
    """Two items, 2x2 positions, 3 channels: item b, channel c has value 10*b + c everywhere."""
    values = np.array([[[[10 * b + c for c in range(3)]] * 2] * 2 for b in range(2)], np.float32)
    return {"conv": tf.constant(values)}


def test_channel_and_per_item_channel():
    acts = fake_acts()
    np.testing.assert_allclose(objectives.channel("conv", 2)(acts), [2, 12])
    np.testing.assert_allclose(objectives.channel("conv", tf.constant([1, 0]))(acts), [1, 10])


def test_arithmetic_composes():
    acts = fake_acts()
    a, b = objectives.channel("conv", 1), objectives.channel("conv", 2)
    np.testing.assert_allclose((a + 0.5 * b)(acts), [2, 17])
    np.testing.assert_allclose((a - b)(acts), [-1, -1])
    np.testing.assert_allclose((b / 2)(acts), [1, 6])
    np.testing.assert_allclose((-a)(acts), [-1, -11])
    np.testing.assert_allclose(sum([a, b])(acts), [3, 23])
    assert (a + b).layers == {"conv"}


def test_neuron_energy_direction():
    acts = fake_acts()
    np.testing.assert_allclose(objectives.neuron("conv", 1)(acts), [1, 11])
    np.testing.assert_allclose(objectives.layer_energy("conv")(acts), [(0 + 1 + 4) / 3, (100 + 121 + 144) / 3])
    np.testing.assert_allclose(objectives.direction("conv", [0, 0, 2])(acts), [2, 12])


def test_per_item_neuron_reads_each_items_channel_at_the_centre_only():
    values = np.zeros((2, 3, 3, 4), np.float32)
    values[0, 1, 1, 2], values[1, 1, 1, 0], values[1, 0, 0, 0] = 5, 7, 100
    np.testing.assert_allclose(objectives.neuron("conv", tf.constant([2, 0]))({"conv": tf.constant(values)}), [5, 7])


def test_lattice_averages_each_items_channel_over_positions_spaced_from_the_centre():
    values = np.zeros((2, 7, 7, 3), np.float32)
    values[0, :, :, 1] = np.arange(49).reshape(7, 7)
    values[1, 1, 1, 2], values[1, 2, 2, 2] = 8, 100  # (1, 1) is on the lattice through the centre (3, 3); (2, 2) is not
    goal = objectives.on_lattice(objectives.channel("conv", tf.constant([1, 2])), {"conv": (2, 2)})
    got = goal({"conv": tf.constant(values)})
    rows = np.arange(1, 7, 2)
    np.testing.assert_allclose(got, [np.arange(49).reshape(7, 7)[np.ix_(rows, rows)].mean(), 8 / 9])


def test_diversity_prefers_distinct_items():
    same = {"conv": tf.ones((2, 4, 4, 3))}
    different = {"conv": tf.constant(np.eye(3, dtype=np.float32)[[0, 1]][:, None, None, :] * np.ones((2, 4, 4, 3),
                                                                                                       np.float32))}
    assert float(tf.reduce_mean(objectives.diversity("conv")(different))) > \
        float(tf.reduce_mean(objectives.diversity("conv")(same)))


@pytest.mark.parametrize("text, expected", [
    ("conv:1", [1, 11]),
    ("conv:1 + 0.5*conv:2", [2, 17]),
    ("conv:1-conv:0", [1, 1]),
    ("2*conv:2 - .5 * conv:1", [3.5, 18.5]),
])
def test_parse(text, expected):
    np.testing.assert_allclose(objectives.parse(text)(fake_acts()), expected)


def test_parse_logit_and_energy():
    assert objectives.parse("logit:130").layers == {"logit"}
    assert objectives.parse("conv").name == "energy(conv)"


@pytest.mark.parametrize("text, message", [
    ("", "empty objective"),
    ("conv:1 +", "cannot parse"),
    ("conv:1 conv:2", "cannot parse"),
    ("3*", "cannot parse"),
    ("logit", "class index"),
    ("conv:x", "cannot parse"),
])
def test_bad_expressions(text, message):
    with pytest.raises(ObjectiveError, match=message):
        objectives.parse(text)


@pytest.mark.parametrize("make", [
    lambda: objectives.channel("conv2", 3),
    lambda: objectives.neuron("conv2", 1),
    lambda: objectives.layer_energy("relu2"),
    lambda: objectives.direction("conv2", [1.0] * 8),
    lambda: objectives.channel("conv2", 1) + objectives.diversity("conv2"),
])
def test_each_objective_rises_on_a_tiny_model(make, tiny_spec):
    goal = make()
    features = models.FeatureModel(tiny_spec, tuple(sorted(goal.layers)))
    settings = get_preset("classic").override(size=16, octaves=1, steps=10, lr=0.05)
    engine = ascent.build(features, goal, settings)
    start = np.random.default_rng(0).uniform(0.4, 0.6, (2, 16, 16, 3)).astype(np.float32)
    before = goal(features(tf.constant(start))).numpy()
    after = goal(features(engine.ascend(start, seed=0).images)).numpy()
    assert (after > before).all()
