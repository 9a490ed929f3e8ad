"""The ascent loop's speed on any Keras backend, for a GPU machine that has JAX but no TensorFlow.

actmax runs on TensorFlow. The lent GPU machine has JAX and PyTorch only, and TensorFlow with its CUDA libraries
(several GB) cannot be carried there, so this script times the loop actmax's engine compiles on whatever Keras
backend is there: per step, a random jitter, the model up to a layer, each batch item's filter mean, the input
gradient and the RMS-normalised update, `steps` steps in one compiled loop with no host sync between them. It runs
VGG16's architecture with random weights (the speed of dense convolutions does not depend on their values) and
projects the default preset's main pass (3 octaves x 26 steps) over every filter of every conv layer.

    KERAS_BACKEND=jax python bench/backend_step.py                      # 224 px octaves, batch 64, every conv
    python bench/backend_step.py --sizes 48 --batch 4 --steps 3 --layers block1_conv1   # TensorFlow, a check

It prints, per layer, precision and size: ms per loop, image-steps per second, TFLOP/s (forward convolutions plus
their input gradients, as bench/speed.py counts them) and the objective's rise over the loop (a check that it
ascends); then the projection. `--out` also writes every row as JSON lines.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before Keras imports TensorFlow, or it is read too late
import keras  # noqa: E402
import numpy as np


def conv_gflop(model: keras.Model, layer: str, size: int) -> float:
    """GFLOP of one step for one image up to `layer` of a chain of layers: each conv's forward pass and its input
    gradient (2x), at `size` px."""
    total, shape = 0.0, (1, size, size, 3)
    for each in model.layers[1:]:
        shape = each.compute_output_shape(shape)
        if isinstance(each, keras.layers.Conv2D):
            total += 2 * 2 * shape[1] * shape[2] * math.prod(each.kernel.shape)
        if each.name == layer:
            return total / 1e9
    raise ValueError(f"no layer {layer}")


def vgg16(precision: str) -> keras.Model:
    """VGG16's conv body at any input size (random weights: no download), in float32 or mixed bfloat16."""
    keras.config.set_dtype_policy("mixed_bfloat16" if precision == "bf16" else "float32")
    try:
        return keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3))
    finally:
        keras.config.set_dtype_policy("float32")


def item_scores(outputs, targets):
    """Each batch item's target filter mean over its map, in float32."""
    means = keras.ops.mean(keras.ops.cast(outputs, "float32"), axis=(1, 2))
    return keras.ops.take_along_axis(means, targets[:, None], axis=1)[:, 0]


def jax_loop(model: keras.Model, steps: int, lr: float, jitter: int):
    """The compiled loop on JAX: `(images, key, targets) -> (images, first scores, last scores)`."""
    import jax
    import jax.numpy as jnp

    trainable, frozen = [v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables]

    def total(images, shift, targets):
        outputs, _ = model.stateless_call(trainable, frozen, jnp.roll(images, shift, axis=(1, 2)))
        scores = item_scores(outputs, targets)
        return jnp.sum(scores), scores

    @jax.jit
    def loop(images, key, targets):
        def body(t, carry):
            images, first, _ = carry
            shift = jax.random.randint(jax.random.fold_in(key, t), (2,), -jitter, jitter + 1)
            (_, scores), grad = jax.value_and_grad(total, has_aux=True)(images, shift, targets)
            grad = grad / (jnp.sqrt(jnp.mean(jnp.square(grad))) + 1e-8)
            return images + lr * grad, jnp.where(t == 0, scores, first), scores

        start = jnp.zeros(images.shape[:1], jnp.float32)
        return jax.lax.fori_loop(0, steps, body, (images, start, start))

    return lambda images, seed, targets: jax.block_until_ready(loop(images, jax.random.key(seed), targets))


def tf_loop(model: keras.Model, steps: int, lr: float, jitter: int):
    """The same loop on TensorFlow, as actmax's engine builds it (one tf.function, a while loop inside)."""
    import tensorflow as tf

    def body(t, images, first, seed, targets):
        shift = tf.random.stateless_uniform((2,), tf.stack([seed, t]), -jitter, jitter + 1, tf.int32)
        with tf.GradientTape() as tape:
            tape.watch(images)
            scores = item_scores(model(tf.roll(images, shift, axis=(1, 2))), targets)
            total = tf.reduce_sum(scores)
        grad = tape.gradient(total, images)
        grad = grad / (tf.sqrt(tf.reduce_mean(tf.square(grad))) + 1e-8)
        return images + lr * grad, tf.where(t == 0, scores, first), scores

    @tf.function(autograph=False)
    def loop(images, seed, targets):
        def step(t, images, first, last):
            return (t + 1, *body(t, images, first, seed, targets))
        start = tf.zeros(tf.shape(images)[:1])
        return tf.while_loop(lambda t, *_: t < steps, step, (tf.constant(0), images, start, start))[1:]

    return lambda images, seed, targets: [x.numpy() for x in loop(tf.constant(images), tf.constant(seed), targets)]


