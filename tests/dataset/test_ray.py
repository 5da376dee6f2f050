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
