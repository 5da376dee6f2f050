"""What a scan found (:class:`Scan`), the state a scan in progress keeps (:class:`ScanState`, what a
checkpoint holds), and :func:`load_scan`, which reopens a scan written to disk without the model.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cnnviz_widgets.dataset.checkpoint import read_manifest, read_state
from cnnviz_widgets.dataset.topk import StreamingExtremes
from cnnviz_widgets.errors import ArgumentError

Example = tuple[int, float, tuple[int, int]]
"""(image index, the channel's spatial maximum, (y, x) of that maximum in the layer's map)."""


class Scan:
    """What a scan found. Image indices count the images read, in the data's order; ``sources``
    names each, ``skipped`` lists the ones that could not be read, with why.

    Attributes:
        layers: qualified names of the scanned layers.
        class_names: the model's class names (rows and columns of :attr:`confusion`).
        sources: (N,) what each image index refers to (a path, ``array[i]``, ``dataset[i]``).
        labels: int (N,) true class per image, -1 where unknown.
        probabilities: float32 (N, classes), as the inspector's head reads them.
        skipped: list of (source, reason).
        complete: False for a scan that was interrupted (its store can be resumed).
    """

    def __init__(self, *, layers: Sequence[str], layer_shapes: dict[str, tuple[int, ...]], top_k: int,
                 class_names: Sequence[str], sources: Sequence[str], labels: np.ndarray, probabilities: np.ndarray,
                 extremes: dict[str, StreamingExtremes], class_sums: dict[str, np.ndarray], class_counts: np.ndarray,
                 skipped: Sequence[tuple[str, str]], model_name: str, fingerprint: str, complete: bool,
                 store: str | None = None) -> None:
        self.layers = tuple(layers)
        self.layer_shapes = dict(layer_shapes)
        self.top_k = int(top_k)
        self.class_names = tuple(class_names)
        self.sources = list(sources)
        self.labels = np.asarray(labels, np.int64)
        self.probabilities = np.asarray(probabilities, np.float32).reshape(len(self.labels), len(self.class_names))
        self._extremes = extremes
        self._class_sums = class_sums
        self.class_counts = np.asarray(class_counts, np.int64)
        self.skipped = [tuple(s) for s in skipped]
        self.model_name = model_name
        self.fingerprint = fingerprint
        self.complete = complete
        self.store = store

    def renamed(self, class_names: Sequence[str]) -> Scan:
        """A copy of this scan whose classes are called ``class_names`` (as many as it has); the arrays are shared."""
        if len(class_names) != len(self.class_names):
            raise ArgumentError(f"The scan has {len(self.class_names)} classes; got {len(class_names)} names")
        twin = copy.copy(self)
        twin.class_names = tuple(str(n) for n in class_names)
        return twin

    # ------------------------------------------------------------------ predictions
    def __len__(self) -> int:
        return len(self.labels)

    @property
    def predictions(self) -> np.ndarray:
        """int (N,) predicted class per image."""
        return self.probabilities.argmax(axis=1) if len(self) else np.zeros(0, np.int64)

    @property
    def confusion(self) -> np.ndarray:
        """int (classes, classes): rows are the true class, columns the predicted one (labelled images only)."""
        k = len(self.class_names)
        matrix = np.zeros((k, k), np.int64)
        known = self.labels >= 0
        np.add.at(matrix, (self.labels[known], self.predictions[known]), 1)
        return matrix

    @property
    def class_accuracy(self) -> np.ndarray:
        """float (classes,): accuracy per true class; NaN for a class with no image."""
        matrix = self.confusion
        totals = matrix.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(totals > 0, np.diag(matrix) / np.maximum(totals, 1), np.nan)

    @property
    def accuracy(self) -> float:
        """Fraction of labelled images predicted right (NaN without labels)."""
        matrix = self.confusion
        total = matrix.sum()
        return float(np.trace(matrix) / total) if total else float("nan")

    def images_in_cell(self, true_class: int, predicted_class: int) -> list[int]:
        """Indices of the images of ``true_class`` predicted as ``predicted_class``, most confident first."""
        chosen = np.nonzero((self.labels == true_class) & (self.predictions == predicted_class))[0]
        confidence = self.probabilities[chosen, predicted_class]
        return [int(i) for i in chosen[np.argsort(-confidence, kind="stable")]]

    def confident_errors(self, n: int = 20) -> list[tuple[int, int, int, float]]:
        """The ``n`` most confident mistakes as (index, true class, predicted class, its probability)."""
        wrong = np.nonzero((self.labels >= 0) & (self.labels != self.predictions))[0]
        confidence = self.probabilities[wrong, self.predictions[wrong]]
        order = wrong[np.argsort(-confidence, kind="stable")][:n]
        return [(int(i), int(self.labels[i]), int(self.predictions[i]),
                 float(self.probabilities[i, self.predictions[i]]))
                for i in order]

    # ------------------------------------------------------------------ channels
    def _layer(self, layer: str) -> str:
        if layer in self._extremes:
            return layer
        tails = [name for name in self.layers if name.rsplit("/", 1)[-1] == layer]
        if len(tails) == 1:
            return tails[0]
        raise ArgumentError(f"The scan has no layer {layer!r}; it scanned {', '.join(self.layers)}")

    def _channel(self, layer: str, channel: int) -> int:
        channels = self.layer_shapes[layer][2]
        if not isinstance(channel, (int, np.integer)) or not 0 <= channel < channels:
            raise ArgumentError(f"channel must be in 0..{channels - 1} for layer {layer!r}; got {channel!r}")
        return int(channel)

    def _examples(self, layer: str, channel: int, side: str) -> list[Example]:
        name = self._layer(layer)
        c = self._channel(name, channel)
        extremes = self._extremes[name]
        width = self.layer_shapes[name][1]
        values = getattr(extremes, f"{side}_values")[c]
        index = getattr(extremes, f"{side}_index")[c]
        position = getattr(extremes, f"{side}_position")[c]
        return [(int(i), float(v), divmod(int(p), width)) for v, i, p in zip(values, index, position, strict=True)]

    def top_examples(self, layer: str, channel: int) -> list[Example]:
        """The ``top_k`` images with the highest spatial maximum of ``channel``, highest first."""
        return self._examples(layer, channel, "top")

    def bottom_examples(self, layer: str, channel: int) -> list[Example]:
        """The ``top_k`` images with the lowest spatial maximum of ``channel``, lowest first."""
        return self._examples(layer, channel, "bottom")

    def class_selectivity(self, layer: str, channel: int) -> np.ndarray:
        """float (classes,): the channel's mean activation over the images of each true class (NaN
        for a class with no labelled image)."""
        name = self._layer(layer)
        c = self._channel(name, channel)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.class_counts > 0, self._class_sums[name][:, c] / np.maximum(self.class_counts, 1),
                            np.nan)

    def __repr__(self) -> str:
        labelled = int((self.labels >= 0).sum())
        accuracy = f", accuracy {self.accuracy:.1%}" if labelled else ""
        state = "" if self.complete else " (interrupted: scan again with the same store to resume)"
        return (f"<Scan of {self.model_name!r}: {len(self)} images ({labelled} labelled{accuracy}), "
                f"{len(self.skipped)} skipped, {len(self.layers)} layers, top {self.top_k}{state}>")


class ScanState:
    """A scan in progress: everything a checkpoint holds."""

    def __init__(self, layers: list[str], channels: list[int], n_classes: int, top_k: int) -> None:
        self.consumed = 0           # items of the data read so far (images and skipped ones)
        self.sources: list[str] = []
        self.labels: list[np.ndarray] = []
        self.probabilities: list[np.ndarray] = []
        self.skipped: list[tuple[str, str]] = []
        self.extremes = {name: StreamingExtremes(c, top_k) for name, c in zip(layers, channels, strict=True)}
        self.class_sums = {name: np.zeros((n_classes, c), np.float64) for name, c in zip(layers, channels, strict=True)}
        self.class_counts = np.zeros(n_classes, np.int64)

    @property
    def n_images(self) -> int:
        return len(self.sources)

    def arrays(self, layers: list[str], n_classes: int) -> dict[str, np.ndarray]:
        arrays = {
            "labels": np.concatenate(self.labels) if self.labels else np.zeros(0, np.int64),
            "probabilities": (np.concatenate(self.probabilities) if self.probabilities
                              else np.zeros((0, n_classes), np.float32)),
            "class_counts": self.class_counts,
        }
        for i, name in enumerate(layers):
            arrays.update(self.extremes[name].state(f"layer{i}_"))
            arrays[f"layer{i}_class_sums"] = self.class_sums[name]
        return arrays

    def restore(self, arrays: dict[str, np.ndarray], manifest: dict[str, Any], layers: list[str], top_k: int) -> None:
        self.consumed = int(manifest["consumed"])
        self.sources = list(manifest["sources"])
        self.skipped = [tuple(s) for s in manifest["skipped"]]
        self.labels = [arrays["labels"]]
        self.probabilities = [arrays["probabilities"]]
        self.class_counts = arrays["class_counts"]
        for i, name in enumerate(layers):
            self.extremes[name] = StreamingExtremes.from_state(arrays, f"layer{i}_", top_k)
            self.class_sums[name] = arrays[f"layer{i}_class_sums"]


def scan_from_state(state: ScanState, settings: dict[str, Any], shapes: dict[str, tuple[int, ...]], *, complete: bool,
            store: str | os.PathLike | None) -> Scan:
    """The :class:`Scan` that ``state`` holds, with the scan's ``settings`` (its manifest)."""
    names = settings["layers"]
    arrays = state.arrays(names, len(settings["class_names"]))
    return Scan(layers=names, layer_shapes=shapes, top_k=settings["top_k"], class_names=settings["class_names"],
                sources=state.sources, labels=arrays["labels"], probabilities=arrays["probabilities"],
                extremes=state.extremes, class_sums=state.class_sums, class_counts=state.class_counts,
                skipped=state.skipped, model_name=settings["model"], fingerprint=settings["fingerprint"],
                complete=complete, store=None if store is None else str(store))


def load_scan(path: str | os.PathLike) -> Scan:
    """Reopen a scan written with ``scan(..., store=path)`` (no model needed)."""
    manifest = read_manifest(path)
    if manifest is None:
        raise ArgumentError(f"No scan store in {str(Path(path))!r} (no {Path(path) / 'manifest.json'})")
    names = manifest["layers"]
    arrays = read_state(path, manifest)
    n_classes = len(manifest["class_names"])
    state = ScanState(names, [arrays[f"layer{i}_top_values"].shape[0] for i in range(len(names))], n_classes,
                   manifest["top_k"])
    state.restore(arrays, manifest, names, manifest["top_k"])
    shapes = {name: tuple(manifest["layer_shapes"][name]) for name in names} if "layer_shapes" in manifest else {}
    return scan_from_state(state, manifest, shapes, complete=bool(manifest.get("complete")), store=path)
