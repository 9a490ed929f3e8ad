"""Perceptual colormaps and heatmap overlays with numpy only (no matplotlib).

Each map is its published 11-stop table (0.0, 0.1, … 1.0), linearly interpolated.
"""

from __future__ import annotations

import numpy as np

from ..errors import ActmaxError

_STOPS = {
    "viridis": ["440154", "482475", "414487", "355f8d", "2a788e", "21918c", "22a884", "44bf70", "7ad151",
                "bddf26", "fde725"],
    "magma": ["000004", "140e36", "3b0f70", "641a80", "8c2981", "b73779", "de4968", "f7705c", "fe9f6d",
              "fecf92", "fcfdbf"],
    "inferno": ["000004", "160b39", "420a68", "6a176e", "932667", "bc3754", "dd513a", "f37819", "fca50a",
                "f6d746", "fcffa4"],
    "grey": ["000000", "ffffff"],
}
NAMES = tuple(_STOPS)


def _table(name: str) -> np.ndarray:
    stops = np.array([[int(h[i:i + 2], 16) for i in (0, 2, 4)] for h in _STOPS[name]], np.float32)
    positions = np.linspace(0.0, 1.0, len(stops))
    grid = np.linspace(0.0, 1.0, 256)
    return np.stack([np.interp(grid, positions, stops[:, c]) for c in range(3)], axis=1).round().astype(np.uint8)


def apply(values: np.ndarray, name: str = "viridis") -> np.ndarray:
    """Map values in [0, 1] to uint8 RGB with the named colormap.

    Raises:
        ActmaxError: an unknown colormap name.
    """
    if name not in _STOPS:
        raise ActmaxError(f"unknown colormap '{name}'; use one of: {', '.join(NAMES)}")
    index = np.round(np.clip(values, 0.0, 1.0) * 255).astype(np.int32)
    return _table(name)[index]


def normalise(values: np.ndarray, axes: tuple[int, ...] | None = None) -> np.ndarray:
    """Rescale to [0, 1] by min and max over `axes` (all by default); a constant map becomes 0."""
    low = values.min(axis=axes, keepdims=True)
    high = values.max(axis=axes, keepdims=True)
    return ((values - low) / np.where(high > low, high - low, 1.0)).astype(np.float32)


def overlay(image: np.ndarray, heat: np.ndarray, *, name: str = "inferno", alpha: float = 0.5) -> np.ndarray:
    """Blend a [0, 1] heatmap (H, W), coloured, over a float RGB image in [0, 1] of the same size; uint8 out."""
    coloured = apply(heat, name).astype(np.float32) / 255.0
    return np.round(255 * np.clip((1 - alpha) * image + alpha * coloured, 0, 1)).astype(np.uint8)
