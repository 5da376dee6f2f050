"""scripts/train_default_model.py: deterministic training and exact BatchNorm folding (tiny runs)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "train_default_model.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("train_default_model", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_training_is_deterministic_and_folding_is_exact(script):
    runs = [script.train("max", train_size=128, epochs=1, seed=3, log=lambda _: None) for _ in range(2)]
    (trained_a, clean_a, _, fold_diff), (_, clean_b, _, _) = runs
    assert fold_diff < 1e-5
    for wa, wb in zip(clean_a.get_weights(), clean_b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    x = np.random.default_rng(0).uniform(0, 1, (8, 96, 96, 3)).astype("float32")
    np.testing.assert_allclose(clean_a.predict(x, verbose=0), trained_a.predict(x, verbose=0), atol=1e-5)
    names = [layer.name for layer in clean_a.layers]
    assert not any("_bn" in n for n in names) and "logits" in names
