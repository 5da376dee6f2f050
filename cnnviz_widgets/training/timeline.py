"""What changes over a training run, as arrays: pure functions on a :class:`Run` (and, for the
views that need the network, on inspectors of its snapshots). No widget imports; the
:class:`~cnnviz_widgets.TrainingTimeline` widget draws these.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from cnnviz_widgets.training.run_files import Run

Progress = Callable[[int, int], None] | None


def spread(count: int, at_most: int = 8) -> list[int]:
    """Up to ``at_most`` positions among ``count`` snapshots, evenly spread, first and last included."""
    if count <= at_most:
        return list(range(count))
    return sorted({round(i * (count - 1) / (at_most - 1)) for i in range(at_most)})


def weight_groups(weights: Sequence[Any]) -> list[tuple[str, list[int]]]:
    """The layers of a model's weights, in order: ``[(layer path, [indices into get_weights()]), ...]``,
    from each Keras variable's ``path`` (``"conv2d/kernel"`` belongs to ``"conv2d"``)."""
    groups: dict[str, list[int]] = {}
    for i, variable in enumerate(weights):
        path = str(getattr(variable, "path", getattr(variable, "name", f"weight_{i}")))
        groups.setdefault(path.rsplit("/", 1)[0] if "/" in path else path, []).append(i)
    return list(groups.items())


def relative_changes(run: Run, groups: list[tuple[str, list[int]]], progress: Progress = None) -> np.ndarray:
    """How much each layer's weights moved between consecutive snapshots, relative to their size:
    ``|W_t - W_{t-1}| / |W_{t-1}|`` (Frobenius norms over the layer's arrays).

    Returns:
        float32 (layers, snapshots - 1): column t is the change from snapshot t to t + 1.
    """
    count = len(run)
    changes = np.zeros((len(groups), max(count - 1, 0)), np.float32)
    previous = run.weights(0) if count else []
    for t in range(1, count):
        current = run.weights(t)
        for row, (_, indices) in enumerate(groups):
            moved = sum(float(np.sum((current[i].astype(np.float64) - previous[i]) ** 2)) for i in indices)
            size = sum(float(np.sum(previous[i].astype(np.float64) ** 2)) for i in indices)
            changes[row, t - 1] = np.sqrt(moved) / np.sqrt(size) if size > 0 else (0.0 if moved == 0 else np.inf)
        previous = current
        if progress is not None:
            progress(t, count - 1)
    return changes


def probe_accuracy_by_class(run: Run, n_classes: int) -> np.ndarray:
    """Accuracy on the probe, per class, at every snapshot: float32 (snapshots, n_classes), NaN
    for a class with no probe image. Empty (0, n_classes) when the run has no probe."""
    probe = run.probe
    if probe is None:
        return np.zeros((0, n_classes), np.float32)
    labels = probe[1]
    result = np.full((len(run), n_classes), np.nan, np.float32)
    for t in range(len(run)):
        predicted = run.probe_predictions(t)
        assert predicted is not None
        for k in range(n_classes):
            mask = labels == k
            if mask.any():
                result[t, k] = float((predicted[mask] == k).mean())
    return result


def probe_confusion(run: Run, index: int, n_classes: int) -> np.ndarray | None:
    """The probe's confusion matrix at snapshot ``index``: int64 (true class, predicted class),
    or None when the run has no probe."""
    probe, predicted = run.probe, run.probe_predictions(index)
    if probe is None or predicted is None:
        return None
    matrix = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(matrix, (np.clip(probe[1], 0, n_classes - 1), np.clip(predicted, 0, n_classes - 1)), 1)
    return matrix


def dead_channels(inspector: Any, images: np.ndarray, layers: Sequence[str], batch: int = 64) -> np.ndarray:
    """Share of each layer's channels that stay zero at every position of every image: float32
    (layers,) in [0, 1]; NaN for a layer with negative outputs (not after a ReLU: "dead" means
    nothing there). ``inspector`` reads the snapshot (a twin holding its weights)."""
    highest: dict[str, np.ndarray] = {}
    lowest: dict[str, float] = {}
    for start in range(0, len(images), batch):
        outputs = inspector.feature_model(np.asarray(images[start:start + batch], np.float32), training=False)
        for name in layers:
            values = np.asarray(outputs[name])
            peak = values.max(axis=tuple(range(values.ndim - 1)))
            highest[name] = peak if name not in highest else np.maximum(highest[name], peak)
            lowest[name] = min(lowest.get(name, 0.0), float(values.min()))
    return np.array([float((highest[name] <= 0).mean()) if lowest[name] >= 0 else np.nan for name in layers],
                    np.float32)


def snapshot_label(run: Run, index: int) -> str:
    """A short name of snapshot ``index``: ``"start"``, ``"epoch 3"`` or ``"step 16"``."""
    s = run.snapshots[index]
    return "start" if s.kind == "start" else f"epoch {s.epoch}" if s.kind == "epoch" else f"step {s.step}"
