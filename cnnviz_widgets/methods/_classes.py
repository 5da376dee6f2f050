"""Which class each image is explained for: an index, one per image, each image's top class, or
a callable target on the scores."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from keras import ops

from cnnviz_widgets.errors import ArgumentError
from cnnviz_widgets.inspector.graph import TracedGraph
from cnnviz_widgets.methods._compiled import Target, predict_probabilities

ClassIndex = int | Sequence[int] | np.ndarray | Callable[[Any], Any] | None
"""What a method explains: one class for all images, one class per image, None (each image's
top class), or, for the gradient methods, a callable target (see :data:`Target`)."""
TOP_CLASS = -1
"""Class index understood by the compiled gradient functions as "this image's top class"."""


def class_indices(graph: TracedGraph, x: np.ndarray, class_index: ClassIndex,
                  probs: np.ndarray | None = None, *, top_in_graph: bool = False) -> np.ndarray:
    """Turn ``class_index`` into one int32 class per image; None picks each image's top class.

    ``probs`` (N, K), when the caller has them already, spares the forward pass for None;
    ``top_in_graph=True`` returns :data:`TOP_CLASS` for None instead, for the compiled
    gradient functions, which then pick the top class in their own forward pass.

    Raises:
        ArgumentError: a wrong count of classes or a class out of range.
    """
    n = len(x)
    n_classes = graph.n_classes
    if callable(class_index):
        raise ArgumentError("A callable target (scores -> one score per image) works with the gradient methods; "
                            "this method measures class probabilities: pass a class index")
    if class_index is None and top_in_graph:
        return np.full(n, TOP_CLASS, np.int32)
    if class_index is None:
        probs = predict_probabilities(graph, x) if probs is None else probs
        return probs.argmax(axis=1).astype(np.int32)
    if isinstance(class_index, (int, np.integer)):
        classes = np.full(n, int(class_index), np.int32)
    else:
        classes = np.asarray(class_index)
        if classes.ndim != 1 or len(classes) != n or not np.issubdtype(classes.dtype, np.integer):
            raise ArgumentError(
                f"class_index must be an int, one int per image ({n}), or None; got {class_index!r}")
        classes = classes.astype(np.int32)
    bad = classes[(classes < 0) | (classes >= n_classes)]
    if len(bad):
        raise ArgumentError(f"class_index {int(bad[0])} is out of range: the model has {n_classes} classes")
    return classes


def split_target(graph: TracedGraph, class_index: ClassIndex) -> tuple[ClassIndex, Target | None]:
    """``(class_index, None)``, or ``(None, target)`` for a callable target, checked on a dummy
    batch of scores: it must return one finite score per image."""
    if not callable(class_index):
        return class_index, None
    try:
        out = class_index(ops.zeros((2, int(graph.score.shape[-1])), "float32"))
        shape = tuple(ops.shape(ops.convert_to_tensor(out)))
    except Exception as exc:
        raise ArgumentError(f"The target {class_index!r} failed on a (2, K) batch of scores: {exc}") from exc
    if shape != (2,):
        raise ArgumentError(f"A target must return one score per image: (N,) from scores (N, K); it returned a "
                            f"tensor of shape {shape} for N = 2")
    return None, class_index
