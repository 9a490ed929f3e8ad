"""The optimisation family: list layers, render filter galleries or objectives, restitch galleries, dream."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .app import app, load_spec, user_errors
from .options import (ClassNamesOpt, ColsOpt, CustomCodeOpt, LabelsOpt, ModelOpt, OutOpt, ParamName, Precision, Preset,
                      PreprocessOpt, QuietOpt, RayAddressOpt, RayOpt, SortOpt, Sort, StretchOpt, TopOpt, TrustOpt,
                      out_option, ray_target, value)


@app.command()
def layers(named: Annotated[Optional[str], typer.Argument(metavar="MODEL", help="The model, as for --model: a name or "
                                                          "a .keras/.h5 file (e.g. 'actmax layers resnet50').",
                                                          show_default=False)] = None,
           model: ModelOpt = "vgg16-hed", preprocess: PreprocessOpt = None, trust_code: TrustOpt = False,
           custom_code: CustomCodeOpt = None) -> None:
    """List the layers of a model whose filters (or units: a dense layer's, the classes of its head) can be
    rendered."""
    import actmax
    if named and model != "vgg16-hed" and named != model:
        raise typer.BadParameter(f"two models, '{named}' and --model '{model}'; give one", param_hint="MODEL")
    with user_errors():
        spec = load_spec(named or model, value(preprocess), trust_code, custom_code)
        typer.echo(f"{spec.name}: {spec.description}")
        size = "x".join(map(str, spec.image_shape(224)))
        rows = [(name, kind, f"{shape[0]}x{shape[1]}", count) for name, kind, shape, count in actmax.layer_table(spec)]
        rows += [(name, kind, "units", count) for name, kind, count in actmax.unit_table(spec.model)]
        width = max([28, *(len(name) + 2 for name, *_ in rows)])
        kinds = max([22, *(len(kind) + 2 for _, kind, *_ in rows)])
        typer.echo(f"{'layer':<{width}}{'type':<{kinds}}{f'map at {size} px':<20}filters")
        for name, kind, shape, count in rows:
            typer.echo(f"{name:<{width}}{kind:<{kinds}}{shape:<20}{count}")


@app.command(no_args_is_help=True)
def render(
    layer: Annotated[Optional[str], typer.Argument(help="Layer to visualise, e.g. block5_conv1, or a "
                                                   "classifier's head for one image per class (see 'actmax layers'); "
                                                   "omit with --objective.")] = None,
    filters: Annotated[Optional[str], typer.Option("--filters", "-f", help="Filters: '0-15', '3,7,9', "
                                                   "'0-7,12' or 'all'; a class head's classes also by name "
                                                   "('tulip,rose', with --class-names or ImageNet's). Default: the "
                                                   "first 16.")] = None,
    model: ModelOpt = "vgg16-hed",
    preprocess: PreprocessOpt = None,
    trust_code: TrustOpt = False, custom_code: CustomCodeOpt = None,
    preset: Annotated[Preset, typer.Option(help="Recipe: default (best measured), classic (Keras example), "
                                           "lucid (Fourier + transforms).")] = Preset.default,
    size: Annotated[Optional[str], typer.Option(help="Final image size in pixels, or WxH (e.g. 320x180) for a "
                                                "rectangle; a fixed-size model renders at its own input size.")] \
        = None,
    steps: Annotated[Optional[int], typer.Option(min=1, help="Ascent steps per octave; each later pass takes at "
                                                 "most 4 times the ascent's steps in all (a quick preview stays "
                                                 "quick).")] = None,
    octaves: Annotated[Optional[int], typer.Option(min=1, help="Number of octaves (image grows each one).")] = None,
    octave_scale: Annotated[Optional[float], typer.Option(min=1.0, help="Growth factor between octaves.")] = None,
    lr: Annotated[Optional[float], typer.Option(min=0.0, help="Step size (learning rate).")] = None,
    param: Annotated[Optional[ParamName], typer.Option(help="Image parameterisation.")] = None,
    transforms: Annotated[Optional[str], typer.Option(help="'none', 'standard', or e.g. "
                                                      "'pad:12,jitter:5%,scale:0.9~1.1,rotate:10' (pad and jitter "
                                                      "in px, or in % of the image's side).")] = None,
    post_relu: Annotated[Optional[bool], typer.Option("--post-relu/--pre-relu", help="Maximise the activation "
                                                      "after the ReLU (classic) or before it.")] = None,
    leak: Annotated[Optional[float], typer.Option(min=0.0, help="With --post-relu: add this much of the "
                                                  "pre-activation, so silent filters still climb (0: none).")] = None,
    contrast: Annotated[Optional[float], typer.Option(min=0.0, help="Cap each image's RMS contrast (0: no cap).")] \
        = None,
    rescue: Annotated[Optional[int], typer.Option(min=0, help="Steps per octave of a second pass, on the classic "
                                                  "schedule, for filters (or --objective variants) left weak (0: "
                                                  "none).")] = None,
    revive: Annotated[Optional[int], typer.Option(min=0, help="Steps of a pass on Lucid's whole recipe (its "
                                                  "strong transforms), for filters whose image fires them but "
                                                  "loses half of it once shifted (0: none).")] = None,
    wake: Annotated[Optional[int], typer.Option(min=0, help="Steps of a pass on Lucid's recipe for positions "
                                                "one receptive field apart, for filters (or --objective variants) "
                                                "whose image still does not hold them (0: none).")] = None,
    boost: Annotated[Optional[int], typer.Option(min=0, help="Higher contrasts tried on each image with room, "
                                                 "up to --contrast and short of clipping; the one that holds its "
                                                 "filter best is kept (0: none).")] = None,
    flat: Annotated[Optional[int], typer.Option(min=0, help="Flat colours tried against each image (27: 3 levels "
                                                "per RGB channel); one that drives the filter harder replaces an "
                                                "image whose pattern holds it no better at equal contrast (0: "
                                                "none).")] = None,
    tone: Annotated[Optional[int], typer.Option(min=0, help="Shares of the way to its filter's best flat colour "
                                                "tried on the mean colour of each image whose tone matters; one "
                                                "that holds the filter better, its pattern too, is kept (0: none).")] \
        = None,
    polish: Annotated[Optional[int], typer.Option(min=0, help="Transform-free steps each patterned image gets last; "
                                                  "kept where the image as shown drives its filter (or the "
                                                  "--objective) harder and holds it at least 3/4 as well, else "
                                                  "scaled back to 1/2, 1/4 or 1/8 of the way; an image still "
                                                  "silent as shown gets 5 times the steps more (0: none).")] = None,
    tv: Annotated[Optional[float], typer.Option(min=0.0, help="Total-variation penalty weight.")] = None,
    l1: Annotated[Optional[float], typer.Option(min=0.0, help="L1 penalty weight (distance from grey).")] = None,
    l2: Annotated[Optional[float], typer.Option(min=0.0, help="L2 penalty weight (distance from grey).")] = None,
    blur_every: Annotated[Optional[int], typer.Option(min=0, help="Blur the image every K steps (0: never).")] \
        = None,
    objective: Annotated[Optional[str], typer.Option(help="Render one objective instead of a filter gallery, "
                                                     "e.g. 'block4_conv3:12 + 0.5*block4_conv3:40'.")] = None,
    variants: Annotated[int, typer.Option(min=1, help="With --objective: number of images.")] = 1,
    diversity: Annotated[float, typer.Option(min=0.0, help="With --objective: weight pushing variants apart.")] = 0.0,
    batch: Annotated[Optional[int], typer.Option(min=1, help="Filters optimised together (default: "
                                                 "automatic).")] = None,
    precision: Annotated[Optional[Precision], typer.Option(help="Network precision: mixed = float16 on GPUs, "
                                                           "bfloat16 on CPUs; auto = mixed on a GPU or a CPU with "
                                                           "native bfloat16.")] = None,
    patience: Annotated[Optional[int], typer.Option(min=0, help="Stop an octave once no filter of the batch has "
                                                    "improved for this many steps (0: never).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same images.")] = 0,
    top: TopOpt = None,
    sort: SortOpt = Sort.index,
    cols: ColsOpt = None,
    labels: LabelsOpt = True,
    class_names: ClassNamesOpt = None,
    stretch: StretchOpt = False,
    animate: Annotated[bool, typer.Option(help="Also save each filter's optimisation as an animated GIF.")] = False,
    layers: Annotated[Optional[list[str]], typer.Option("--layer", help="More layers to render (repeatable).")] = None,
    all_layers: Annotated[bool, typer.Option(help="Render every convolutional layer (a Dense layer on a map, a 1x1 "
                                             "convolution, included).")] = False,
    overwrite: Annotated[bool, typer.Option(help="Redo filters already in the output folder (default: resume, "
                                            "skipping them).")] = False,
    shard: Annotated[Optional[str], typer.Option(help="Render only shard i of N ('i/N': filters with index % N "
                                                 "== i); 'actmax gallery' merges the shards.")] = None,
    out: Annotated[Optional[str], out_option("Output folder, or an fsspec URL (gs://…, s3://…) with "
                                             "actmax\\[ray]. Default: outputs/<model>/<layer>/ (or <layer>-2/, … "
                                             "when that holds a run with other settings).")] = None,
    ray: RayOpt = False,
    ray_address: RayAddressOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Render one image per filter of LAYER and stitch them into a gallery (resumable; see --shard)."""
    from .. import jobs
    from ..models.heads import raw_logits
    from ..optvis import objectives
    from ..output.progress import say
    settings = dict(preset=preset.value, seed=seed, size=size, steps=steps, octaves=octaves, octave_scale=octave_scale,
                    lr=lr, param=value(param), transforms=transforms, leak=leak, precision=value(precision),
                    pre_activation=None if post_relu is None else not post_relu, patience=patience,
                    contrast=contrast, rescue=rescue, revive=revive, wake=wake, boost=boost, flat=flat,
                    tone=tone, polish=polish, tv=tv, l1=l1, l2=l2, blur_every=blur_every)
    with user_errors():
        asked = ([layer] if layer else []) + (layers or [])
        wants = sorted(objectives.parse(objective).layers) if objective else asked
        spec = load_spec(model, value(preprocess), trust_code, custom_code, wants=wants)
        if objective:
            path = jobs.objective_job(spec, objective, out=out, quiet=quiet, cols=cols, labels=labels, batch=batch,
                                      variants=variants, diversity=diversity, ray=ray_target(ray, ray_address),
                                      **settings)
            typer.echo(f"{objective}: {path}")
            return
        chosen = jobs.chosen_layers(spec, asked, all_layers=all_layers)
        for name in [name for name in chosen if raw_logits(spec, name)]:
            say(f"note: '{name}' reports raw logits (no softmax in the model), rendered as they are; if the model "
                "was trained with a softmax cross-entropy, save it compiled with that loss (from_logits=True) and "
                "actmax renders its classes through the softmax (a logit alone can rise with a rival class's)")
        for name, done in jobs.render_layers(
                spec, chosen, filters, out=out, quiet=quiet, overwrite=overwrite, shard=shard, top=top,
                sort=sort.value, cols=cols, labels=labels, stretch=stretch, batch=batch, animate=animate,
                class_names=class_names, ray=ray_target(ray, ray_address), note=say, **settings):
            say(f"{name}: {done.rendered} rendered, {done.reused} reused, {done.dead} dead: {done.path}")


@app.command(no_args_is_help=True)
def gallery(
    folder: Annotated[str, typer.Argument(help="A folder (or fsspec URL) 'actmax render' wrote: a layer's, or "
                                          "the model's with one subfolder per layer.")],
    top: TopOpt = None, sort: SortOpt = Sort.index, cols: ColsOpt = None, labels: LabelsOpt = True,
    stretch: StretchOpt = False,
) -> None:
    """Merge shard manifests, restitch gallery PNGs from the per-filter files, and write index.html."""
    from .. import jobs
    with user_errors():
        page = jobs.build_site(folder, top=top, sort=sort.value, cols=cols, labels=labels, stretch=stretch)
        typer.echo(f"gallery: {page}")


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
                                      "photos; a fixed-size model's tiles are its input size).")] = 512,
    max_loss: Annotated[Optional[float], typer.Option(help="Stop an octave once the objective passes this.")] = None,
    size: Annotated[Optional[int], typer.Option(min=16, help="Work at this longer side (default: the photo's "
                                                "own size; 512 from noise).")] = None,
    frames: Annotated[int, typer.Option(min=1, help="Zoom animation: dream, zoom, repeat; writes a GIF.")] = 1,
    zoom: Annotated[float, typer.Option(min=1.0, help="Zoom factor between frames.")] = 1.05,
    seed: Annotated[int, typer.Option(help="Random seed for the rolls (and the noise).")] = 0,
    model: ModelOpt = "vgg16-hed", preprocess: PreprocessOpt = None, trust_code: TrustOpt = False,
    custom_code: CustomCodeOpt = None,
    out: OutOpt = None, quiet: QuietOpt = False,
) -> None:
    """DeepDream over a photo: amplify what chosen layers or filters see, keeping the photo's size."""
    from .. import jobs
    from ..optvis import dream as dreaming
    from ..output import progress
    settings = dreaming.DreamSettings(octaves, octave_scale, steps, step_size, tile, max_loss, seed)
    with user_errors(), progress.work(quiet, "dream") as report:
        spec = load_spec(model, value(preprocess), trust_code, custom_code)
        path = jobs.dream_job(spec, image, layers=layer, objective=objective, from_noise=from_noise, size=size,
                              frames=frames, zoom=zoom, settings=settings, progress=report, note=progress.say,
                              out=out)
    typer.echo(f"dream: {path}")
