"""Shared fixtures: tiny models of every kind, built in the tests (no downloads)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import pytest

L = keras.layers


def same_weights_everywhere(model: keras.Model, seed: int) -> keras.Model:
    """Draw ``model``'s trainable weights again with numpy, each from its layer's own initialiser
    (as the sanity check's randomisation does), so that a test model holds the same weights on
    every Keras backend: ``keras.utils.set_random_seed`` alone gives each backend its own."""
    from cnnviz_widgets.methods.sanity import randomise

    for i, layer in enumerate(model._flatten_layers(include_self=False)):
        randomise(layer, seed * 1000 + i)
    return model


def tiny_functional(size: int = 32, classes: int = 3, *, separate_softmax: bool = False) -> keras.Model:
    """conv -> pool -> conv -> GAP -> Dense(softmax), with fixed names."""
    keras.utils.set_random_seed(1)
    inp = keras.Input((size, size, 3), name="img")
    x = L.Conv2D(4, 3, padding="same", activation="relu", name="conv1")(inp)
    x = L.MaxPooling2D(2, name="pool1")(x)
    x = L.Conv2D(6, 3, padding="same", name="conv2")(x)
    x = L.BatchNormalization(name="bn2")(x)
    x = L.Activation("relu", name="relu2")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    if separate_softmax:
        x = L.Dense(classes, name="logits")(x)
        out = L.Activation("softmax", name="probs")(x)
    else:
        out = L.Dense(classes, activation="softmax", name="head")(x)
    return same_weights_everywhere(keras.Model(inp, out, name="tiny_functional"), 1)


def tutorial_sequential() -> keras.Model:
    """The TensorFlow tutorial's create_model: a Sequential without Input, built by model.build (smaller sizes)."""
    keras.utils.set_random_seed(2)
    model = keras.Sequential([
        L.Conv2D(8, 7, activation="relu"),
        L.Conv2D(8, 5, activation="relu"),
        L.Conv2D(8, 3, activation="relu"),
        L.Flatten(),
        L.Dense(16, activation="relu"),
        L.Dense(3, activation="softmax"),
    ])
    model.build((None, 48, 48, 3))
    return same_weights_everywhere(model, 2)


def sequential_with_input() -> keras.Model:
    keras.utils.set_random_seed(3)
    return same_weights_everywhere(keras.Sequential([
        keras.Input((32, 32, 3)),
        L.Conv2D(5, 3, activation="relu", name="c1"),
        L.MaxPooling2D(name="p1"),
        L.Conv2D(7, 3, activation="relu", name="c2"),
        L.GlobalMaxPooling2D(name="gmp"),
        L.Dense(4, activation="softmax", name="out"),
    ], name="seq_in"), 3)


def random_image(size: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def weights_snapshot(model: keras.Model) -> list[np.ndarray]:
    return [np.array(w) for w in model.get_weights()]


@pytest.fixture
def functional_model() -> keras.Model:
    return tiny_functional()


@pytest.fixture(scope="session")
def default_inspector():
    from cnnviz_widgets import ModelInspector

    return ModelInspector()


@pytest.fixture(scope="session", autouse=True)
def executed_notebooks_folder(tmp_path_factory):
    """Where tests/notebooks keeps each notebook it executed, for the documentation build of the same
    run (docs/conf.py reads ``CNNVIZ_EXECUTED_NOTEBOOKS``): each notebook then runs once, not twice."""
    folder = tmp_path_factory.mktemp("executed-notebooks")
    os.environ["CNNVIZ_EXECUTED_NOTEBOOKS"] = str(folder)
    yield folder
    os.environ.pop("CNNVIZ_EXECUTED_NOTEBOOKS", None)


_RSS_GROWTH: dict[str, float] = {}
"""RSS growth (GiB) over each test file, in the test process: where memory gathers."""


def _rss_gib() -> float:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    before = _rss_gib()
    yield
    where = item.nodeid.split("::", 1)[0]
    _RSS_GROWTH[where] = _RSS_GROWTH.get(where, 0.0) + _rss_gib() - before


def pytest_terminal_summary(terminalreporter) -> None:
    """Print the test process's peak memory (and its children's: kernels, servers, browsers) and the
    test files its memory grew most over, so that every ``make test`` shows how far it stays from
    the machine's memory and where it goes."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20        # KiB -> GiB on Linux
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    terminalreporter.write_line(f"peak RSS: test process {own:.2f} GiB; largest child process {children:.2f} GiB")
    growth = sorted(_RSS_GROWTH.items(), key=lambda kv: -kv[1])[:5]
    terminalreporter.write_line("RSS growth by test file: "
                                + ", ".join(f"{path} {gib:+.2f} GiB" for path, gib in growth))