def measure(model, layer, size, batch, args) -> dict:
    """Time the loop for `layer` at `size` px (median of `--repeats` after a warm-up) and check that it ascends."""
    sub = keras.Model(model.input, model.get_layer(layer).output)
    make = jax_loop if keras.backend.backend() == "jax" else tf_loop
    loop = make(sub, args.steps, args.lr, max(1, round(size * 0.05)))
    filters = sub.output.shape[-1]
    targets = np.arange(batch, dtype="int32") % filters
    images = np.random.default_rng(0).uniform(0.4, 0.6, (batch, size, size, 3)).astype("float32")
    started = time.perf_counter()
    _, first, last = loop(images, 0, targets)
    compile_s = time.perf_counter() - started
    times = []
    for seed in range(1, args.repeats + 1):
        started = time.perf_counter()
        loop(images, seed, targets)
        times.append(time.perf_counter() - started)
    seconds = statistics.median(times)
    flop = conv_gflop(model, layer, size) * batch * args.steps
    return {"layer": layer, "size": size, "batch": batch, "steps": args.steps, "filters": filters,
            "ms": 1000 * seconds, "compile_s": compile_s, "image_steps_s": batch * args.steps / seconds,
            "tflops": flop / 1e3 / seconds, "rise": float(np.mean(np.asarray(last) - np.asarray(first)))}


def projection(rows: list[dict], sizes: set[int], octave_steps: int) -> list[tuple[str, float, int]]:
    """Seconds for the main pass over every filter of the measured layers, per precision whose layers were each
    measured at every octave size: ceil(filters / batch) loops per octave size, each `octave_steps` long."""
    out = []
    for precision in sorted({r["precision"] for r in rows}):
        mine = [r for r in rows if r["precision"] == precision]
        layers = {r["layer"] for r in mine}
        if {(r["layer"], r["size"]) for r in mine} != {(layer, size) for layer in layers for size in sizes}:
            continue  # the budget ran out first: no whole projection
        seconds = sum(math.ceil(r["filters"] / r["batch"]) * r["ms"] / 1000 * octave_steps / r["steps"] for r in mine)
        out.append((precision, seconds, sum({r["layer"]: r["filters"] for r in mine}.values())))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", default="", help="comma-separated; default every conv layer")
    parser.add_argument("--sizes", default="224,187,156", help="octave sizes (the default preset's at 224 px)")
    parser.add_argument("--precision", default="bf16,float32")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=26)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--budget", type=float, default=0, help="seconds; start no new measurement after it")
    parser.add_argument("--out", default="", help="also write each row as JSON lines here")
    args = parser.parse_args()
    began, rows = time.perf_counter(), []
    print(f"backend {keras.backend.backend()}, {device()}")
    print("| precision | layer | size | batch | ms / loop | image-steps / s | TFLOP/s | compile s | rise |")
    print("|---|---|---|---|---|---|---|---|---|")
    for precision in args.precision.split(","):
        model = vgg16(precision)
        layers = args.layers.split(",") if args.layers else [
            layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
        for size in map(int, args.sizes.split(",")):
            for layer in layers:
                if args.budget and time.perf_counter() - began > args.budget:
                    break
                row = {"precision": precision, **measure(model, layer, size, args.batch, args)}
                rows.append(row)
                print(f"| {precision} | {layer} | {size} | {row['batch']} | {row['ms']:.1f} | "
                      f"{row['image_steps_s']:.0f} | {row['tflops']:.3g} | {row['compile_s']:.1f} | "
                      f"{row['rise']:.3g} |", flush=True)
                if args.out:
                    with open(args.out, "a") as f:
                        f.write(json.dumps(row) + "\n")
    for precision, seconds, filters in projection(rows, set(map(int, args.sizes.split(","))), 26):
        print(f"projection, {precision}: the main pass over {filters} filters at sizes {args.sizes} takes "
              f"{seconds:.1f} s of loops")


def device() -> str:
    """The accelerator the backend computes on, in words."""
    if keras.backend.backend() == "jax":
        import jax
        return ", ".join(sorted({d.device_kind for d in jax.devices()}))
    import tensorflow as tf
    gpus = tf.config.list_physical_devices("GPU")
    return f"{len(gpus)} GPU(s)" if gpus else "CPU"


if __name__ == "__main__":
    main()
