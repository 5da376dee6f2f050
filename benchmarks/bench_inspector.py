"""Benchmark: all activations of one image, ModelInspector vs the tutorials' way.

The tutorials build ``keras.Model(model.inputs, layer.output)`` and call ``predict`` (one
sub-model, or one call per layer). The inspector runs ONE compiled forward pass of a
multi-output model and caches it per image. Reported as ratios within one run (absolute
times vary with machine load).

Usage: python benchmarks/bench_inspector.py [--model default|vgg16] [--repeats 5]
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

from cnnviz_widgets import ModelInspector, load_default_model


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=["default", "vgg16"], default="default")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    model = load_default_model() if args.model == "default" else keras.applications.VGG16(weights=None)
    size = model.inputs[0].shape[1]
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(args.repeats + 1)]

    start = time.perf_counter()
    inspector = ModelInspector(model)
    build = time.perf_counter() - start
    inspector.set_image(images[0])
    inspector.activations(inspector.conv_layer_names[0])  # compile once

    names = inspector.conv_layer_names
    counter = iter(images[1:] * 10)

    def inspector_all_layers():
        inspector.set_image(next(counter))
        for name in names:
            inspector.activations(name)

    x = inspector.batch
    layers = [model.get_layer(n) for n in names]
    one_submodel = keras.Model(model.inputs[0], [la.output for la in layers])
    per_layer = [keras.Model(model.inputs[0], la.output) for la in layers]

    t_ours = best_of(inspector_all_layers, args.repeats)
    t_one_predict = best_of(lambda: one_submodel.predict(x, verbose=0), args.repeats)
    t_per_layer = best_of(lambda: [m.predict(x, verbose=0) for m in per_layer], max(1, args.repeats // 2))
    t_cached = best_of(lambda: [inspector.activations(n) for n in names], args.repeats)
    print(f"model {model.name}: {len(names)} spatial layers, inspector built in {build:.2f} s")
    print(f"inspector, new image, all layers : {t_ours * 1000:8.1f} ms  (1.00)")
    print(f"one multi-output predict (Keras)  : {t_one_predict * 1000:8.1f} ms  ({t_one_predict / t_ours:.2f}x ours)")
    print(f"one predict per layer (TF)        : {t_per_layer * 1000:8.1f} ms  ({t_per_layer / t_ours:.2f}x ours)")
    print(f"inspector, cached image          : {t_cached * 1000:8.1f} ms  ({t_cached / t_ours:.3f}x ours)")


if __name__ == "__main__":
    main()
