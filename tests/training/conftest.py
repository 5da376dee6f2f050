"""A tiny model trained for a few steps on random data, recorded by a TrainingRecorder."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tests.conftest import tiny_functional

CLASSES = ("cat", "dog", "fox")


def data(n: int = 96, size: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images whose class is their brightest colour channel: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    images = rng.uniform(0, 0.3, (n, size, size, 3)).astype("float32")
    images[np.arange(n), :, :, labels] += 0.7
    return images, labels


def compiled(seed: int = 1) -> keras.Model:
    model = tiny_functional()
    keras.utils.set_random_seed(seed)
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture
def recorded(tmp_path):
    """(model, run folder, recorder): 2 epochs of 6 steps, log steps, a 24-image probe."""
    import cnnviz_widgets as cw

    model = compiled()
    x, y = data()
    recorder = cw.TrainingRecorder(tmp_path / "run", steps="log", probe=(x[:24], y[:24]))
    model.fit(x, y, epochs=2, batch_size=16, callbacks=[recorder], verbose=0)
    return model, tmp_path / "run", recorder
