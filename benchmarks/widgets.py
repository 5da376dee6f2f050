"""Benchmark: time from a widget trait change to the new PNG being set.

For the default model and VGG16 (``weights=None``), in one process:

- LayerBrowser channel change, colormap change, layer change (the layer's grid already rendered
  once: "cached") and first visit of a layer (grid rendered from the cached activations);
- CamOverlay class change (a new Grad-CAM, computed in the background: timed until the PNG is
  set), against the *unit*: one compiled forward+backward from a class score to the input,
  batch 1, hand-written in TensorFlow in the same process.

Cached re-renders must stay under 100 ms at the 95th percentile; a CAM class change under
1.5 units. Only the ratios and percentiles within one run mean anything.

Usage: python benchmarks/widgets.py [--model default|vgg16|both] [--repeats 40]
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
from timing import unit_seconds

import cnnviz_widgets as cw


def percentiles(times: list[float]) -> str:
    ms = np.asarray(times) * 1000
    return f"p50 {np.percentile(ms, 50):6.1f} ms  p95 {np.percentile(ms, 95):6.1f} ms  max {ms.max():6.1f} ms"


def timed(change, done=lambda: None) -> float:
    start = time.perf_counter()
    change()
    done()
    return time.perf_counter() - start


def bench(name: str, inspector: cw.ModelInspector, repeats: int) -> dict[str, float]:
    print(f"\n== {name}: {inspector}")
    browser = cw.LayerBrowser(inspector)
    results = {}
    layers = inspector.conv_layer_names

    # first visit of each layer: its grid is rendered from the cached activations
    first = [timed(lambda layer=layer: setattr(browser, "layer", layer)) for layer in layers]
    worst = layers[int(np.argmax(first))]
    print(f"layer change, first visit   {percentiles(first)}   (slowest: {worst})")
    cached = []
    for i in range(repeats):
        cached.append(timed(lambda i=i: setattr(browser, "layer", layers[i % len(layers)])))
    print(f"layer change, cached        {percentiles(cached)}")
    results["layer_cached_p95"] = float(np.percentile(cached, 95))

    for layer in (layers[0], worst, layers[-1]):
        browser.layer = layer
        channels = inspector.layer(layer).output_shape[-1]
        times = [timed(lambda i=i: setattr(browser, "channel", (i * 7 + 1) % channels)) for i in range(repeats)]
        print(f"channel change {layer:18s} {percentiles(times)}")
        results[f"channel_p95_{layer}"] = float(np.percentile(times, 95))
        maps = ("magma", "viridis", "gray", "inferno")
        times = [timed(lambda i=i: setattr(browser, "colormap", maps[i % 4])) for i in range(max(8, repeats // 4))]
        print(f"colormap change {layer:17s} {percentiles(times)}")
        results[f"colormap_p95_{layer}"] = float(np.percentile(times, 95))
    assert inspector.forward_passes == 1, "a re-render ran the model"

    cam = cw.CamOverlay(inspector)
    cam.wait(600)
    top = [p.index for p in inspector.top_k(repeats + 1)]
    times = []
    for index in top[1:]:
        times.append(timed(lambda index=index: setattr(cam, "class_index", index), lambda: cam.wait(600)))
        assert cam.heatmap is not None
    unit = unit_seconds(inspector.model, inspector.batch, max(5, repeats // 4))
    ratio = np.median(times) / unit
    print(f"CAM class change            {percentiles(times)}   unit {unit * 1000:.1f} ms   "
          f"median / unit = {ratio:.2f}, p95 / unit = {np.percentile(times, 95) / unit:.2f}")
    alpha = [timed(lambda i=i: setattr(cam, "alpha", 0.3 + 0.02 * (i % 20))) for i in range(repeats)]
    print(f"CAM alpha change            {percentiles(alpha)}")
    results.update(cam_ratio=float(ratio), alpha_p95=float(np.percentile(alpha, 95)))
    browser.close()
    cam.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=["default", "vgg16", "both"], default="both")
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args()
    samples = cw.sample_images()
    if args.model in ("default", "both"):
        bench("default model", cw.ModelInspector(), args.repeats)
    if args.model in ("vgg16", "both"):
        vgg = keras.applications.VGG16(weights=None)
        inspector = cw.ModelInspector(vgg, preprocess="vgg16")
        inspector.set_image(samples[3]["image"])
        bench("VGG16 (weights=None)", inspector, args.repeats)


if __name__ == "__main__":
    main()
