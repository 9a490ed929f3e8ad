"""Single pictures (inspection plots, dreams) saved with a JSON sidecar of the parameters that made them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..output import imaging
from .folders import free_name
from .manifest import now, versions


def save_figure(path: Path, image: np.ndarray, params: dict) -> Path:
    """Save one picture and a JSON sidecar of the parameters that made it (`name.png` + `name.json`), atomically.

    A picture made with other parameters is never overwritten: the new one gets the next free name.
    """
    imaging.prepare_dir(Path(path).parent)
    path = free_name(path, params)
    imaging.save_png(path, image)
    imaging.save_json(path.with_suffix(".json"), {**params, "versions": versions(), "created": now()})
    return path


def save_dream(folder: Path, stem: str, pictures: list[np.ndarray], params: dict) -> Path:
    """Save a dream: `stem.png` (+ sidecar); for a zoom, also every frame and `stem.gif`. Returns the main file."""
    path = save_figure(Path(folder) / f"{stem}.png", pictures[-1], params)
    if len(pictures) > 1:
        for i, picture in enumerate(pictures):
            imaging.save_png(path.parent / f"{path.stem}_frame_{i:03d}.png", picture)
        path = path.with_suffix(".gif")
        imaging.save_gif(path, np.stack(pictures))
    return path
