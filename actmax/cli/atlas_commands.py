"""The site family: the model atlas (a browsable page per layer and per unit)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .app import app, load_spec, user_errors
from .options import (ClassNamesOpt, CustomCodeOpt, ModelOpt, Precision, Preset, PreprocessOpt, QuietOpt,
                      RayAddressOpt, RayOpt, TrustOpt, out_option, ray_target, value)


@app.command()
def atlas(
    model: ModelOpt = "vgg16-hed",
    preprocess: PreprocessOpt = None,
    trust_code: TrustOpt = False, custom_code: CustomCodeOpt = None,
    layers: Annotated[Optional[list[str]], typer.Option("--layers", "--layer", help="Layers to show: "
                                                       "'block4_conv3' or 'block4_conv3,block5_conv1' "
                                                       "(repeatable). Default: every convolution.")] = None,
    filters: Annotated[Optional[str], typer.Option("--filters", "-f", help="Filters of each layer: '0-63', "
                                                   "'3,7,9' or 'all' (default).")] = None,
    images: Annotated[Optional[list[Path]], typer.Option("--images", help="Folder (searched recursively) or "
                                                         "image file for dataset examples (repeatable).")] = None,
    top: Annotated[int, typer.Option(min=1, help="Dataset examples per unit.")] = 9,
    photo_size: Annotated[int, typer.Option(min=16, help="Photos are centre-cropped to this square size (px) "
                                            "for examples.")] = 224,
    variants: Annotated[int, typer.Option(min=1, help="Images per unit, each from another random start.")] = 1,
    preset: Annotated[Preset, typer.Option(help="Render recipe (see 'actmax render --help').")] = Preset.default,
    size: Annotated[Optional[str], typer.Option(help="Image size in pixels, or WxH (e.g. 160x96) for a "
                                                "rectangle; a fixed-size model renders at its own size.")] = None,
    steps: Annotated[Optional[int], typer.Option(min=1, help="Ascent steps per octave.")] = None,
    octaves: Annotated[Optional[int], typer.Option(min=1, help="Number of octaves.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same images.")] = 0,
    batch: Annotated[Optional[int], typer.Option(min=1, help="Filters optimised together (default: "
                                                 "automatic).")] = None,
    precision: Annotated[Optional[Precision], typer.Option(help="Network precision (see 'actmax render "
                                                           "--help').")] = None,
    out: Annotated[Optional[str], out_option("Site folder. Default: outputs/<model>/atlas/ (a rerun "
                                             "resumes and adds layers).")] = None,
    class_names: ClassNamesOpt = None,
    ray: RayOpt = False,
    ray_address: RayAddressOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Build a browsable atlas: a page per layer and per unit, with dataset examples from --images."""
    from .. import jobs
    chosen = [name for option in layers or [] for name in option.split(",") if name]
    with user_errors():
        spec = load_spec(model, value(preprocess), trust_code, custom_code, wants=chosen)
        done = jobs.atlas_job(spec, chosen, filters, images=images or [], top=top, photo_size=photo_size,
                              variants=variants, preset=preset.value, size=size, steps=steps, octaves=octaves,
                              seed=seed, batch=batch, precision=value(precision), ray=ray_target(ray, ray_address),
                              out=out, quiet=quiet, class_names=class_names)
        typer.echo(f"atlas: {done.units} units ({done.rendered} images rendered, {done.dead} dead): {done.path}")
