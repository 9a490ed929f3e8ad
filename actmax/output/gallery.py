"""Stitch tiles into a labelled grid with exact geometry (numpy and Pillow only)."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .imaging import rgb

BACKGROUND = (24, 24, 24)
DEAD_COLOUR = (220, 30, 30)
LABEL_HEIGHT = 12


def grid_shape(count: int, cols: int | None = None) -> tuple[int, int]:
    """(rows, cols) of a square-ish grid holding `count` tiles, or with `cols` columns."""
    cols = cols or math.ceil(math.sqrt(count))
    return math.ceil(count / cols), cols


def make_grid(tiles: np.ndarray, *, cols: int | None = None, margin: int = 4, labels: Sequence[str] | None = None,
              dead: Sequence[bool] | None = None) -> np.ndarray:
    """Place uint8 tiles (N, H, W, C) on a grid with `margin` pixels between and around them.

    The grid is `cols*W + (cols+1)*margin` wide and `rows*(H+label)+(rows+1)*margin` high, where
    `label` is LABEL_HEIGHT when labels are given. Dead tiles get a red frame in their margin.
    """
    tiles = rgb(tiles)
    count, height, width = tiles.shape[:3]
    rows, cols = grid_shape(count, cols)
    cell = height + (LABEL_HEIGHT if labels else 0)
    canvas = np.empty((rows * cell + (rows + 1) * margin, cols * width + (cols + 1) * margin, 3), np.uint8)
    canvas[:] = BACKGROUND
    for i, tile in enumerate(tiles):
        top, left = tile_origin(i, cols, height=cell, width=width, margin=margin)
        frame = margin // 2
        if dead is not None and dead[i] and frame:
            canvas[top - frame:top + height + frame, left - frame:left + width + frame] = DEAD_COLOUR
        canvas[top:top + height, left:left + width] = tile
    return _draw_labels(canvas, labels, dead, cols, cell, width, margin, height) if labels else canvas


MIN_TILE = 64  # px: smaller images (a 28 px model's) are shown upscaled, pixel for pixel, so they and labels read


def upscale(tiles: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscaling of (N, H, W, C) tiles, so that small ones (a 3x3 kernel, a 28 px image) stay
    crisp."""
    return tiles.repeat(factor, axis=1).repeat(factor, axis=2)


def enlarged(tiles: np.ndarray, min_side: int) -> np.ndarray:
    """Tiles upscaled by the smallest whole factor that makes their longer side at least `min_side` px."""
    return upscale(tiles, max(1, -(-min_side // max(tiles.shape[1:3]))))


def tile_origin(index: int, cols: int, *, height: int, width: int, margin: int) -> tuple[int, int]:
    """Top-left pixel of tile `index` in a grid of cells of the given size."""
    row, col = divmod(index, cols)
    return margin + row * (height + margin), margin + col * (width + margin)


def _draw_labels(canvas, labels, dead, cols, cell, width, margin, height):
    image = Image.fromarray(canvas)
    draw, font = ImageDraw.Draw(image), ImageFont.load_default()
    for i, label in enumerate(labels):
        top, left = tile_origin(i, cols, height=cell, width=width, margin=margin)
        colour = DEAD_COLOUR if (dead[i] if dead is not None else "dead" in label) else (230, 230, 230)
        draw.text((left + 1, top + height), fitted(label, font, width - 2), fill=colour, font=font)
    return np.asarray(image)


def fitted(text: str, font, width: int) -> str:
    """`text` cut short with '…' where it would run wider than `width` px (into the next tile): only after its
    first two words (an index and a number, which a cut would misstate), so a class name gives way first."""
    if font.getlength(text) <= width:
        return text
    words = text.split(" ", 2)
    kept = " ".join(words[:2])
    if len(words) < 3:
        return kept
    tail = clipped(words[2], font, width - font.getlength(f"{kept} "))
    return kept if tail == "…" else f"{kept} {tail}"


def clipped(text: str, font, width: float) -> str:
    """`text` cut short with '…' where it would run wider than `width` px."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(f"{text}…") > width:
        text = text[:-1]
    return f"{text.rstrip()}…"


def side_by_side(images: Sequence[np.ndarray], *, margin: int = 4, labels: Sequence[str] | None = None,
                 min_side: int = 128) -> np.ndarray:
    """uint8 images of the same size in one row (e.g. a photo beside its projections); grey ones shown as RGB, small
    ones (a 32 px model's input) enlarged pixel for pixel to at least `min_side` px."""
    tiles = enlarged(np.stack([rgb(image) for image in images]), min_side)
    return make_grid(tiles, cols=len(images), margin=margin, labels=labels)


def middle_clipped(text: str, font, width: float) -> str:
    """`text` with its middle cut to '…' where it would run wider than `width` px: a title keeps what it opens with
    (the model) and what it ends on (what the figure shows), where a nested layer's long path runs between them."""
    if font.getlength(text) <= width:
        return text
    head, tail = text[:len(text) // 2], text[len(text) // 2:]
    while (head or tail) and font.getlength(f"{head}…{tail}") > width:
        head, tail = (head[:-1], tail) if len(head) >= len(tail) else (head, tail[1:])
    return f"{head}…{tail}"


def titled(image: np.ndarray, title: str, *, height: int = 16) -> np.ndarray:
    """Add a strip with `title` above a uint8 image (its middle cut to '…' where it is wider than the image)."""
    canvas = Image.new("RGB", (image.shape[1], image.shape[0] + height), BACKGROUND)
    canvas.paste(Image.fromarray(image), (0, height))
    font = ImageFont.load_default()
    ImageDraw.Draw(canvas).text((4, 2), middle_clipped(title, font, image.shape[1] - 8), fill=(230, 230, 230),
                                font=font)
    return np.asarray(canvas)
