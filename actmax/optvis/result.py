"""What a render returns: images as saved (quantised to 8 bits) with their scores; combining and ordering them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..errors import ActmaxError
from .presets import Settings

GREY_MARGIN = 0.01  # how far above a flat grey image's activation (a share of it) a negative one must be to count


def responds(activations: np.ndarray, greys: np.ndarray | None = None, floor: float = 0.0) -> np.ndarray:
    """True where a filter's activation on its image is above its layer's firing floor (`models.firing_floor`: zero
    for a ReLU; a silent filter renders noise), or clearly above what a flat grey image gives it (`greys`): a filter
    whose mean cannot pass zero (a linear conv after a per-image normalisation, such as GroupNorm) still shows what
    raises it."""
    raised = activations > greys + GREY_MARGIN * np.abs(greys) if greys is not None else False
    return (activations > floor) | raised


@dataclass
class Rendering:
    """Rendered images (float32 in [0, 1], exactly what is saved) with per-image scores."""

    model: str
    layer: str
    filters: list[int]
    images: np.ndarray
    activations: np.ndarray
    objective_values: np.ndarray
    settings: Settings
    seed: int
    seconds: float
    objective: str = ""
    extra: dict = field(default_factory=dict)
    frames: np.ndarray | None = None  # (N, frames, H, W, C) progress snapshots when animated
    greys: np.ndarray | None = None  # each filter's activation on a flat grey image, where measured
    floor: float = 0.0  # the value above which the layer's units fire (`models.firing_floor`)

    @property
    def alive(self) -> np.ndarray:
        """Where the filter responds to its image (`responds`)."""
        return responds(self.activations, self.greys, self.floor)

    def select(self, order: Sequence[int]) -> Rendering:
        """A rendering with only the given items, in the given order."""
        order = list(order)
        return Rendering(self.model, self.layer, [self.filters[i] for i in order], self.images[order],
                         self.activations[order], self.objective_values[order], self.settings, self.seed,
                         self.seconds, self.objective, self.extra, None if self.frames is None else self.frames[order],
                         None if self.greys is None else self.greys[order], self.floor)


def quantise(images: np.ndarray) -> np.ndarray:
    """What an 8-bit PNG stores, back as floats in [0, 1]: so scores are those of the saved file."""
    return np.round(np.clip(images, 0.0, 1.0) * 255.0).astype(np.float32) / 255.0


def combine(parts: list[Rendering]) -> Rendering:
    """One Rendering from consecutive batches of the same run."""
    first = parts[0]
    frames = np.concatenate([p.frames for p in parts]) if first.frames is not None else None
    counts = dict.fromkeys(key for p in parts for key in p.extra if key not in ("batch", "traces"))
    extra = {"batch": first.extra.get("batch"), "traces": parts[-1].extra.get("traces"),
             **{key: sum(p.extra.get(key, 0) for p in parts) for key in counts}}  # steps run, filters rescued …
    return Rendering(first.model, first.layer, [f for p in parts for f in p.filters],
                     np.concatenate([p.images for p in parts]), np.concatenate([p.activations for p in parts]),
                     np.concatenate([p.objective_values for p in parts]), first.settings, first.seed,
                     sum(p.seconds for p in parts), first.objective, extra, frames,
                     np.concatenate([p.greys for p in parts]) if first.greys is not None else None, first.floor)


def order(result: Rendering, *, top: int | None = None, sort: str = "index") -> Rendering:
    """Keep the `top` strongest filters and order by `index` or `activation`."""
    by_activation = list(np.argsort(-result.activations, kind="stable"))
    if top is not None:
        if top < 1:
            raise ActmaxError(f"--top must be at least 1, got {top}")
        kept = by_activation[:top]
        return result.select(kept if sort == "activation" else sorted(kept))
    return result.select(by_activation if sort == "activation" else range(len(result.filters)))
