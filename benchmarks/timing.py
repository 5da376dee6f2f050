"""Timing helper shared by the benchmark scripts (no cnnviz import, so peers.py can use it in a
separate environment)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_time(fn: Callable[[], object], repeats: int = 5, warmup: int = 1, min_seconds: float = 0.5) -> float:
    """Median wall time of ``fn()`` in seconds over at least ``repeats`` calls, after ``warmup``
    calls; a call of a few milliseconds is repeated until ``min_seconds`` have passed (at most
    500 calls), since single runs that short move by tens of percent."""
    for _ in range(warmup):
        fn()
    times: list[float] = []
    while len(times) < repeats or (sum(times) < min_seconds and len(times) < 500):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def unit_seconds(model, x, repeats: int = 5) -> float:
    """The benchmarks' unit: median seconds of one compiled forward+backward pass from the first
    class score to the input, on the batch ``x`` (N, H, W, C)."""
    import tensorflow as tf

    spec = tf.TensorSpec((None, *x.shape[1:]), tf.float32)

    @tf.function(input_signature=[spec])
    def forward_backward(batch):
        with tf.GradientTape() as tape:
            tape.watch(batch)
            score = model(batch, training=False)[:, 0]
        return tape.gradient(score, batch)

    batch = tf.constant(x, tf.float32)
    return median_time(lambda: forward_backward(batch).numpy(), repeats)


def paired_times(ours: Callable[[], object], bound: Callable[[], object], repeats: int = 5,
                 min_seconds: float = 1.0) -> tuple[float, float]:
    """Fastest seconds of ``ours()`` and of ``bound()``, called in turn (after one warm-up each);
    short calls are repeated until ``min_seconds`` have passed (at most 500 pairs).

    The fastest run, not the median: on a shared virtual machine a slow spell (another tenant's
    work) only ever adds time, and single runs of the same call were seen to vary by 1.8x.
    """
    ours(), bound()
    a: list[float] = []
    b: list[float] = []
    while len(a) < repeats or (sum(a) + sum(b) < min_seconds and len(a) < 500):
        for fn, times in ((ours, a), (bound, b)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return min(a), min(b)
