"""Dataset examples on disk: per layer, the running top-K (`examples.npz` + `examples.json`), each filter's
receptive-field crops and marked photos, and a contact sheet; a rerun with more images adds to them."""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np
from PIL import Image

from .. import models
from ..errors import ActmaxError, ImageError, OutputError
from ..inspect import examples
from ..optvis.render import filter_list
from ..output import gallery, imaging, storage
from . import ray_examples
from .manifest import file_stem, read_manifest
from .runs import OUTPUTS

RESULT, ARRAYS, SHEET = "examples.json", "examples.npz", "examples.png"
TILE = 96


class ExamplesResult(NamedTuple):
    """Where the contact sheet is, how many readable images the layer's examples cover and how many of them were
    new, how many files could not be read; the layer by its full path, and how many of its filters fire on none of
    the images (above the layer's firing floor: a class above chance)."""

    path: Path
    images: int
    new: int
    skipped: int
    layer: str
    unmatched: int = 0


def examples_job(spec: models.ModelSpec, sources: Sequence[str | Path], layer: str, filters=None, *, top: int = 9,
                 size: int | None = None, batch: int = 32, out: Path | None = None, progress=None,
                 files: bool = True, ray: str | bool | None = None,
                 class_names: Path | str | None = None) -> ExamplesResult:
    """Find each filter's top images among `sources` (folders, recursively, or files) and save them under `out`.

    With `files` False, no per-example crop or marked photo is written (the atlas draws them from the photos).
    With `ray` (True, or a cluster address), the pass is a Ray Data job (`ray_examples`), with the same result.
    With `class_names` (a file naming the classifier's classes), the class head's rows are labelled with them.

    Raises:
        ActmaxError: no images among the sources (or none readable), a model photos cannot feed, or `out` holds
            examples made with other settings.
    """
    layer = models.resolve_layer(spec.model, layer, units=True)
    models.check_named(spec, [layer], class_names)
    names = models.unit_names(spec, layer, class_names)
    imaging.photo_mode(spec.channels)
    paths = photos(sources)
    fixed = {side for side in spec.model_sides if side}  # square photos: a fixed side's length, seen unresized
    size = fixed.pop() if len(fixed) == 1 else size or 224
    head = {"model": spec.name, "layer": layer, "filters": filter_list(spec, layer, filters), "top": top, "size": size}
    storage.refuse_url(out, "dataset examples")
    out = Path(out or OUTPUTS / spec.name / "examples" / file_stem(layer))
    imaging.check_writable(out)
    previous = load(out, head)
    collect = functools.partial(ray_examples.collect_on_ray, ray) if ray else examples.collect
    found = collect(spec, layer, paths, filters=head["filters"], top=top, size=size, batch=batch, previous=previous,
                    progress=progress)
    readable = _readable(found)
    if not readable:  # each opened, and none decoded
        raise _none_readable(found.paths)
    save(out, head, found, spec, files=files, names=names)
    return ExamplesResult(out / SHEET, readable, readable - (_readable(previous) if previous else 0),
                          len(found.skipped), layer, int((found.images[:, 0] < 0).sum()))


def _readable(found: examples.Examples) -> int:
    """How many of the images examples were sought in could be read."""
    return len(found.paths) - len(found.skipped)


def photos(sources: Sequence[str | Path]) -> list[str]:
    """The absolute paths of the images among `sources` (folders, recursively, or files).

    Raises:
        ActmaxError: a source is missing, or there are no images among them that Pillow recognises.
    """
    paths = [str(Path(p).resolve()) for p in examples.image_paths(sources)]
    if not paths:
        raise ActmaxError(f"no images in {', '.join(map(str, sources))}; give folders or files "
                          f"({', '.join(imaging.PHOTO_SUFFIXES)})")
    if not any(_opens(path) for path in paths):  # checked before any work: one header read where the first opens
        raise _none_readable(paths)
    return paths


def _opens(path: str) -> bool:
    """Whether Pillow recognises the file as an image (its header only)."""
    try:
        Image.open(path).close()
    except (OSError, ValueError):
        return False
    return True


