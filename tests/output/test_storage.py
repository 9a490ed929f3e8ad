"""Output folders at fsspec URLs: render, resume and restitch against an in-memory store, whole files only."""

import pytest
from typer.testing import CliRunner

from actmax import jobs
from actmax.cli import app
from actmax.errors import ActmaxError, OutputError
from actmax.output import storage

from conftest import ROCKET

fsspec = pytest.importorskip("fsspec", reason="fsspec is not installed (pip install -e '.[test]')")
FAST = dict(size=32, octaves=1, steps=2, batch=2)


@pytest.fixture
def store(request):
    """A fresh folder on fsspec's in-memory filesystem, as a URL."""
    url = f"memory://actmax-tests/{request.node.name}"
    yield url
    memory = fsspec.filesystem("memory")
    if memory.exists(url.removeprefix("memory:/")):
        memory.rm(url.removeprefix("memory:/"), recursive=True)


def names(url):
    root = url.removeprefix("memory:/")
    return sorted(path.removeprefix(root + "/") for path in fsspec.filesystem("memory").find(root))


def test_a_job_to_a_url_uploads_its_files_and_resumes_from_them(hed, store):
    first = jobs.render_job("block1_conv1", "0-3", out=f"{store}/layer", model=hed, **FAST)
    assert first.path == f"{store}/layer/gallery.png" and first.rendered == 4
    assert names(store) == [f"layer/filter_000{i}.png" for i in range(4)] + [
        "layer/gallery.png", "layer/index.html", "layer/manifest.json"]
    again = jobs.render_job("block1_conv1", "0-5", out=f"{store}/layer", model=hed, **FAST)
    assert (again.rendered, again.reused) == (2, 4) and "layer/filter_0005.png" in names(store)


def test_uploads_are_whole_files_never_temporaries(hed, store, monkeypatch):
    sent = []
    real = storage.Remote.push

    def watch(remote):
        before = dict(remote.sent)
        real(remote)
        sent.extend(key for key in remote.sent if remote.sent[key] != before.get(key))
    monkeypatch.setattr(storage.Remote, "push", watch)
    jobs.render_job("block1_conv1", "0-3", out=store, model=hed, **FAST)
    assert sent and not [key for key in sent if key.startswith(".") or key.endswith(".tmp")]
    assert sent.count("filter_0000.png") == 1  # each finished image goes up once


def test_gallery_command_restitches_a_url(hed, store):
    list(jobs.render_layers(hed, ["block1_conv1", "block1_conv2"], "0-1", out=store, quiet=True, **FAST))
    result = CliRunner().invoke(app, ["gallery", store, "--sort", "activation"])
    assert result.exit_code == 0, result.output
    assert f"{store}/index.html" in result.output and "index.html" in names(store)
    assert names(store).count("block1_conv2/gallery.png") == 1


def test_an_objective_renders_to_a_url(hed, store):
    path = jobs.objective_job(hed, "block1_conv1:0", out=f"{store}/objective", quiet=True, variants=2, **FAST)
    assert path == f"{store}/objective/gallery.png"
    assert {"objective/manifest.json", "objective/filter_0001.png"} <= set(names(store))


def test_urls_are_refused_where_they_are_not_supported(hed, store):
    for call in (lambda: jobs.atlas_job(hed, ["block1_conv1"], out=store, quiet=True),
                 lambda: jobs.examples_job(hed, [ROCKET], "block1_conv1", out=store)):
        with pytest.raises(ActmaxError, match="written to a local folder; URLs are for galleries"):
            call()
    with pytest.raises(OutputError, match="no rendered layers in 'memory://"):
        jobs.build_site(f"{store}/empty")
