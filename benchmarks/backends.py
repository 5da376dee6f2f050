"""Benchmark: the package under TensorFlow and under JAX, as ratios within one run.

Usage: .venv/bin/python benchmarks/backends.py [--no-save] [--repeats 3] [--skip-vgg16] [--skip-tour]

For each backend, a child process in that backend's environment (``.venv`` for TensorFlow,
``.venv-jax`` for JAX, as make test builds them) measures:

- **start-up**: the wall time of ``import cnnviz_widgets`` in a fresh interpreter (median of 3)
  and its resident memory afterwards;
- **the tour**: notebooks/00_tour.ipynb run top to bottom in a fresh kernel (as
  benchmarks/kernel_memory.py does): the wall time and the kernel's peak resident memory;
- **each declared method** on the default model (batch 2, 96 px) and the gradient methods on
  VGG16 (weights=None, 224 px, batch 2): the median call, and the method against its own bound
  on the same backend, a hand-written compiled pass with no cnnviz code (``tf.function`` or
  ``jax.jit`` over ``model.stateless_call``): the forward+backward pass to the input for the
  gradient methods, the forward pass for EigenCAM, and the forward pass over as many images as
  the method runs for the perturbation methods.

Unless ``--no-save`` is given, the numbers go to ``benchmarks/results/backends.json`` (with the
date, the machine and the versions) and the tables in docs/backends.md and benchmarks/README.md
are rewritten from it (``tests/test_guide.py`` checks that they agree with that file).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "backends.json"
PAGES = (ROOT / "docs" / "backends.md", ROOT / "benchmarks" / "README.md")
START, END = "<!-- backends:start -->", "<!-- backends:end -->"
VENVS = {"tensorflow": ROOT / ".venv", "jax": ROOT / ".venv-jax"}
BATCH = 2
VGG16_METHODS = ("grad_cam", "hires_cam", "layer_cam", "eigen_cam", "saliency", "gradient_x_input",
                 "guided_backprop")


# ----------------------------------------------------------------------------- child: one backend
def _bound_functions(model):
    """(forward, forward+backward) compiled on the active backend without cnnviz code; each
    takes a float32 batch and returns a numpy array."""
    import keras
    import numpy as np

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        forward = tf.function(lambda x: model(x, training=False))

        @tf.function
        def forward_backward(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                score = tf.reduce_sum(tf.reduce_max(model(x, training=False), axis=1))
            return tape.gradient(score, x)

        return (lambda x: forward(tf.constant(x)).numpy()), (lambda x: forward_backward(tf.constant(x)).numpy())
    import jax

    trainable = [v.value for v in model.trainable_variables]
    other = [v.value for v in model.non_trainable_variables]

    @jax.jit
    def forward(t, o, x):
        return model.stateless_call(t, o, x, training=False)[0]

    @jax.jit
    def forward_backward(t, o, x):
        return jax.grad(lambda v: forward(t, o, v).max(axis=1).sum())(x)

    return (lambda x: np.asarray(forward(trainable, other, x))), \
        (lambda x: np.asarray(forward_backward(trainable, other, x)))


def _bound_of(name: str, inspector, layer_channels: int, forward, forward_backward, x):
    """The bound's call for method ``name``: (what it is, a callable)."""
    import numpy as np

    from cnnviz_widgets import HEATMAP_METHODS

    options = {o.name: o.default for o in HEATMAP_METHODS[name].options}
    n = len(x)

    def repeated(fn, copies):
        batch = np.repeat(x, copies, axis=0)
        return lambda: [fn(batch[i:i + 64]) for i in range(0, len(batch), 64)]

    if name in ("smoothgrad", "vargrad", "squaregrad"):
        return f"forward+backward of {options['smooth_samples']}x{n} images", \
            repeated(forward_backward, options["smooth_samples"])
    if name == "integrated_gradients":
        return f"forward+backward of {options['steps']}x{n} images", repeated(forward_backward, options["steps"])
    if name == "score_cam":
        return f"forward of {layer_channels}x{n} images", repeated(forward, layer_channels)
    if name == "faster_score_cam":
        return f"forward of {options['max_channels']}x{n} images", repeated(forward, options["max_channels"])
    if name == "rise":
        return f"forward of {options['masks']}x{n} images", repeated(forward, options["masks"])
    if name == "eigen_cam":
        return "forward", lambda: forward(x)
    if name == "ablation_cam":
        return "forward (the ablated copies through the later layers come on top)", lambda: forward(x)
    if name == "guided_grad_cam":
        return "2 forward+backward passes", lambda: (forward_backward(x), forward_backward(x))
    return "forward+backward", lambda: forward_backward(x)


def _methods(model_name: str, repeats: int) -> dict:
    import keras
    import numpy as np
    from timing import median_time

    import cnnviz_widgets as cw

    if model_name == "default":
        inspector = cw.ModelInspector()
        names = list(cw.HEATMAP_METHODS)
    else:
        inspector = cw.ModelInspector(keras.applications.VGG16(weights=None), preprocess="vgg16")
        names = list(VGG16_METHODS)
    x = np.random.default_rng(0).uniform(0, 1, (BATCH, *inspector.input_shape)).astype(np.float32)
    x = inspector.preprocess(x * 255.0)
    forward, forward_backward = _bound_functions(inspector.model)
    layer = cw.methods.default_cam_layer(inspector)[0]
    channels = int(inspector.graph.record(layer).output_shape[-1])
    found = {}
    for name in names:
        what, bound = _bound_of(name, inspector, channels, forward, forward_backward, x)
        start = time.perf_counter()
        cw.heatmap(inspector, x, method=name)
        first = time.perf_counter() - start
        seconds = median_time(lambda n=name: cw.heatmap(inspector, x, method=n), repeats, min_seconds=0.2)
        bound_seconds = median_time(bound, repeats, min_seconds=0.2)
        found[name] = {"seconds": seconds, "first_call": first, "bound": what, "bound_seconds": bound_seconds,
                       "ratio": seconds / bound_seconds}
        print(f"  {model_name} {name}: {seconds * 1000:.1f} ms, {seconds / bound_seconds:.2f}x its bound "
              f"({what}), first call {first:.2f} s", file=sys.stderr, flush=True)
    keras.backend.clear_session()
    return found


