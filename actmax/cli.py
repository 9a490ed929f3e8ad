"""The `actmax` command line: each command parses options, makes one library call, and saves."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import warnings
from enum import Enum
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer

from .output import colormaps
from .optvis.presets import PRESETS

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="See what the filters of a convolutional network respond to.")


def run() -> None:
    """The `actmax` program: the typer app, with only actmax's own output on the terminal."""
    _keep_native_logs_off_the_terminal()
    app(prog_name="actmax")


def _keep_native_logs_off_the_terminal() -> None:
    """Send file descriptor 2 to /dev/null for the whole process, keeping Python's `sys.stderr` on the terminal.

    TensorFlow and absl write C++ log lines straight to descriptor 2, at start-up and later, whatever
    TF_CPP_MIN_LOG_LEVEL says; actmax's messages, progress bars and errors all go through `sys.stderr`.
    Python-side warnings and log records of TensorFlow, Keras and absl are silenced too.
    """
    sys.stderr.flush()
    terminal, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stderr = io.TextIOWrapper(io.FileIO(terminal, "w"), encoding=sys.stderr.encoding, errors="backslashreplace",
                                  line_buffering=True, write_through=True)
    warnings.filterwarnings("ignore", module=r"(keras|tensorflow|absl|h5py|google)(\.|$)")
    for name in ("tensorflow", "absl", "keras", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _library():
    """Import the library (and TensorFlow) only once a command runs, so that --help stays fast."""
    import actmax
    return actmax


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """Turn library errors into one line on stderr and a non-zero exit code."""
    from .errors import ActmaxError
    try:
        yield
    except ActmaxError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except Exception as exc:  # an allocation failure outside the library's own guards
        from .models.memory import is_out_of_memory
        if not is_out_of_memory(exc):
            raise
        typer.echo("error: out of memory; lower --size (or --batch, --tile)", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        typer.echo("interrupted: files already written are complete; rerun to redo the rest", err=True)
        raise typer.Exit(130) from None


def _choice(name: str, values) -> type[Enum]:
    """A str Enum for typer from the library's own tuple of names."""
    return Enum(name, {value.replace("+", "_plus"): value for value in values}, type=str)


Preset = _choice("Preset", PRESETS)
Sort = _choice("Sort", ("index", "activation"))
ParamName = _choice("ParamName", ("pixel", "decorrelated", "fourier"))
Precision = _choice("Precision", ("auto", "float32", "mixed"))
Preprocess = _choice("Preprocess", ("caffe", "tf", "torch", "none", "unit"))
Colormap = _choice("Colormap", colormaps.NAMES)
DeconvMethod = _choice("DeconvMethod", ("deconvnet", "guided"))
CamMethod = _choice("CamMethod", ("gradcam", "gradcam++"))


def _version(value: bool) -> None:
    if value:
        from . import __version__
        typer.echo(f"actmax {__version__}")
        raise typer.Exit()


ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Model: 'vgg16-hed' (embedded, offline), a "
                                       "keras.applications name such as 'vgg16' or 'resnet50' (downloads ImageNet "
                                       "weights once), or a .keras/.h5 file.")]
PreprocessOpt = Annotated[Optional[Preprocess], typer.Option(
    help="Input convention of a model file: caffe (BGR minus mean), tf (-1..1), torch (ImageNet mean/std), "
         "none (0..255), unit (0..1). Named models know their own.")]


@app.callback()
def main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                               help="Show the version and exit.")] = False) -> None:
    """See what the filters of a convolutional network respond to."""


@app.command()
def layers(model: ModelOpt = "vgg16-hed", preprocess: PreprocessOpt = None) -> None:
    """List the layers of a model whose filters can be rendered."""
    actmax = _library()
    with _user_errors():
        spec = actmax.load_model(model, preprocess=preprocess and preprocess.value)
        typer.echo(f"{spec.name}: {spec.description}")
        table = actmax.layer_table(spec)
        size = "x".join(map(str, spec.fixed_size or (224, 224)))
        width = max([28, *(len(name) + 2 for name, *_ in table)])
        typer.echo(f"{'layer':<{width}}{'type':<22}{f'map at {size} px':<20}filters")
        for name, kind, shape, count in table:
            typer.echo(f"{name:<{width}}{kind:<22}{f'{shape[0]}x{shape[1]}':<20}{count}")


