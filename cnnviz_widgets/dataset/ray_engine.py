"""``engine="ray"``: the scan's batches on a Ray cluster, with Ray Data.

The items go into a Ray Dataset; ``map_batches`` runs them through a pool of actors, each of
which loads the model once and returns, per batch, what :func:`~cnnviz_widgets.dataset.batches.reduce_batch`
finds: the batch's own top-k and bottom-k per channel, per-class sums and the predictions, never
the activations. The driver merges those partial results in the data's order
(``preserve_order``), with the same code as the local engine, so both give the same scan.

Ray is an optional extra: ``pip install "cnnviz-widgets[ray]"``. Connect to a cluster first
(``ray.init(address="auto")`` on a node of a cluster started with ``ray up`` or KubeRay, or set
``RAY_ADDRESS``); without one, a local instance is started on this machine.

``engine="ray"`` is :class:`RayEngine` with its defaults (one CPU actor per free CPU);
``engine=RayEngine(actors=8, gpus_per_actor=1)`` sets the pool and gives each actor a GPU of its own
(Ray sets the actor's ``CUDA_VISIBLE_DEVICES``, which Keras's backend follows).
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnnviz_widgets.dataset.batches import ScanJob
from cnnviz_widgets.dataset.sources import Item
from cnnviz_widgets.errors import ArgumentError


def _require_ray():
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise ArgumentError('engine="ray" needs Ray Data: pip install "cnnviz-widgets[ray]"') from exc
    return ray


def _model_bytes(inspector) -> bytes | None:
    """The model as ``.keras`` bytes for the actors (None: the embedded default model)."""
    if inspector.is_default_model:
        return None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        inspector.model.save(path)
        return path.read_bytes()


class _Reducer:
    """A Ray actor: loads the model once, then reduces each batch it is given."""

    def __init__(self, model: bytes | None, settings: dict[str, Any]) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import keras

        from cnnviz_widgets.dataset.batches import reduction_fn
        from cnnviz_widgets.inspector import ModelInspector

        if model is None:
            net = None
        else:
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "model.keras"
                path.write_bytes(model)
                net = keras.models.load_model(path, safe_mode=False)
        self.inspector = ModelInspector(net, **settings["inspector"].options())   # read as the driver's
        self.settings = settings
        self.reduce = reduction_fn(self.inspector.graph, tuple(settings["layers"]))

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from cnnviz_widgets.dataset.batches import read_item, reduce_batch

        items = [Item(str(source), image, int(label))
                 for source, image, label in zip(batch["source"], batch["image"], batch["label"], strict=True)]
        size, depth = self.inspector.input_size, self.inspector.input_shape[2]
        read = [read_item(item, size, depth) for item in items]
        s = self.settings
        partial = reduce_batch(items, read, self.inspector, self.reduce, s["layers"], s["label_map"], s["top_k"])
        return {"partial": np.array([pickle.dumps(partial)], dtype=object)}


WINDOW = 16384
"""Items handed to Ray Data at a time: the driver never lists more of the data than this (a folder of
a million images is read from its iterator window by window); each window's actors load the model
once, a few seconds against minutes of scanning."""


@dataclass(frozen=True)
class RayEngine:
    """The scan's engine on Ray Data: ``cw.scan(model, data, engine=RayEngine(...))``.

    Args:
        actors: actors in the pool, each loading the model once; None for as many as are free
            (the free CPUs, or with ``gpus_per_actor`` the free GPUs divided by it).
        gpus_per_actor: GPUs each actor reserves (0: CPU actors; 0.5: two actors share a GPU).
            Refused before anything starts when the cluster has fewer GPUs than one actor needs.
    """

    actors: int | None = None
    gpus_per_actor: float = 0.0

    def __post_init__(self) -> None:
        if self.actors is not None and (isinstance(self.actors, bool) or not isinstance(self.actors, int)
                                        or self.actors < 1):
            raise ArgumentError(f"actors must be a positive int or None; got {self.actors!r}")
        if isinstance(self.gpus_per_actor, bool) or not isinstance(self.gpus_per_actor, (int, float)) \
                or not self.gpus_per_actor >= 0:
            raise ArgumentError(f"gpus_per_actor must be a number >= 0; got {self.gpus_per_actor!r}")

    def pool_size(self, cluster: dict[str, float], available: dict[str, float]) -> int:
        """Actors to start, given Ray's ``cluster_resources()`` and ``available_resources()``: the
        free CPUs (or free GPUs divided by ``gpus_per_actor``), at least one."""
        if self.gpus_per_actor:
            gpus = float(cluster.get("GPU", 0))
            if gpus < self.gpus_per_actor:
                held = ", ".join(f"{k} {v:g}" for k, v in sorted(cluster.items()) if k in ("CPU", "GPU"))
                raise ArgumentError(f"gpus_per_actor={self.gpus_per_actor:g} but the Ray cluster has {gpus:g} GPUs "
                                    f"({held}); use gpus_per_actor=0 or connect to a cluster with GPUs")
            return self.actors or max(1, int(available.get("GPU", 0) // self.gpus_per_actor))
        return self.actors or max(1, int(available.get("CPU", 1)))

    def __call__(self, job: ScanJob) -> Generator[dict[str, Any], None, None]:
        """The job's batches reduced on Ray actors, in the data's order, :data:`WINDOW` items at a time."""
        ray = _require_ray()
        if not ray.is_initialized():
            ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
        actors = self.pool_size(ray.cluster_resources(), ray.available_resources())
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        settings = {"inspector": job.inspector.settings, "layers": job.layers, "label_map": job.label_map,
                    "top_k": job.top_k}
        model = _model_bytes(job.inspector)
        window = max(WINDOW // job.batch_size, 1) * job.batch_size     # whole batches: the same batches as local
        items = job.source.items(job.start)
        while rows := [_row(item) for _, item in zip(range(window), items, strict=False)]:
            pool = ray.data.ActorPoolStrategy(size=min(actors, -(-len(rows) // job.batch_size)))
            dataset = ray.data.from_items(rows).map_batches(
                _Reducer, fn_constructor_args=(model, settings), batch_size=job.batch_size, batch_format="numpy",
                compute=pool, num_cpus=1, num_gpus=self.gpus_per_actor or None)
            del rows
            for row in dataset.iter_rows():
                yield pickle.loads(row["partial"])


def _row(item: Item) -> dict[str, Any]:
    """One item as a row of a Ray Dataset (a path stays a string, an image an array)."""
    image = str(item.image) if isinstance(item.image, (str, os.PathLike)) else np.asarray(item.image)
    return {"source": item.source, "label": item.label, "image": image}
