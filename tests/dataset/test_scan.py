"""The dataset scan against a brute-force reference, its sources, its store and resuming."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

import cnnviz_widgets as cw
from tests.conftest import tiny_functional
from tests.dataset import assert_same_scan
from tests.tensorflow_only import tf

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny():
    model = tiny_functional(size=32, classes=3)
    return cw.ModelInspector(model, class_names=["a", "b", "c"])


def images_and_labels(n: int, seed: int = 0, size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8), rng.integers(0, 3, n)


def reference(inspector: cw.ModelInspector, images: np.ndarray, labels: np.ndarray, layer: str, k: int):
    """Every activation of every image, then numpy: top-k / bottom-k by spatial max (ties to the
    lower index), argmax positions, per-class means, predictions."""
    x = inspector.preprocess(images.astype(np.float32))
    graph = inspector.graph
    acts = np.asarray(keras.Model(graph.input, graph.tensors[layer])(x))        # (N, h, w, C)
    n, h, w, c = acts.shape
    flat = acts.reshape(n, h * w, c)
    maxima, argmax, means = flat.max(axis=1), flat.argmax(axis=1), flat.mean(axis=1)
    top = [sorted(range(n), key=lambda i, ch=ch: (-maxima[i, ch], i))[:k] for ch in range(c)]
    bottom = [sorted(range(n), key=lambda i, ch=ch: (maxima[i, ch], i))[:k] for ch in range(c)]
    selectivity = np.stack([means[labels == cls].mean(axis=0) for cls in range(3)])
    probabilities = np.asarray(keras.Model(graph.input, graph.probability)(x))
    return maxima, argmax, w, top, bottom, selectivity, probabilities


def test_scan_matches_a_brute_force_reference(tiny):
    images, labels = images_and_labels(150, seed=1)
    result = cw.scan(tiny, (images, labels), top_k=5, batch_size=16)
    assert len(result) == 150 and result.complete and not result.skipped
    assert result.layers == tuple(tiny.conv_layer_names)
    for layer in ("conv1", "relu2"):
        maxima, argmax, width, top, bottom, selectivity, probabilities = reference(tiny, images, labels, layer, 5)
        for channel in range(maxima.shape[1]):
            got = result.top_examples(layer, channel)
            assert [i for i, _, _ in got] == top[channel]
            np.testing.assert_allclose([v for _, v, _ in got], maxima[top[channel], channel], rtol=1e-5, atol=1e-6)
            assert [yx for _, _, yx in got] == [divmod(int(argmax[i, channel]), width) for i in top[channel]]
            assert [i for i, _, _ in result.bottom_examples(layer, channel)] == bottom[channel]
            np.testing.assert_allclose(result.class_selectivity(layer, channel), selectivity[:, channel], rtol=1e-4,
                                       atol=1e-6)
    np.testing.assert_allclose(result.probabilities, probabilities, atol=1e-6)
    predictions = probabilities.argmax(axis=1)
    expected = np.zeros((3, 3), int)
    np.add.at(expected, (labels, predictions), 1)
    np.testing.assert_array_equal(result.confusion, expected)
    assert result.accuracy == pytest.approx(np.mean(predictions == labels))
    errors = result.confident_errors(5)
    assert all(labels[i] == t and predictions[i] == p and t != p for i, t, p, _ in errors)
    assert [e[3] for e in errors] == sorted((e[3] for e in errors), reverse=True)
    cell = result.images_in_cell(0, int(predictions[labels == 0][0]))
    assert all(labels[i] == 0 for i in cell)
    assert result.sources[:2] == ["array[0]", "array[1]"]


def test_a_folder_scan_skips_and_reports_bad_files(tiny, tmp_path):
    images, labels = images_and_labels(12, seed=2)
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        folder = tmp_path / "abc"[label]
        folder.mkdir(exist_ok=True)
        Image.fromarray(image).save(folder / f"img{i:02d}.png")
    (tmp_path / "a" / "broken.png").write_bytes(b"not a png")
    (tmp_path / "a" / "notes.txt").write_text("not an image, not read")
    result = cw.scan(tiny, tmp_path, batch_size=4)
    assert len(result) == 12
    assert [Path(s).name for s, _ in result.skipped] == ["broken.png"]
    assert "Cannot read" in result.skipped[0][1]
    by_source = {Path(s).name: label for s, label in zip(result.sources, result.labels, strict=True)}
    assert all(by_source[f"img{i:02d}.png"] == labels[i] for i in range(12))    # folder names are class names
    flat = tmp_path / "a"
    unlabelled = cw.scan(tiny, flat, batch_size=4)
    assert (unlabelled.labels == -1).all() and np.isnan(unlabelled.accuracy)
    listed = cw.scan(tiny, sorted(str(p) for p in flat.glob("*.png")), batch_size=4)
    np.testing.assert_allclose(listed.probabilities, unlabelled.probabilities, atol=1e-6)


@pytest.mark.tensorflow
def test_tf_data_batched_and_not_gives_the_same_scan(tiny):
    images, labels = images_and_labels(40, seed=3)
    from_arrays = cw.scan(tiny, (images, labels), batch_size=8)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    for data in (dataset, dataset.batch(7)):
        result = cw.scan(tiny, data, batch_size=8)
        np.testing.assert_array_equal(result.labels, labels)
        np.testing.assert_allclose(result.probabilities, from_arrays.probabilities, atol=1e-6)
        assert result.top_examples("conv1", 1) == from_arrays.top_examples("conv1", 1)
    assert cw.scan(tiny, tf.data.Dataset.from_tensor_slices(images), batch_size=8).labels.tolist() == [-1] * 40


def test_bad_arguments_say_what_they_got(tiny, tmp_path):
    images, _ = images_and_labels(4)
    with pytest.raises(cw.ArgumentError, match=r"engine must be one of \['local', 'ray'\] or a RayEngine; got 'spark'"):
        cw.scan(tiny, images, engine="spark")
    with pytest.raises(cw.ArgumentError, match="top_k must be a positive int; got 0"):
        cw.scan(tiny, images, top_k=0)
    with pytest.raises(cw.ArgumentError, match="outputs"):
        cw.scan(tiny, images, layers=["head"])
    with pytest.raises(cw.ArgumentError, match="does not exist"):
        cw.scan(tiny, tmp_path / "missing")
    with pytest.raises(cw.ArgumentError, match="got dict"):
        cw.scan(tiny, {"a": 1})
    result = cw.scan(tiny, images)
    with pytest.raises(cw.ArgumentError, match=r"channel must be in 0..3 for layer 'conv1'; got 9"):
        result.top_examples("conv1", 9)
    with pytest.raises(cw.ArgumentError, match="no layer 'nope'"):
        result.top_examples("nope", 0)


def test_store_reopens_and_refuses_another_model(tiny, tmp_path):
    images, labels = images_and_labels(50, seed=4)
    store = tmp_path / "scan"
    first = cw.scan(tiny, (images, labels), batch_size=16, store=store)
    manifest = json.loads((store / "manifest.json").read_text())
    assert manifest["complete"] and manifest["consumed"] == 50 and manifest["format"] == "cnnviz-scan/1"
    reopened = cw.load_scan(store)
    np.testing.assert_array_equal(reopened.confusion, first.confusion)
    assert reopened.top_examples("relu2", 2) == first.top_examples("relu2", 2)
    np.testing.assert_allclose(reopened.class_selectivity("conv1", 0), first.class_selectivity("conv1", 0))
    assert "50 images" in repr(reopened)
    other = cw.ModelInspector(tiny_functional(size=32, classes=3, separate_softmax=True), class_names=["a", "b", "c"])
    with pytest.raises(cw.ArgumentError, match="holds a scan of another model"):
        cw.scan(other, (images, labels), batch_size=16, store=store)
    with pytest.raises(cw.ArgumentError, match="batch_size=16; this scan has batch_size=8"):
        cw.scan(tiny, (images, labels), batch_size=8, store=store)
    with pytest.raises(cw.ArgumentError, match="No scan store"):
        cw.load_scan(tmp_path / "empty")


def test_an_interrupted_scan_resumes_without_counting_an_image_twice(tiny, tmp_path):
    images, labels = images_and_labels(100, seed=5)
    whole = cw.scan(tiny, (images, labels), batch_size=8)
    store = tmp_path / "scan"

    def stop_after_40(done, total):
        if done >= 40:
            raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError, match="cancelled"):
        cw.scan(tiny, (images, labels), batch_size=8, store=store, progress=stop_after_40, checkpoint_every=100)
    partial = cw.load_scan(store)
    assert not partial.complete and len(partial) == 40 and "interrupted" in repr(partial)
    resumed = cw.scan(tiny, (images, labels), batch_size=8, store=store)
    assert resumed.complete and len(resumed) == 100
    assert_same_scan(resumed, whole)


KILLED_SCAN = """
import sys, time
import cnnviz_widgets as cw
from tests.conftest import tiny_functional
from tests.dataset import assert_same_scan
import numpy as np
rng = np.random.default_rng(5)
images, labels = rng.integers(0, 256, (400, 32, 32, 3), dtype=np.uint8), rng.integers(0, 3, 400)
inspector = cw.ModelInspector(tiny_functional(size=32, classes=3), class_names=["a", "b", "c"])
cw.scan(inspector, (images, labels), batch_size=8, store=sys.argv[1], checkpoint_every=1,
        progress=lambda done, total: time.sleep(0.2))
