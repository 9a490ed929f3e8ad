"""Named, tested combinations of render settings; any field can be overridden per run."""

from __future__ import annotations

import numbers
import re
from dataclasses import asdict, dataclass, fields, replace

from ..errors import ActmaxError


@dataclass(frozen=True)
class Settings:
    """Everything that decides how a filter image is optimised."""

    param: str = "pixel"
    optimizer: str = "normalised"
    lr: float = 0.01
    transforms: str = "none"
    pre_activation: bool = False
    lattice: bool = False  # read the goal on positions one receptive field apart, not on its layers' whole maps
    leak: float = 0.0
    size: int = 128
    shape: str = ""  # "WxH" for a model that takes any size, its longer side `size`; "" renders size x size
    steps: int = 20
    octaves: int = 10
    octave_scale: float = 1.2
    tv: float = 0.0
    l1: float = 0.0
    l2: float = 0.0
    blur_every: int = 0
    contrast: float = 0.0
    patience: int = 0
    rescue: int = 0
    revive: int = 0
    wake: int = 0
    boost: int = 0
    flat: int = 0  # flat colours tried against each image (passes.FlatPass)
    tone: int = 0  # shares of the way to its filter's best flat colour tried on each image's mean (passes.Tone)
    polish: int = 0  # transform-free steps each patterned image gets last, from itself (passes.Polish)
    precision: str = "auto"

    def override(self, **changes) -> Settings:
        """A copy with the given fields changed; `None` values keep the current setting."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def as_dict(self) -> dict:
        return asdict(self)


PRESETS = {
    # Keras' classic recipe: raw pixels, post-ReLU channel mean, RMS-normalised gradient, octaves.
    "classic": Settings(),
    # Lucid's recipe: decorrelated Fourier image, Adam, standard transforms, no octaves.
    "lucid": Settings(param="fourier", optimizer="adam", lr=0.05, transforms="standard", pre_activation=True,
                      steps=256, octaves=1),
    # Measured best on every layer of the embedded model (bench/quality.py --sweep): pixel ascent of the
    # activation plus 5% of its pre-activation (a leaky ReLU: the pattern leads, silent filters still have a
    # gradient) under an RMS-contrast cap, light jitter (a share of the image: 6 px at 128, 2 px at 32, where 6 px
    # was a fifth of it) and rotation, and few large octaves; filters left weak (silent, active on less than half
    # their map, or losing half their activation when the image is shifted) get a second pass on the classic
    # schedule and keep the more robust image (or the one that fires at all); filters whose image fires them but
    # loses half of it once shifted get a third on Lucid's whole recipe (its strong transforms, 256 steps, the
    # contrast cap), kept where it holds them better, at equal contrast too (a ConvNeXt's deep layers hold nothing
    # else); filters whose image does not hold them get a fourth, on Lucid's recipe for a lattice of positions one
    # receptive field apart; then images with contrast to spare try two stretches of it, short of clipping
    # (optvis.rescue). Last, a filter that some flat colour drives harder than its
    # image (one that any pattern weakens) gets that flat colour, out of 27; an image whose filter a flat tile alone
    # drives more than half as hard tries its pattern on that tile's tone (half-way and all the way). Then every
    # patterned image gets 10 transform-free steps, kept where it drives its filter harder as shown and holds it
    # at least 3/4 as well (else the change scaled back to 1/2, 1/4 or 1/8 of the way): a network that is not
    # shift-invariant scores the shifted copies the ascent saw, not the image.
    "default": Settings(transforms="jitter:5%,rotate:5", leak=0.05, contrast=0.3, octaves=3, steps=26, rescue=20,
                        revive=256, wake=256, boost=2, flat=27, tone=2, polish=10),
}
MIN_SIDE = 8
AT_LEAST = {"size": MIN_SIDE, "steps": 1, "octaves": 1, "octave_scale": 1.0}  # every other count or weight: 0


def size_settings(size: int | str | None) -> dict:
    """`size` as the settings `size` and `shape`: a number is a square's side, "WxH" (e.g. "320x180") a rectangle
    whose longer side is the size; None changes neither.

    Raises:
        ActmaxError: text that is neither, or a side under MIN_SIDE px.
    """
    if size is None:
        return {}
    found = re.fullmatch(r"\s*(\d+)\s*(?:[x×]\s*(\d+))?\s*", str(size).lower())
    if not found or min(int(side) for side in found.groups() if side) < MIN_SIDE:
        raise ActmaxError(f"size '{size}' is not N or WxH with sides of at least {MIN_SIDE} px; e.g. 128 or 320x180")
    width, height = int(found[1]), int(found[2] or found[1])
    return {"size": max(width, height), "shape": f"{width}x{height}" if width != height else ""}


def shape_of(settings: Settings) -> tuple[int, int] | None:
    """The (height, width) the settings' shape asks for, or None for a square."""
    if not settings.shape:
        return None
    width, height = map(int, settings.shape.split("x"))
    return height, width


def get_preset(name: str) -> Settings:
    """The settings of a named preset.

    Raises:
        ActmaxError: an unknown preset name.
    """
    if name not in PRESETS:
        raise ActmaxError(f"unknown preset '{name}'; use one of: {', '.join(PRESETS)}")
    return PRESETS[name]


def plain_numbers(settings, at_least: dict):
    """Settings (a dataclass) with each count and weight a Python int or float: NumPy's would meet TensorFlow's int32.

    Raises:
        ActmaxError: one of the wrong kind or below its least (`at_least`, else 0: `steps=0`, `lr=-1`, `octaves=2.5`).
    """
    plain = {}
    for field in fields(settings):
        kind = {"int": (numbers.Integral, int), "float": (numbers.Real, float)}.get(field.type)
        value, least = getattr(settings, field.name), at_least.get(field.name, 0)
        if kind and (isinstance(value, bool) or not isinstance(value, kind[0]) or value < least):
            whole = "a whole number" if field.type == "int" else "a number"
            raise ActmaxError(f"{field.name} must be {whole} of at least {least}, not {value!r}")
        if kind:
            plain[field.name] = kind[1](value)
    return replace(settings, **plain)