@app.command(no_args_is_help=True)
def render(
    layer: Annotated[Optional[str], typer.Argument(help="Layer to visualise, e.g. block5_conv1 (see 'actmax "
                                                   "layers'); omit with --objective.")] = None,
    filters: Annotated[Optional[str], typer.Option("--filters", "-f", help="Filters: '0-15', '3,7,9', "
                                                   "'0-7,12' or 'all'. Default: the first 16.")] = None,
    model: ModelOpt = "vgg16-hed",
    preprocess: PreprocessOpt = None,
    preset: Annotated[Preset, typer.Option(help="Recipe: default (best measured), classic (Keras example), "
                                           "lucid (Fourier + transforms).")] = Preset.default,
    size: Annotated[Optional[int], typer.Option(min=8, help="Final image size in pixels.")] = None,
    steps: Annotated[Optional[int], typer.Option(min=1, help="Ascent steps per octave.")] = None,
    octaves: Annotated[Optional[int], typer.Option(min=1, help="Number of octaves (image grows each one).")] = None,
    octave_scale: Annotated[Optional[float], typer.Option(min=1.0, help="Growth factor between octaves.")] = None,
    lr: Annotated[Optional[float], typer.Option(min=0.0, help="Step size (learning rate).")] = None,
    param: Annotated[Optional[ParamName], typer.Option(help="Image parameterisation.")] = None,
    transforms: Annotated[Optional[str], typer.Option(help="'none', 'standard', or e.g. "
                                                      "'pad:12,jitter:8,scale:0.9~1.1,rotate:10'.")] = None,
    post_relu: Annotated[Optional[bool], typer.Option("--post-relu/--pre-relu", help="Maximise the activation "
                                                      "after the ReLU (classic) or before it.")] = None,
    leak: Annotated[Optional[float], typer.Option(min=0.0, help="With --post-relu: add this much of the "
                                                  "pre-activation, so silent filters still climb (0: none).")] = None,
    contrast: Annotated[Optional[float], typer.Option(min=0.0, help="Cap each image's RMS contrast (0: no cap).")] \
        = None,
    rescue: Annotated[Optional[int], typer.Option(min=0, help="Steps per octave of a second pass, on the classic "
                                                  "schedule, for filters left weak (0: none).")] = None,
    tv: Annotated[Optional[float], typer.Option(min=0.0, help="Total-variation penalty weight.")] = None,
    l1: Annotated[Optional[float], typer.Option(min=0.0, help="L1 penalty weight (distance from grey).")] = None,
    l2: Annotated[Optional[float], typer.Option(min=0.0, help="L2 penalty weight (distance from grey).")] = None,
    blur_every: Annotated[Optional[int], typer.Option(min=0, help="Blur the image every K steps (0: never).")] \
        = None,
    objective: Annotated[Optional[str], typer.Option(help="Render one objective instead of a filter gallery, "
                                                     "e.g. 'block4_conv3:12 + 0.5*block4_conv3:40'.")] = None,
    variants: Annotated[int, typer.Option(min=1, help="With --objective: number of images.")] = 1,
    diversity: Annotated[float, typer.Option(min=0.0, help="With --objective: weight pushing variants apart.")] = 0.0,
    batch: Annotated[Optional[int], typer.Option(min=1, help="Filters optimised together (default: automatic).")] = None,
    precision: Annotated[Optional[Precision], typer.Option(help="Network precision: mixed = float16 on GPUs, "
                                                           "bfloat16 on CPUs; auto = mixed on a GPU or a CPU with "
                                                           "native bfloat16.")] = None,
    patience: Annotated[Optional[int], typer.Option(min=0, help="Stop an octave once no filter of the batch has "
                                                    "improved for this many steps (0: never).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same images.")] = 0,
    top: Annotated[Optional[int], typer.Option(min=1, help="Keep the K filters with the highest activation.")] = None,
    sort: Annotated[Sort, typer.Option(help="Gallery order.")] = Sort.index,
    cols: Annotated[Optional[int], typer.Option(min=1, help="Gallery columns (default: square-ish).")] = None,
    labels: Annotated[bool, typer.Option(help="Label gallery tiles with filter index and activation.")] = True,
    stretch: Annotated[bool, typer.Option(help="Contrast-stretch gallery tiles for display (files stay "
                                          "lossless).")] = False,
    animate: Annotated[bool, typer.Option(help="Also save each filter's optimisation as an animated GIF.")] = False,
    layers: Annotated[Optional[list[str]], typer.Option("--layer", help="More layers to render (repeatable).")] = None,
    all_layers: Annotated[bool, typer.Option(help="Render every convolutional layer.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Redo filters already in the output folder (default: resume, "
                                            "skipping them).")] = False,
    shard: Annotated[Optional[str], typer.Option(help="Render only shard i of N ('i/N': filters with index % N "
                                                 "== i); 'actmax gallery' merges the shards.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Output folder. Default: outputs/<model>/<layer>/ (or "
                                                "<layer>-2/, … when that holds a run with other settings).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Render one image per filter of LAYER and stitch them into a gallery (resumable; see --shard)."""
    actmax = _library()
    from . import jobs
    from .optvis import render as rendering
    from .output import imaging, progress
    with _user_errors():
        spec = actmax.load_model(model, preprocess=preprocess and preprocess.value)
        settings = dict(preset=preset.value, seed=seed, size=size, steps=steps, octaves=octaves,
                        octave_scale=octave_scale, lr=lr, param=param and param.value, transforms=transforms,
                        pre_activation=None if post_relu is None else not post_relu, patience=patience, leak=leak,
                        precision=precision and precision.value, contrast=contrast, rescue=rescue, tv=tv, l1=l1,
                        l2=l2, blur_every=blur_every)
        if objective:
            target = out or Path("outputs") / spec.name / "objective" / jobs.slug(objective)
            imaging.check_writable(target)
            with progress.bar(quiet) as report:
                result = actmax.render_objective(objective, model=spec, variants=variants, diversity=diversity,
                                                 progress=report, **settings)
            target = target if out else jobs.free_folder(target, jobs.header_of(result))
            typer.echo(f"{objective}: {actmax.save_rendering(result, target, cols=cols, labels=labels)}")
            return
        chosen = _layers_to_render(actmax, spec, layer, layers, all_layers)
        rendering.check_fits(spec, chosen, size or actmax.get_preset(preset.value).size)
        for name in chosen:
            target = (out or Path("outputs") / spec.name) / jobs.file_stem(name) if len(chosen) > 1 or not out else out
            imaging.check_writable(target)
            with progress.bar(quiet) as report:
                done = jobs.render_job(name, filters, out=target, model=spec, overwrite=overwrite, shard=shard,
                                       top=top, sort=sort.value, cols=cols, labels=labels, stretch=stretch,
                                       new_folder=out is None, batch=batch, progress=report, animate=animate,
                                       **settings)
            typer.echo(f"{name}: {done.rendered} rendered, {done.reused} reused, {done.dead} dead: {done.path}")


def _layers_to_render(actmax, spec, layer, layers, all_layers) -> list[str]:
    """The layers a render asks for, all checked before any work starts."""
    chosen = ([layer] if layer else []) + list(layers or [])
    if all_layers:
        chosen += actmax.models.convolutions(spec.model)
    if not chosen:
        raise actmax.ActmaxError("give a LAYER to render (see 'actmax layers'), --all-layers, or an --objective")
    return list(dict.fromkeys(actmax.models.resolve_layer(spec.model, name) for name in chosen))


@app.command(no_args_is_help=True)
def gallery(
    folder: Annotated[Path, typer.Argument(help="A folder 'actmax render' wrote (a layer's, or the model's with "
                                           "one subfolder per layer).")],
    top: Annotated[Optional[int], typer.Option(min=1, help="Keep the K filters with the highest activation.")] = None,
    sort: Annotated[Sort, typer.Option(help="Gallery order.")] = Sort.index,
    cols: Annotated[Optional[int], typer.Option(min=1, help="Gallery columns (default: square-ish).")] = None,
    labels: Annotated[bool, typer.Option(help="Label tiles with filter index and activation.")] = True,
    stretch: Annotated[bool, typer.Option(help="Contrast-stretch tiles for display.")] = False,
) -> None:
    """Merge shard manifests, restitch gallery PNGs from the per-filter files, and write index.html."""
    _library()
    from . import jobs
    with _user_errors():
        page = jobs.build_site(folder, top=top, sort=sort.value, cols=cols, labels=labels, stretch=stretch)
        typer.echo(f"gallery: {page}")


ImageArg = Annotated[Path, typer.Argument(help="A photo (any format Pillow reads; EXIF rotation honoured).")]
SizeOpt = Annotated[int, typer.Option(min=16, help="Resize the photo so its longer side has this many px "
                                      "(a fixed-size model gets its own size).")]
OutOpt = Annotated[Optional[Path], typer.Option(help="Output folder. Default: outputs/<model>/<command>/.")]


def _photo(spec, image: Path, size: int):
    """Load a photo at the model's fixed size, or with its longer side at `size`."""
    from .output import imaging
    return imaging.load_image(image, size, exact=spec.fixed_size, channels=spec.channels)


def _save(spec, out, command: str, name: str, picture, params: dict) -> None:
    from . import jobs
    path = jobs.save_figure((out or Path("outputs") / spec.name / command) / f"{jobs.file_stem(name)}.png", picture,
                            {"model": spec.name, "command": command, **params})
    typer.echo(f"{command}: {path}")


@app.command(name="weights", no_args_is_help=True)
def weights_command(
    layer: Annotated[Optional[str], typer.Argument(help="A conv layer; omit with --summary.")] = None,
    model: ModelOpt = "vgg16-hed",
    filters: Annotated[Optional[str], typer.Option(help="Filters to show (default: all of a first layer, "
                                                   "else 0-15).")] = None,
    channels: Annotated[Optional[str], typer.Option(help="Input channels of deeper layers (default 0-7).")] = None,
    grey: Annotated[bool, typer.Option(help="First layer: one grey tile per input channel.")] = False,
    summary: Annotated[bool, typer.Option(help="Print every conv layer's kernel shape.")] = False,
    out: OutOpt = None,
) -> None:
    """Show a layer's learned kernels (0 = mid-grey; lighter = positive)."""
    actmax = _library()
    from .inspect import weights
    with _user_errors():
        spec = actmax.load_model(model)
        if summary or not layer:
            for name, shape, count in weights.summary(spec):
                typer.echo(f"{name:<28}{str(shape):<22}{count} parameters")
            return
        layer = actmax.models.resolve_layer(spec.model, layer)
        picture = weights.figure(spec, layer, filters=filters, channels=channels, grey=grey)
        _save(spec, out, "weights", layer, picture, {"layer": layer, "filters": filters,
                                                              "channels": channels, "grey": grey})


@app.command(no_args_is_help=True)
def features(
    image: ImageArg,
    layer: Annotated[Optional[list[str]], typer.Option(help="Layer (repeatable).")] = None,
    blocks: Annotated[bool, typer.Option(help="The last conv layer of every block.")] = False,
    maps: Annotated[Optional[str], typer.Option(help="Maps to show: '0-63' (default), 'all', '3,7'.")] = None,
    colormap: Annotated[Colormap, typer.Option(help="Colormap for the maps.")] = Colormap.viridis,
    title: Annotated[bool, typer.Option(help="Write the layer name above each grid.")] = True,
    model: ModelOpt = "vgg16-hed", preprocess: PreprocessOpt = None, size: SizeOpt = 224, out: OutOpt = None,
) -> None:
    """Show the feature maps a photo produces, one grid per layer."""
    actmax = _library()
    from .inspect import feature_maps
    with _user_errors():
        spec = actmax.load_model(model, preprocess=preprocess and preprocess.value)
        chosen = (layer or []) + (feature_maps.block_ends(spec) if blocks else [])
        if not chosen:
            raise actmax.ActmaxError("give --layer NAME (repeatable) or --blocks; see 'actmax layers'")
        chosen = list(dict.fromkeys(actmax.models.resolve_layer(spec.model, name) for name in chosen))
        photo = _photo(spec, image, size)
        for name in chosen:
            picture = feature_maps.figure(spec, photo, name, maps=maps, colormap=colormap.value, title=title)
            _save(spec, out, "features", f"{image.stem}_{name}", picture,
                  {"image": str(image), "layer": name, "maps": maps, "colormap": colormap.value})


@app.command(no_args_is_help=True)
def deconv(
    image: ImageArg,
    layer: Annotated[str, typer.Option(help="Layer whose filters to project.")],
    filter: Annotated[Optional[list[int]], typer.Option("--filter", help="Filter (repeatable); default: the "
                                                        "--top strongest.")] = None,
    top: Annotated[int, typer.Option(min=1, help="Project the K filters with the strongest activation.")] = 4,
    method: Annotated[DeconvMethod, typer.Option(help="deconvnet (Zeiler & Fergus) or guided backprop.")] =
    DeconvMethod.deconvnet,
    model: ModelOpt = "vgg16-hed", preprocess: PreprocessOpt = None, size: SizeOpt = 224, out: OutOpt = None,
) -> None:
    """Project the strongest activations of a layer's filters back into pixel space."""
    actmax = _library()
    from .inspect import deconv as deconv_module
    with _user_errors():
        spec = actmax.load_model(model, preprocess=preprocess and preprocess.value)
        layer = actmax.models.resolve_layer(spec.model, layer)
        count = actmax.models.filter_count(spec.model, layer)
        if filter and not all(0 <= f < count for f in filter):
            raise actmax.ActmaxError(f"--filter must be within layer '{layer}''s range 0-{count - 1}")
        picture, chosen = deconv_module.figure(spec, _photo(spec, image, size), layer, filters=filter,
                                               top=top, method=method.value)
        _save(spec, out, "deconv", f"{image.stem}_{layer}_{method.value}", picture,
              {"image": str(image), "layer": layer, "filters": chosen, "method": method.value})


@app.command(no_args_is_help=True)
def occlusion(
    image: ImageArg,
    target: Annotated[Optional[str], typer.Option(help="Score to watch: 'class:N' for classifiers (default "
                                                  "top-1), or 'layer:filter' (default: the strongest filter "
                                                  "of the last layer).")] = None,
    patch: Annotated[int, typer.Option(min=2, help="Grey patch size in px.")] = 32,
    stride: Annotated[int, typer.Option(min=1, help="Patch step in px.")] = 16,
    colormap: Annotated[Colormap, typer.Option(help="Heatmap colours.")] = Colormap.inferno,
    model: ModelOpt = "vgg16-hed", preprocess: PreprocessOpt = None, size: SizeOpt = 224, out: OutOpt = None,
) -> None:
    """Map how much each region of a photo matters, by occluding it with a sliding grey patch."""
    actmax = _library()
    from .inspect import occlusion as occlusion_module
    with _user_errors():
        spec = actmax.load_model(model, preprocess=preprocess and preprocess.value)
        picture, name = occlusion_module.figure(spec, _photo(spec, image, size), target=target, patch=patch,
                                                stride=stride, colormap=colormap.value)
        _save(spec, out, "occlusion", image.stem, picture,
              {"image": str(image), "target": name, "patch": patch, "stride": stride})


@app.command(no_args_is_help=True)
def cam(
    image: ImageArg,
    class_index: Annotated[Optional[int], typer.Option("--class", min=0, help="Class to explain (default: "
                                                       "top-1).")] = None,
    layer: Annotated[Optional[str], typer.Option(help="Conv layer (default: the last).")] = None,
    method: Annotated[CamMethod, typer.Option(help="gradcam or gradcam++.")] = CamMethod.gradcam,
    colormap: Annotated[Colormap, typer.Option(help="Heatmap colours.")] = Colormap.inferno,
    model: Annotated[str, typer.Option("--model", "-m", help="A classifier: a keras.applications name (with "
                                       "its head) or a .keras/.h5 file.")] = "vgg16-hed",
    preprocess: PreprocessOpt = None, size: SizeOpt = 224, out: OutOpt = None,
) -> None:
    """Grad-CAM heatmap of a classifier's class over a photo, with the top-5 classes."""
    actmax = _library()
    from .inspect import cam as cam_module
    with _user_errors():
        spec = actmax.load_model(model, preprocess=preprocess and preprocess.value, classifier=True)
        picture, classes = cam_module.figure(spec, _photo(spec, image, size), class_index=class_index,
                                             layer=layer, method=method.value, colormap=colormap.value)
        for index, name, probability in classes:
            typer.echo(f"{index:>5} {name:<24} {probability:.3f}")
        _save(spec, out, "cam", f"{image.stem}_{method.value}", picture,
              {"image": str(image), "class": class_index, "method": method.value, "top5": classes})


@app.command(no_args_is_help=True)
def dream(
    image: Annotated[Optional[Path], typer.Argument(help="A photo to dream over (omit with --from-noise).")] = None,
    layer: Annotated[Optional[list[str]], typer.Option(help="Layer whose energy to raise, optionally weighted: "
                                                       "'block4_conv3', 'block5_conv1:0.5' (repeatable).")] = None,
    objective: Annotated[Optional[str], typer.Option(help="Raise chosen filters instead, e.g. "
                                                     "'block4_conv3:12'.")] = None,
    from_noise: Annotated[bool, typer.Option(help="Dream over grey noise instead of a photo.")] = False,
    octaves: Annotated[int, typer.Option(min=1, help="Number of scales.")] = 4,
    octave_scale: Annotated[float, typer.Option(min=1.0, help="Size ratio between scales.")] = 1.4,
    steps: Annotated[int, typer.Option(min=1, help="Ascent steps per octave.")] = 20,
    step_size: Annotated[float, typer.Option(min=0.0, help="Pixel change per step (0..1 scale).")] = 0.003,
    tile: Annotated[int, typer.Option(min=32, help="Gradient tile size in px (memory bound for large "
                                      "photos).")] = 512,
    max_loss: Annotated[Optional[float], typer.Option(help="Stop an octave once the objective passes this.")] = None,
    size: Annotated[Optional[int], typer.Option(min=16, help="Work at this longer side (default: the photo's "
                                                "own size; 512 from noise).")] = None,
    frames: Annotated[int, typer.Option(min=1, help="Zoom animation: dream, zoom, repeat; writes a GIF.")] = 1,
    zoom: Annotated[float, typer.Option(min=1.0, help="Zoom factor between frames.")] = 1.05,
    seed: Annotated[int, typer.Option(help="Random seed for the rolls (and the noise).")] = 0,
    model: ModelOpt = "vgg16-hed", preprocess: PreprocessOpt = None, out: OutOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """DeepDream over a photo: amplify what chosen layers or filters see, keeping the photo's size."""
    actmax = _library()
    from . import jobs
    from .optvis import dream as dreaming
    with _user_errors():
        spec = actmax.load_model(model, preprocess=preprocess and preprocess.value)
        photo = dreaming.start_image(image, from_noise=from_noise, size=size, seed=seed, channels=spec.channels)
        goal = dreaming.objective_for(spec, layer, objective)
        settings = dreaming.DreamSettings(octaves, octave_scale, steps, step_size, tile, max_loss, seed)
        report = None if quiet else (lambda o, n, loss: typer.echo(f"octave {o + 1}/{n}: objective {loss:.4g}",
                                                                  err=True))
        pictures = dreaming.zoom_frames(spec, photo, goal, frames=frames, factor=zoom, settings=settings,
                                        progress=report)
        stem = image.stem if image else "noise"
        params = {"model": spec.name, "image": str(image) if image else None, "objective": goal.name,
                  **settings.__dict__, "frames": frames, "zoom": zoom}
        path = jobs.save_dream(out or Path("outputs") / spec.name / "dream", stem, pictures, params)
        typer.echo(f"dream: {path}")