"""


@pytest.mark.slow
def test_a_killed_scan_resumes_from_its_last_checkpoint(tiny, tmp_path):
    store = tmp_path / "scan"
    process = subprocess.Popen([sys.executable, "-c", KILLED_SCAN, str(store)], cwd=ROOT,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            manifest = store / "manifest.json"
            if manifest.exists() and json.loads(manifest.read_text())["consumed"] >= 24:
                break
            assert process.poll() is None, "the scan ended before it could be killed"
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
    partial = cw.load_scan(store)
    assert not partial.complete and 24 <= len(partial) < 400
    rng = np.random.default_rng(5)
    images, labels = rng.integers(0, 256, (400, 32, 32, 3), dtype=np.uint8), rng.integers(0, 3, 400)
    inspector = cw.ModelInspector(tiny_functional(size=32, classes=3), class_names=["a", "b", "c"])
    resumed = cw.scan(inspector, (images, labels), batch_size=8, store=store)
    whole = cw.scan(inspector, (images, labels), batch_size=8)
    assert len(resumed) == 400
    assert_same_scan(resumed, whole)
    assert len(list(store.glob("state-*.npz"))) == 1


def test_shapes_dataset_is_the_offline_default():
    data = cw.shapes_dataset(12, seed=1)
    assert data.images.shape == (12, 96, 96, 3) and data.class_names == cw.SHAPE_CLASS_NAMES
    assert sorted(set(data.labels.tolist())) == list(range(6))
    with pytest.raises(cw.ArgumentError, match="positive int; got 0"):
        cw.shapes_dataset(0)
    result = cw.scan(cw.ModelInspector(), data, batch_size=6)
    assert result.accuracy > 0.8 and result.confusion.sum() == 12


def test_the_hard_shapes_make_the_model_err():
    easy = cw.shapes_dataset(300, seed=21)
    hard = cw.shapes_dataset(300, seed=21, difficulty="hard")
    again = cw.shapes_dataset(300, seed=21, difficulty="hard")
    np.testing.assert_array_equal(hard.images, again.images)             # seeded
    np.testing.assert_array_equal(hard.labels, easy.labels)              # same balanced labels
    inspector = cw.ModelInspector()
    easy_scan, hard_scan = cw.scan(inspector, easy), cw.scan(inspector, hard)
    assert easy_scan.accuracy > 0.97
    assert 0.5 < hard_scan.accuracy < 0.9                                # errors to explore, not noise
    assert len(hard_scan.confident_errors(10)) == 10
    with pytest.raises(cw.ArgumentError, match=r"difficulty must be one of \['easy', 'hard'\]; got 'medium'"):
        cw.shapes_dataset(3, difficulty="medium")


def test_progress_true_draws_a_tqdm_bar_to_the_end(tiny, capsys):
    images, _ = images_and_labels(20, seed=7)
    cw.scan(tiny, images, batch_size=8, progress=True)
    err = capsys.readouterr().err
    assert "scan" in err and "20/20" in err and "img/s" in err
    with pytest.raises(cw.ArgumentError, match="progress must be None, True"):
        cw.scan(tiny, images, progress="yes")


def test_a_ray_engine_sizes_its_pool_from_the_cluster_and_checks_its_settings():
    """Without starting Ray: the pool a RayEngine asks for on a cluster of given resources."""
    cpus = {"CPU": 16.0}
    gpus = {"CPU": 16.0, "GPU": 4.0}
    assert cw.RayEngine().pool_size(cpus, {"CPU": 6.0}) == 6                    # the free CPUs
    assert cw.RayEngine().pool_size(cpus, {}) == 1
    assert cw.RayEngine(actors=3).pool_size(cpus, cpus) == 3
    assert cw.RayEngine(gpus_per_actor=1).pool_size(gpus, gpus) == 4               # one actor per GPU
    assert cw.RayEngine(gpus_per_actor=0.5).pool_size(gpus, {"GPU": 1.0}) == 2     # two share a free GPU
    assert cw.RayEngine(actors=2, gpus_per_actor=1).pool_size(gpus, gpus) == 2
    with pytest.raises(cw.ArgumentError, match=r"gpus_per_actor=1 but the Ray cluster has 0 GPUs \(CPU 16\)"):
        cw.RayEngine(gpus_per_actor=1).pool_size(cpus, cpus)
    with pytest.raises(cw.ArgumentError, match=r"gpus_per_actor=2 but the Ray cluster has 1 GPUs \(CPU 2, GPU 1\)"):
        cw.RayEngine(gpus_per_actor=2).pool_size({"CPU": 2.0, "GPU": 1.0, "memory": 1e9}, {})
    for bad, match in (({"actors": 0}, "actors must be a positive int or None; got 0"),
                       ({"actors": 1.5}, "got 1.5"), ({"actors": True}, "got True"),
                       ({"gpus_per_actor": -1}, "gpus_per_actor must be a number >= 0; got -1"),
                       ({"gpus_per_actor": "1"}, "got '1'")):
        with pytest.raises(cw.ArgumentError, match=match):
            cw.RayEngine(**bad)
