"""Class-image benchmark: one image per class of a classifier's softmax head, judged by the model itself.

Per run: how many class images the model gives their own class (top-1), the class's mean probability on its
image, and its robust probability (mean under the quality benchmark's shifts, scales and rotations), also at equal
RMS contrast; wall time. Runs: the default and classic presets, the default preset with the class logit alone as
its objective (what actmax did before it took each class's log-odds), and tf-keras-vis on the logits (its
documented use: the softmax replaced by a linear activation).

    python bench/classes.py --model digits.keras --preprocess none --size 28
    python bench/classes.py --model digits.keras --tf-keras-vis --results bench/results/classes.md

Appends one markdown table per model to --results (printed either way).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import actmax
from actmax import models
from actmax.models import features as feature_models
from actmax.optvis import engine, metrics, result as results


def logit_objective(run):
    """`run()` with a softmax's classes rendered by their logits alone, as before the log-odds (the engines built
    meanwhile dropped, before and after)."""
    saved = feature_models.log_odds
    feature_models.log_odds = lambda logits: logits
    engine.filter_engine.cache_clear()
    try:
        return run()
    finally:
        feature_models.log_odds = saved
        engine.filter_engine.cache_clear()


def run_actmax(spec, head, classes, preset, size, seed):
    started = time.perf_counter()
    result = actmax.render(head, classes, model=spec, preset=preset, size=size, seed=seed, precision="float32")
    return result.images, time.perf_counter() - started


def run_tf_keras_vis(spec, classes, size, seed):
    """tf-keras-vis's ActivationMaximization with its defaults, on the class logits, preprocessing inside."""
    import keras
    import tensorflow as tf
    from tf_keras_vis.activation_maximization import ActivationMaximization
    from tf_keras_vis.utils.scores import CategoricalScore

    logits = models.FeatureModel(spec, (models.LOGITS,))
    shape = (*spec.image_shape(size), spec.channels)
    inputs = keras.Input(shape)
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: logits(x / 255.0)[models.LOGITS])(inputs))
    started = time.perf_counter()
    seeds = tf.random.stateless_uniform((len(classes), *shape), [seed, 0], 0, 255)
    images = ActivationMaximization(model, clone=False)(CategoricalScore(list(classes)), seed_input=seeds)
    return np.asarray(images, np.float32) / 255.0, time.perf_counter() - started


def judge(spec, head, classes, images) -> dict:
    """What the model says of each class image, as saved."""
    saved = results.quantise(images)
    probabilities = models.scoring_features(spec, head)(saved)[head].numpy()
    return {"top1": int((probabilities.argmax(axis=1) == np.asarray(classes)).sum()),
            "probability": float(probabilities[range(len(classes)), classes].mean()),
            "robust": float(metrics.robust_activation(spec, head, saved, classes).mean()),
            "robust_eq": float(metrics.pattern_hold(spec, head, saved, classes).mean())}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--preprocess")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tf-keras-vis", action="store_true")
    parser.add_argument("--results", type=Path)
    args = parser.parse_args()
    spec = actmax.load_model(args.model, preprocess=args.preprocess)
    head = models.logits_layer(spec.model).path
    classes = list(range(models.filter_count(spec.model, head)))
    render = lambda preset: run_actmax(spec, head, classes, preset, args.size, args.seed)  # noqa: E731
    runs = {"default": lambda: render("default"), "classic": lambda: render("classic"),
            "default, logit alone": lambda: logit_objective(lambda: render("default"))}
    if args.tf_keras_vis:
        runs["tf-keras-vis (logits)"] = lambda: run_tf_keras_vis(spec, classes, args.size, args.seed)
    lines = [f"\n### {spec.name} ({head}, {len(classes)} classes, {args.size} px, seed {args.seed})\n",
             "| run | seconds | called their own class | mean probability | robust | robust, equal contrast |",
             "|---|---|---|---|---|---|"]
    for name, run in runs.items():
        images, seconds = run()
        s = judge(spec, head, classes, images)
        lines.append(f"| {name} | {seconds:.1f} | {s['top1']} of {len(classes)} | {s['probability']:.3f} | "
                     f"{s['robust']:.3f} | {s['robust_eq']:.3f} |")
        print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.results:
        with args.results.open("a") as handle:
            handle.write(text)


if __name__ == "__main__":
    main()
