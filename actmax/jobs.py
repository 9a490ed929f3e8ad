"""Write a rendering to disk: one PNG per filter, the gallery, and a manifest, each file written atomically."""

from __future__ import annotations

import datetime
import platform
from importlib import metadata
from pathlib import Path

import numpy as np

from . import gallery, imaging

MANIFEST = "manifest.json"
GALLERY = "gallery.png"


def filter_file(index: int) -> str:
    """File name of one filter's image."""
    return f"filter_{index:04d}.png"


def versions() -> dict:
    """Versions of the libraries that shape the result, for the manifest."""
    found = {"python": platform.python_version()}
    for package in ("actmax", "tensorflow", "keras", "numpy", "pillow"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def labels_for(rendering) -> list[str]:
    """Tile labels: filter index and activation, or 'dead' for a filter that stayed silent."""
    return [f"#{f} {a:.3g}" if alive else f"#{f} dead"
            for f, a, alive in zip(rendering.filters, rendering.activations, rendering.alive)]


def save_rendering(rendering, out_dir: Path, *, cols: int | None = None, margin: int = 4, labels: bool = True,
                   stretch: bool = False) -> Path:
    """Save per-filter PNGs, `gallery.png` and `manifest.json` under `out_dir`; returns the gallery path.

    With `stretch`, the gallery shows each tile contrast-stretched; the per-filter files never are.
    """
    out_dir = imaging.prepare_dir(out_dir)
    tiles = imaging.to_uint8(rendering.images)
    for index, tile in zip(rendering.filters, tiles):
        imaging.save_png(out_dir / filter_file(index), tile)
    shown = imaging.to_uint8(imaging.stretch(rendering.images)) if stretch else tiles
    grid = gallery.make_grid(shown, cols=cols, margin=margin, labels=labels_for(rendering) if labels else None,
                             dead=~rendering.alive)
    imaging.save_png(out_dir / GALLERY, grid)
    imaging.save_json(out_dir / MANIFEST, manifest(rendering, grid_shape=grid.shape))
    return out_dir / GALLERY


def manifest(rendering, *, grid_shape) -> dict:
    """Everything needed to know how the images were made and how well they did."""
    return {
        "model": rendering.model,
        "layer": rendering.layer,
        "objective": rendering.objective or f"{rendering.layer}:<filter>",
        "settings": rendering.settings.as_dict(),
        "seed": rendering.seed,
        "seconds": round(rendering.seconds, 3),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
        "gallery": {"file": GALLERY, "height": grid_shape[0], "width": grid_shape[1]},
        "filters": [
            {"index": int(f), "file": filter_file(f), "activation": float(a), "objective": float(o),
             "alive": bool(alive)}
            for f, a, o, alive in zip(rendering.filters, rendering.activations, rendering.objective_values,
                                      rendering.alive)
        ],
        "summary": {"count": len(rendering.filters), "dead": int(np.sum(~rendering.alive)),
                    "mean_activation": float(np.mean(rendering.activations)) if rendering.filters else 0.0},
        **rendering.extra,
    }


def save_figure(path: Path, image: np.ndarray, params: dict) -> Path:
    """Save one picture and a JSON sidecar of the parameters that made it (`name.png` + `name.json`), atomically."""
    path = Path(path)
    imaging.prepare_dir(path.parent)
    imaging.save_png(path, image)
    imaging.save_json(path.with_suffix(".json"), {**params, "versions": versions(),
                                                   "created": datetime.datetime.now(datetime.timezone.utc)
                                                   .isoformat(timespec="seconds")})
    return path
