"""HTML pages made from the Jinja2 templates shipped in `actmax/site/templates` (self-contained: inline CSS,
no scripts, no network)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import jinja2


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The template environment: package templates, HTML autoescaping, tidy whitespace."""
    return jinja2.Environment(loader=jinja2.PackageLoader("actmax.site", "templates"), autoescape=True,
                              trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)


def gallery_page(root: Path, layers: list[tuple[Path, dict, list[dict]]], title: str = "actmax gallery", *,
                 crisp_below: int = 0) -> str:
    """One page for the layers under `root`: (folder, run header, manifest entries in display order) each. Layers
    whose images are under `crisp_below` px are shown blocky, not smoothed, as gallery.png enlarges them."""
    return environment().get_template("gallery.html.j2").render(
        title=title, layers=[_layer(root, folder, head, entries, crisp_below) for folder, head, entries in layers])


def _layer(root: Path, folder: Path, head: dict, entries: list[dict], crisp_below: int) -> dict:
    """What the template shows of one layer folder; links are relative to `root`."""
    prefix = os.path.relpath(folder, root).replace(os.sep, "/")
    name = Path(folder).name  # folders are unique; layers may repeat (block5_conv1, block5_conv1-2)
    return {"anchor": name, "prefix": "" if prefix == "." else prefix + "/", "entries": entries,
            "title": f"{head.get('model', '')} · {head.get('layer', '')} ({name})",
            "dead": sum(not e["alive"] for e in entries), "params": _params(head), "names": head.get("names"),
            "crisp": head.get("settings", {}).get("size", crisp_below) < crisp_below}


def _params(head: dict) -> str:
    lines = [f"{k}: {v}" for k, v in head.items() if k not in ("settings", "versions", "gallery", "names")]
    lines += [f"  {k}: {v}" for k, v in head.get("settings", {}).items()]
    return "\n".join(lines)
