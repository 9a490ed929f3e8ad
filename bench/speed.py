"""Speed benchmark: actmax's batched, compiled ascent against the classic one-filter-at-a-time loop.

Everything runs in one process on the same settings, so each speed-up is a ratio measured side by side.

    python bench/speed.py                                   # block3_conv1 and block5_conv1, filters 0-15, 128 px
    python bench/speed.py --layer block4_conv2 --precision float32,mixed --jit
    python bench/speed.py --whole                           # also whole processes (median of 3), start-up included

Tables: whole runs (seconds per filter, filter-steps per second, GFLOP/s, final activation) and, per octave
size, one batched step against its convolutions alone (forward + input gradient, no bias/ReLU/pool/update).
With --whole, the same runs as separate processes timed from the outside (imports, model, first trace and
files included, as a user runs `actmax render`), and a fresh process's start-up split into its stages.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

import actmax
from actmax.optvis import ascent, budget, engine as engines, metrics, result as results
from actmax import models
from actmax.models.selection import parse_filters


def conv_layers(spec, layer, size):
    """(conv layer, input shape, output shape) for every conv up to `layer` at a `size` px input (shapes only)."""
    return [(tap.layer, before, after) for tap, before, after in models.shapes_upto(spec, layer, size)
            if isinstance(tap.layer, keras.layers.Conv2D)]


def kernel_size(layer: keras.layers.Layer) -> int:
    """Multiply-adds per output position of a conv layer: its kernels' sizes (a separable conv's two)."""
    kernels = [getattr(layer, name, None) for name in ("kernel", "depthwise_kernel", "pointwise_kernel")]
    return int(sum(np.prod(k.shape) for k in kernels if k is not None))


def step_gflop(spec, layer, size, *, sliced=False):
    """GFLOP of one ascent step on one image: each conv up to `layer` forward and its input gradient (2 x 2 FLOPs per
    multiply-add). The target conv computes all its filters (the loop's work), or with `sliced` one per image (what
    actmax computes there)."""
    target, total, convs = models.resolve_layer(spec.model, layer), 0.0, set(models.convolutions(spec.model))
    for tap, _, after in models.shapes_upto(spec, layer, size):
        if tap.path in convs:
            flops = 4 * np.prod(after[1:3]) * kernel_size(tap.layer)
            total += flops / after[-1] if sliced and tap.path == target and models.sliceable(tap) else flops
    return total / 1e9


def schedule_gflop(spec, layer, settings, *, sliced=False):
    """GFLOP of one image's ascent over the settings' octaves and steps (step_gflop)."""
    sizes = ascent.octave_sizes(settings.size, settings.octaves, settings.octave_scale)
    return sum(step_gflop(spec, layer, s, sliced=sliced) * settings.steps for s in sizes)


def classic_loop(spec, layer, filters, settings):
    """The textbook loop: one filter at a time, one tf.function call per step, octave upscaling in between."""
    features = models.FeatureModel(spec, (layer,), pre_activation=False)

    @tf.function(reduce_retracing=True)
    def step(image, index):
        with tf.GradientTape() as tape:
            tape.watch(image)
            value = tf.reduce_mean(features(image)[layer][..., index])
        grad = tape.gradient(value, image)
        grad = grad / (tf.sqrt(tf.reduce_mean(tf.square(grad))) + 1e-8)
        return value, tf.clip_by_value(image + settings.lr * grad, 0.0, 1.0)

    sizes = ascent.octave_sizes(settings.size, settings.octaves, settings.octave_scale)
    images = []
    for f in filters:
        image = tf.constant(np.random.default_rng([0, f]).uniform(0.4, 0.6, (1, sizes[0], sizes[0], 3)), tf.float32)
        for octave, size in enumerate(sizes):
            if octave:
                image = tf.clip_by_value(tf.image.resize(image, (size, size), method="bicubic"), 0.0, 1.0)
            for _ in range(settings.steps):
                _, image = step(image, tf.constant(f))
        images.append(image.numpy()[0])
    return np.stack(images)


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def run_table(spec, layer, filters, settings, args):
    flops = schedule_gflop(spec, layer, settings) * len(filters)
    filter_steps = settings.steps * settings.octaves * len(filters)
    rows = []
    images, seconds = timed(lambda: classic_loop(spec, layer, filters, settings))
    rows.append(("classic loop, one at a time, float32", seconds, images))
    for precision in args.precision.split(","):
        for patience in sorted({0, args.patience}):
            s = settings.override(precision=precision, patience=patience)
            result, seconds = timed(lambda: actmax.render(layer, filters, model=spec, preset=s, batch=args.batch))
            name = f"actmax classic preset, batched, {precision}" + (f", patience {patience}" if patience else "")
            rows.append((name, seconds, result.images))
    base = rows[0][1]
    print(f"\n## {layer}: filters {filters[0]}-{filters[-1]}, {settings.size} px, {settings.octaves} octaves x "
          f"{settings.steps} steps, batch {args.batch or 'auto'}\n")
    print("| run | s / filter | speed-up | filter-steps / s | GFLOP/s | mean activation |")
    print("|---|---|---|---|---|---|")
    for name, seconds, images in rows:
        act = metrics.measure(spec, layer, results.quantise(images), filters)
        print(f"| {name} | {seconds / len(filters):.3f} | {base / seconds:.2f}x | {filter_steps / seconds:.0f} | "
              f"{flops / seconds:.1f} | {act.mean():.4g} |")


def step_vs_convs(spec, layer, filters, settings, args):
    """Per octave size ≥ 96 px: time of one batched ascent step against its convolutions alone (the target conv
    computing only the batch's filters, as the step does)."""
    batch = args.batch or budget.auto_batch(spec, layer, settings.size, len(filters))
    print(f"\n### {layer}: one step (batch {batch}) against its convolutions alone\n")
    xla = "step ms, XLA | " if args.jit else ""
    print(f"| size | precision | step ms | {xla}convolutions ms | step / convolutions |")
    print("|---|---|---|---|---|" + ("---|" if args.jit else ""))
    for size in [s for s in ascent.octave_sizes(settings.size, settings.octaves, settings.octave_scale) if s >= 96]:
        for precision in args.precision.split(","):
            policy = models.resolve_precision(precision)
            sized = settings.override(size=size, precision=precision)
            step_ms = time_step(spec, layer, sized, batch, filters)
            xla = f"{time_step(spec, layer, sized, batch, filters, jit=True):.1f} | " if args.jit else ""
            conv_ms = time_convs(spec, layer, size, batch, policy)
            print(f"| {size} | {precision} | {step_ms:.1f} | {xla}{conv_ms:.1f} | {step_ms / conv_ms:.2f} |")


def time_step(spec, layer, settings, batch, filters, steps=10, jit=False):
    targets, engine = engines.filter_engine(spec, layer, settings, batch, jit=jit)
    targets.assign((list(filters) * batch)[:batch])
    start = tf.constant(np.random.default_rng(0).uniform(0.4, 0.6, (batch, settings.size, settings.size, 3)),
                        tf.float32)
    engine.run_octave(start, tf.constant([0, 0]), tf.constant(2))[0].numpy()
    _, seconds = timed(lambda: engine.run_octave(start, tf.constant([0, 1]), tf.constant(steps))[0].numpy())
    return 1000 * seconds / steps


def time_convs(spec, layer, size, batch, policy, steps=10):
    dtype = tf.bfloat16 if policy == "mixed_bfloat16" else tf.float16 if policy == "mixed_float16" else tf.float32
    convs = conv_layers(spec, layer, size)
    inputs = [tf.random.uniform((batch, *shape[1:]), dtype=tf.float32) for _, shape, _ in convs]
    kernels = [tf.cast(c.kernel, dtype) for c, _, _ in convs]
    if batch < kernels[-1].shape[-1]:
        kernels[-1] = kernels[-1][..., :batch]  # the target conv computes only the batch's filters

    @tf.function
    def run(inputs):
        total = tf.constant(0.0)
        for x, k in zip(inputs, kernels):
            x = tf.cast(x, dtype)
            out = tf.nn.conv2d(x, k, 1, "SAME")
            back = tf.nn.conv2d_transpose(out, k, tf.shape(x), 1, "SAME")
            total += tf.cast(tf.reduce_sum(out[:1, :1, :1, :1]) + tf.reduce_sum(back[:1, :1, :1, :1]), tf.float32)
        return total

    run(inputs).numpy()
    _, seconds = timed(lambda: [run(inputs).numpy() for _ in range(steps)])
    return 1000 * seconds / steps


ACTMAX = [sys.executable, "-m", "actmax"]  # this interpreter's actmax, whether or not its venv is on PATH


def whole_processes(layer, filters, args):
    """The loop and `actmax render` (float32, mixed) as separate processes, timed from the outside."""
    schedule = ["--filters", args.filters, "--size", str(args.size), "--octaves", str(args.octaves),
                "--steps", str(args.steps)]
    runs = [("classic loop, one at a time, float32", [sys.executable, __file__, "--loop-only", "--layer", layer,
                                                      "--model", args.model, *schedule])]
    for precision in args.precision.split(","):
        runs.append((f"actmax render --preset classic --precision {precision}",
                     [*ACTMAX, "render", layer, "--model", args.model, "--preset", "classic", "--precision",
                      precision, "-q", *schedule]))
    print(f"\n### {layer}: whole processes (start-up, model, trace and files included)\n")
    print(f"| run | seconds (median of {args.repeat}) | speed-up |")
    print("|---|---|---|")
    seconds = {name: [] for name, _ in runs}
    for _ in range(args.repeat):  # runs interleaved, so that a slow spell of the machine hits each of them alike
        for name, command in runs:
            with tempfile.TemporaryDirectory() as out:
                extra = ["--out", out] if command[:3] == ACTMAX else []
                seconds[name].append(timed(lambda: subprocess.run(command + extra, check=True,
                                                                  capture_output=True))[1])
    base = np.median(seconds[runs[0][0]])
    for name, times in seconds.items():
        print(f"| {name} | {np.median(times):.1f} | {base / np.median(times):.2f}x |", flush=True)


def startup_stages(args):
    """A fresh process's start-up, stage by stage (run in a subprocess so that nothing is warm)."""
    code = f"""
import json, time
t = [time.perf_counter()]
import tensorflow, actmax; t.append(time.perf_counter())
spec = actmax.load_model({args.model!r}); t.append(time.perf_counter())
for first in "0", "1":
    actmax.render("block3_conv1", first, model=spec, preset="classic", size=32, octaves=1, steps=1)
    t.append(time.perf_counter())
print(json.dumps([round(b - a, 2) for a, b in zip(t, t[1:])]))
"""
    stages = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                       text=True).stdout.splitlines()[-1])
    names = ("import tensorflow + actmax", "load the model", "first render (engine, trace, one step)",
             "second render of the same size")
    print("\n### start-up of a fresh process\n\n| stage | seconds |\n|---|---|")
    for name, seconds in zip(names, stages):
        print(f"| {name} | {seconds:.2f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=actmax.DEFAULT_MODEL)
    parser.add_argument("--layer", action="append")
    parser.add_argument("--filters", default="0-15")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--octaves", type=int, default=10)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--precision", default="float32,mixed")
    parser.add_argument("--patience", type=int, default=0, help="also run with this --patience")
    parser.add_argument("--jit", action="store_true", help="also time the step compiled with XLA")
    parser.add_argument("--whole", action="store_true", help="also time whole processes and start-up stages")
    parser.add_argument("--repeat", type=int, default=3, help="with --whole: runs of each process (median)")
    parser.add_argument("--loop-only", action="store_true", help=argparse.SUPPRESS)  # one whole-process run
    args = parser.parse_args()
    spec = actmax.load_model(args.model)
    settings = actmax.get_preset("classic").override(size=args.size, octaves=args.octaves, steps=args.steps)
    if args.loop_only:
        layer = args.layer[0]
        classic_loop(spec, layer, parse_filters(args.filters, models.filter_count(spec.model, layer)), settings)
        return
    devices = [d.device_type for d in tf.config.list_physical_devices()]
    print(f"devices: {devices}; tensorflow {tf.__version__}; low precision here: {models.low_precision_policy()}")
    if args.whole:
        startup_stages(args)
    for layer in args.layer or ["block3_conv1", "block5_conv1"]:
        filters = parse_filters(args.filters, models.filter_count(spec.model, layer))
        run_table(spec, layer, filters, settings, args)
        if args.whole:
            whole_processes(layer, filters, args)
        step_vs_convs(spec, layer, filters, settings, args)


if __name__ == "__main__":
    main()
