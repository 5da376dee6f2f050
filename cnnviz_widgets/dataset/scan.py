"""Scan a dataset once: predictions, the confusion matrix, and for every channel of every scanned
layer the images that excite it most and least, with where, in memory independent of the
number of images (no activation is kept).

One compiled function per batch runs the inspector's forward pass and reduces each scanned
layer to its channels' spatial maximum, the position of that maximum and the spatial mean;
numpy merges those into streaming top-k / bottom-k tables and per-class sums.

This module runs a scan: its settings, the store it resumes from and checkpoints to, and the
engine it runs on. The parts: :mod:`~cnnviz_widgets.dataset.result` (what a scan found),
:mod:`~cnnviz_widgets.dataset.batches` (one batch, the same in every engine),
:mod:`~cnnviz_widgets.dataset.local_engine` and :mod:`~cnnviz_widgets.dataset.ray_engine`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np

from cnnviz_widgets.dataset.batches import Engine, ScanJob, apply_batch
from cnnviz_widgets.dataset.checkpoint import read_manifest, read_state, write_checkpoint
from cnnviz_widgets.dataset.local_engine import local_partials
from cnnviz_widgets.dataset.ray_engine import RayEngine
from cnnviz_widgets.dataset.result import Scan, ScanState, scan_from_state
from cnnviz_widgets.dataset.sources import DataSource, as_source
from cnnviz_widgets.errors import ArgumentError
from cnnviz_widgets.inspector import ModelInspector
from cnnviz_widgets.store import ResultStore

ENGINES = ("local", "ray")
"""The engines a scan runs on: this process, or Ray Data (an optional extra, see ``dataset.ray_engine``)."""


def _engine(engine: str | RayEngine) -> Engine:
    """The engine ``engine`` names, or the :class:`RayEngine` given (Ray is imported only when it runs)."""
    if isinstance(engine, RayEngine):
        return engine
    if engine not in ENGINES:
        raise ArgumentError(f"engine must be one of {list(ENGINES)} or a RayEngine; got {engine!r}")
    return RayEngine() if engine == "ray" else local_partials


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
         layers: Sequence[str] | str | None = None, top_k: int = 9, batch_size: int = 64,
         engine: str | RayEngine = "local", store: str | os.PathLike | None = None, progress: Any = None,
         checkpoint_every: int = 20) -> Scan:
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
            ``ray.init`` connected to, or a local instance), or a :class:`RayEngine` to set its
            actors and their GPUs. Every engine gives the same scan.
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
    run_engine = _engine(engine)
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
    state = ScanState(names, [shapes[n][2] for n in names], n_classes, int(top_k))
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
                return scan_from_state(state, settings, shapes, complete=True, store=store)

    report = _progress_reporter(progress, source.length)

    def checkpoint(complete: bool) -> None:
        if store is not None:
            write_checkpoint(store, {**settings, "consumed": state.consumed, "sources": state.sources,
                                     "skipped": [list(s) for s in state.skipped], "complete": complete,
                                     "saved_at": time.time()}, state.arrays(names, n_classes))

    job = ScanJob(inspector, source, state.consumed, names, label_map, int(top_k), int(batch_size))
    partials = run_engine(job)
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
    return scan_from_state(state, settings, shapes, complete=True, store=store)


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


