"""Feature maps of a photo: what each filter of a layer responds to, map by map."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .. import models
from ..models import memory
from ..output import colormaps, gallery
from ..errors import ActmaxError
from ..models.selection import parse_filters


def chosen_layers(spec: models.ModelSpec, names: list[str], *, blocks: bool = False) -> list[str]:
    """The layer paths a call asks for: `names`, plus the last conv of every block with `blocks` or where no names
    are given (a first look at what the photo does to the network)."""
    chosen = list(names) + (block_ends(spec) if blocks or not names else [])
    if not chosen:
        raise ActmaxError(f"model '{spec.name}' has no convolution whose maps to show; give --layer NAME "
                          "(repeatable, see 'actmax layers')")
    return models.resolve_layers(spec.model, chosen)


def block_ends(spec: models.ModelSpec) -> list[str]:
    """The last convolution before each change of resolution (the last conv of every block)."""
    table, convs = models.layer_table(spec), set(models.convolutions(spec.model))
    ends, last_conv = [], None
    for (name, _, shape, _), following in zip(table, table[1:] + [None]):
        last_conv = name if name in convs else last_conv
        if last_conv and (following is None or following[2] != shape):
            ends.append(last_conv)
            last_conv = None
    return ends


def feature_maps(spec: models.ModelSpec, image: np.ndarray, layers: list[str]) -> dict[str, np.ndarray]:
    """Post-activation maps (channels, H, W) of each layer for one [0, 1] RGB image."""
    models.check_fits(spec, image.shape, *layers)
    features = models.FeatureModel(spec, tuple(layers), pre_activation=False)
    acts = features(tf.constant(image[None], tf.float32))
    return {name: np.transpose(acts[name].numpy()[0], (2, 0, 1)) for name in layers}


def maps_grid(maps: np.ndarray, *, colormap: str = "viridis", margin: int = 2, min_tile: int = 48) -> np.ndarray:
    """Each map normalised on its own, coloured, upscaled to at least `min_tile` px, in a square-ish grid."""
    unit = colormaps.normalise(maps, axes=(1, 2))
    return gallery.make_grid(gallery.enlarged(colormaps.apply(unit, colormap), min_tile), margin=margin)


@memory.guard("lower --size")
def figure(spec: models.ModelSpec, image: np.ndarray, layer: str, *, maps: str | None = None,
           colormap: str = "viridis", title: bool = True) -> np.ndarray:
    """What `actmax features` saves for one layer: the chosen maps (default the first 64) in a titled grid."""
    values = feature_maps(spec, image, [layer])[layer]
    chosen = parse_filters(maps or f"0-{min(len(values), 64) - 1}", len(values), layer, noun="maps")
    grid = maps_grid(values[chosen], colormap=colormap)
    return gallery.titled(grid, f"{spec.name}, {layer}: maps {chosen[0]}-{chosen[-1]}") if title else grid
