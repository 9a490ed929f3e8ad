"""Whole runs as the commands make them: every asked-for layer into its own folder, one objective's images, a dream.

Folders default to `outputs/<model>/<layer>/` (or `<layer>-2/`, … when that holds a run with other settings).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator, Sequence

from .. import models
from ..errors import ActmaxError
from ..optvis import dream, presets, render
from ..output import imaging, storage
from ..output.progress import bar
from .figures import save_dream
from . import ray_backend
from .folders import free_folder
from .manifest import file_stem, header_of, slug
from .render_job import JobResult, render_job, render_on_ray, save_rendering

OUTPUTS = Path("outputs")
QUICK_DREAM = 1024  # px, a longer side a CPU dreams at in minutes; a photo twice as long gets a note


def chosen_layers(spec: models.ModelSpec, names: Sequence[str] = (), *, all_layers: bool = False) -> list[str]:
    """The layer paths a call asks for (names, plus every convolution with `all_layers`), each checked, no repeats."""
    chosen = list(names) + (models.convolutions(spec.model) if all_layers else [])
    if not chosen:
        raise ActmaxError("give a LAYER to render (see 'actmax layers'), --all-layers, or an --objective")
    return models.resolve_layers(spec.model, chosen, units=True)


def render_layers(spec: models.ModelSpec, layers: Sequence[str], filters=None, *, out: Path | str | None = None,
                  preset: str = "default", quiet: bool = False, ray: str | bool | None = None,
                  note: Callable[[str], None] | None = None, **options) -> Iterator[tuple[str, JobResult]]:
    """Render each layer as a resumable job, yielding (layer, result) as each finishes.

    Every layer is checked to fit (size and memory) before the first starts. One layer with `out` writes
    into `out`; several write into `out/<layer>/` (default `outputs/<model>/<layer>/`). In one process each layer
    has its own progress bar; on Ray (`ray`: True or an address) one queue and one bar span all layers. `note` is
    told when the model's own input size overrides the `size` asked. `class_names` (a names file) labels the class
    head's units, which must be among `layers`.
    """
    render.check_layers(spec, layers, preset, options.get("size"))
    models.check_named(spec, layers, options.get("class_names"))
    if note and (line := fixed_size_note(spec, options.get("size"))):
        note(line)
    folders = [(layer, storage.join(out or OUTPUTS / spec.name, file_stem(layer)) if len(layers) > 1 or not out
                else out) for layer in layers]
    for _, folder in folders:
        imaging.check_writable(folder)
    common = dict(model=spec, preset=preset, new_folder=out is None, **options)
    if ray:
        with bar(quiet, f"{len(layers)} layers" if len(layers) > 1 else None) as report:
            yield from render_on_ray(ray, folders, filters, progress=report, **common)
        return
    for layer, folder in folders:
        with bar(quiet) as report:
            yield layer, render_job(layer, filters, out=folder, progress=report, **common)


def fixed_size_note(spec: models.ModelSpec, size: int | str | None) -> str | None:
    """A line saying so where a fixed-size model renders at its own input size, not the `size` (N or WxH) asked."""
    asked = presets.size_settings(size)
    if not asked or not any(spec.model_sides):
        return None
    height, width = presets.shape_of(presets.Settings(**asked)) or (asked["size"],) * 2
    own = spec.sized((height, width)).image_shape(asked["size"])
    return None if own == (height, width) else (
        f"model '{spec.name}' takes {own[1]}×{own[0]} px images: rendering at that size, not {width}×{height}")


def objective_job(spec: models.ModelSpec, objective: str, *, out: Path | str | None = None, quiet: bool = False,
                  cols: int | None = None, labels: bool = True, ray: str | bool | None = None,
                  **options) -> Path | str:
    """Render one objective's variants (on a Ray actor pool with `ray`) and save them as a gallery folder, or at
    an fsspec URL; returns the gallery file."""
    target = out or OUTPUTS / spec.name / "objective" / slug(objective)
    imaging.check_writable(target)
    with bar(quiet, unit="variant") as report:
        result = (ray_backend.objective_on_ray(ray, objective, model=spec, progress=report, **options) if ray
                  else render.render_objective(objective, model=spec, progress=report, **options))
    target = target if out else free_folder(target, header_of(result))
    with storage.staged(target, fetch=False) as (local, _, _):
        name = save_rendering(result, local, cols=cols, labels=labels).name
    return storage.join(target, name)


def dream_job(spec: models.ModelSpec, image: Path | None, *, layers: Sequence[str] | None = None,
              objective: str | None = None, from_noise: bool = False, size: int | None = None, frames: int = 1,
              zoom: float = 1.05, settings: dream.DreamSettings | None = None, progress=None,
              note: Callable[[str], None] | None = None, out: Path | None = None) -> Path:
    """Dream over a photo (or noise), zooming between `frames`, and save it beside its parameters; `note` is told
    when a large photo will take long at its own size, and what size would be quicker."""
    settings = settings or dream.DreamSettings()
    photo = _dream_start(image, from_noise, size, settings.seed, spec.channels)
    if note and size is None and max(photo.shape[:2]) > 2 * QUICK_DREAM:
        note(f"dreaming at the photo's own {photo.shape[1]}×{photo.shape[0]} px; --size {QUICK_DREAM} is about "
             f"{max(photo.shape[:2]) ** 2 // QUICK_DREAM ** 2}× quicker")
    goal = dream.objective_for(spec, layers, objective)
    pictures = dream.zoom_frames(spec, photo, goal, frames=frames, factor=zoom, settings=settings, progress=progress)
    params = {"model": spec.name, "image": str(image) if image else None, "objective": goal.name,
              **settings.__dict__, "frames": frames, "zoom": zoom}
    return save_dream(out or OUTPUTS / spec.name / "dream", image.stem if image else "noise", pictures, params)


def _dream_start(image: Path | None, from_noise: bool, size: int | None, seed: int, channels: int):
    """The photo to dream over (its own size unless `size`), or grey noise of `size` (default 512) px."""
    if from_noise == (image is not None):
        raise ActmaxError("give a photo to dream over, or --from-noise without one")
    if from_noise:
        return dream.noise_image(size or 512, seed=seed, channels=channels)
    return imaging.load_image(image, size, channels=channels)
