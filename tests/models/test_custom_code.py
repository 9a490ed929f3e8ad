"""Model files with custom layers: the load error names what is missing, and a Python file that defines it loads it."""

import keras
import numpy as np
import pytest
from typer.testing import CliRunner

from actmax import models
from actmax.cli import app
from actmax.errors import ModelError

CODE = '''
import keras
from custom_helpers import OFFSET

class ShiftedRelu(keras.layers.Layer):  # not registered: Keras needs it as a custom object
    def call(self, x):
        return keras.ops.relu(x) - OFFSET

def mish(x):
    return x * keras.ops.tanh(keras.ops.softplus(x))
'''


@pytest.fixture
def custom_model(tmp_path):
    """A model file with an unregistered custom layer and a custom activation, and the file defining them (which
    imports a sibling module, as a user's package would)."""
    (tmp_path / "custom_helpers.py").write_text("OFFSET = 0.25\n")
    (tmp_path / "my_layers.py").write_text(CODE)
    defined = models.objects_in(tmp_path / "my_layers.py")
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3, activation=defined["mish"], name="c1")(inputs)
    model = keras.Model(inputs, keras.layers.Conv2D(2, 3, name="c2")(defined["ShiftedRelu"](name="shifted")(x)))
    model.save(tmp_path / "custom.keras")
    return model, tmp_path


def test_a_custom_layer_loads_from_the_file_that_defines_it(custom_model):
    model, folder = custom_model
    with pytest.raises(ModelError, match="uses custom 'ShiftedRelu'.*--custom-code FILE.py") as info:
        models.load_model(str(folder / "custom.keras"))
    assert "\n" not in str(info.value)
    defined = models.objects_in(folder / "my_layers.py")
    assert {"ShiftedRelu", "mish"} <= set(defined) and "keras" not in defined
    loaded = models.load_model(str(folder / "custom.keras"), custom_objects=defined).model
    image = np.random.default_rng(0).uniform(size=(1, 12, 12, 3)).astype(np.float32)
    np.testing.assert_allclose(loaded(image), model(image), rtol=1e-5, atol=1e-6)


def test_custom_code_on_the_command_line(custom_model, tmp_path):
    _, folder = custom_model
    listed = CliRunner().invoke(app, ["layers", "--model", str(folder / "custom.keras"), "--custom-code",
                                      str(folder / "my_layers.py")])
    assert listed.exit_code == 0 and "shifted" in listed.output and "ShiftedRelu" in listed.output
    (tmp_path / "broken.py").write_text("raise ValueError('boom')\n")
    for code, message in ((tmp_path / "broken.py", "failed as it ran (ValueError: boom)"),
                          (tmp_path / "absent.py", "does not exist")):
        result = CliRunner().invoke(app, ["layers", "--model", str(folder / "custom.keras"), "--custom-code",
                                          str(code)])
        assert result.exit_code == 2 and message in result.output and len(result.output.strip().splitlines()) == 1
