"""An atlas on disk: per layer a resumable render job (plus variants from other seeds and dataset examples),
the first layer's weights, then the site built from those files (`atlas_site`).

Layout: `SITE/<layer>/render/` (the render job), `variant-K/`, `examples/`, `thumbs/`, the layer's pages;
`SITE/index.html`, `weights.png`, `assets/`, and `atlas.json` (what the atlas was made with).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Sequence

from .. import models
from ..errors import OutputError
from ..inspect import weights
from ..optvis.render import check_layers, filter_list
from ..output import imaging, progress, storage
from .atlas_site import ATLAS, build_atlas, render_folder
from .examples_job import examples_job, photos
from .manifest import read_manifest
from .render_job import render_job
from .runs import OUTPUTS

WEIGHTS = "weights.png"


class AtlasResult(NamedTuple):
    """Where the atlas's index is, and how many units it shows, rendered now, and found dead."""

    path: Path
    units: int
    rendered: int
    dead: int


def atlas_job(spec: models.ModelSpec, layers: Sequence[str] = (), filters=None, *, images: Sequence[Path] = (),
              variants: int = 1, top: int = 9, photo_size: int | None = None, out: Path | None = None,
              preset: str = "default", seed: int = 0, quiet: bool = False, class_names: Path | str | None = None,
              **options) -> AtlasResult:
    """Render `layers` (default: every convolution) into an atlas at `out`, resuming whatever is already there.

    Args:
        filters: which filters of each layer, as `render` takes them (default: all).
        images: folders or files to find dataset examples in (none: the atlas has no examples).
        variants: images per unit; variant K starts from seed + K.
        top: dataset examples kept per unit.
        photo_size: the square size photos are cropped to for examples (default 224, or the model's own).
        class_names: a file naming the classifier's classes, shown on the class head's pages (`models.read_names`).
        options: render settings (size, steps, …) and `render_batches` options (batch, precision).

    Raises:
        ActmaxError: bad layers, filters, images or settings; `out` holds an atlas of another model or preset.
    """
    chosen = models.resolve_layers(spec.model, layers, units=True) if layers else models.convolutions(spec.model)
    filters = "all" if filters is None else filters
    for layer in chosen:  # every layer's filters checked before the first is rendered
        filter_list(spec, layer, filters)
    models.check_named(spec, chosen, class_names)
    storage.refuse_url(out, "an atlas")
    out = Path(out or OUTPUTS / spec.name / "atlas")
    made = {"model": spec.name, "preset": preset, "seed": seed}
    _check_same(out, made)
    if images:
        imaging.photo_mode(spec.channels)  # refuses a model that photos cannot feed, before any rendering
    paths = photos(images) if images else []
    check_layers(spec, chosen, preset, options.get("size"))
    rendered = 0
    for layer in chosen:
        rendered += _render_layer(spec, layer, filters, out, variants=variants, preset=preset, seed=seed,
                                  quiet=quiet, class_names=class_names, **options)
        if paths:
            with progress.images(quiet, f"{layer} examples") as report:
                examples_job(spec, paths, layer, filters, top=top, size=photo_size, progress=report,
                             out=render_folder(out, layer).parent / "examples", files=False, ray=options.get("ray"))
    imaging.save_json(out / ATLAS, {**made, "variants": variants})
    _save_weights(spec, out / WEIGHTS)
    index, units, dead = build_atlas(out, spec)
    return AtlasResult(index, units, rendered, dead)


def _check_same(out: Path, made: dict) -> None:
    """Refuse, before any work, a folder holding an atlas made with another model, preset or seed."""
    imaging.check_writable(out)
    saved = read_manifest(out / ATLAS)
    if saved and {k: saved.get(k) for k in made} != made:
        raise OutputError(f"'{out}' holds an atlas of {saved.get('model')} (preset {saved.get('preset')}, seed "
                          f"{saved.get('seed')}); use another --out")


def _render_layer(spec, layer: str, filters, out: Path, *, variants: int, quiet: bool, seed: int,
                  **options) -> int:
    """Render a layer's units and their variants (each a resumable job); returns how many images were made."""
    made = 0
    for variant in range(variants):
        folder = render_folder(out, layer, variant)
        with progress.bar(quiet, layer if variant == 0 else f"{layer} variant {variant}") as report:
            made += render_job(layer, filters, out=folder, model=spec, seed=seed + variant,
                               progress=report, **options).rendered
    return made


def _save_weights(spec: models.ModelSpec, path: Path) -> None:
    """The first convolution's weights, as `actmax weights` shows them."""
    first = weights.conv_layers(spec.model)[:1]
    if first and not path.exists():
        imaging.save_png(path, weights.figure(spec, first[0]))
