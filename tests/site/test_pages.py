"""The HTML gallery, loaded in a real headless Chromium (skipped where Debian's chromium is not installed)."""

import json
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from actmax import jobs

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--allow-file-access-from-files", "--virtual-time-budget=5000"]
HARNESS = """<!doctype html><html><body><iframe id="page" src="index.html" width="1200" height="900"></iframe>
<pre id="result">pending</pre><script>
document.getElementById('page').onload = function () {
  var images = Array.from(this.contentDocument.querySelectorAll('figure > a:not(.full) > img'));
  var decoded = images.filter(function (img) { return img.complete && img.naturalWidth > 0; });
  document.getElementById('result').textContent = JSON.stringify({thumbnails: images.length,
                                                                  decoded: decoded.length});
};
</script></body></html>"""


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


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_every_thumbnail_decodes_in_chromium(site, tmp_path):
    harness = site.parent / "harness.html"
    harness.write_text(HARNESS)
    dom = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                          harness.as_uri()], capture_output=True, text=True, timeout=120).stdout
    result = json.loads(dom.split('<pre id="result">')[1].split("</pre>")[0])
    assert result == {"thumbnails": 12, "decoded": 12}


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_screenshot_shows_the_thumbnails(site, tmp_path):
    shot = tmp_path / "page.png"
    subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                    "--window-size=1000,700", site.as_uri()], capture_output=True, timeout=120)
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    colours = len(np.unique(pixels.reshape(-1, 3), axis=0))
    assert pixels.shape[:2] == (700, 1000) and colours > 500  # rendered filter images, not a blank page
