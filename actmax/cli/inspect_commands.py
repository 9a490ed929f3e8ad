"""The inspection family: weights, feature maps, deconv projections, occlusion maps and Grad-CAM."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .app import app, load_spec, user_errors
from .options import (CamMethod, ClassNamesOpt, Colormap, CustomCodeOpt, DeconvMethod, ImageArg, ModelOpt, OutOpt,
                      PreprocessOpt, QuietOpt, RayAddressOpt, RayOpt, SizeOpt, TrustOpt, out_option, ray_target, value)


def _load(model: str, preprocess=None, image: Path | None = None, size: int = 224, **loading):
    """The model (`loading` as `load_spec` takes it), and the photo at the model's fixed size or with its longer
    side at `size` (its shorter at least what the model's deepest layer takes)."""
    from .. import models
    from ..output import imaging
    spec = load_spec(model, value(preprocess), **loading)
    photo = image and imaging.load_image(image, size, exact=spec.fixed_size, channels=spec.channels,
                                         floor=models.min_size(spec, *models.visual_layers(spec.model)[-1:]))
    return spec, photo


def _save(spec, out, command: str, name: str, picture, params: dict, *chosen: str | int | None) -> None:
    """Save one figure with its parameters under `outputs/<model>/<command>/` (or `out`) and say where, named `name`
    and then each choice the user made (`chosen`: a class, a target, as `jobs.slug` names an objective; None where
    left to the default), so that one photo's figures for other classes sit side by side under names that say which
    is which."""
    from .. import jobs
    stem = "_".join([jobs.file_stem(name)] + [jobs.slug(str(part)) for part in chosen if part is not None])
    path = jobs.save_figure((out or jobs.OUTPUTS / spec.name / command) / f"{stem}.png", picture,
                            {"model": spec.name, "command": command, **params})
    typer.echo(f"{command}: {path}")


@app.command(name="weights", no_args_is_help=True)
def weights_command(
    layer: Annotated[Optional[str], typer.Argument(help="A conv layer; omit with --summary.")] = None,
    model: ModelOpt = "vgg16-hed", preprocess: PreprocessOpt = None,
    trust_code: TrustOpt = False, custom_code: CustomCodeOpt = None,
    filters: Annotated[Optional[str], typer.Option(help="Filters to show (default: all of a first layer, "
                                                   "else 0-15).")] = None,
    channels: Annotated[Optional[str], typer.Option(help="Input channels of deeper layers (default 0-7).")] = None,
    grey: Annotated[bool, typer.Option(help="First layer: one grey tile per input channel.")] = False,
    summary: Annotated[bool, typer.Option(help="Print every conv layer's kernel shape.")] = False,
    out: OutOpt = None,
) -> None:
    """Show a layer's learned kernels (0 = mid-grey; lighter = positive)."""
    from .. import models
    from ..inspect import weights
    with user_errors():
        spec, _ = _load(model, preprocess, trust_code=trust_code, custom_code=custom_code)
        if summary or not layer:
            for name, shape, count in weights.summary(spec):
                typer.echo(f"{name:<28}{str(shape):<22}{count} parameters")
            return
        layer = models.resolve_layer(spec.model, layer)
        picture = weights.figure(spec, layer, filters=filters, channels=channels, grey=grey)
        _save(spec, out, "weights", layer, picture, {"layer": layer, "filters": filters, "channels": channels,
                                                     "grey": grey})


@app.command(no_args_is_help=True)
def features(
    image: ImageArg,
    layer: Annotated[Optional[list[str]], typer.Option(help="Layer (repeatable).")] = None,
    blocks: Annotated[bool, typer.Option(help="The last conv layer of every block (the default where no --layer "
                                         "is given).")] = False,
    maps: Annotated[Optional[str], typer.Option(help="Maps to show: '0-63' (default), 'all', '3,7'.")] = None,
    colormap: Annotated[Colormap, typer.Option(help="Colormap for the maps.")] = Colormap.viridis,
    title: Annotated[bool, typer.Option(help="Write the layer name above each grid.")] = True,
    model: ModelOpt = "vgg16-hed", preprocess: PreprocessOpt = None, trust_code: TrustOpt = False,
    custom_code: CustomCodeOpt = None,
    size: SizeOpt = 224, out: OutOpt = None,
) -> None:
    """Show the feature maps a photo produces, one grid per layer."""
    from ..inspect import feature_maps
    with user_errors():
        spec, photo = _load(model, preprocess, image, size, trust_code=trust_code, custom_code=custom_code)
        for name in feature_maps.chosen_layers(spec, layer or [], blocks=blocks):
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
    model: ModelOpt = "vgg16-hed", preprocess: PreprocessOpt = None, trust_code: TrustOpt = False,
    custom_code: CustomCodeOpt = None,
    size: SizeOpt = 224, out: OutOpt = None,
) -> None:
    """Project the strongest activations of a layer's filters back into pixel space."""
    from .. import models
    from ..inspect import deconv as deconvnet
    with user_errors():
        spec, photo = _load(model, preprocess, image, size, trust_code=trust_code, custom_code=custom_code)
        layer = models.resolve_layer(spec.model, layer)
        picture, chosen = deconvnet.figure(spec, photo, layer, filters=filter, top=top, method=method.value)
        _save(spec, out, "deconv", f"{image.stem}_{layer}_{method.value}", picture,
              {"image": str(image), "layer": layer, "filters": chosen, "method": method.value})


