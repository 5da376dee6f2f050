"""The PyTorch backend goes through the same code: every output of backend_outputs.py under
KERAS_BACKEND=torch equals TensorFlow's. PyPI's torch wheel is hundreds of MB, so CI does not
install it; this runs where torch is importable by the interpreter named in CNNVIZ_TORCH_PYTHON
(default: this one), and is skipped, saying so, elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from tests.backends.test_backends import OUTPUTS, ROOT, _outputs

pytestmark = [pytest.mark.torch, pytest.mark.slow]


def test_every_result_is_the_same_under_torch_and_tensorflow(tmp_path):
    python = os.environ.get("CNNVIZ_TORCH_PYTHON", sys.executable)
    if subprocess.run([python, "-c", "import torch"], capture_output=True).returncode != 0:
        pytest.skip(f"torch is not importable by {python}; set CNNVIZ_TORCH_PYTHON to an interpreter that has it")
    done = subprocess.run([python, str(OUTPUTS), str(tmp_path / "torch.npz")], capture_output=True, text=True,
                          timeout=1800, env={**os.environ, "KERAS_BACKEND": "torch"}, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    got = dict(np.load(tmp_path / "torch.npz"))
    assert str(got.pop("backend")) == "torch"
    expected = _outputs("tensorflow", tmp_path / "tf.npz")
    for key in expected:
        if key.startswith("method/") or key.startswith("residual/") or key in ("probabilities", "occlusion/grid"):
            assert np.corrcoef(got[key].ravel(), expected[key].ravel())[0, 1] >= 0.999, key
            np.testing.assert_allclose(got[key], expected[key], atol=1e-3, err_msg=key)
