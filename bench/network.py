"""Every filter of every conv layer, rendered as a user renders them: the whole network's time under a preset, and the
main ascent's achieved TFLOP/s against a large matrix product's on the same device (issue #10's GPU check).

    python bench/network.py                              # embedded VGG16: all 4,224 filters, default preset, 224 px
    python bench/network.py --per-layer 2 --size 64      # a quick check: 2 filters spread over each layer

Per layer: the filters rendered, the seconds of the main pass alone (the preset's extra passes off) and of the whole
preset, and the main pass's TFLOP/s over the whole call (trace and scoring included) and over one steady step at
the full size (bench/speed.py's time_step). FLOPs are the forward convolutions plus their input gradients, the target
conv computing one filter per image, as actmax computes them. Then totals, and an 8192² matrix product's TFLOP/s in
the render's precision: the device's reachable peak. `--out FILE` also writes the rows as JSON lines.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import tensorflow as tf

import actmax
from actmax import models
from actmax.optvis import budget
from quality import spread
from speed import schedule_gflop, step_gflop, time_step, timed

PASSES_OFF = dict(rescue=0, revive=0, wake=0, boost=0, flat=0, tone=0, polish=0)


def matmul_tflops(policy: str, n: int = 8192, repeats: int = 10) -> float:
    """TFLOP/s of an n x n matrix product in the policy's compute dtype: the device's reachable peak."""
    dtype = {"mixed_bfloat16": tf.bfloat16, "mixed_float16": tf.float16}.get(policy, tf.float32)
    a = tf.cast(tf.random.uniform((n, n)), dtype)
    product = tf.function(lambda x: tf.reduce_sum(tf.cast(tf.matmul(x, x)[:1, :1], tf.float32)))
    product(a).numpy()
    _, seconds = timed(lambda: [product(a).numpy() for _ in range(repeats)])
    return 2 * n ** 3 * repeats / seconds / 1e12


def device() -> str:
    """The GPU's name where there is one, else the CPU's."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
    return next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                platform.processor() or "CPU")


def layer_row(spec, layer: str, args) -> dict:
    """One layer's filters rendered with the main pass alone and with the whole preset."""
    count = models.filter_count(spec.model, layer)
    filters = spread(count, args.per_layer) if args.per_layer else list(range(count))
    preset = actmax.get_preset(args.preset).override(size=args.size, precision=args.precision)
    main = preset.override(**PASSES_OFF)
    _, main_seconds = timed(lambda: actmax.render(layer, filters, model=spec, preset=main, batch=args.batch))
    _, whole_seconds = timed(lambda: actmax.render(layer, filters, model=spec, preset=preset, batch=args.batch))
    batch = args.batch or budget.batch_size(spec, layer, args.size, len(filters))
    step_ms = time_step(spec, layer, main, batch, filters)
    gflop = len(filters) * schedule_gflop(spec, layer, main, sliced=True)
    return dict(layer=layer, filters=len(filters), batch=batch, main_s=main_seconds, whole_s=whole_seconds,
                main_gflop=gflop, main_tflops=gflop / main_seconds / 1e3,
                step_tflops=batch * step_gflop(spec, layer, args.size, sliced=True) / step_ms)  # GFLOP/ms = TFLOP/s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=actmax.DEFAULT_MODEL)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--per-layer", type=int, default=0, help="filters spread over each layer (0: all)")
    parser.add_argument("--layers", help="comma-separated conv layers (default: every one)")
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--out", help="also write the rows here as JSON lines")
    args = parser.parse_args()
    spec = actmax.load_model(args.model)
    policy = models.resolve_precision(args.precision)
    print(f"{device()}; tensorflow {tf.__version__}; {args.preset} preset at {args.size} px, {policy}\n")
    print("| layer | filters | batch | main pass s | whole preset s | main TFLOP/s (call) | TFLOP/s (one step) |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for layer in args.layers.split(",") if args.layers else models.convolutions(spec.model):
        rows.append(layer_row(spec, layer, args))
        r = rows[-1]
        print(f"| {layer} | {r['filters']} | {r['batch']} | {r['main_s']:.1f} | {r['whole_s']:.1f} | "
              f"{r['main_tflops']:.2f} | {r['step_tflops']:.2f} |", flush=True)
    filters, main_s, whole_s, gflop = (sum(r[k] for r in rows) for k in ("filters", "main_s", "whole_s", "main_gflop"))
    peak = matmul_tflops(policy)
    print(f"\n{filters} filters: main pass {main_s:.1f} s ({gflop / main_s / 1e3:.2f} TFLOP/s), whole preset "
          f"{whole_s:.1f} s; an 8192² matrix product reached {peak:.1f} TFLOP/s here, so the main pass ran at "
          f"{100 * gflop / main_s / 1e3 / peak:.0f}% of it")
    if args.out:
        with open(args.out, "w") as file:
            file.writelines(json.dumps({**r, "device": device(), "policy": policy, "size": args.size,
                                        "time": time.strftime("%Y-%m-%d")}) + "\n" for r in rows)


if __name__ == "__main__":
    main()
