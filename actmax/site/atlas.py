"""The atlas site from plain data: an index of the network's layers, a page per layer and a page per unit.

The caller (jobs) says what exists — layers, units, files relative to each layer's folder — and writes the
(path, text) pairs returned here; this module decides only what the pages show and how they link.
"""

from __future__ import annotations

import json
from typing import Iterator

from .pages import environment

ASSETS = "assets/"


def unit_page(index: int) -> str:
    """File name of a unit's page inside its layer's folder."""
    return f"unit_{index:04d}.html"


def pages(atlas: dict) -> Iterator[tuple[str, str]]:
    """(path relative to the site root, HTML) of every page: `index.html`, then per layer its index and units.

    Args:
        atlas: `model`, `about` (which weights), `settings`, `input_size`, `network` (rows of name, kind, shape,
            filters), `weights` ({layer, file} or None) and `layers` (name, stem, kind, filters, field, gallery,
            sheet, units: index, activation, alive, image, thumb, variants, examples or None).
    """
    shared = {"model": atlas["model"], "about": atlas["about"], "example": _example(atlas)}
    layers = [_layer(layer) for layer in atlas["layers"]]
    yield "index.html", _render("atlas_index.html.j2", root="", title=f"Atlas of {atlas['model']}", here="atlas",
                                crumbs=[], prev=None, next=_link(layers, 0, ""), **_index(atlas, layers), **shared)
    for number, layer in enumerate(layers):
        yield f"{layer['stem']}/index.html", _render(
            "atlas_layer.html.j2", root="../", title=f"{layer['name']} · {atlas['model']}", here=layer["name"],
            crumbs=[("atlas", "../index.html")], prev=_link(layers, number - 1, "../"),
            next=_link(layers, number + 1, "../"), layer=layer, **shared)
        for position, unit in enumerate(layer["units"]):
            yield f"{layer['stem']}/{unit['page']}", _render(
                "atlas_unit.html.j2", root="../",
                title=f"{layer['name']}:{unit['index']}{_named(unit)} · {atlas['model']}",
                here=f"unit {unit['index']}", crumbs=[("atlas", "../index.html"), (layer["name"], "index.html")],
                prev=_unit_link(layer["units"], position - 1), next=_unit_link(layer["units"], position + 1),
                layer=layer, unit=unit, **shared)


def assets(atlas: dict) -> list[tuple[str, str]]:
    """The files every page loads: the stylesheet, the script and the search index (a script, so file:// works)."""
    index = {"layers": [{"name": layer["name"], "stem": layer["stem"], "span": _span(layer["units"]),
                         "units": [unit["index"] for unit in layer["units"]]} for layer in atlas["layers"]]}
    source = environment().loader.get_source
    return [(ASSETS + "style.css", source(environment(), "style.css")[0]),
            (ASSETS + "atlas.js", source(environment(), "atlas.js")[0]),
            (ASSETS + "atlas-index.js", f"window.ATLAS_INDEX = {json.dumps(index, separators=(',', ':'))};\n")]


def _render(template: str, **values) -> str:
    return environment().get_template(template).render(**values)


def _index(atlas: dict, layers: list[dict]) -> dict:
    """The index page's values: the network table marked with the layers shown, and the totals."""
    shown = {layer["name"]: layer for layer in layers}
    network = [{**row, **_shown(shown.get(row["name"]))} for row in atlas["network"]]
    return {"network": network, "layers": layers, "weights": atlas["weights"], "settings": atlas["settings"],
            "input_size": atlas["input_size"], "units": sum(len(layer["units"]) for layer in layers)}


def _shown(layer: dict | None) -> dict:
    """What the network table adds to a row: where its page is, its field, units shown and dead."""
    if layer is None:
        return {"stem": None, "field": None, "shown": 0, "dead": 0}
    return {"stem": layer["stem"], "field": layer["field"], "shown": len(layer["units"]), "dead": layer["dead"]}


def _layer(layer: dict) -> dict:
    """A layer with its dead count and each unit's page and rank by activation (1 = strongest)."""
    ranks = {unit["index"]: rank for rank, unit in enumerate(
        sorted(layer["units"], key=lambda unit: (-unit["activation"], unit["index"])), 1)}
    units = [{**unit, "page": unit_page(unit["index"]), "rank": ranks[unit["index"]],
              "examples": None if unit["examples"] is None else [_drawn(e) for e in unit["examples"]]}
             for unit in layer["units"]]
    return {**layer, "units": units, "dead": sum(not unit["alive"] for unit in units)}


def _drawn(example: dict) -> dict:
    """An example with the CSS that cuts its patch out of the photo and marks it on the photo (no image files).

    The patch is the photo as a background, scaled so the box fills the tile and shifted to the box; the mark
    is a box placed in percent of the photo.
    """
    top, left, bottom, right = example["box"]
    size, height, width = example["size"], bottom - top, right - left
    shift = [100 * start / (size - extent) if extent < size else 0 for start, extent in ((left, width), (top, height))]
    crop = (f"aspect-ratio: {width} / {height}; background-size: {100 * size / width:.4g}% {100 * size / height:.4g}%;"
            f" background-position: {shift[0]:.4g}% {shift[1]:.4g}%")
    mark = (f"left: {100 * left / size:.4g}%; top: {100 * top / size:.4g}%; width: {100 * width / size:.4g}%; "
            f"height: {100 * height / size:.4g}%")
    return {**example, "crop_style": crop, "mark_style": mark, "pixelated": width * 2 < 112}


def _link(layers: list[dict], number: int, root: str) -> dict | None:
    """Link to the page of the layer at `number` from a page at `root`, if there is such a layer."""
    if not 0 <= number < len(layers):
        return None
    return {"label": layers[number]["name"], "href": f"{root}{layers[number]['stem']}/index.html"}


def _unit_link(units: list[dict], position: int) -> dict | None:
    if not 0 <= position < len(units):
        return None
    return {"label": f"#{units[position]['index']}", "href": units[position]["page"]}


def _span(units: list[dict]) -> str:
    """The indices a layer shows, as the search box reports them: `0-15`, or `0-7, 12, 40`."""
    indices, runs = sorted(unit["index"] for unit in units), []
    for index in indices:
        if runs and index == runs[-1][1] + 1:
            runs[-1][1] = index
        else:
            runs.append([index, index])
    return ", ".join(f"{a}-{b}" if b > a else f"{a}" for a, b in runs)


def _example(atlas: dict) -> str:
    layers = atlas["layers"]
    return f"{layers[0]['name']}:{layers[0]['units'][0]['index']}" if layers and layers[0]["units"] else "layer:0"


def _named(unit: dict) -> str:
    """' tulip' for a unit with a name (a class), else nothing."""
    return f" {unit['name']}" if unit.get("name") else ""
