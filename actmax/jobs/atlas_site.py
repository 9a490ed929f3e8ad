"""The atlas's pages from the files its jobs wrote: manifests, variants, examples; thumbnails made on the way."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

from .. import models
from ..errors import ActmaxError
from ..inspect import weights
from ..models import receptive
from ..output import imaging
from ..site import atlas as site
from .examples_job import RESULT
from .manifest import file_stem, merged, read_manifest

ATLAS = "atlas.json"
THUMB = 128


def render_folder(out: Path, layer: str, variant: int = 0) -> Path:
    """Where an atlas keeps a layer's render job (variant 0) or the variant from seed + `variant`."""
    return Path(out) / file_stem(layer) / ("render" if variant == 0 else f"variant-{variant}")


def build_atlas(out: Path, spec: models.ModelSpec) -> tuple[Path, int, int]:
    """Write every page and asset of the atlas at `out`; returns (index page, units shown, dead units)."""
    out = Path(out)
    made = read_manifest(out / ATLAS) or {}
    size = spec.fixed_size[0] if spec.fixed_size else 224
    input_shape = "×".join(map(str, spec.image_shape(size)))
    table = [(name, kind, f"{shape[0]}×{shape[1]}", count) for name, kind, shape, count in
             models.layer_table(spec, size)] + [(name, kind, "units", count)
                                                for name, kind, count in models.unit_table(spec.model)]
    layers = [_layer(out, spec, name, kind, count, made.get("variants", 1), size)
              for name, kind, _, count in table if (render_folder(out, name) / "manifest.json").exists()]
    atlas = {"model": spec.name, "about": spec.description, "settings": _settings(made, out, layers),
             "input_size": input_shape, "weights": {"layer": weights.conv_layers(spec.model)[0], "file": "weights.png"}
             if (out / "weights.png").exists() else None, "layers": layers,
             "network": [{"name": name, "kind": kind, "shape": shape, "filters": count}
                         for name, kind, shape, count in table]}
    for path, text in [*site.assets(atlas), *site.pages(atlas)]:
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        imaging.atomic_write(out / path, text.encode())
    units = [unit for layer in layers for unit in layer["units"]]
    return out / "index.html", len(units), sum(not unit["alive"] for unit in units)


def _layer(out: Path, spec: models.ModelSpec, name: str, kind: str, count: int, variants: int, size: int) -> dict:
    """One layer as the site shows it: its units with thumbnails, variants and examples, and its field."""
    folder = out / file_stem(name)
    head, entries = merged(render_folder(out, name))
    names = head.get("names")  # a class head's, where the atlas was given them
    found = read_manifest(folder / "examples" / RESULT)
    examples = {unit["index"]: [{**e, "photo": _photo(out, e["image"], found["size"], spec.channels),
                                 "size": found["size"]} for e in unit["examples"]]
                for unit in found["units"]} if found else None
    imaging.prepare_dir(folder / "thumbs")
    flat = name in models.unit_layers(spec.model)  # units with no map: a dense layer's, a classifier's classes
    return {"name": name, "stem": file_stem(name), "kind": kind, "filters": count, "flat": flat,
            "field": "the whole image" if flat else _field(*receptive.fields(spec, name, size)),
            "gallery": "render/gallery.png", "sheet": "examples/examples.png" if found else None,
            "units": [_unit(folder, entry, variants, examples, names) for _, entry in sorted(entries.items())]}


def _field(rows: receptive.Field, cols: receptive.Field) -> str:
    """A unit's receptive field in whole pixels: '44 px', or '44×60 px' when not square."""
    height, width = math.ceil(rows.size), math.ceil(cols.size)
    return f"{height} px" if height == width else f"{height}×{width} px"


def _unit(folder: Path, entry: dict, variants: int, examples: dict | None, names: list[str] | None) -> dict:
    """One unit: its image and thumbnail, the variants rendered so far, its examples (None: none sought), and its
    class's name where the layer's units are named."""
    index = entry["index"]
    thumb = f"thumbs/{index:04d}.jpg"
    imaging.save_thumbnail(folder / thumb, folder / "render" / entry["file"], THUMB)
    others = [f"variant-{k}/{entry['file']}" for k in range(1, variants) if (folder / f"variant-{k}" /
                                                                            entry["file"]).exists()]
    shown = None if examples is None else [
        {"photo": f"../{e['photo']}", "name": Path(e["image"]).name, "score": e["score"], "box": e["box"],
         "size": e["size"]} for e in examples.get(index, []) if e["photo"]]
    return {"index": index, "name": names[index] if names else "", "activation": entry["activation"],
            "alive": entry["alive"],
            "image": f"render/{entry['file']}", "thumb": thumb, "variants": others, "examples": shown}


def _photo(out: Path, path: str, size: int, channels: int) -> str | None:
    """The site's copy of an example photo as the examples pass saw it (square, `size` px), made once per photo;
    None when the photo has gone since."""
    name = f"photos/{Path(path).stem[:40]}-{hashlib.sha1(path.encode()).hexdigest()[:8]}-{size}.jpg"
    if not (out / name).exists():
        try:
            picture = imaging.load_square(path, size, channels=channels)
        except ActmaxError:
            return None
        imaging.prepare_dir(out / "photos")
        imaging.save_jpeg(out / name, picture, quality=90)
    return name


def _settings(made: dict, out: Path, layers: list[dict]) -> str:
    """One line on how the images were made: preset, size, steps and seed, from the first layer's manifest."""
    if not layers:
        return "nothing rendered yet"
    head, _ = merged(render_folder(out, layers[0]["name"]))
    settings = head["settings"]
    return (f"preset {made.get('preset', '?')}, {settings['size']} px, {settings['octaves']} octaves × "
            f"{settings['steps']} steps, seed {head['seed']}, {made.get('variants', 1)} image(s) per unit")
