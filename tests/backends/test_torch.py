"""The PyTorch backend goes through the same code: every output of backend_outputs.py under
KERAS_BACKEND=torch equals TensorFlow's. PyPI's torch wheel is hundreds of MB, so CI does not
install it; this runs where torch is importable by the interpreter named in CNNVIZ_TORCH_PYTHON
(default: this one), and is skipped, saying so, elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.backends.test_backends import _outputs, assert_same_results

pytestmark = [pytest.mark.torch, pytest.mark.slow]


def test_every_result_is_the_same_under_torch_and_tensorflow(tmp_path):
    python = os.environ.get("CNNVIZ_TORCH_PYTHON", sys.executable)
    if subprocess.run([python, "-c", "import torch"], capture_output=True).returncode != 0:
        pytest.skip(f"torch is not importable by {python}; set CNNVIZ_TORCH_PYTHON to an interpreter that has it")
    got = _outputs("torch", tmp_path / "torch.npz", python=python)
    assert_same_results(got, _outputs("tensorflow", tmp_path / "tf.npz"))
