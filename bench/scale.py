"""Scale-out benchmark: one gallery job in a single process and on a local Ray cluster on the same machine.

    python bench/scale.py                                 # block3_conv1, filters 0-255, 64 px, default preset
    python bench/scale.py --filters 0-63 --size 128 --address auto   # on an existing cluster (GPUs: per GPU)

Both runs render the same filters with the same seed into fresh folders; the table gives wall-clock seconds
(the Ray run includes starting its actors, as a user's first job does), the overhead, and whether every PNG is
byte-identical. With a cluster address the Ray run uses whatever it has, and the speed-up is what one machine's
single process gains from it.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import tempfile
import time
from pathlib import Path

import ray

import actmax
from actmax import jobs
from actmax.models.selection import parse_filters


def timed(**job) -> tuple[float, jobs.JobResult]:
    started = time.perf_counter()
    result = jobs.render_job(**job)
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layer", default="block3_conv1")
    parser.add_argument("--filters", default="0-255")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--address", default=None, help="a Ray cluster (default: a local one on this machine)")
    args = parser.parse_args()
    spec = actmax.load_model()
    ray.init(address=args.address, num_cpus=None if args.address else os.cpu_count(), include_dashboard=False,
             log_to_driver=False, logging_level="ERROR")
    resources = ray.cluster_resources()
    job = dict(layer=args.layer, filters=args.filters, model=spec, preset=args.preset, size=args.size)
    with tempfile.TemporaryDirectory() as folder:
        single, one = timed(out=Path(folder) / "single", **job)
        on_ray, pooled = timed(out=Path(folder) / "ray", ray=True, **job)
        identical = all(filecmp.cmp(Path(folder) / "single" / name, Path(folder) / "ray" / name, shallow=False)
                        for name in (f"filter_{i:04d}.png" for i in parse_filters(args.filters, 10 ** 6)))
    count = one.rendered
    print(f"{args.layer}, {count} filters, {args.size} px, preset {args.preset}; Ray cluster: "
          f"{int(resources.get('CPU', 0))} CPUs, {int(resources.get('GPU', 0))} GPUs")
    print("| run | seconds | filters/s |\n|---|---|---|")
    print(f"| one process | {single:.1f} | {count / single:.2f} |")
    print(f"| Ray ({pooled.rendered} filters) | {on_ray:.1f} | {count / on_ray:.2f} |")
    print(f"overhead: {100 * (on_ray / single - 1):+.1f}%; byte-identical PNGs: {identical}")


if __name__ == "__main__":
    main()
