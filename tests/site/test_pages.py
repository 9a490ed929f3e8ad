"""The HTML gallery: self-contained, and every thumbnail decodes in a real browser."""

import numpy as np
import pytest
from PIL import Image

from actmax import jobs


@pytest.fixture(scope="module")
def site(hed, tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    for layer in ("block1_conv1", "block2_conv1"):
        jobs.render_job(layer, "0-5", out=root / layer, model=hed, size=32, octaves=1, steps=3)
    return jobs.build_site(root)


def test_page_is_self_contained(site):
    text = site.read_text()
    assert "http://" not in text and "https://" not in text and "<script" not in text
    assert text.count("<figure") == 12 and "block2_conv1/filter_0005.png" in text


def test_every_thumbnail_decodes_and_shows(site, page, decoded, tmp_path):
    page.goto(site.as_uri())
    assert decoded(page, "figure > a:not(.full) > img") == (12, 12)
    page.screenshot(path=tmp_path / "page.png")
    pixels = np.asarray(Image.open(tmp_path / "page.png").convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 500  # rendered filter images, not a blank page
