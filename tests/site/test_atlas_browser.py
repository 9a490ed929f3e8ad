"""The atlas end to end in a real browser: an atlas of two small layers of the embedded model, with dataset
examples from the committed test photos, driven by Playwright in Debian's chromium."""

import numpy as np
import pytest
from PIL import Image

from actmax import jobs
from conftest import DATA

UNITS = "0-5"


@pytest.fixture(scope="module")
def site(hed, tmp_path_factory):
    root = tmp_path_factory.mktemp("atlas")
    jobs.atlas_job(hed, ["block1_conv2", "block2_conv1"], UNITS, images=[DATA], top=3, photo_size=64, out=root,
                   size=32, octaves=1, steps=3, quiet=True)
    return root


def test_index_loads_with_the_network_and_the_model(site, page):
    page.goto((site / "index.html").as_uri())
    assert page.title() == "Atlas of vgg16-hed"
    assert page.locator("#network tr").count() == 19  # header + VGG16's 18 conv and pool layers
    assert page.locator("#network a").all_inner_texts() == ["block1_conv2", "block2_conv1"]
    assert "edge detection" in page.locator(".about").inner_text()


def test_layer_page_decodes_every_thumbnail(site, page, decoded):
    page.goto((site / "block2_conv1" / "index.html").as_uri())
    assert decoded(page, "#units img") == (6, 6)


def test_clicking_a_unit_opens_its_page_with_examples(site, page, decoded):
    page.goto((site / "block2_conv1" / "index.html").as_uri())
    page.click('#units figure[data-index="4"] a')
    assert page.url.endswith("block2_conv1/unit_0004.html")
    assert page.locator("#examples figure").count() == 3
    assert decoded(page, ".visual img, #examples img") == (4, 4)
    patch = page.eval_on_selector("#examples .crop", "div => getComputedStyle(div).backgroundImage")
    assert "photos/" in patch


def test_arrow_keys_move_between_units(site, page):
    page.goto((site / "block1_conv2" / "unit_0000.html").as_uri())
    page.keyboard.press("ArrowLeft")  # the first unit has no previous one: stay
    assert page.url.endswith("unit_0000.html")
    page.keyboard.press("ArrowRight")
    page.wait_for_url("**/unit_0001.html")
    page.keyboard.press("ArrowRight")
    page.wait_for_url("**/unit_0002.html")
    page.keyboard.press("ArrowLeft")
    page.wait_for_url("**/block1_conv2/unit_0001.html")


@pytest.mark.parametrize("query, found", [("block2_conv1:3", "block2_conv1/unit_0003.html"),
                                          (" block1_conv2 : 5 ", "block1_conv2/unit_0005.html"),
                                          ("2", "block1_conv2/unit_0002.html"),  # a bare index: this layer
                                          ("block2_conv1", "block2_conv1/index.html")])
def test_search_box_finds_a_unit(site, page, query, found):
    page.goto((site / "block1_conv2" / "index.html").as_uri())
    page.fill("#search-box", query)
    page.press("#search-box", "Enter")
    page.wait_for_url(f"**/{found}")


@pytest.mark.parametrize("query, message", [("block2_conv1:40", "block2_conv1 has units 0-5 here"),
                                            ("block9_conv9:1", "no layer 'block9_conv9'")])
def test_search_box_says_what_it_cannot_find(site, page, query, message):
    page.goto((site / "index.html").as_uri())
    page.fill("#search-box", query)
    page.press("#search-box", "Enter")
    assert message in page.locator("#search-message").inner_text()
    assert page.url.endswith("/index.html")


def test_sorting_by_activation_reorders_the_units(site, page):
    page.goto((site / "block2_conv1" / "index.html").as_uri())
    page.select_option("#sort", "activation")
    shown = [float(v) for v in page.eval_on_selector_all("#units figure", "fs => fs.map(f => f.dataset.activation)")]
    assert shown == sorted(shown, reverse=True) and len(shown) == 6
    page.select_option("#sort", "index")
    assert page.eval_on_selector_all("#units figure", "fs => fs.map(f => +f.dataset.index)") == [0, 1, 2, 3, 4, 5]


def test_screenshots_show_content_in_light_and_dark(site, browser, tmp_path):
    backgrounds = {}
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport={"width": 1000, "height": 700}, color_scheme=scheme)
        page = context.new_page()
        page.goto((site / "block2_conv1" / "unit_0001.html").as_uri())
        page.screenshot(path=tmp_path / f"{scheme}.png")
        pixels = np.asarray(Image.open(tmp_path / f"{scheme}.png").convert("RGB"))
        backgrounds[scheme] = pixels[2, 2].mean()
        assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 500  # the image and photos, not a blank page
        context.close()
    assert backgrounds["light"] > 200 > 60 > backgrounds["dark"]
