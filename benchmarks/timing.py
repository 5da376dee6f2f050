"""Timing helper shared by the benchmark scripts (no cnnviz import, so peers.py can use it in a
separate environment)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_time(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` calls, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
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
