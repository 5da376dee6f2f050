"""Scan a dataset once: predictions, the confusion matrix, and for every channel of every scanned
layer the images that excite it most and least, with where, in memory independent of the
number of images (no activation is kept).

One compiled function per batch runs the inspector's forward pass and reduces each scanned
layer to its channels' spatial maximum, the position of that maximum and the spatial mean;
numpy merges those into streaming top-k / bottom-k tables and per-class sums.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from cnnviz_widgets.dataset.sources import UNLABELLED, DataSource, Item, as_source
from cnnviz_widgets.dataset.store import read_manifest, read_state, write_checkpoint
from cnnviz_widgets.dataset.topk import StreamingExtremes, batch_extremes
from cnnviz_widgets.errors import ArgumentError, CnnvizError
from cnnviz_widgets.inspector import ModelInspector
from cnnviz_widgets.inspector.images import load_rgb, resize_rgb, to_model_pixels
from cnnviz_widgets.methods._compiled import cached, input_spec, submodel
from cnnviz_widgets.store import ResultStore

Example = tuple[int, float, tuple[int, int]]
"""(image index, the channel's spatial maximum, (y, x) of that maximum in the layer's map)."""

ENGINES = ("local", "ray")
"""Engines a scan runs on: this process, or Ray Data (an optional extra, see ``dataset.ray_engine``)."""


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


class _State:
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


def _reduction_fn(graph, layers: tuple[str, ...]) -> Callable:
    """Compiled ``f(x) -> (probabilities, [(max, argmax, mean) per layer])`` for a batch."""
    def build():
        model = submodel(graph, ("probability", *layers))

        @tf.function(input_signature=[input_spec(graph)])
        def reduce(x):
            outputs = model(x, training=False)
            outputs = outputs if layers else [outputs]     # one output: the model returns it alone
            reduced = []
            for maps in outputs[1:]:
                flat = tf.reshape(maps, [tf.shape(maps)[0], -1, maps.shape[-1]])      # (N, H*W, C)
                reduced.append((tf.reduce_max(flat, axis=1), tf.argmax(flat, axis=1, output_type=tf.int32),
                                tf.reduce_mean(flat, axis=1)))
            return outputs[0], reduced

        return reduce

    return cached(graph, ("scan", layers), build)


def _scan_layers(inspector: ModelInspector, layers: Sequence[str] | None) -> list[str]:
    if layers is None:
        return inspector.conv_layer_names
    if isinstance(layers, str):
        layers = [layers]
    names = []
    for layer in layers:
        record = inspector.layer(layer)
        if not record.is_spatial:
            raise ArgumentError(f"A scan records spatial layers; {record.name!r} outputs {record.output_shape}")
        names.append(record.name)
    return names


def _label_map(source: DataSource, inspector: ModelInspector) -> np.ndarray | None:
    """For folder labels: the model class of each folder (by name when every folder names a class)."""
    if source.class_names is None:
        return None
    model_names = inspector.class_names
    if all(name in model_names for name in source.class_names):
        return np.asarray([model_names.index(name) for name in source.class_names], np.int64)
    if len(source.class_names) > len(model_names):
        raise ArgumentError(f"The data has {len(source.class_names)} class folders but the model has "
                            f"{len(model_names)} classes")
    return np.arange(len(source.class_names), dtype=np.int64)   # keras' convention: sorted folder names


def _read(item: Item, size: tuple[int, int], channels: int) -> np.ndarray | str:
    """Model pixels of one item, or the reason it cannot be read."""
    try:
        return to_model_pixels(resize_rgb(load_rgb(item.image), size), channels)
    except (CnnvizError, OSError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"


def _progress_reporter(progress: Any, total: int | None) -> Callable[[int], None] | None:
    if progress is None or progress is False:
        return None
    if callable(progress):
        return lambda done: progress(done, total or 0)
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, unit="img", desc="scan")
        last = [0]

        def report(done: int) -> None:
            bar.update(done - last[0])
            last[0] = done
            if total is not None and done >= total:
                bar.close()

        return report
    raise ArgumentError(f"progress must be None, True (a tqdm bar) or a callable(done, total); got {progress!r}")


def scan(model_or_inspector: keras.Model | ModelInspector | str | os.PathLike, data: Any, *,
         layers: Sequence[str] | str | None = None, top_k: int = 9, batch_size: int = 64, engine: str = "local",
         store: str | os.PathLike | None = None, progress: Any = None, checkpoint_every: int = 20) -> Scan:
    """Scan ``data`` once through the model and return a :class:`Scan`.

    Args:
        model_or_inspector: a ``ModelInspector`` (its preprocessing and head are used), a Keras
            model or a model file (wrapped in one with ``preprocess="auto"``).
        data: a folder (class sub-folders give the labels, as
            ``keras.utils.image_dataset_from_directory``; a flat folder is unlabelled), a list of
            image paths, an array of images, ``(images, labels)``, :func:`shapes_dataset` or a
            ``tf.data.Dataset`` of images or (image, label).
        layers: the spatial layers whose channels are recorded; None for every spatial layer.
        top_k: examples kept per channel, at each end.
        batch_size: images per forward pass.
        engine: ``"local"`` (batched compiled passes in this process, images read by two
            threads) or ``"ray"`` (Ray Data actors, each loading the model once; on the cluster
            ``ray.init`` connected to, or a local instance). Both give the same scan.
        store: a folder to write the scan to (npz + JSON manifest); by default, on an inspector
            with a result store, a folder inside it named by the model, settings and data (a
            ``tf.data`` stream, whose items are not known in advance, is not stored). If it already holds an
            interrupted scan of the same model, settings and data, the scan resumes where the
            last checkpoint left it; a complete one is returned as it is. A store of another
            model is refused.
        progress: None, True (a tqdm bar with images/s and time left) or ``progress(done, total)``;
            raising from it stops the scan after saving a checkpoint.
        checkpoint_every: batches between checkpoints when ``store`` is given.

    An image that cannot be read is skipped and listed in :attr:`Scan.skipped`, never fatal.
    """
    if engine not in ENGINES:
        raise ArgumentError(f"engine must be one of {list(ENGINES)}; got {engine!r}")
    for name, value in (("top_k", top_k), ("batch_size", batch_size), ("checkpoint_every", checkpoint_every)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ArgumentError(f"{name} must be a positive int; got {value!r}")
    inspector = model_or_inspector if isinstance(model_or_inspector, ModelInspector) \
        else ModelInspector(model_or_inspector)
    names = _scan_layers(inspector, layers)
    shapes = {n: tuple(int(d) for d in inspector.layer(n).output_shape) for n in names}
    source = as_source(data)
    label_map = _label_map(source, inspector)
    n_classes = inspector.n_classes
    fingerprint = inspector.fingerprint
    settings = {"model": inspector.model.name, "fingerprint": fingerprint, "layers": names, "top_k": int(top_k),
                "batch_size": int(batch_size), "preprocessing": inspector.preprocessing, "head": inspector.head,
                "output": inspector.output_name, "class_names": list(inspector.class_names),
                "data_length": source.length, "data_kind": source.kind,
                "layer_shapes": {n: list(shape) for n, shape in shapes.items()}}
    state = _State(names, [shapes[n][2] for n in names], n_classes, int(top_k))
    results = inspector.store
    identity = source.identity() if store is None and results is not None else None
    if results is not None and identity is not None:
        store = results.scan_folder(ResultStore.key(kind="scan", data=identity, settings=settings))
    if store is not None:
        manifest = read_manifest(store)
        if manifest is not None:
            _check_same(manifest, settings, store)
            state.restore(read_state(store, manifest), manifest, names, int(top_k))
            if manifest.get("complete"):
                return _finish(state, settings, shapes, complete=True, store=store)

    reduce = _reduction_fn(inspector.graph, tuple(names))
    size, depth = inspector.input_size, inspector.input_shape[2]
    report = _progress_reporter(progress, source.length)

    def checkpoint(complete: bool) -> None:
        if store is not None:
            write_checkpoint(store, {**settings, "consumed": state.consumed, "sources": state.sources,
                                     "skipped": [list(s) for s in state.skipped], "complete": complete,
                                     "saved_at": time.time()}, state.arrays(names, n_classes))

    def local_partials() -> Generator[dict[str, Any], None, None]:
        items = source.items(state.consumed)
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="cnnviz-scan-read") as pool:
            while chunk := [item for _, item in zip(range(batch_size), items, strict=False)]:
                read = list(pool.map(lambda it: _read(it, size, depth), chunk))
                yield reduce_batch(chunk, read, inspector, reduce, names, label_map, int(top_k))

    if engine == "ray":
        from cnnviz_widgets.dataset.ray_engine import ray_partials

        partials: Any = ray_partials(inspector, source, state.consumed, names, label_map, int(top_k), int(batch_size))
    else:
        partials = local_partials()
    batches = 0
    try:
        for partial in partials:
            apply_batch(state, partial, names)
            batches += 1
            if store is not None and batches % checkpoint_every == 0:
                checkpoint(False)
            if report is not None:
                report(state.consumed)
    except BaseException:
        checkpoint(False)   # Cancel, a raised progress callback, Ctrl-C, a lost worker: keep what was done
        raise
    finally:
        partials.close()
    checkpoint(True)
    return _finish(state, settings, shapes, complete=True, store=store)


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
    probabilities, reduced = reduce(tf.constant(batch))
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
        np.add.at(sums, labels[known], means.numpy()[known])
        partial[name] = {**batch_extremes(maxima.numpy(), argmax.numpy(), top_k), "class_sums": sums}
    return partial


def apply_batch(state: _State, partial: dict[str, Any], names: list[str]) -> None:
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


def _check_same(manifest: dict[str, Any], settings: dict[str, Any], store: str | os.PathLike) -> None:
    if manifest.get("fingerprint") != settings["fingerprint"]:
        raise ArgumentError(
            f"The store {str(store)!r} holds a scan of another model ({manifest.get('model')!r}, weights and "
            f"architecture {manifest.get('fingerprint', '?')[:10]}); this model is {settings['model']!r} "
            f"({settings['fingerprint'][:10]}). Use another folder.")
    for key in ("layers", "top_k", "batch_size", "preprocessing", "head", "output", "data_length", "data_kind"):
        if manifest.get(key) != settings[key]:
            raise ArgumentError(f"The store {str(store)!r} was made with {key}={manifest.get(key)!r}; this scan has "
                                f"{key}={settings[key]!r}. Resume with the same settings or use another folder.")


def _finish(state: _State, settings: dict[str, Any], shapes: dict[str, tuple[int, ...]], *, complete: bool,
            store: str | os.PathLike | None) -> Scan:
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
    state = _State(names, [arrays[f"layer{i}_top_values"].shape[0] for i in range(len(names))], n_classes,
                   manifest["top_k"])
    state.restore(arrays, manifest, names, manifest["top_k"])
    shapes = {name: tuple(manifest["layer_shapes"][name]) for name in names} if "layer_shapes" in manifest else {}
    return _finish(state, manifest, shapes, complete=bool(manifest.get("complete")), store=path)
