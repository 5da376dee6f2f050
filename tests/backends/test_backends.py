"""The package on each Keras backend: TensorFlow stays out of a JAX process, a missing or foreign
backend is named, tf.data is refused off TensorFlow, and every result equals across backends."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import cnnviz_widgets as cw
from cnnviz_widgets.dataset.sources import as_source

ROOT = Path(__file__).resolve().parents[2]
OUTPUTS = Path(__file__).with_name("backend_outputs.py")
VENVS = {"tensorflow": ROOT / ".venv", "jax": ROOT / ".venv-jax"}
"""The environment of each backend that make test builds (the JAX one has no TensorFlow)."""


def run_python(code: str, backend: str, python: str = sys.executable) -> subprocess.CompletedProcess:
    env = {**os.environ, "KERAS_BACKEND": backend}
    return subprocess.run([python, "-c", code], capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)


def test_the_active_backend_is_the_one_keras_was_asked_for():
    assert cw.backend.NAME == keras.backend.backend() == os.environ.get("KERAS_BACKEND", "tensorflow")


def test_importing_the_package_under_jax_never_imports_tensorflow():
    if cw.backend.NAME == "jax":
        # make test runs this file in .venv-jax, where TensorFlow is not even installed
        assert importlib.util.find_spec("tensorflow") is None
        assert "tensorflow" not in sys.modules
    else:
        jax_python = VENVS["jax"] / "bin" / "python"
        if not jax_python.exists():
            pytest.fail(f"{jax_python} is missing: make test builds it before running the suite")
        done = run_python("import sys, cnnviz_widgets as cw; cw.ModelInspector(); print(cw.backend.NAME, "
                          "'tensorflow' in sys.modules)\nimport tensorflow", "jax", str(jax_python))
        assert done.stdout.split() == ["jax", "False"], done.stderr[-2000:]
        assert "No module named 'tensorflow'" in done.stderr


@pytest.mark.parametrize("backend, says", [
    ("torch", "but the package 'torch' is not installed"),
    ("numpy", "cnnviz-widgets runs on tensorflow, jax, torch"),
])
def test_a_backend_that_cannot_run_is_named_with_the_installed_ones(backend, says):
    if backend == "torch" and importlib.util.find_spec("torch") is not None:
        pytest.skip("torch is installed here: its backend runs (tests/backends/test_torch.py)")
    done = run_python("import cnnviz_widgets", backend)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("cnnviz_widgets.errors.BackendError: Keras's backend is " + repr(backend)), last
    assert says in last
    if backend == "torch":
        assert f"Installed backends: {cw.backend.NAME}" in last


def test_a_model_built_under_another_backend_is_refused_naming_both(monkeypatch):
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(2, activation="softmax")], name="elsewhere")
    other = "jax" if cw.backend.NAME != "jax" else "tensorflow"
    monkeypatch.setattr(cw.backend, "tensor_backend", lambda value: other)
    with pytest.raises(cw.BackendError) as refused:
        cw.ModelInspector(model)
    message = str(refused.value)
    assert f"holds {other} tensors" in message and f"Keras's backend here is {cw.backend.NAME!r}" in message
    assert "'elsewhere'" in message


def test_tensor_backend_reads_the_tensor_type():
    assert cw.backend.tensor_backend(keras.ops.ones((2,))) == cw.backend.NAME
    assert cw.backend.tensor_backend(np.ones(2)) == "numpy"
    assert cw.backend.tensor_backend("text") is None


def test_a_tf_data_dataset_is_refused_off_tensorflow(monkeypatch):
    class Dataset:   # what as_source recognises a tf.data.Dataset by
        element_spec = None

    Dataset.__module__ = "tensorflow.python.data.ops.dataset_ops"
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(cw.BackendError, match="A tf.data.Dataset is read by TensorFlow, and Keras's backend here "
                                              "is 'jax'. Scan it with KERAS_BACKEND=tensorflow"):
        as_source(Dataset())


def test_guided_relus_restore_keras_relu_after_the_block():
    from keras.src.backend import nn as backend_nn

    before = backend_nn.relu, backend_nn.relu6
    with cw.backend.guided_relus():
        assert backend_nn.relu is not before[0] and backend_nn.relu6 is not before[1]
    assert (backend_nn.relu, backend_nn.relu6) == before


def test_guided_relu_gradient_passes_positive_gradients_where_the_unit_was_active():
    x = np.array([[-1.0, 0.5, 2.0, 7.0]], np.float32)
    upstream = np.array([[1.0, -1.0, 3.0, 2.0]], np.float32)

    def guided(v):
        with cw.backend.guided_relus():
            return (keras.ops.sum(keras.ops.relu(v) * upstream) + keras.ops.sum(keras.ops.relu6(v) * upstream))

    grad = cw.backend.compiled(lambda v: cw.backend.gradient(guided, v), [cw.backend.Spec((1, 4))])(x)
    # relu: passes at 2.0 and 7.0 (0.5 has a negative gradient); relu6: at 2.0 only (7.0 is capped)
    np.testing.assert_allclose(cw.backend.to_numpy(grad), [[0.0, 0.0, 6.0, 2.0]])


def test_weight_digests_tell_weights_apart_and_keep_the_stored_fingerprint_format():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    b = a.copy()
    b[2, 3] += 1e-6
    assert cw.backend.weight_bytes_digest(a) == cw.backend.weight_bytes_digest(a.copy())
    assert cw.backend.weight_bytes_digest(a) != cw.backend.weight_bytes_digest(b)
    assert len(cw.store.model_fingerprint(cw.load_default_model())) == 40


def _outputs(backend: str, path: Path, python: str | Path | None = None) -> dict[str, np.ndarray]:
    """backend_outputs.py's results under ``backend``, run by ``python`` (default: that backend's venv)."""
    python = Path(python or VENVS[backend] / "bin" / "python")
    if not python.exists():
        pytest.fail(f"{python} is missing: make test builds it before running the suite")
    done = subprocess.run([str(python), str(OUTPUTS), str(path)], capture_output=True, text=True, timeout=1800,
                          env={**os.environ, "KERAS_BACKEND": backend}, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    found = dict(np.load(path))
    assert str(found.pop("backend")) == backend
    return found


def assert_same_results(got_all: dict[str, np.ndarray], expected_all: dict[str, np.ndarray]) -> None:
    """The issue's bar: correlation >= 0.999 and max abs diff <= 1e-3 on [0, 1] maps, the
    predictions, activations, scan and sanity table alike. Patterns are optimised by Adam, whose
    first steps move every coefficient by about the learning rate whatever the size of its
    gradient, so float rounding at gradients near 0 grows over the steps: the classic recipe's
    pixels still agree, the robust recipe is compared by what it is for, its filter's activation."""
    assert got_all.keys() == expected_all.keys()
    methods = [k for k in expected_all if k.startswith("method/")]
    assert len(methods) == len(cw.HEATMAP_METHODS)
    for key, expected in expected_all.items():
        got = got_all[key]
        assert got.shape == expected.shape, key
        if key.startswith(("scan/", "sanity/")):
            np.testing.assert_allclose(got, expected, atol=1e-4, err_msg=key)
        elif key == "patterns/robust_pixels":
            assert np.corrcoef(got.ravel(), expected.ravel())[0, 1] > 0.9, key
        elif key == "patterns/robust_objective":
            np.testing.assert_allclose(got, expected, rtol=0.1, err_msg=key)
        elif key == "patterns/classic":
            assert np.corrcoef(got.ravel(), expected.ravel())[0, 1] >= 0.999, key
        elif key.startswith("activation/"):
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * float(np.abs(expected).max()),
                                       err_msg=key)
        else:
            assert np.corrcoef(got.ravel(), expected.ravel())[0, 1] >= 0.999, key
            np.testing.assert_allclose(got, expected, atol=1e-3, err_msg=key)


@pytest.mark.slow
def test_every_result_is_the_same_under_jax_and_tensorflow(tmp_path):
    assert_same_results(_outputs("jax", tmp_path / "jax.npz"), _outputs("tensorflow", tmp_path / "tf.npz"))