@app.command(no_args_is_help=True)
def occlusion(
    image: ImageArg,
    target: Annotated[Optional[str], typer.Option(help="Score to watch: 'class:N' or 'class:NAME' for "
                                                  "classifiers (default top-1), or 'layer:filter' (default: the "
                                                  "strongest filter of the last layer).")] = None,
    patch: Annotated[Optional[int], typer.Option(min=2, help="Grey patch size in px. Default: a seventh of the "
                                                 "photo's shorter side (32 at 224 px).")] = None,
    stride: Annotated[Optional[int], typer.Option(min=1, help="Patch step in px. Default: half the patch.")] = None,
    colormap: Annotated[Colormap, typer.Option(help="Heatmap colours.")] = Colormap.inferno,
    class_names: ClassNamesOpt = None,
    model: ModelOpt = "vgg16-hed", preprocess: PreprocessOpt = None, trust_code: TrustOpt = False,
    custom_code: CustomCodeOpt = None,
    size: SizeOpt = 224, out: OutOpt = None,
) -> None:
    """Map how much each region of a photo matters, by occluding it with a sliding grey patch."""
    from .. import models
    from ..inspect import occlusion as occluding
    with user_errors():
        spec, photo = _load(model, preprocess, image, size, trust_code=trust_code, custom_code=custom_code,
                            wants=["logit"] if target is None or target.startswith("class:") else [])
        patch, stride = occluding.patch_and_stride(photo, patch, stride)
        picture, name = occluding.figure(spec, photo, target=target, patch=patch, stride=stride,
                                         colormap=colormap.value, names=models.class_names(spec, class_names))
        _save(spec, out, "occlusion", image.stem, picture,
              {"image": str(image), "target": name, "patch": patch, "stride": stride}, target)


@app.command(no_args_is_help=True)
def cam(
    image: ImageArg,
    class_index: Annotated[Optional[str], typer.Option("--class", help="Class to explain, by index or by its "
                                                       "name in --class-names (default: top-1).")] = None,
    layer: Annotated[Optional[str], typer.Option(help="Layer to map (default: the deepest conv's block output "
                                                "feeding the class head).")] = None,
    method: Annotated[CamMethod, typer.Option(help="gradcam or gradcam++.")] = CamMethod.gradcam,
    colormap: Annotated[Colormap, typer.Option(help="Heatmap colours.")] = Colormap.inferno,
    class_names: ClassNamesOpt = None,
    model: Annotated[str, typer.Option("--model", "-m", help="A classifier: a keras.applications name (with "
                                       "its head) or a .keras/.h5 file.")] = "vgg16-hed",
    preprocess: PreprocessOpt = None, trust_code: TrustOpt = False, custom_code: CustomCodeOpt = None,
    size: SizeOpt = 224, out: OutOpt = None,
) -> None:
    """Grad-CAM heatmap of a classifier's class over a photo, with the top-5 classes."""
    from .. import models
    from ..inspect import cam as gradcam
    with user_errors():
        spec, photo = _load(model, preprocess, image, size, classifier=True, trust_code=trust_code,
                            custom_code=custom_code)
        names = models.class_names(spec, class_names)
        chosen = None if class_index is None else models.class_index(class_index, names)
        picture, classes = gradcam.figure(spec, photo, class_index=chosen, layer=layer, method=method.value,
                                          colormap=colormap.value, names=names)
        for index, name, probability in classes:
            typer.echo(f"{index:>5} {name:<24} {probability:.3f}")
        _save(spec, out, "cam", f"{image.stem}_{method.value}", picture,
              {"image": str(image), "class": chosen, "layer": layer or gradcam.default_layer(spec),
               "method": method.value, "top5": classes}, None if chosen is None else f"class:{chosen}", layer)


@app.command(no_args_is_help=True)
def examples(
    images: Annotated[list[Path], typer.Argument(help="Folders (searched recursively) or image files.")],
    layer: Annotated[str, typer.Option(help="Layer whose filters to find examples for.")],
    filters: Annotated[Optional[str], typer.Option("--filters", "-f", help="Filters: '0-15', '3,7,9' or 'all'. "
                                                   "Default: the first 16.")] = None,
    top: Annotated[int, typer.Option(min=1, help="Images kept per filter.")] = 9,
    size: Annotated[int, typer.Option(min=16, help="Images are centre-cropped to this square size (px).")] = 224,
    batch: Annotated[int, typer.Option(min=1, help="Images per forward pass.")] = 32,
    model: ModelOpt = "vgg16-hed", preprocess: PreprocessOpt = None, trust_code: TrustOpt = False,
    custom_code: CustomCodeOpt = None,
    out: Annotated[Optional[str], out_option("Output folder. Default: outputs/<model>/examples/<layer>/ "
                                             "(a rerun with more images adds to it).")] = None,
    class_names: ClassNamesOpt = None,
    ray: RayOpt = False, ray_address: RayAddressOpt = None, quiet: QuietOpt = False,
) -> None:
    """Find the images that excite each filter most, with the crop of each filter's receptive field."""
    from .. import jobs
    from ..output import progress
    with user_errors():
        spec, _ = _load(model, preprocess, trust_code=trust_code, custom_code=custom_code, wants=[layer])
        with progress.images(quiet) as report:
            done = jobs.examples_job(spec, images, layer, filters, top=top, size=size, batch=batch, out=out,
                                     progress=report, ray=ray_target(ray, ray_address), class_names=class_names)
        unread = f", {done.skipped} unreadable" if done.skipped else ""
        typer.echo(f"{done.layer}: {done.images} images ({done.new} new{unread}): {done.path}")
        if done.unmatched:
            one = done.unmatched == 1
            typer.echo(f"note: {done.unmatched} filter{'' if one else 's'} fire{'s' if one else ''} on none of these "
                       f"images, so {'its row is' if one else 'their rows are'} empty; more images may find "
                       f"{'it' if one else 'them'} examples")
