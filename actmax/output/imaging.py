"""Image and file input/output with numpy and Pillow only: 8-bit conversion, atomic writes, photo loading."""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

from ..errors import ImageError, OutputError


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")  # the photos actmax reads


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Floats in [0, 1] to 8-bit pictures, by clipping and rounding only (no contrast stretch); an image of other
    than 1 or 3 channels (a multispectral model's) as its first three bands in RGB, or its first in grey."""
    return np.round(np.clip(shown_bands(images), 0.0, 1.0) * 255.0).astype(np.uint8)


def shown_bands(images: np.ndarray) -> np.ndarray:
    """The bands a picture shows: grey or RGB as they are, the first three of more, the first of two."""
    bands = images.shape[-1]
    return images if bands in (1, 3) else images[..., :3] if bands > 3 else images[..., :1]


def stretch(images: np.ndarray) -> np.ndarray:
    """Display-only contrast stretch of each image to the full [0, 1] range."""
    axes = tuple(range(1, images.ndim))
    low, high = images.min(axis=axes, keepdims=True), images.max(axis=axes, keepdims=True)
    return (images - low) / np.maximum(high - low, 1e-8)


def atomic_write(path: Path, data: bytes) -> None:
    """Write bytes to a temporary file beside `path`, then rename: readers never see a partial file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes private files; outputs get the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def png_bytes(image: np.ndarray) -> bytes:
    """Encode an (H, W, 3|1) uint8 array as PNG."""
    buffer = io.BytesIO()
    Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image).save(buffer, format="PNG")
    return buffer.getvalue()


def save_thumbnail(path: Path, source: Path, size: int, *, quality: int = 85) -> None:
    """Atomically save a JPEG of the image at `source`, fitted into `size` px, unless a newer one is there."""
    path = Path(path)
    if path.exists() and path.stat().st_mtime >= Path(source).stat().st_mtime:
        return
    with Image.open(source) as image:
        small = image.convert("RGB")
    small.thumbnail((size, size), Image.Resampling.LANCZOS)
    save_jpeg(path, np.asarray(small), quality=quality)


def save_jpeg(path: Path, image: np.ndarray, *, quality: int = 85) -> None:
    """Atomically save a float [0, 1] or uint8 (H, W, 3|1) image as a JPEG (small files for pictures of photos)."""
    pixels = image if image.dtype == np.uint8 else to_uint8(image)
    buffer = io.BytesIO()
    Image.fromarray(rgb(pixels)).save(buffer, format="JPEG", quality=quality)
    atomic_write(path, buffer.getvalue())


def save_gif(path: Path, frames: np.ndarray, *, milliseconds: int = 120) -> None:
    """Atomically save float [0, 1] or uint8 frames (T, H, W, C) as a looping animated GIF."""
    frames = frames if frames.dtype == np.uint8 else to_uint8(frames)
    pictures = [Image.fromarray(f.squeeze(-1) if f.shape[-1] == 1 else f) for f in frames]
    buffer = io.BytesIO()
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:], duration=milliseconds, loop=0)
    atomic_write(path, buffer.getvalue())


def save_png(path: Path, image: np.ndarray) -> None:
    """Atomically save an uint8 image, or a float image in [0, 1], as PNG."""
    atomic_write(path, png_bytes(image if image.dtype == np.uint8 else to_uint8(image)))


def save_json(path: Path, data: dict) -> None:
    """Atomically save JSON, indented for people to read."""
    atomic_write(path, (json.dumps(data, indent=2, default=jsonable) + "\n").encode())


def jsonable(value):
    """numpy scalars and arrays as plain JSON values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in JSON")


def prepare_dir(path: Path) -> Path:
    """Create an output folder and check it is writable, before any work is done.

    Raises:
        OutputError: the folder cannot be created or written.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError as exc:
        raise OutputError(f"cannot write to output folder '{path}' ({exc.strerror}); choose another with --out") \
            from None
    return path


def load_image(path: Path, size: int | None = None, *, exact: tuple[int, int] | None = None,
               channels: int = 3, floor: int = 1) -> np.ndarray:
    """Load a photo as float RGB in [0, 1], EXIF rotation applied, its longer side resized to `size`, or more where
    the shorter would be under `floor` px (a panorama shown to a model whose maps would shrink below a pixel).

    With `exact` (height, width), resize to exactly that size instead (for fixed-size models); with
    `channels=1`, as grey (H, W, 1) for grey-input models.

    Raises:
        ImageError: the file is missing or not an image Pillow can read.
    """
    image = _open(path, channels)
    if exact:
        image = image.resize((exact[1], exact[0]), Image.Resampling.LANCZOS)
    elif size:
        factor = max(size / max(image.size), floor / min(image.size))
        image = image.resize((max(1, round(image.width * factor)), max(1, round(image.height * factor))),
                             Image.Resampling.LANCZOS)
    return _pixels(image)


def _open(path: Path, channels: int) -> Image.Image:
    """A photo as a Pillow image, EXIF rotation applied, in RGB or (`channels=1`) grey.

    Raises:
        ImageError: also where `photo_mode` does.
    """
    mode = photo_mode(channels)
    try:
        with Image.open(path) as image:
            return _on_white(_eight_bit(ImageOps.exif_transpose(image))).convert(mode)
    except FileNotFoundError:
        raise ImageError(f"image '{path}' does not exist; give the path of a JPEG, PNG or other picture") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise ImageError(f"cannot read image '{path}' ({exc.__class__.__name__}); give a JPEG, PNG or other "
                         "picture Pillow can open") from None


def photo_mode(channels: int) -> str:
    """The Pillow mode photos are read in for a model of `channels` channels: grey ("L") or "RGB".

    Raises:
        ImageError: any other count (a multispectral model's), which a photo cannot feed.
    """
    if channels not in (1, 3):
        raise ImageError(f"this model reads {channels}-channel images and a photo has 3 (or 1): show photos to a grey "
                         "or RGB model; 'render', 'weights', 'layers', 'atlas' without --images and 'dream "
                         "--from-noise' work on this one")
    return "L" if channels == 1 else "RGB"


def _on_white(image: Image.Image) -> Image.Image:
    """An image with transparency laid on white, as a viewer shows it (its hidden pixels' colours are arbitrary,
    often black); others as they are."""
    if image.mode not in ("RGBA", "LA", "PA") and "transparency" not in image.info:
        return image
    layer = image.convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", layer.size, (255, 255, 255, 255)), layer)


def _eight_bit(image: Image.Image) -> Image.Image:
    """A 16-bit, 32-bit or float grey image (PNG, TIFF) as 8-bit grey, its range scaled: Pillow's own conversion
    clips at 255, which turns a 16-bit photo white. 8-bit images are returned as they are."""
    if image.mode not in ("I", "F") and not image.mode.startswith("I;16"):
        return image
    values = np.asarray(image, np.float64)
    peak = 1.0 if image.mode == "F" and values.max() <= 1 else \
        65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
    return Image.fromarray(np.clip(np.rint(values / peak * 255), 0, 255).astype(np.uint8))


def _pixels(image: Image.Image) -> np.ndarray:
    """A Pillow image as floats in [0, 1], (H, W, channels)."""
    pixels = np.asarray(image, np.float32) / 255.0
    return pixels[..., None] if pixels.ndim == 2 else pixels


def rgb(images: np.ndarray) -> np.ndarray:
    """Grey images (..., 1) repeated to RGB (..., 3); RGB images as they are."""
    return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images


def load_square(path: Path, size: int, *, channels: int = 3) -> np.ndarray:
    """A photo as a `size` × `size` float image in [0, 1]: shorter side resized to `size`, centre cropped.

    Raises:
        ImageError: the file is missing or not an image Pillow can read.
    """
    image = _open(path, channels)
    factor = size / min(image.size)
    image = image.resize((max(size, round(image.width * factor)), max(size, round(image.height * factor))),
                         Image.Resampling.LANCZOS)
    left, top = (image.width - size) // 2, (image.height - size) // 2
    return _pixels(image.crop((left, top, left + size, top + size)))


def mark(image: np.ndarray, box: tuple[int, int, int, int], *, width: int = 2) -> np.ndarray:
    """A uint8 RGB copy of `image` with a rectangle drawn around (top, left, bottom, right)."""
    canvas = Image.fromarray(to_uint8(rgb(image)))
    top, left, bottom, right = box
    ImageDraw.Draw(canvas).rectangle((left, top, right - 1, bottom - 1), outline=(255, 40, 40), width=width)
    return np.asarray(canvas)


def check_writable(path: Path) -> None:
    """Fail early, creating nothing, if `path` could not be created or written as a folder.

    Raises:
        OutputError: the nearest existing ancestor is not a writable folder.
    """
    if "://" in str(path):  # an fsspec URL: the store says whether it is writable when the job uploads
        return
    path = Path(path).absolute()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write to output folder '{path}' ('{existing}' is not a writable folder); "
                          "choose another with --out")
