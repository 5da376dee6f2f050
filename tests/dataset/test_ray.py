"""engine="ray": the same scan as the local engine, on a local Ray instance this test starts and stops."""

from __future__ import annotations

import numpy as np
import pytest
import ray  # an optional extra of the package; make test installs it
from PIL import Image

import cnnviz_widgets as cw
from tests.dataset import assert_same_scan

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray():
    """A Ray instance on this machine only (loopback, 2 CPUs), stopped after the module."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             _node_ip_address="127.0.0.1")
    yield
    ray.shutdown()


def test_ray_and_local_give_the_same_scan(local_ray, tmp_path):
    data = cw.shapes_dataset(150, seed=4)
    for i, (image, label) in enumerate(zip(data.images, data.labels, strict=True)):
        folder = tmp_path / data.class_names[label]
        folder.mkdir(exist_ok=True)
        Image.fromarray(image).save(folder / f"{i:03d}.png")
    (tmp_path / "star" / "broken.png").write_bytes(b"\x89PNG but not really")
    inspector = cw.ModelInspector()
    local = cw.scan(inspector, tmp_path, batch_size=32)
    distributed = cw.scan(inspector, tmp_path, batch_size=32, engine="ray")
    assert len(distributed) == 150 and [s.rsplit("/", 1)[-1] for s, _ in distributed.skipped] == ["broken.png"]
    assert_same_scan(local, distributed, rtol=1e-6)
    arrays = cw.scan(inspector, data, batch_size=32, engine="ray")
    np.testing.assert_array_equal(arrays.confusion, local.confusion)


def test_an_interrupted_ray_scan_resumes(local_ray, tmp_path):
    data = cw.shapes_dataset(160, seed=6)
    inspector = cw.ModelInspector()
    whole = cw.scan(inspector, data, batch_size=16)
    store = tmp_path / "scan"

    def stop(done, total):
        if done >= 64:
            raise RuntimeError("lost the cluster")

    with pytest.raises(RuntimeError, match="lost the cluster"):
        cw.scan(inspector, data, batch_size=16, engine="ray", store=store, progress=stop, checkpoint_every=100)
    assert len(cw.load_scan(store)) == 64
    resumed = cw.scan(inspector, data, batch_size=16, engine="ray", store=store)
    assert_same_scan(whole, resumed, rtol=1e-6)


def _reducer_actors() -> dict[str, dict]:
    """The scan's map actors that Ray's global state knows, by actor id."""
    from ray._private import state

    return {key: info for key, info in state.actors().items() if "MapWorker" in info["ActorClassName"]}


def test_a_worker_killed_mid_scan_is_replaced_and_nothing_is_counted_twice(local_ray):
    """A lost Ray worker (its process killed with SIGKILL while batches are still to do): Ray Data
    restarts the actor and retries its batch, and the scan equals the local one."""
    import os
    import signal

    data = cw.shapes_dataset(1200, seed=8)
    inspector = cw.ModelInspector()
    whole = cw.scan(inspector, data, batch_size=16)
    killed: list[int] = []

    def kill_one_worker(done, total):
        if killed or done >= total:
            return
        alive = [info["Pid"] for info in _reducer_actors().values() if info["State"] == "ALIVE" and info["Pid"]]
        if alive:
            os.kill(alive[0], signal.SIGKILL)
            killed.append(done)

    distributed = cw.scan(inspector, data, batch_size=16, engine="ray", progress=kill_one_worker)
    assert killed and killed[0] < len(data.images), killed                  # killed while images were left
    restarts = [info.get("NumRestarts", 0) for info in _reducer_actors().values()]
    assert max(map(int, restarts)) >= 1, restarts                     # Ray replaced the lost actor
    assert len(distributed) == len(data.images) and distributed.complete
    assert_same_scan(whole, distributed, rtol=1e-6)


def test_the_ray_engine_streams_its_items_a_window_at_a_time(local_ray, tmp_path, monkeypatch):
    """A million-image folder must not be listed into the driver's memory: the engine pulls items
    from the data's iterator one window at a time, and the scan is the same as the local one."""
    from cnnviz_widgets.dataset import ray_engine
    from cnnviz_widgets.dataset.batches import ScanJob
    from cnnviz_widgets.dataset.sources import as_source

    monkeypatch.setattr(ray_engine, "WINDOW", 32)       # two windows (each starts its actors: ~10 s)
    data = cw.shapes_dataset(64, seed=8)
    inspector = cw.ModelInspector()
    source = as_source(data)
    pulled = []
    items = source.items

    def counted(start=0):
        for item in items(start):
            pulled.append(item.source)
            yield item

    monkeypatch.setattr(source, "items", counted)
    job = ScanJob(inspector, source, 0, inspector.conv_layer_names[-2:], None, 5, 16)
    partials = ray_engine.RayEngine()(job)
    first = next(partials)
    assert len(first["sources"]) == 16 and len(pulled) <= 32      # one window pulled, not 64 items
    rest = list(partials)
    assert len(pulled) == 64 and sum(len(p["sources"]) for p in [first, *rest]) == 64
    local = cw.scan(inspector, data, layers=job.layers, top_k=5, batch_size=16)
    distributed = cw.scan(inspector, data, layers=job.layers, top_k=5, batch_size=16, engine="ray")
    assert_same_scan(local, distributed, rtol=1e-6)


def test_a_ray_engine_runs_the_pool_it_is_given_and_refuses_gpus_the_cluster_lacks(local_ray):
    data = cw.shapes_dataset(64, seed=9)
    inspector = cw.ModelInspector()
    with pytest.raises(cw.ArgumentError, match=r"gpus_per_actor=1 but the Ray cluster has 0 GPUs \(CPU 2\)"):
        cw.scan(inspector, data, batch_size=16, engine=cw.RayEngine(gpus_per_actor=1))
    before = set(_reducer_actors())
    one = cw.scan(inspector, data, batch_size=16, engine=cw.RayEngine(actors=1))
    assert len(set(_reducer_actors()) - before) == 1                   # one actor, not one per CPU
    assert_same_scan(cw.scan(inspector, data, batch_size=16), one, rtol=1e-6)
