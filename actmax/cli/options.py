"""Options and choices shared by the commands, declared once; the library's own name tuples feed the enums."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..optvis.presets import PRESETS
from ..output import colormaps, imaging


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

ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Model: 'vgg16-hed' (embedded, offline), a "
                                       "keras.applications name such as 'vgg16' or 'resnet50' (downloads ImageNet "
                                       "weights once), or a .keras/.h5 file.")]
PreprocessOpt = Annotated[Optional[Preprocess], typer.Option(
    help="Input convention of a model file: caffe (BGR minus mean), tf (-1..1), torch (ImageNet mean/std), "
         "none (0..255), unit (0..1). Named models know their own.")]
TrustOpt = Annotated[bool, typer.Option("--trust-code", help="Load a model file's Lambda layers: Python code "
                                        "saved in the file, run as it loads (Keras's safe_mode=False). Only for a "
                                        "file you trust.")]
CustomCodeOpt = Annotated[Optional[Path], typer.Option("--custom-code", help="A Python file defining a model "
                                                    "file's custom layers (or activations …); it is run first.")]
ClassNamesOpt = Annotated[Optional[Path], typer.Option(
    "--class-names", help="A file naming a classifier's classes: one name per line in class order, or a JSON list. "
    "Labels the class head's gallery and the classes of cam and occlusion; keras.applications ImageNet models are "
    "named without it.")]
TopOpt = Annotated[Optional[int], typer.Option(min=1, help="Keep the K filters with the highest activation.")]
SortOpt = Annotated[Sort, typer.Option(help="Gallery order.")]
ColsOpt = Annotated[Optional[int], typer.Option(min=1, help="Gallery columns (default: square-ish).")]
LabelsOpt = Annotated[bool, typer.Option(help="Label gallery tiles with filter index and activation.")]
StretchOpt = Annotated[bool, typer.Option(help="Contrast-stretch gallery tiles for display (files stay lossless).")]
ImageArg = Annotated[Path, typer.Argument(help="A photo (any format Pillow reads; EXIF rotation honoured).")]
SizeOpt = Annotated[int, typer.Option(min=16, help="Resize the photo so its longer side has this many px "
                                      "(a fixed-size model gets its own size).")]


def folder_only(out: str | Path | None):
    """Refuse an --out that names a picture ('dream.png'): --out is a folder, and actmax names the files in it."""
    suffix = Path(str(out)).suffix
    if out and suffix.lower() in imaging.PHOTO_SUFFIXES and not Path(out).is_dir():
        typer.echo(f"error: --out is a folder (actmax names the files in it), and '{out}' looks like a file name; "
                   f"pass a folder, e.g. --out {str(out)[:-len(suffix)]}", err=True)
        raise typer.Exit(2)
    return out


def out_option(help: str):
    """An --out (-o) option: a folder, never a picture's file name (`folder_only`)."""
    return typer.Option("--out", "-o", callback=folder_only, help=help)


OutOpt = Annotated[Optional[Path], out_option("Output folder. Default: outputs/<model>/<command>/.")]
RayOpt = Annotated[bool, typer.Option("--ray", help="Render on Ray: the cluster RAY_ADDRESS names, else a new "
                                      "local one (pip install \"actmax\\[ray]\").")]
RayAddressOpt = Annotated[Optional[str], typer.Option(help="Render on the Ray cluster at this address ('auto', "
                                                      "'host:6379', 'ray://host:10001'); implies --ray.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")]


def ray_target(ray: bool, address: str | None) -> str | bool | None:
    """What `--ray`/`--ray-address` ask of a job: an address, True for Ray's default, or None (no Ray)."""
    return address or (True if ray else None)


def value(choice: Enum | None) -> str | None:
    """The plain string of an optional enum option."""
    return choice and choice.value
