"""A folder's manifest: what identifies a run, its per-filter entries, written atomically, read back and merged."""

from __future__ import annotations

import datetime
import json
import platform
import re
from importlib import metadata
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import OutputError
from ..output import imaging

MANIFEST = "manifest.json"


def filter_file(index: int) -> str:
    """File name of one filter's image."""
    return f"filter_{index:04d}.png"


def manifest_name(shard: tuple[int, int] | None) -> str:
    """The manifest a run writes: `manifest.json`, or one part per shard."""
    return MANIFEST if shard is None else f"manifest-shard-{shard[0]}-of-{shard[1]}.json"


def versions() -> dict:
    """Versions of the libraries that shape the result, for the manifest."""
    found = {"python": platform.python_version()}
    for package in ("actmax", "tensorflow", "keras", "numpy", "pillow"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def now() -> str:
    """The current UTC time, to the second, as manifests and sidecars record it."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def header(model: str, layer: str, settings, seed: int, objective: str = "") -> dict:
    """What identifies a run: images from runs with different headers never mix in one folder."""
    return {"model": model, "layer": layer, "objective": objective or f"{layer}:<filter>",
            "settings": settings.as_dict(), "seed": seed}


def header_of(rendering) -> dict:
    """The header of a rendering held in memory."""
    return header(rendering.model, rendering.layer, rendering.settings, rendering.seed, rendering.objective)


def slug(text: str) -> str:
    """A folder name for an objective: `block4_conv3:12 + 0.5*block4_conv3:40` → `block4_conv3-12+0.5xblock4_conv3-40`.
    """
    return re.sub(r"[^\w.+-]+", "-", text.replace("*", "x").replace(" ", "")).strip("-")[:80] or "objective"


def file_stem(layer: str) -> str:
    """A file or folder name for a layer path: `vgg16/block3_conv1` → `vgg16.block3_conv1` (never a subfolder)."""
    return layer.replace("/", ".")


def entries_of(rendering) -> dict[int, dict]:
    """Manifest entries of a rendering's filters."""
    return {int(f): {"index": int(f), "file": filter_file(f), "activation": float(a), "objective": float(o),
                     "alive": bool(alive)}
            for f, a, o, alive in zip(rendering.filters, rendering.activations, rendering.objective_values,
                                      rendering.alive)}


def write_manifest(path: Path, head: dict, entries: dict[int, dict], **extra) -> None:
    """Atomically write a manifest holding `entries` sorted by filter index."""
    ordered = [entries[i] for i in sorted(entries)]
    alive = [e["alive"] for e in ordered]
    imaging.save_json(path, {**head, **extra, "updated": now(), "versions": versions(), "filters": ordered,
                             "summary": {"count": len(ordered), "dead": alive.count(False),
                                         "mean_activation": float(np.mean([e["activation"] for e in ordered]))
                                         if ordered else 0.0}})


def read_manifest(path: Path) -> dict | None:
    """A manifest's content, or None if it is missing or not valid JSON."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def _decodes(path: Path) -> bool:
    try:
        with Image.open(path) as image:
            image.load()
        return True
    except (OSError, ValueError):
        return False


def completed(out_dir: Path, head: dict) -> dict[int, dict]:
    """Entries of this run already in the folder (any manifest part) whose PNG exists and decodes.

    Raises:
        OutputError: the folder holds a run made with other settings.
    """
    done = {}
    for path in sorted(Path(out_dir).glob("manifest*.json")):
        data = read_manifest(path)
        if data is None:
            continue
        if {k: data.get(k) for k in head} != head:
            raise OutputError(f"'{out_dir}' holds a run with other settings ({path.name}); "
                              "use --overwrite to replace it, or another --out")
        done.update({e["index"]: e for e in data.get("filters", []) if _decodes(Path(out_dir) / e["file"])})
    return done


def merged(out_dir: Path) -> tuple[dict, dict[int, dict]]:
    """The header and all filter entries of a folder's manifest parts, merged.

    Raises:
        OutputError: no manifest in the folder.
    """
    parts = [d for d in (read_manifest(p) for p in sorted(Path(out_dir).glob("manifest*.json"))) if d]
    if not parts:
        raise OutputError(f"no manifest.json in '{out_dir}'; give a folder that 'actmax render' wrote")
    entries = {e["index"]: e for part in parts for e in part.get("filters", [])
               if (Path(out_dir) / e["file"]).exists()}
    head = {k: v for k, v in parts[0].items() if k not in ("filters", "summary", "shard", "updated")}
    return head, entries
