"""Benchmark on a GPU: each method against its bound and the scan against the forward pass.

Usage (on the lent GPU machine, whose image has JAX with CUDA and no TensorFlow):

    KERAS_BACKEND=jax python benchmarks/gpu.py [--models vgg16,resnet50] [--batches 1,64,256] [--json out.json]
    KERAS_BACKEND=jax python benchmarks/gpu.py --smoke       # small and quick, on a CPU too

For VGG16 and ResNet50 (weights=None, 224 px), at each batch size: every gradient method and
EigenCAM against its bound (the hand-written compiled passes of benchmarks/backends.py: the
forward+backward pass to the input, or the forward pass), the perturbation methods (Score-CAM,
Ablation-CAM, RISE) at the smallest batch only, and ``cw.scan``'s throughput in images per second
against the compiled forward pass over the same images in the same batches. Times are medians
after a warm-up call (which compiles); only ratios within one run mean anything. Prints one line
per measurement and, with ``--json``, writes them all.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from backends import _bound_functions, _bound_of  # noqa: E402
from timing import median_time  # noqa: E402

import cnnviz_widgets as cw  # noqa: E402

PERTURBATION = ("score_cam", "faster_score_cam", "ablation_cam", "rise")
MODELS = {"vgg16": (keras.applications.VGG16, "vgg16"), "resnet50": (keras.applications.ResNet50, "resnet50")}


def measure_model(name: str, size: int, batches: list[int], repeats: int, scan_images: int) -> list[dict]:
    build, preprocess = MODELS[name]
    inspector = cw.ModelInspector(build(weights=None, input_shape=(size, size, 3)), preprocess=preprocess)
    forward, forward_backward = _bound_functions(inspector.model)
    layer = cw.methods.default_cam_layer(inspector)[0]
    channels = int(inspector.graph.record(layer).output_shape[-1])
    rows = []
    for batch in batches:
        pixels = np.random.default_rng(batch).uniform(0, 255, (batch, size, size, 3)).astype(np.float32)
        x = inspector.preprocess(pixels)
        for method in cw.HEATMAP_METHODS:
            if method in PERTURBATION and batch != min(batches):
                continue
            what, bound = _bound_of(method, inspector, channels, forward, forward_backward, x)
            seconds = median_time(lambda m=method, x=x, b=batch: cw.heatmap(inspector, x, method=m, batch_size=b),
                                  repeats, min_seconds=0.2)
            bound_seconds = median_time(bound, repeats, min_seconds=0.2)
            rows.append({"model": name, "batch": batch, "method": method, "seconds": seconds, "bound": what,
                         "bound_seconds": bound_seconds, "ratio": seconds / bound_seconds})
            print(f"{name} batch {batch} {method}: {seconds * 1000:.2f} ms, {seconds / bound_seconds:.2f}x its bound "
                  f"({what})", flush=True)
        images = np.random.default_rng(0).integers(0, 256, (scan_images, size, size, 3), dtype=np.uint8)
        prepared = inspector.preprocess(images.astype(np.float32))

        def forward_all(prepared=prepared, batch=batch):
            for i in range(0, len(prepared), batch):
                forward(prepared[i:i + batch])

        forward_seconds = median_time(forward_all, repeats, min_seconds=0.2)
        start = time.perf_counter()
        cw.scan(inspector, images, layers=[layer], batch_size=batch)   # the first call compiles
        first = time.perf_counter() - start
        scan_seconds = median_time(lambda b=batch, i=images: cw.scan(inspector, i, layers=[layer], batch_size=b),
                                   repeats, warmup=0, min_seconds=0.2)
        rows.append({"model": name, "batch": batch, "method": "scan", "seconds": scan_seconds,
                     "images_per_second": scan_images / scan_seconds,
                     "forward_images_per_second": scan_images / forward_seconds,
                     "ratio": forward_seconds / scan_seconds, "first_call": first})
        print(f"{name} batch {batch} scan: {scan_images / scan_seconds:,.0f} img/s against the forward pass's "
              f"{scan_images / forward_seconds:,.0f} ({forward_seconds / scan_seconds:.2f}x of it)", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="vgg16,resnet50")
    parser.add_argument("--batches", default="1,64,256")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--scan-images", type=int, default=2048)
    parser.add_argument("--smoke", action="store_true", help="64 px, batches 1 and 2, 2 repeats: checks the script")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.smoke:
        args.size, args.batches, args.repeats, args.scan_images = 64, "1,2", 2, 8
    devices = ""
    if keras.backend.backend() == "jax":
        import jax

        devices = f", devices {jax.devices()}"
    print(f"Keras {keras.__version__}, backend {keras.backend.backend()}{devices}")
    rows = []
    for name in args.models.split(","):
        rows += measure_model(name, args.size, [int(b) for b in args.batches.split(",")], args.repeats,
                              args.scan_images)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
