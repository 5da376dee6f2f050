"""Memory over a kernel that explores several models in turn: is each model given back?

Usage: .venv/bin/python benchmarks/model_rounds.py [--size 128] [--rounds 6]

Each round builds one ``keras.applications`` model (``weights=None``, no download), makes an
inspector, a Grad-CAM and the four widgets, draws them, closes every widget, drops every
reference and runs ``gc.collect()``. It prints the resident memory after each round, whether the
round's model was freed (a weak reference), and the growth from the end of round 1 to the end.
TensorFlow's kernels of a freed model are released at the next model's first trace; the
script releases them at the end of each round as that trace would.
"""

from __future__ import annotations

import argparse
import gc
import os
import time
import weakref

import numpy as np

import cnnviz_widgets as cw
from cnnviz_widgets.inspector.graph import release_freed_kernels

ARCHITECTURES = ("MobileNetV2", "ResNet50", "DenseNet121", "EfficientNetB0", "VGG16", "InceptionV3")


def rss_mib() -> float:
    """Resident memory of this process now, MiB."""
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def one_round(name: str, size: int) -> weakref.ref:
    """Explore one model with every widget, close them all; returns a weak reference to the model."""
    import keras

    size = max(size, 75) if name == "InceptionV3" else size
    model = getattr(keras.applications, name)(weights=None, input_shape=(size, size, 3))
    ref = weakref.ref(model)
    inspector = cw.ModelInspector(model, preprocess="none")
    inspector.set_image(np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8))
    cw.grad_cam(inspector, inspector.batch)
    views = [cw.LayerBrowser(inspector), cw.CamOverlay(inspector),
             cw.FilterGallery(inspector), cw.OcclusionSweeper(inspector, patch=size // 4)]
    for view in views:
        view.wait(600)
        view.png  # noqa: B018 - drawn, as a student would see it
    for view in views:
        view.close()
    del views, inspector, model
    gc.collect()
    return ref


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=len(ARCHITECTURES))
    args = parser.parse_args()
    after = []
    for i in range(args.rounds):
        name = ARCHITECTURES[i % len(ARCHITECTURES)]
        start = time.perf_counter()
        ref = one_round(name, args.size)
        for _ in range(50):      # a worker thread may still be returning from its last job
            if ref() is None:
                break
            time.sleep(0.1)
            gc.collect()
        at_end = rss_mib()
        release_freed_kernels()   # what the next model's first trace does first
        after.append(rss_mib())
        print(f"round {i + 1} {name:15s} model freed: {ref() is None!s:5s}  RSS {at_end:7.0f} MiB at the end, "
              f"{after[-1]:7.0f} MiB once its kernels are released ({time.perf_counter() - start:.1f} s)", flush=True)
    print(f"growth after round 1: {after[-1] - after[0]:+.0f} MiB over {len(after) - 1} rounds")


if __name__ == "__main__":
    main()