def _startup() -> dict:
    code = ("import time, os; t = time.perf_counter(); import cnnviz_widgets; s = time.perf_counter() - t; "
            "rss = int(open(f'/proc/{os.getpid()}/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE'); "
            "print(s, rss / 2**20)")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env=os.environ.copy()).stdout.split() for _ in range(3)]
    return {"import_seconds": statistics.median(float(r[0]) for r in runs),
            "import_rss_mib": statistics.median(float(r[1]) for r in runs)}


def child(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import keras

    found: dict = {"backend": keras.backend.backend(), "keras": keras.__version__}
    if found["backend"] == "tensorflow":
        import tensorflow as tf
        found["version"] = tf.__version__
    else:
        import jax
        found["version"] = jax.__version__
    found.update(_startup())
    if not args.skip_tour:
        from kernel_memory import measure

        found["tour"] = measure(ROOT / "notebooks" / "00_tour.ipynb")
    found["default"] = _methods("default", args.repeats)
    if not args.skip_vgg16:
        found["vgg16"] = _methods("vgg16", args.repeats)
    print(json.dumps(found))


# ----------------------------------------------------------------------------- parent: both, the tables
def table(results: dict) -> str:
    """The Markdown tables (and the sentences above them) for the stored ``results``."""
    tf_, jax_ = results["tensorflow"], results["jax"]
    lines = [
        f"Measured on {results['date']}, {results['machine']}: TensorFlow {tf_['version']} and JAX "
        f"{jax_['version']}, Keras {tf_['keras']}, by `benchmarks/backends.py` (each backend in its own "
        "environment, one after the other).",
        "",
        "| | TensorFlow | JAX | JAX against TensorFlow |",
        "|---|---|---|---|",
        f"| `import cnnviz_widgets` | {tf_['import_seconds']:.1f} s, {tf_['import_rss_mib']:,.0f} MiB | "
        f"{jax_['import_seconds']:.1f} s, {jax_['import_rss_mib']:,.0f} MiB | "
        f"{jax_['import_seconds'] / tf_['import_seconds']:.2f}x time, "
        f"{jax_['import_rss_mib'] / tf_['import_rss_mib']:.2f}x memory |",
    ]
    if "tour" in tf_ and "tour" in jax_:
        lines.append(
            f"| the tour in a fresh kernel | {tf_['tour']['seconds']:.0f} s, peak {tf_['tour']['peak_mib']:,.0f} MiB | "
            f"{jax_['tour']['seconds']:.0f} s, peak {jax_['tour']['peak_mib']:,.0f} MiB | "
            f"{jax_['tour']['seconds'] / tf_['tour']['seconds']:.2f}x time, "
            f"{jax_['tour']['peak_mib'] / tf_['tour']['peak_mib']:.2f}x memory |")
    for model, title in (("default", "the default model (96 px)"), ("vgg16", "VGG16 (224 px)")):
        if model not in tf_ or model not in jax_:
            continue
        lines += ["", f"Each method on {title}, batch {BATCH}: the median call, and against its own bound on the same "
                  "backend (a hand-written compiled pass, named in the last column).", "",
                  "| method | TensorFlow | JAX | JAX against TensorFlow | bound |", "|---|---|---|---|---|"]
        for name, t in tf_[model].items():
            j = jax_[model][name]
            lines.append(f"| {name} | {t['seconds'] * 1000:,.1f} ms ({t['ratio']:.2f}x) | "
                         f"{j['seconds'] * 1000:,.1f} ms ({j['ratio']:.2f}x) | {j['seconds'] / t['seconds']:.2f}x | "
                         f"{t['bound']} |")
    return "\n".join(lines)


def with_table(page: str, results: dict) -> str:
    """``page`` with the text between the markers replaced by :func:`table`."""
    head, rest = page.split(START, 1)
    return head + START + "\n" + table(results) + "\n" + END + rest.split(END, 1)[1]


def load() -> dict:
    """The stored results."""
    return json.loads(RESULTS.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-vgg16", action="store_true")
    parser.add_argument("--skip-tour", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    results: dict = {"date": datetime.date.today().isoformat(),
                     "machine": f"{os.cpu_count()}-core CPU ({platform.machine()}), Python {platform.python_version()}"}
    passed = [a for a in sys.argv[1:] if a != "--no-save"]
    for backend, venv in VENVS.items():
        print(f"== {backend}", file=sys.stderr, flush=True)
        done = subprocess.run([str(venv / "bin" / "python"), __file__, "--child", *passed], stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "KERAS_BACKEND": backend}, check=True)
        results[backend] = json.loads(done.stdout.strip().splitlines()[-1])
    print(table(results))
    if not args.no_save:
        RESULTS.write_text(json.dumps(results, indent=1) + "\n")
        for page in PAGES:
            page.write_text(with_table(page.read_text(), results))


if __name__ == "__main__":
    main()
