"""Custom layers and functions: those a user's Python file defines, for a model file whose custom layers Keras
must rebuild, and those a loaded model uses, for another process (a Ray actor) to rebuild it."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import keras

from ..errors import ModelError
from . import graph

RUN_NAME = "actmax_custom_code"


def objects_in(path: str | Path) -> dict:
    """Run the file and return every class and function it defines, and every layer class it imports, by name:
    Keras's `custom_objects` for the layers, activations or initialisers a model file names. Running it also
    registers what it decorates with `keras.saving.register_keras_serializable`.

    Raises:
        ModelError: the file is missing or fails as it runs.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"custom code file '{path}' does not exist; give the .py file that defines the model's "
                         "custom layers")
    sys.path.insert(0, str(path.resolve().parent))  # as `python FILE.py` runs it: its sibling modules import
    try:
        names = runpy.run_path(str(path), run_name=RUN_NAME)
    except Exception as exc:
        raise ModelError(f"custom code file '{path}' failed as it ran ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    finally:
        sys.path.remove(str(path.resolve().parent))
    return {name: value for name, value in names.items() if callable(value) and (
        getattr(value, "__module__", None) == RUN_NAME or isinstance(value, type) and issubclass(value, keras.Layer))}


def custom_objects_of(model: keras.Model) -> dict:
    """The layer classes and activation functions `model` uses that are not Keras's own, by every name Keras may
    look them up by (class name and registered name): what another process needs to unpickle the model."""
    found = {}
    for tap in graph.trace(model).taps.values():
        for used in (type(tap.layer), getattr(tap.layer, "activation", None)):
            if callable(used) and not getattr(used, "__module__", "keras").startswith("keras"):
                found.update({used.__name__: used, keras.saving.get_registered_name(used): used})
    return found
