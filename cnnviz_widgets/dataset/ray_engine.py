"""``engine="ray"``: the scan's batches on a Ray cluster, with Ray Data.

The items go into a Ray Dataset; ``map_batches`` runs them through a pool of actors, each of
which loads the model once and returns, per batch, what :func:`~cnnviz_widgets.dataset.scan.reduce_batch`
finds: the batch's own top-k and bottom-k per channel, per-class sums and the predictions, never
the activations. The driver merges those partial results in the data's order
(``preserve_order``), with the same code as the local engine, so both give the same scan.

Ray is an optional extra: ``pip install "cnnviz-widgets[ray]"``. Connect to a cluster first
(``ray.init(address="auto")`` on a node of a cluster started with ``ray up`` or KubeRay, or set
``RAY_ADDRESS``); without one, a local instance is started on this machine.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from cnnviz_widgets.dataset.sources import DataSource, Item
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

        from cnnviz_widgets.dataset.scan import _reduction_fn
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
        self.reduce = _reduction_fn(self.inspector.graph, tuple(settings["layers"]))

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from cnnviz_widgets.dataset.scan import _read, reduce_batch

        items = [Item(str(source), image, int(label))
                 for source, image, label in zip(batch["source"], batch["image"], batch["label"], strict=True)]
        size, depth = self.inspector.input_size, self.inspector.input_shape[2]
        read = [_read(item, size, depth) for item in items]
        s = self.settings
        partial = reduce_batch(items, read, self.inspector, self.reduce, s["layers"], s["label_map"], s["top_k"])
        return {"partial": np.array([pickle.dumps(partial)], dtype=object)}


def ray_partials(inspector, source: DataSource, start: int, names: list[str], label_map: np.ndarray | None,
                 top_k: int, batch_size: int, concurrency: int | None = None) -> Iterator[dict[str, Any]]:
    """The scan's batches from position ``start``, reduced on Ray actors, in the data's order."""
    ray = _require_ray()
    if not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
    items = list(source.items(start))
    if not items:
        return
    rows = [{"source": item.source, "label": item.label,
             "image": str(item.image) if isinstance(item.image, (str, os.PathLike)) else np.asarray(item.image)}
            for item in items]
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    settings = {"inspector": inspector.settings, "layers": names, "label_map": label_map, "top_k": top_k}
    actors = concurrency or max(1, int(ray.available_resources().get("CPU", 1)))
    dataset = ray.data.from_items(rows).map_batches(
        _Reducer, fn_constructor_args=(_model_bytes(inspector), settings), batch_size=batch_size,
        batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=1)
    for row in dataset.iter_rows():
        yield pickle.loads(row["partial"])
