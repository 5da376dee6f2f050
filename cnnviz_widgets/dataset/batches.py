"""One batch of a scan, the same in every engine: read its images, reduce it where it runs (this
process or a Ray actor) to what the scan keeps, and merge that into the scan's state.

:class:`ScanJob` is what an engine is given; an engine is a function ``engine(job) ->
Generator[partial]`` yielding :func:`reduce_batch`'s results in the data's order
(:mod:`~cnnviz_widgets.dataset.local_engine`, :mod:`~cnnviz_widgets.dataset.ray_engine`), and
:func:`apply_batch` merges each into a :class:`~cnnviz_widgets.dataset.result.ScanState`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from keras import ops

from cnnviz_widgets.dataset.result import ScanState
from cnnviz_widgets.dataset.sources import UNLABELLED, DataSource, Item
from cnnviz_widgets.dataset.topk import batch_extremes
from cnnviz_widgets.errors import ArgumentError, CnnvizError
from cnnviz_widgets.inspector import ModelInspector
from cnnviz_widgets.inspector.images import load_rgb, resize_rgb, to_model_pixels
from cnnviz_widgets.methods._compiled import cached, compile_on, input_spec, submodel


@dataclass(frozen=True)
class ScanJob:
    """What an engine scans: ``source``'s items from position ``start``, through ``inspector``,
    recording ``layers``; ``label_map`` maps folder labels to model classes (None: as they are)."""

    inspector: ModelInspector
    source: DataSource
    start: int
    layers: list[str]
    label_map: np.ndarray | None
    top_k: int
    batch_size: int


class Engine(Protocol):
    """``engine(job)``: the job's batches reduced by :func:`reduce_batch`, in the data's order."""

    def __call__(self, job: ScanJob) -> Generator[dict[str, Any], None, None]: ...


def reduction_fn(graph, layers: tuple[str, ...]) -> Callable:
    """Compiled ``f(x) -> (probabilities, [(max, argmax, mean) per layer])`` for a batch."""
    def build():
        model = submodel(graph, ("probability", *layers))

        def reduce(x):
            outputs = model(x, training=False)
            outputs = outputs if layers else [outputs]     # one output: the model returns it alone
            reduced = []
            for maps in outputs[1:]:
                flat = ops.reshape(maps, (-1, int(np.prod(maps.shape[1:-1])), maps.shape[-1]))   # (N, H*W, C)
                reduced.append((ops.max(flat, axis=1), ops.cast(ops.argmax(flat, axis=1), "int32"),
                                ops.mean(flat, axis=1)))
            return outputs[0], reduced

        return compile_on(model, reduce, input_spec(graph))

    return cached(graph, ("scan", layers), build)


def read_item(item: Item, size: tuple[int, int], channels: int) -> np.ndarray | str:
    """Model pixels of one item, or the reason it cannot be read."""
    try:
        return to_model_pixels(resize_rgb(load_rgb(item.image), size), channels)
    except (CnnvizError, OSError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"


def reduce_batch(chunk: list[Item], read: list[np.ndarray | str], inspector: ModelInspector, reduce: Callable,
                 names: list[str], label_map: np.ndarray | None, top_k: int) -> dict[str, Any]:
    """Everything one batch adds to a scan, computed where the batch runs (this process, or a Ray
    actor): its sources, skipped items, labels, probabilities, and per layer its own top-k and
    bottom-k candidates and per-class sums. :func:`apply_batch` merges it."""
    n_classes = inspector.n_classes
    good = [(item, pixels) for item, pixels in zip(chunk, read, strict=True) if not isinstance(pixels, str)]
    partial: dict[str, Any] = {
        "consumed": len(chunk), "sources": [item.source for item, _ in good],
        "skipped": [(item.source, pixels) for item, pixels in zip(chunk, read, strict=True) if isinstance(pixels, str)],
    }
    if not good:
        return partial
    batch = inspector.preprocess(np.stack([pixels for _, pixels in good]))
    probabilities, reduced = reduce(batch)
    labels = np.asarray([item.label for item, _ in good], np.int64)
    if label_map is not None:
        labels = np.where(labels >= 0, label_map[np.maximum(labels, 0)], UNLABELLED)
    if (labels >= n_classes).any():
        raise ArgumentError(f"label {int(np.max(labels))} is out of range: the model has {n_classes} classes")
    known = labels >= 0
    partial.update(labels=labels, probabilities=np.asarray(probabilities, np.float32),
                   class_counts=np.bincount(labels[known], minlength=n_classes))
    for name, (maxima, argmax, means) in zip(names, reduced, strict=True):
        sums = np.zeros((n_classes, means.shape[-1]), np.float64)
        np.add.at(sums, labels[known], means[known])
        partial[name] = {**batch_extremes(maxima, argmax, top_k), "class_sums": sums}
    return partial


def apply_batch(state: ScanState, partial: dict[str, Any], names: list[str]) -> None:
    """Merge what :func:`reduce_batch` found into ``state`` (image indices continue from it)."""
    state.skipped.extend(tuple(s) for s in partial["skipped"])
    if partial["sources"]:
        base = state.n_images
        for name in names:
            found = partial[name]
            for side in ("top", "bottom"):
                state.extremes[name].merge(side, found[f"{side}_values"], base + found[f"{side}_index"],
                                           found[f"{side}_position"])
            state.class_sums[name] += found["class_sums"]
        state.class_counts = state.class_counts + partial["class_counts"]
        state.sources.extend(partial["sources"])
        state.labels.append(partial["labels"])
        state.probabilities.append(partial["probabilities"])
    state.consumed += partial["consumed"]
