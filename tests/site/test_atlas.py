"""Atlas pages from plain data: what each page links to, the search index, and the CSS that draws examples."""

import json
import re

import pytest

from actmax.site import atlas


def unit(index, activation=1.0, alive=True, examples=None):
    return {"index": index, "activation": activation, "alive": alive, "image": f"render/filter_{index:04d}.png",
            "thumb": f"thumbs/{index:04d}.jpg", "variants": [], "examples": examples}


def layer(name, units, kind="Conv2D"):
    return {"name": name, "stem": name.replace("/", "."), "kind": kind, "filters": 64, "field": "5 px",
            "gallery": "render/gallery.png", "sheet": None, "units": units}


EXAMPLE = {"photo": "../photos/cat.jpg", "name": "cat.jpg", "score": 3.5, "box": [10, 20, 60, 70], "size": 100}
ATLAS = {"model": "tiny", "about": "a tiny test net <b>", "settings": "preset default", "input_size": 224,
         "weights": None, "network": [{"name": n, "kind": "Conv2D", "shape": "8×8", "filters": 64}
                                      for n in ("conv1", "conv2", "inner/conv3")],
         "layers": [layer("conv1", [unit(0, 2.0), unit(3, 5.0, examples=[EXAMPLE]), unit(7, 0.0, alive=False)]),
                    layer("inner/conv3", [unit(1, examples=[])])]}


@pytest.fixture(scope="module")
def pages():
    return dict(atlas.pages(ATLAS))


def links(html):
    return re.findall(r'href="([^"]+)"', html)


def test_one_page_per_layer_and_unit(pages):
    assert sorted(pages) == ["conv1/index.html", "conv1/unit_0000.html", "conv1/unit_0003.html",
                             "conv1/unit_0007.html", "index.html", "inner.conv3/index.html",
                             "inner.conv3/unit_0001.html"]


def test_index_links_shown_layers_and_lists_the_rest(pages):
    index = pages["index.html"]
    assert "conv1/index.html" in links(index) and "inner.conv3/index.html" in links(index)
    assert index.count("<tr") == 4 and '<tr class="outside">' in index  # conv2 is listed, not linked
    assert "a tiny test net &lt;b&gt;" in index  # autoescaped


def test_units_link_to_their_neighbours_and_back(pages):
    middle = pages["conv1/unit_0003.html"]
    assert re.search(r'rel="prev" href="unit_0000.html"', middle) and re.search(r'rel="next" href="unit_0007.html"',
                                                                                  middle)
    assert "index.html" in links(middle) and "../index.html" in links(middle)
    assert 'rel="prev"' not in pages["conv1/unit_0000.html"] and 'rel="next"' not in pages["conv1/unit_0007.html"]


def test_layer_pages_chain_and_carry_sort_keys(pages):
    first, second = pages["conv1/index.html"], pages["inner.conv3/index.html"]
    assert 'rel="next" href="../inner.conv3/index.html"' in first and 'rel="prev" href="../conv1/index.html"' in second
    assert 'data-index="7" data-activation="0.0" data-alive="0"' in first and first.count('loading="lazy"') == 3


def test_unit_page_ranks_and_states(pages):
    assert "1 of 3" in pages["conv1/unit_0003.html"] and "dead (" in pages["conv1/unit_0007.html"]
    assert "Dataset examples" not in pages["conv1/unit_0000.html"]  # no examples sought for it
    assert "No photo excites this unit" in pages["inner.conv3/unit_0001.html"]


def test_example_patch_is_cut_from_the_photo_by_css(pages):
    drawn = atlas._drawn(EXAMPLE)  # a 50 px box at (top 10, left 20) of a 100 px photo
    assert "background-size: 200% 200%" in drawn["crop_style"]
    assert "background-position: 40% 20%" in drawn["crop_style"]  # left / (100 - 50), top / (100 - 50)
    assert drawn["mark_style"] == "left: 20%; top: 10%; width: 50%; height: 50%"
    assert drawn["mark_style"] in pages["conv1/unit_0003.html"]


def test_search_index_lists_every_unit():
    files = dict(atlas.assets(ATLAS))
    index = json.loads(files["assets/atlas-index.js"].split("=", 1)[1].rstrip(";\n"))
    assert index["layers"][0] == {"name": "conv1", "stem": "conv1", "span": "0, 3, 7", "units": [0, 3, 7]}
    assert "ArrowLeft" in files["assets/atlas.js"] and "prefers-color-scheme: dark" in files["assets/style.css"]


@pytest.mark.parametrize("indices, span", [([0, 1, 2, 3], "0-3"), ([5], "5"), ([0, 1, 4, 6, 7], "0-1, 4, 6-7")])
def test_span(indices, span):
    assert atlas._span([{"index": i} for i in indices]) == span
