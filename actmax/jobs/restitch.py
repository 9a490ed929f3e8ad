"""Rebuild what a folder shows from its files: merged manifest, `gallery.png` and the HTML page."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import ActmaxError, OutputError
from ..output import gallery, imaging, storage
from ..site import pages
from .manifest import MANIFEST, merged, write_manifest

GALLERY = "gallery.png"
INDEX = "index.html"


def build_gallery(out_dir: Path, *, top: int | None = None, sort: str | None = "index", cols: int | None = None,
                  margin: int = 4, labels: bool = True, stretch: bool = False) -> Path:
    """Merge the manifest parts into `manifest.json`, restitch `gallery.png` from the PNGs, write `index.html`."""
    _restitch(Path(out_dir), top=top, sort=sort, cols=cols, margin=margin, labels=labels, stretch=stretch)
    return Path(out_dir) / GALLERY


def _restitch(out_dir: Path, *, top, sort, cols, margin, labels, stretch) -> tuple[dict, list[dict]]:
    """Do `build_gallery`'s work; returns the run's header and the entries the gallery shows, in order."""
    head, entries = merged(out_dir)
    shown = _ordered(list(entries.values()), top=top, sort=sort)
    if not shown:
        raise OutputError(f"'{out_dir}' has no rendered filters yet")
    tiles = np.stack([np.asarray(Image.open(out_dir / e["file"]).convert("RGB")) for e in shown])
    if stretch:
        tiles = imaging.to_uint8(imaging.stretch(tiles.astype(np.float32) / 255.0))
    grid = gallery.make_grid(gallery.enlarged(tiles, gallery.MIN_TILE), cols=cols, margin=margin,
                             dead=[not e["alive"] for e in shown],
                             labels=[label(e, head.get("names")) for e in shown] if labels else None)
    imaging.save_png(out_dir / GALLERY, grid)
    write_manifest(out_dir / MANIFEST, head, entries, gallery={"file": GALLERY, "height": grid.shape[0],
                                                              "width": grid.shape[1],
                                                              "filters": [e["index"] for e in shown]})
    page = pages.gallery_page(out_dir, [(out_dir, head, shown)], crisp_below=gallery.MIN_TILE)
    imaging.atomic_write(out_dir / INDEX, page.encode())
    return head, shown


def _ordered(entries: list[dict], *, top: int | None, sort: str | None) -> list[dict]:
    """Entries by index, or by activation (descending); `top` keeps the strongest."""
    if sort not in (None, "index", "activation"):
        raise ActmaxError(f"unknown sort '{sort}'; use 'index' or 'activation'")
    by_index = sorted(entries, key=lambda e: e["index"])
    strongest = sorted(by_index, key=lambda e: -e["activation"])
    if top is not None:
        kept = strongest[:top]
        return kept if sort == "activation" else sorted(kept, key=lambda e: e["index"])
    return strongest if sort == "activation" else by_index


def label(entry: dict, names: list[str] | None = None) -> str:
    """Tile label: filter index and activation, or 'dead' for a filter that stayed silent; then a class's name,
    from `names` (last, so that a narrow tile cuts the name short, not the numbers)."""
    shown = f"#{entry['index']} " + (f"{entry['activation']:.3g}" if entry["alive"] else "dead")
    return f"{shown} {names[entry['index']]}" if names else shown


def build_site(root: Path | str, *, top: int | None = None, sort: str | None = "index", cols: int | None = None,
               margin: int = 4, labels: bool = True, stretch: bool = False) -> Path | str:
    """Rebuild every layer folder under `root` (or `root` itself; a folder or an fsspec URL) and write one
    `index.html` for all."""
    with storage.staged(root) as (local, _, _):
        _build_site(local, root, top=top, sort=sort, cols=cols, margin=margin, labels=labels, stretch=stretch)
    return storage.join(root, INDEX)


def _build_site(root: Path, named, **options) -> None:
    """`build_site`'s work in a local folder; `named` is how the user gave it (a path or a URL)."""
    folders = [root] if any(root.glob("manifest*.json")) else sorted(
        {p.parent for p in root.glob("*/manifest*.json")})
    if not folders:
        raise OutputError(f"no rendered layers in '{named}'; give a folder that 'actmax render' wrote")
    shown = [(folder, *_restitch(folder, **options)) for folder in folders]
    imaging.atomic_write(root / INDEX, pages.gallery_page(root, shown, crisp_below=gallery.MIN_TILE).encode())
