"""Image-quality benchmark: each preset (and optionally tf-keras-vis) on the same filters, judged as saved PNGs.

Per filter: activation of the saved image, robust activation (mean under seeded shifts, scales and
rotations), robust activation at equal RMS contrast, alive/dead, and wall time per preset. Summaries
are geometric means over the filters alive in every run.

    python bench/quality.py --layer block3_conv1 --layer block5_conv1 --filters 0-15 --size 128
    python bench/quality.py --tf-keras-vis          # needs: pip install ".[bench]"
    python bench/quality.py --sweep --tf-keras-vis  # every conv layer, 16 filters spread over each
    python bench/quality.py --sweep --tf-keras-vis --reuse classic,tf-keras-vis   # re-render only actmax's presets

The sweep writes its table to bench/results/sweep.md and a contact sheet per layer (small JPEGs).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image

import actmax
from actmax.output import gallery, imaging
from actmax.optvis import metrics, result as results
from actmax.models.precision import fast_low_precision
from actmax.jobs import file_stem
from actmax.models.selection import parse_filters


def run_preset(spec, layer, filters, preset, size, seed):
    """`preset`, or `preset@precision` (e.g. `default@mixed`); float32 unless a precision is named."""
    name, _, precision = preset.partition("@")
    result = actmax.render(layer, filters, model=spec, preset=name, size=size, seed=seed,
                           precision=precision or "float32")
    return result.images, result.seconds


def run_tf_keras_vis(spec, layer, filters, size, seed):
    """tf-keras-vis's ActivationMaximization with its defaults, on the same model with its preprocessing inside."""
    import keras
    import tensorflow as tf
    from tf_keras_vis.activation_maximization import ActivationMaximization
    from tf_keras_vis.utils.scores import CategoricalScore

    features = actmax.models.FeatureModel(spec, (layer,), pre_activation=True)
    shape = (*spec.image_shape(size), spec.channels)  # a fixed-size or grey model's own
    inputs = keras.Input(shape)
    outputs = keras.layers.Lambda(lambda x: features(x / 255.0)[layer])(inputs)
    model = keras.Model(inputs, outputs)
    started = time.perf_counter()
    seeds = tf.random.stateless_uniform((len(filters), *shape), [seed, 0], 0, 255)
    images = ActivationMaximization(model, clone=False)(CategoricalScore(list(filters)), seed_input=seeds)
    return np.asarray(images, np.float32) / 255.0, time.perf_counter() - started


def cached(path, reuse, run):
    """(images, seconds) of a run: loaded from `path` when `reuse` and an earlier run saved it, else run and saved."""
    if reuse and path.exists():
        saved = np.load(path)
        return saved["images"], float(saved["seconds"])
    images, seconds = run()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, images=images, seconds=seconds)
    return images, seconds


def score(spec, layer, filters, images):
    saved = results.quantise(images)
    return {
        "activation": metrics.measure(spec, layer, saved, filters),
        "robust": metrics.robust_activation(spec, layer, saved, filters),
        "robust_eq": metrics.pattern_hold(spec, layer, saved, filters),
    }


def report(layer, filters, runs, *, alive_in="every"):
    """Print a layer's table: geometric means over the filters alive in every run (or, `any`, in any run)."""
    names = list(runs)
    alive = (np.all if alive_in == "every" else np.any)([runs[n]["activation"] > 0 for n in names], axis=0)
    print(f"\n## {layer}, filters {_span(filters)} ({alive.sum()}/{len(filters)} alive in {alive_in} run)\n")
    print("| run | seconds | dead | activation | robust | robust, equal contrast |")
    print("|---|---|---|---|---|---|")
    summary = {}
    for n in names:
        r = runs[n]
        summary[n] = {k: metrics.geometric_mean(r[k][alive]) for k in ("activation", "robust", "robust_eq")}
        summary[n].update(seconds=r["seconds"], dead=int((r["activation"] <= 0).sum()))
        print(f"| {n} | {r['seconds']:.1f} | {summary[n]['dead']} | "
              f"{summary[n]['activation']:.3g} | {summary[n]['robust']:.3g} | {summary[n]['robust_eq']:.3g} |")
    if "default" in summary and "classic" in summary:
        rivals = [n for n in names if n not in ("default",) and n != "lucid"]
        best_eq = max(summary[n]["robust_eq"] for n in rivals)
        print(f"\ndefault / classic robust: {summary['default']['robust'] / summary['classic']['robust']:.2f}x; "
              f"default / best of {', '.join(rivals)} at equal contrast: "
              f"{summary['default']['robust_eq'] / best_eq:.2f}x")
    return summary


def _span(filters):
    consecutive = list(filters) == list(range(filters[0], filters[-1] + 1))
    return f"{filters[0]}-{filters[-1]}" if consecutive else ",".join(map(str, filters))


def weaker(runs, filters, factor=2.0, key="robust"):
    """Filters that classic activates (and whose image holds them, where `key` is a robust score) where default's
    `key` score is more than `factor` times weaker; below zero, a ratio says nothing."""
    if "default" not in runs or "classic" not in runs:
        return []
    d, c = runs["default"], runs["classic"]
    return [f for f, dv, cv, ca in zip(filters, d[key], c[key], c["activation"])
            if ca > 0 and cv > 0 and dv * factor < cv]


