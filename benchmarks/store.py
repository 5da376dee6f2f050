"""Benchmark: the result store and live pattern frames (issue 16).

1. A page of 16 VGG16 (weights=None, seeded) ``block3_conv1`` patterns read from a store by a
   fresh Python process, against computing them (the computation is timed at ``--steps`` steps
   and scaled to the recipe's 96; the read does not depend on the steps).
2. The first live frame of that page in a FilterGallery: time from the request to the first
   frame on screen.
3. What the store adds to a computation that writes into it: a page of patterns and a
   Score-CAM map with and without a store, in turn, fastest of ``--repeats``.

Usage: python benchmarks/store.py [--steps 4] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
from timing import paired_times  # noqa: E402  (benchmarks/timing.py)

import cnnviz_widgets as cw  # noqa: E402

LAYER = "block3_conv1"


def vgg16() -> keras.Model:
    """VGG16 without downloaded weights, the same in every process (seeded initialisers)."""
    keras.utils.set_random_seed(0)
    return keras.applications.VGG16(weights=None)


FRESH = textwrap.dedent("""
    import os, sys, time
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    sys.path.insert(0, {root!r})
    sys.path.insert(0, {bench!r})
    t0 = time.perf_counter()
    import cnnviz_widgets as cw
    from store import vgg16, LAYER
    model = vgg16()
    t1 = time.perf_counter()
    inspector = cw.ModelInspector(model, store={store!r})
    t2 = time.perf_counter()
    page = cw.filter_patterns(inspector, LAYER, range(16), steps={steps})
    t3 = time.perf_counter()
    print(t1 - t0, t2 - t1, t3 - t2, inspector.store.hits, inspector.store.misses, page.shape)
""")


def fresh_kernel_read(store: str, steps: int) -> tuple[float, ...]:
    script = FRESH.format(root=str(ROOT), bench=str(ROOT / "benchmarks"), store=store, steps=steps)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    import_and_build, inspector, page, hits, misses = done.stdout.split()[:5]
    return float(import_and_build), float(inspector), float(page), int(hits), int(misses)


def first_frame(model: keras.Model, steps: int) -> tuple[float, float, float]:
    """Seconds from the request of a 16-filter page to its first live frame (the starting
    image), to its second (after the first optimisation step, compilation included) and to the
    finished page."""
    gallery = cw.FilterGallery(cw.ModelInspector(model), layer=LAYER, page_size=16, steps=steps)
    start = time.perf_counter()
    gallery.mode = "patterns"
    times = []
    for wanted in (1, 2):
        while gallery.frames_shown < wanted and gallery.busy:
            time.sleep(0.005)
        times.append(time.perf_counter() - start)
    gallery.wait(3600)
    total = time.perf_counter() - start
    gallery.close()
    return times[0], times[1], total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=4, help="steps of the VGG16 page (scaled to 96 in the report)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs")
    model = vgg16()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        inspector = cw.ModelInspector(model, store=folder)
        start = time.perf_counter()
        cw.filter_patterns(inspector, LAYER, range(16), steps=args.steps)
        computed = time.perf_counter() - start
        per_96 = computed / args.steps * 96
        build, open_inspector, page, hits, misses = fresh_kernel_read(folder, args.steps)
        rows.append(("VGG16 page of 16 robust patterns, fresh process, read from the store",
                     f"{page:.2f} s (hits {hits}, misses {misses}); the inspector {open_inspector:.2f} s, "
                     f"import + model {build:.1f} s",
                     f"computed here: {computed:.1f} s at {args.steps} steps, so about {per_96:.0f} s at 96",
                     "< 1 s"))
    frame, second, total = first_frame(model, args.steps)
    rows.append(("VGG16 page of 16: first live frame in a FilterGallery", f"{frame:.2f} s (the starting image); "
                 f"{second:.2f} s (after the first step)",
                 f"the page finished after {total:.1f} s ({args.steps} steps)", "< 2 s"))

    default = cw.load_default_model()
    for name, model_, layer, steps in (("default model", default, "block3_conv1", 96),
                                       ("VGG16", model, LAYER, args.steps)):
        with tempfile.TemporaryDirectory() as folder:
            plain = cw.ModelInspector(model_)
            stored = cw.ModelInspector(model_, store=folder)
            _ = stored.fingerprint                   # once per kernel and model, not per result

            def with_store(stored=stored, layer=layer, steps=steps):
                stored.store.clear()
                cw.filter_patterns(stored, layer, range(16), steps=steps)

            def without_store(plain=plain, layer=layer, steps=steps):
                cw.filter_patterns(plain, layer, range(16), steps=steps)

            ours, bound = paired_times(with_store, without_store,
                                       args.repeats, min_seconds=0)
            rows.append((f"{name}: 16 patterns ({steps} steps) written to a store vs not", f"{ours:.2f} s",
                         f"{bound:.2f} s: ratio {ours / bound:.3f}", "<= 1.05"))
    with tempfile.TemporaryDirectory() as folder:
        plain, stored = cw.ModelInspector(default), cw.ModelInspector(default, store=folder)
        image = cw.sample_images()[0]["image"]
        plain.set_image(image)
        stored.set_image(image)
        _ = stored.fingerprint

        def score_cam_stored():
            stored.store.clear()
            cw.score_cam(stored, stored.batch)

        ours, bound = paired_times(score_cam_stored, lambda: cw.score_cam(plain, plain.batch), args.repeats,
                                   min_seconds=3)
        rows.append(("default model: Score-CAM (96 channels) written to a store vs not", f"{ours * 1e3:.0f} ms",
                     f"{bound * 1e3:.0f} ms: ratio {ours / bound:.3f}", "<= 1.05"))
        start = time.perf_counter()
        fingerprint = cw.ModelInspector(model).fingerprint
        rows.append(("VGG16 fingerprint (528 MB of weights, tf.fingerprint), once per kernel",
                     f"{time.perf_counter() - start:.2f} s", fingerprint[:12], "-"))

    print("\n| what | ours | reference | target |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
