"""Benchmark: a dataset scan against plain ``model.predict`` over the same images and batch size.

The scan runs the same forward pass plus every spatial layer's per-channel max / argmax / mean
inside one compiled function and merges streaming top-k tables in numpy; ``predict`` only
predicts. Throughput ratio = predict time / scan time (>= 0.95 is the target). Both read the same
images from memory: ``predict`` gets them preprocessed in advance, the scan converts and
preprocesses each batch itself (so it does more). Both are warmed up once.

Also the resident memory of a scan of 1,000 and of 10,000 images (the growth must stay under
100 MB: no activation is kept).

With ``--ray 2000 20000``: engine="ray" on a local 2-CPU Ray instance against the local engine.

Usage: python benchmarks/scan.py [--model default|vgg16|both] [--images 2000] [--repeats 5] [--memory]
       [--ray N ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras
import numpy as np

import cnnviz_widgets as cw


def throughput(inspector: cw.ModelInspector, images: np.ndarray, batch_size: int, repeats: int = 1) -> None:
    """Time predict and the scan ``repeats`` times, alternating (so that load on the machine hits
    both alike), and print each pair and the median of the ratios."""
    import statistics

    x = inspector.preprocess(images.astype(np.float32))      # predict gets its input ready-made
    warm = min(len(x), 2 * batch_size)
    inspector.model.predict(x[:warm], batch_size=batch_size, verbose=0)
    cw.scan(inspector, images[:warm], batch_size=batch_size)
    ratios = []
    for _ in range(repeats):
        start = time.perf_counter()
        inspector.model.predict(x, batch_size=batch_size, verbose=0)
        predict = time.perf_counter() - start
        start = time.perf_counter()
        result = cw.scan(inspector, images, batch_size=batch_size)   # converts and preprocesses as it goes
        scanned = time.perf_counter() - start
        ratios.append(predict / scanned)
        print(f"  {len(x)} images, batch {batch_size}: predict {predict:6.2f} s ({len(x) / predict:6.0f} img/s), "
              f"scan of {len(result.layers)} layers {scanned:6.2f} s ({len(x) / scanned:6.0f} img/s); "
              f"throughput ratio scan / predict = {predict / scanned:.2f}")
    if repeats > 1:
        print(f"  median ratio over {repeats} alternating runs: {statistics.median(ratios):.2f} "
              f"(min {min(ratios):.2f}, max {max(ratios):.2f})")


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def memory(inspector: cw.ModelInspector) -> None:
    def chunks(n: int):
        for start in range(0, n, 500):
            yield from cw.shapes_dataset(min(500, n - start), seed=start).images

    cw.scan(inspector, np.stack(list(chunks(200))), batch_size=64)
    for n in (1_000, 10_000):
        import tensorflow as tf

        dataset = tf.data.Dataset.from_generator(lambda n=n: chunks(n), output_signature=tf.TensorSpec(
            (96, 96, 3), tf.uint8))
        before = rss_mb()
        result = cw.scan(inspector, dataset, batch_size=64)
        print(f"  {n:6d} images streamed: RSS {before:7.1f} -> {rss_mb():7.1f} MB ({len(result)} scanned)")


def ray_against_local(sizes: list[int]) -> None:
    import ray

    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    print(f"  local Ray instance (2 CPUs) started in {time.perf_counter() - start:.1f} s")
    inspector = cw.ModelInspector()
    cw.scan(inspector, cw.shapes_dataset(128, seed=0).images, batch_size=64)      # warm-up of the local engine
    try:
        for n in sizes:
            data = cw.shapes_dataset(n, seed=7)
            start = time.perf_counter()
            local = cw.scan(inspector, data, batch_size=64)
            local_s = time.perf_counter() - start
            start = time.perf_counter()
            distributed = cw.scan(inspector, data, batch_size=64, engine="ray")
            ray_s = time.perf_counter() - start
            same = bool((local.confusion == distributed.confusion).all())
            print(f"  {n:6d} images: local {local_s:6.1f} s ({n / local_s:5.0f} img/s), ray {ray_s:6.1f} s "
                  f"({n / ray_s:5.0f} img/s), ray / local time {ray_s / local_s:.2f}; same confusion: {same}")
    finally:
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=["default", "vgg16", "both"], default="both")
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5, help="alternating predict / scan timings per model")
    parser.add_argument("--memory", action="store_true", help="also measure RSS at 1,000 and 10,000 images")
    parser.add_argument("--ray", type=int, nargs="*", help="also time engine='ray' against local at these sizes")
    args = parser.parse_args()
    if args.ray:
        print("== engine='ray' on a local 2-CPU instance against engine='local' (default model)")
        ray_against_local(args.ray)
        return
    if args.model in ("default", "both"):
        print("== default model (96 px)")
        inspector = cw.ModelInspector()
        throughput(inspector, cw.shapes_dataset(args.images, seed=1).images, 64, args.repeats)
        if args.memory:
            memory(inspector)
    if args.model in ("vgg16", "both"):
        print("== VGG16 (weights=None, 224 px)")
        inspector = cw.ModelInspector(keras.applications.VGG16(weights=None), preprocess="vgg16")
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, (max(64, args.images // 8), 224, 224, 3), dtype=np.uint8)
        throughput(inspector, images, 32, max(1, args.repeats // 2))


if __name__ == "__main__":
    main()