def side_by_side(runs, filters, path, tile=None):
    """One row per run, one column per filter; `tile` px thumbnails (saved as JPEG when the path says so)."""
    rows = [imaging.rgb(imaging.to_uint8(runs[n]["images"])) for n in runs]  # grey models too
    tiles = np.concatenate(rows)
    if tile:
        tiles = np.stack([np.asarray(Image.fromarray(t).resize((tile, tile), Image.Resampling.LANCZOS))
                          for t in tiles])
    # A row is named on its first tile; "default@mixed" shortens to "mixed" so that the name fits the tile.
    labels = [f"{n.split('@')[-1]} #{f}" if i == 0 else f"#{f}" for n in runs for i, f in enumerate(filters)]
    grid = gallery.make_grid(tiles, cols=len(filters), margin=3, labels=labels)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".jpg":
        Image.fromarray(grid).save(path, quality=85)
    else:
        imaging.save_png(path, grid)


def spread(count, n=16):
    """`n` filter indices spread evenly over a layer's whole range."""
    return sorted({int(round(i)) for i in np.linspace(0, count - 1, min(n, count))})


def sweep_table(rows):
    """The sweep's markdown: one row per layer and run, then the filters where default is >2x weaker."""
    lines = ["| layer | run | seconds | dead | activation | robust | robust, equal contrast | default ÷ run, "
             "equal contrast |", "|---|---|---|---|---|---|---|---|"]
    for layer, summary, *_ in rows:
        for n, s in summary.items():
            ratio = summary["default"]["robust_eq"] / max(s["robust_eq"], 1e-9) if "default" in summary else 1
            lines.append(f"| {layer} | {n} | {s['seconds']:.1f} | {s['dead']} | {s['activation']:.3g} | "
                         f"{s['robust']:.3g} | {s['robust_eq']:.3g} | {ratio:.2f}× |")
    for title, column in (("robust activation", 2), ("activation of the saved image", 3)):
        weak = [f"{row[0]}: {', '.join(map(str, row[column]))}" for row in rows if row[column]]
        lines += ["", f"Filters that classic activates where default's {title} is more than 2× weaker: "
                  + ("; ".join(weak) if weak else "none") + "."]
    return "\n".join(lines) + "\n"


def default_presets(sweep: bool) -> str:
    """The runs when no preset is named: a sweep compares classic and default (and default in low precision where
    that is fast); one layer also shows lucid."""
    if not sweep:
        return "classic,default,lucid"
    return "classic,default,default@mixed" if fast_low_precision() else "classic,default"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layer", action="append", help="layer(s); default block3_conv1 and block5_conv1 (with "
                        "--sweep: every conv layer)")
    parser.add_argument("--filters", default="0-15")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--presets", help="comma-separated; default classic,default,lucid (with --sweep: classic, "
                        "default, and default@mixed where low precision is fast)")
    parser.add_argument("--tf-keras-vis", action="store_true", help="also run tf-keras-vis with its defaults")
    parser.add_argument("--out", type=Path, default=Path("outputs/bench"))
    parser.add_argument("--sweep", action="store_true", help="every conv layer, 16 filters spread over each, "
                        "the classic and default presets (and default in low precision where it is fast); table and "
                        "sheets to --results")
    parser.add_argument("--model", default=actmax.DEFAULT_MODEL)
    parser.add_argument("--preprocess", help="a model file's input convention (caffe, tf, torch, none, unit)")
    parser.add_argument("--reuse", default="", help="runs (e.g. classic,tf-keras-vis) to load from an earlier "
                        "run's cache in --out/cache when it holds them, instead of rendering them again")
    parser.add_argument("--results", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    spec = actmax.load_model(args.model, preprocess=args.preprocess)
    args.out.mkdir(parents=True, exist_ok=True)
    presets = args.presets or default_presets(args.sweep)
    layers = args.layer or (actmax.models.convolutions(spec.model) if args.sweep else ["block3_conv1", "block5_conv1"])
    rows = []
    for layer in layers:
        count = actmax.models.filter_count(spec.model, layer)
        filters = spread(count) if args.sweep else parse_filters(args.filters, count)
        runs = {}
        for preset in presets.split(",") + (["tf-keras-vis"] if args.tf_keras_vis else []):
            key = f"{spec.name}_{file_stem(layer)}_{preset}_{args.size}_{args.seed}_{_span(filters)}"
            images, seconds = cached(args.out / "cache" / f"{key}.npz", preset in args.reuse.split(","), lambda: (
                run_tf_keras_vis(spec, layer, filters, args.size, args.seed) if preset == "tf-keras-vis"
                else run_preset(spec, layer, filters, preset, args.size, args.seed)))
            runs[preset] = {"images": images, "seconds": seconds, **score(spec, layer, filters, images)}
        summary = report(layer, filters, runs, alive_in="any" if args.sweep else "every")
        rows.append((layer, summary, weaker(runs, filters), weaker(runs, filters, key="activation")))
        print(f"default more than 2x weaker than classic (robust) on filters: {rows[-1][2] or 'none'}; "
              f"on the saved image's activation: {rows[-1][3] or 'none'}")
        stem = file_stem(layer)  # a nested model's layer path (vgg16/block3_conv1) names no subfolder
        sheet = (args.results / f"sweep_{stem}.jpg") if args.sweep else args.out / f"quality_{stem}.png"
        side_by_side(runs, filters, sheet, tile=64 if args.sweep else None)
        print(f"\nside by side: {sheet}", flush=True)
    if args.sweep:
        (args.results / "sweep.md").write_text(f"Model {spec.name}, {args.size} px, seed {args.seed}; geometric means "
                                               "over the filters alive in any run.\n\n" + sweep_table(rows))
        print(f"\nsweep table: {args.results / 'sweep.md'}")


if __name__ == "__main__":
    main()
