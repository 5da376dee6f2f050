"""Widget fixtures: a fresh inspector per test on one shared default model (traced once)."""

from __future__ import annotations

import pytest

import cnnviz_widgets as cw


@pytest.fixture(scope="session")
def shapes_model():
    return cw.load_default_model()


@pytest.fixture(scope="session")
def samples():
    return cw.sample_images()


@pytest.fixture
def inspector(shapes_model, samples):
    """A fresh inspector (empty caches, zero counters) showing the first sample (a circle)."""
    inspector = cw.ModelInspector(shapes_model, class_names=cw.SHAPE_CLASS_NAMES)
    inspector.set_image(samples[0]["image"])
    return inspector


class CallCounter:
    """Wraps a function and counts its calls."""

    def __init__(self, fn):
        self.fn = fn
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.fn(*args, **kwargs)


@pytest.fixture
def count_calls(monkeypatch):
    """count_calls(module, "name") replaces module.name by a counting wrapper and returns it."""

    def install(module, name):
        counter = CallCounter(getattr(module, name))
        monkeypatch.setattr(module, name, counter)
        return counter

    return install
