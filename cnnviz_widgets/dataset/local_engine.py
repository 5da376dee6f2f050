"""``engine="local"``: the scan's batches in this process, one compiled pass per batch, the next
batch's images read by two threads while the model runs."""

from __future__ import annotations

from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cnnviz_widgets.dataset.batches import ScanJob, read_item, reduce_batch, reduction_fn


def local_partials(job: ScanJob) -> Generator[dict[str, Any], None, None]:
    """The job's batches, reduced here, in the data's order (items are pulled one batch at a time)."""
    inspector = job.inspector
    reduce = reduction_fn(inspector.graph, tuple(job.layers))
    size, depth = inspector.input_size, inspector.input_shape[2]
    items = job.source.items(job.start)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="cnnviz-scan-read") as pool:
        while chunk := [item for _, item in zip(range(job.batch_size), items, strict=False)]:
            read = list(pool.map(lambda it: read_item(it, size, depth), chunk))
            yield reduce_batch(chunk, read, inspector, reduce, job.layers, job.label_map, job.top_k)
