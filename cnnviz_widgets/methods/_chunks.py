"""How many images a compiled call takes at once, and running a function over a batch in chunks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from cnnviz_widgets.inspector.graph import TracedGraph

Progress = Callable[[int, int], Any] | None
"""A callback ``progress(done, total)``; raising from it aborts the computation."""

_CHUNK_BUDGET_BYTES = 768 * 2**20
_MAX_CHUNK = 64


def chunk_size(graph: TracedGraph, budget_bytes: int = _CHUNK_BUDGET_BYTES, *, backward: bool = True) -> int:
    """How many images to push through the model at once: what its activations fit in the budget.

    Counts every recorded layer output of one image (float32), doubled for the backward pass;
    a forward-only method (``backward=False``: RISE's masked copies) gets twice as many, up to
    eight times the usual cap, since a larger batch is faster on a CPU.
    """
    def count() -> int:
        per_image = sum(int(np.prod([d or 1 for d in record.output_shape])) for record in graph.records)
        per_image = (2 if backward else 1) * 4 * max(per_image, 1)
        return int(np.clip(budget_bytes // per_image, 1, _MAX_CHUNK if backward else 8 * _MAX_CHUNK))

    # counted once per graph: a method on a small model takes ~1 ms, and the count 0.15 ms
    return graph.derived.get_or_compute(("chunk_size", budget_bytes, backward), count)


def run_chunked(fn: Callable[..., np.ndarray], items: np.ndarray, size: int,
                progress: Progress = None, *extra: np.ndarray) -> np.ndarray:
    """Apply ``fn`` to ``items`` (and matching ``extra`` arrays) in chunks; concatenate the results."""
    out = []
    total = len(items)
    for start in range(0, total, size):
        stop = min(start + size, total)
        out.append(np.asarray(fn(items[start:stop], *(e[start:stop] for e in extra))))
        if progress is not None:
            progress(stop, total)
    return np.concatenate(out)
