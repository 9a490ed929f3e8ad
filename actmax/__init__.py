"""actmax: see what the filters of a convolutional network respond to, by gradient ascent on the input.

Names are imported lazily, so that `actmax --help` answers without starting TensorFlow.
"""

import importlib
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's C++ start-up chatter off the terminal

__version__ = "0.1.0"

_EXPORTS = {
    "errors": ("ActmaxError",),
    "models": ("DEFAULT_MODEL", "load_model", "model_names", "objects_in", "visual_layers", "layer_table",
               "unit_table"),
    "optvis.objectives": ("channel", "class_logit", "direction", "diversity", "layer_energy", "neuron", "parse"),
    "optvis.presets": ("PRESETS", "Settings", "get_preset"),
    "optvis.render": ("Rendering", "render", "render_batches", "render_objective"),
    "jobs": ("save_rendering",),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name):
    if name not in _WHERE:
        raise AttributeError(f"module 'actmax' has no attribute '{name}'")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
