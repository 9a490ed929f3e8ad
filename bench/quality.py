"""Image-quality benchmark: each preset (and optionally tf-keras-vis) on the same filters, judged as saved PNGs.

Per filter: activation of the saved image, robust activation (mean under seeded shifts, scales and
rotations), robust activation at equal RMS contrast, alive/dead, and wall time per preset. Summaries
are geometric means over the filters alive in every run.

    python bench/quality.py --layer block3_conv1 --layer block5_conv1 --filters 0-15 --size 128
    python bench/quality.py --tf-keras-vis          # needs: pip install ".[bench]"
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import actmax
from actmax import gallery, imaging, metrics, rendering
from actmax.selection import parse_filters


def run_preset(spec, layer, filters, preset, size, seed):
    result = actmax.render(layer, filters, model=spec, preset=preset, size=size, seed=seed)
    return result.images, result.seconds


def run_tf_keras_vis(spec, layer, filters, size, seed):
    """tf-keras-vis's ActivationMaximization with its defaults, on the same model with its preprocessing inside."""
    import keras
    import tensorflow as tf
    from tf_keras_vis.activation_maximization import ActivationMaximization
    from tf_keras_vis.utils.scores import CategoricalScore

    features = actmax.models.FeatureModel(spec, (layer,), pre_activation=True)
    inputs = keras.Input((size, size, 3))
    outputs = keras.layers.Lambda(lambda x: features(x / 255.0)[layer])(inputs)
    model = keras.Model(inputs, outputs)
    started = time.perf_counter()
    seeds = tf.random.stateless_uniform((len(filters), size, size, 3), [seed, 0], 0, 255)
    images = ActivationMaximization(model, clone=False)(CategoricalScore(list(filters)), seed_input=seeds)
    return np.asarray(images, np.float32) / 255.0, time.perf_counter() - started


def score(spec, layer, filters, images):
    saved = rendering.quantise(images)
    return {
        "activation": rendering.measure(spec, layer, saved, filters),
        "robust": metrics.robust_activation(spec, layer, saved, filters),
        "robust_eq": metrics.robust_activation(spec, layer, metrics.equal_contrast(saved), filters),
    }


def report(layer, filters, runs):
    names = list(runs)
    alive = np.all([runs[n]["activation"] > 0 for n in names], axis=0)
    print(f"\n## {layer}, filters {filters[0]}-{filters[-1]} ({alive.sum()}/{len(filters)} alive in every run)\n")
    print("| run | seconds | dead | activation | robust | robust, equal contrast |")
    print("|---|---|---|---|---|---|")
    summary = {}
    for n in names:
        r = runs[n]
        summary[n] = {k: metrics.geometric_mean(r[k][alive]) for k in ("activation", "robust", "robust_eq")}
        print(f"| {n} | {r['seconds']:.1f} | {int((r['activation'] <= 0).sum())} | "
              f"{summary[n]['activation']:.3g} | {summary[n]['robust']:.3g} | {summary[n]['robust_eq']:.3g} |")
    if "default" in summary and "classic" in summary:
        rivals = [n for n in names if n not in ("default",) and n != "lucid"]
        best_eq = max(summary[n]["robust_eq"] for n in rivals)
        print(f"\ndefault / classic robust: {summary['default']['robust'] / summary['classic']['robust']:.2f}x; "
              f"default / best of {', '.join(rivals)} at equal contrast: "
              f"{summary['default']['robust_eq'] / best_eq:.2f}x")
    return summary


def side_by_side(runs, filters, path):
    rows = [imaging.to_uint8(runs[n]["images"]) for n in runs]
    tiles = np.concatenate(rows)
    labels = [f"{n} #{f}" if i == 0 else f"#{f}" for n in runs for i, f in enumerate(filters)]
    imaging.save_png(path, gallery.make_grid(tiles, cols=len(filters), margin=3, labels=labels))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layer", action="append", help="layer(s); default block3_conv1 and block5_conv1")
    parser.add_argument("--filters", default="0-15")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--presets", default="classic,default,lucid")
    parser.add_argument("--tf-keras-vis", action="store_true", help="also run tf-keras-vis with its defaults")
    parser.add_argument("--out", type=Path, default=Path("outputs/bench"))
    args = parser.parse_args()
    spec = actmax.load_model()
    args.out.mkdir(parents=True, exist_ok=True)
    for layer in args.layer or ["block3_conv1", "block5_conv1"]:
        filters = parse_filters(args.filters, actmax.models.filter_count(spec.model, layer))
        runs = {}
        for preset in args.presets.split(","):
            images, seconds = run_preset(spec, layer, filters, preset, args.size, args.seed)
            runs[preset] = {"images": images, "seconds": seconds, **score(spec, layer, filters, images)}
        if args.tf_keras_vis:
            images, seconds = run_tf_keras_vis(spec, layer, filters, args.size, args.seed)
            runs["tf-keras-vis"] = {"images": images, "seconds": seconds, **score(spec, layer, filters, images)}
        report(layer, filters, runs)
        side_by_side(runs, filters, args.out / f"quality_{layer}.png")
        print(f"\nside by side: {args.out / f'quality_{layer}.png'}")


if __name__ == "__main__":
    main()
