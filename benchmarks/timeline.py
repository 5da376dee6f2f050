"""The training timeline's costs: recording overhead, scrubbing, size and memory.

Usage: .venv/bin/python benchmarks/timeline.py [--images 1024] [--epochs 2] [--repeats 3] [--vgg16]

- Recording overhead: ``fit`` time with a TrainingRecorder against the same ``fit`` without, on the
  embedded model's architecture (96 px, freshly initialised, compiled as scripts/train_default_model.py
  does), per-epoch snapshots and ``steps="log"`` (with a 64-image probe); alternated, median of
  ``--repeats``. ``--vgg16`` adds VGG16 (weights=None, 224 px, a few steps per epoch).
- Scrubbing: a snapshot change followed by a LayerBrowser redraw (``inspector.snapshot = i`` then
  ``browser.wait()``), over every snapshot in shuffled order, first visits and revisits apart.
- Size and memory: disk per snapshot, and the process's RSS over a 50-snapshot run.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import cnnviz_widgets as cw  # noqa: I001  (before keras: it keeps TensorFlow's start-up lines quiet)
import keras


def rss_mib() -> float:
    return int(open(f"/proc/{os.getpid()}/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def fresh_default(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    base = cw.load_default_model()
    model = keras.models.clone_model(base)
    model.build((None, *base.input_shape[1:]))
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def timed_fit(make, x, y, epochs: int, batch: int, recorder_args: dict | None, folder: Path) -> float:
    model = make()
    model.fit(x[:batch], y[:batch], epochs=1, batch_size=batch, verbose=0)   # trace outside the timing
    callbacks = [cw.TrainingRecorder(folder, **recorder_args)] if recorder_args is not None else []
    start = time.perf_counter()
    model.fit(x, y, epochs=epochs, batch_size=batch, verbose=0, callbacks=callbacks)
    if callbacks:
        callbacks[0].flush()
    return time.perf_counter() - start


def overhead(name: str, make, x, y, epochs: int, batch: int, repeats: int, probe) -> None:
    configs = {"no recorder": None, "per-epoch snapshots": {}, "steps='log' + probe": {"steps": "log", "probe": probe}}
    times: dict[str, list[float]] = {k: [] for k in configs}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(repeats):
            for label, args in configs.items():
                folder = Path(tmp) / f"{label}-{r}".replace(" ", "_").replace("'", "")
                times[label].append(timed_fit(make, x, y, epochs, batch, None if args is None else
                                              {**args, "max_bytes": 2**40}, folder))
        sizes = [p.stat().st_size for p in Path(tmp).glob("per-epoch*/snapshot-*.npz")]
    base = statistics.median(times["no recorder"])
    print(f"\n{name}: {len(x)} images x {epochs} epochs, batch {batch}; median of {repeats} fits")
    for label, values in times.items():
        print(f"  {label:22s} {statistics.median(values):7.2f} s   {statistics.median(values) / base:5.3f}x")
    print(f"  disk per snapshot: {statistics.median(sizes) / 2**20:.2f} MiB")


def scrubbing(name: str, model: keras.Model, folder: Path, image, layer: str | None = None) -> None:
    """A snapshot change and the LayerBrowser's redraw: random jumps to snapshots not seen yet,
    Play's order (each next snapshot, 0.3 s apart: the inspector gets the neighbours ready
    meanwhile), and revisits."""
    def browsing() -> tuple[cw.ModelInspector, cw.LayerBrowser]:
        inspector = cw.ModelInspector(model, run=folder)
        inspector.set_image(image)
        browser = cw.LayerBrowser(inspector, **({"layer": layer} if layer else {}))
        browser.wait()
        time.sleep(1.0)                          # the prefetch of the latest's neighbour is done
        return inspector, browser

    def change(inspector: cw.ModelInspector, browser: cw.LayerBrowser, index: int) -> float:
        start = time.perf_counter()
        inspector.snapshot = index
        browser.wait()
        return 1000 * (time.perf_counter() - start)

    count = len(cw.load_run(folder))
    inspector, browser = browsing()
    order = np.random.default_rng(0).permutation(count - 1).tolist()     # the latest is shown already
    jumps = []
    for index in order:
        jumps.append(change(inspector, browser, index))
        time.sleep(0.3)
    again = [change(inspector, browser, index) for index in order[-4:]]
    browser.close()
    inspector, browser = browsing()
    change(inspector, browser, 0)
    played = []
    for index in range(1, count):
        time.sleep(0.3)
        played.append(change(inspector, browser, index))
    browser.close()
    for label, values in (("random jump", jumps), ("Play order", played), ("revisit", again)):
        print(f"  {name} scrub, {label:11s}: median {statistics.median(values):6.1f} ms, "
              f"p95 {np.percentile(values, 95):6.1f} ms ({len(values)} changes)")


def memory_over_a_long_run(x, y) -> None:
    model = fresh_default()
    with tempfile.TemporaryDirectory() as tmp:
        recorder = cw.TrainingRecorder(tmp, steps=list(range(1, 50)))
        marks: dict[int, float] = {}

        class Watch(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                if recorder.snapshots_written in (10, 30, 49):
                    marks.setdefault(recorder.snapshots_written, rss_mib())

        model.fit(x[:50 * 8], y[:50 * 8], epochs=1, batch_size=8, verbose=0, callbacks=[recorder, Watch()])
        recorder.flush()
        print(f"\n50-snapshot run: {len(cw.load_run(tmp))} snapshots; RSS after 10 / 30 / 49 written: "
              + " / ".join(f"{marks.get(k, float('nan')):.0f}" for k in (10, 30, 49)) + " MiB; "
              f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--vgg16", action="store_true")
    args = parser.parse_args()
    data = cw.generate_shapes(args.images, size=96, seed=0)
    x, y = data.images.astype("float32") / 255.0, data.labels
    probe = (x[:64], y[:64])
    overhead("default model", fresh_default, x, y, args.epochs, 64, args.repeats, probe)

    with tempfile.TemporaryDirectory() as tmp:
        model = fresh_default()
        model.fit(x, y, epochs=args.epochs, batch_size=64, verbose=0,
                  callbacks=[cw.TrainingRecorder(tmp, steps="log", probe=probe)])
        scrubbing("default model", model, Path(tmp), data.images[0])
    memory_over_a_long_run(x, y)

    if args.vgg16:
        def vgg16() -> keras.Model:
            keras.utils.set_random_seed(0)
            model = keras.applications.VGG16(weights=None, classes=6)
            model.compile(keras.optimizers.SGD(1e-3), "sparse_categorical_crossentropy")
            return model

        big = cw.generate_shapes(64, size=224, seed=0)
        bx, by = big.images.astype("float32"), big.labels
        overhead("VGG16 (weights=None)", vgg16, bx, by, 2, 16, 1, (bx[:16], by[:16]))
        with tempfile.TemporaryDirectory() as tmp:
            model = vgg16()
            model.fit(bx[:32], by[:32], epochs=2, batch_size=16, verbose=0,
                      callbacks=[cw.TrainingRecorder(tmp, max_bytes=2**40)])
            scrubbing("VGG16", model, Path(tmp), big.images[0], layer="block3_conv3")


if __name__ == "__main__":
    main()
