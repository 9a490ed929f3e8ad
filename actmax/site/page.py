"""A self-contained HTML gallery page (inline CSS, no scripts, no network): every layer's filters as
thumbnails with index and activation, a click shows the full-size image, and the run's parameters."""

from __future__ import annotations

import html
import os
from pathlib import Path

STYLE = """
body { background: #181818; color: #e6e6e6; font: 14px system-ui, sans-serif; margin: 24px; }
a { color: #8ab4f8; }
h1 { font-size: 20px; } h2 { font-size: 17px; margin-top: 32px; }
.grid { display: flex; flex-wrap: wrap; gap: 8px; }
figure { margin: 0; width: 136px; } figure img { width: 128px; height: 128px; image-rendering: auto;
  border: 4px solid transparent; } figure.dead img { border-color: #dc1e1e; }
figcaption { font-size: 12px; } figure.dead figcaption { color: #ff6060; }
details { margin: 8px 0; } pre { background: #222; padding: 8px; overflow: auto; }
.full { display: none; position: fixed; inset: 0; background: rgba(0,0,0,.9); justify-content: center;
  align-items: center; } .full:target { display: flex; } .full img { max-width: 90vw; max-height: 90vh;
  image-rendering: pixelated; min-width: 384px; }
"""


def section(root: Path, folder: Path, head: dict, entries: list[dict]) -> str:
    """One layer: its title, parameters, and a thumbnail per filter linking to the full-size view."""
    prefix = os.path.relpath(folder, root).replace(os.sep, "/")
    prefix = "" if prefix == "." else prefix + "/"
    anchor = html.escape(Path(folder).name)  # folders are unique; layers may repeat (block5_conv1, block5_conv1-2)
    figures = "\n".join(_figure(prefix, anchor, e) for e in entries)
    params = html.escape(_params(head))
    dead = sum(not e["alive"] for e in entries)
    title = html.escape(f"{head.get('model', '')} · {head.get('layer', '')} ({Path(folder).name})")
    return (f'<section id="{anchor}"><h2>{title}</h2><p>{len(entries)} filters, {dead} dead · '
            f'<a href="{prefix}gallery.png">gallery.png</a></p>'
            f"<details><summary>parameters</summary><pre>{params}</pre></details>"
            f'<div class="grid">{figures}</div></section>')


def _figure(prefix: str, anchor: str, entry: dict) -> str:
    src = html.escape(prefix + entry["file"])
    name = f"{anchor}-{entry['index']}"
    caption = f"#{entry['index']} · {entry['activation']:.3g}" + ("" if entry["alive"] else " · dead")
    klass = "" if entry["alive"] else ' class="dead"'
    return (f'<figure{klass}><a href="#{name}"><img src="{src}" alt="filter {entry["index"]}">'
            f"</a><figcaption>{caption}</figcaption>"
            f'<a class="full" id="{name}" href="#{anchor}"><img src="{src}" alt="filter {entry["index"]}, full size">'
            "</a></figure>")


def _params(head: dict) -> str:
    lines = [f"{k}: {v}" for k, v in head.items() if k not in ("settings", "versions", "gallery")]
    lines += [f"  {k}: {v}" for k, v in head.get("settings", {}).items()]
    return "\n".join(lines)


def page(sections: list[str], title: str = "actmax gallery") -> str:
    """A complete HTML document from sections."""
    body = "\n".join(sections)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>\n")