def _none_readable(paths: list[str]) -> ImageError:
    return ImageError(f"none of the {len(paths)} files given could be read as an image (e.g. '{paths[0]}'); give "
                      "JPEG, PNG or other pictures Pillow can open")


def load(out: Path, head: dict) -> examples.Examples | None:
    """The examples already in `out` for these settings, or None when there are none.

    Raises:
        OutputError: `out` holds examples made with other settings.
    """
    saved = read_manifest(out / RESULT)
    if saved is None or not (out / ARRAYS).is_file():
        return None
    if {k: saved.get(k) for k in head} != head:
        raise OutputError(f"'{out}' holds examples made with other settings; use another --out")
    with np.load(out / ARRAYS) as arrays:
        return examples.Examples(head["layer"], head["filters"], head["size"], saved["width"], saved["paths"],
                                 arrays["scores"], arrays["images"], arrays["peaks"], saved["skipped"])


def save(out: Path, head: dict, found: examples.Examples, spec: models.ModelSpec, *, files: bool = True,
         names: list[str] | None = None) -> None:
    """Write the crops and marked photos (with `files`), the contact sheet (its rows labelled with the units'
    `names`, where a class head's are known), then the arrays and the JSON (each file atomically)."""
    imaging.prepare_dir(out)
    boxes = found.boxes(spec)

    @functools.lru_cache(maxsize=None)
    def photo(path: str) -> np.ndarray:  # a photo in many filters' top K is decoded once
        return imaging.load_square(path, found.size, channels=spec.channels)

    tiles, labels = [], []
    columns = max(1, int((found.images >= 0).sum(axis=1).max()))  # one photo: one column, not K mostly empty ones
    for row, f in enumerate(found.filters):
        for rank, (image, score) in enumerate(zip(found.images[row, :columns], found.scores[row, :columns])):
            crop = _example(out if files else None, f, rank, photo(found.paths[image]), boxes[row, rank]) \
                if image >= 0 else np.zeros((TILE, TILE, 3), np.uint8)
            tiles.append(crop)
            name = f" {names[f]}" if names else ""
            labels.append(f"#{f} {score:.3g}{name}" if image >= 0 else f"#{f} -{name}")
    imaging.save_png(out / SHEET, gallery.make_grid(np.stack(tiles), cols=columns, labels=labels))
    arrays = io.BytesIO()
    np.savez(arrays, scores=found.scores, images=found.images, peaks=found.peaks)
    imaging.atomic_write(out / ARRAYS, arrays.getvalue())
    entries = [{"index": f, "examples": [{"image": found.paths[i], "score": float(s), "box": [int(v) for v in b],
                                         **({"file": example_file(f, rank)} if files else {})}
                                        for rank, (i, s, b) in enumerate(zip(found.images[row], found.scores[row],
                                                                             boxes[row])) if i >= 0]}
               for row, f in enumerate(found.filters)]
    imaging.save_json(out / RESULT, {**head, **({"names": names} if names else {}), "width": found.width,
                                     "paths": found.paths, "skipped": found.skipped, "units": entries})


def example_file(index: int, rank: int, suffix: str = "") -> str:
    """File name of a filter's example of that rank (0 = strongest): its crop, or with `_context` its photo."""
    return f"filter_{index:04d}_{rank}{suffix}.png"


def _example(out: Path | None, index: int, rank: int, photo: np.ndarray, box) -> np.ndarray:
    """One example's receptive-field crop, enlarged to TILE px; saved with its photo marked when `out` is given."""
    top, left, bottom, right = box
    crop = Image.fromarray(imaging.to_uint8(imaging.rgb(photo))[top:bottom, left:right])
    crop = np.asarray(crop.resize((TILE, TILE), Image.Resampling.NEAREST if crop.width < TILE else
                                  Image.Resampling.LANCZOS))
    if out is not None:
        imaging.save_png(out / example_file(index, rank), crop)
        imaging.save_png(out / example_file(index, rank, "_context"), imaging.mark(photo, tuple(box)))
    return crop
