"""Process-wide state: tracing under concurrency, caches tied to a model's lifetime, qualified names."""

from __future__ import annotations

import gc
import threading
import weakref

import keras
import numpy as np
import pytest

import cnnviz_widgets as cw
from cnnviz_widgets.inspector import graph as graph_module
from cnnviz_widgets.inspector.graph import cached_trace, trace_count, trace_model
from cnnviz_widgets.methods._compiled import activation_fn
from cnnviz_widgets.methods._models import graph_for
from tests.conftest import L, random_image, tiny_functional


class Pausing(keras.Model):
    """A subclassed model whose ``call`` stops between its two layers until told to go on."""

    def __init__(self, tracing: threading.Event, go_on: threading.Event) -> None:
        super().__init__(name="pausing")
        self.conv = L.Conv2D(3, 3, padding="same", name="conv")
        self.pool = L.GlobalAveragePooling2D(name="gap")
        self.head = L.Dense(2, activation="softmax", name="head")
        self.tracing, self.go_on = tracing, go_on

    def call(self, x):
        x = self.conv(x)
        if self.tracing is not None and not self.tracing.is_set():
            self.tracing.set()
            assert self.go_on.wait(30)
        return self.head(self.pool(x))


def test_a_layer_called_by_another_thread_during_tracing_is_not_recorded():
    keras.utils.set_random_seed(3)
    model = Pausing(None, None)
    model(np.zeros((1, 16, 16, 3), np.float32))       # build eagerly, before any tracing
    model.tracing, model.go_on = threading.Event(), threading.Event()
    other = L.Dense(1, kernel_initializer="ones", bias_initializer="zeros", name="worker_layer")
    result = {}

    def worker():
        assert model.tracing.wait(30)
        # Layer.__call__ is routed through the tracer at this moment
        result["value"] = np.asarray(other(np.full((1, 4), 2.0, np.float32)))
        model.go_on.set()

    thread = threading.Thread(target=worker)
    thread.start()
    graph = trace_model(model, (16, 16, 3))
    thread.join(30)
    assert [r.name for r in graph.records] == ["conv", "gap", "head"]
    np.testing.assert_allclose(result["value"], [[8.0]])     # computed eagerly, as if no tracing ran
    assert keras.layers.Layer.__call__ is graph_module._ORIGINAL_CALL


def test_traces_and_compiled_functions_go_with_their_models():
    import psutil

    process = psutil.Process()
    gc.collect()                                    # models of earlier tests that are already unreachable
    baseline = trace_count()
    refs, rss = [], []
    for i in range(20):
        model = tiny_functional(size=32, classes=3)
        inspector = cw.ModelInspector(model)
        inspector.set_image(random_image(32, seed=i))
        cw.grad_cam(inspector, inspector.batch)
        cw.saliency(model, inspector.batch)                  # a second trace route: the raw model
        assert len(graph_module._TRACES[model]) >= 1
        refs.append(weakref.ref(model))
        del model, inspector
        gc.collect()
        rss.append(process.memory_info().rss)
    assert trace_count() <= baseline
    assert all(ref() is None for ref in refs)
    # memory settles: the last ten models add no more than a few MB each on top of the first ten
    assert rss[-1] - rss[9] < 10 * 8 * 2**20, [round(r / 2**20) for r in rss]


def test_compiled_functions_per_graph_are_bounded(monkeypatch):
    monkeypatch.setattr(graph_module, "MAX_DERIVED", 3)
    model = tiny_functional(size=32, classes=3)
    graph = graph_for(model)
    layers = [r.name for r in graph.records]
    assert len(layers) >= 5
    for name in layers:
        activation_fn(graph, name)
    assert len(graph.derived) == 3
    # the most recent ones stay and still compute the right thing
    x = random_image(32)[None].astype(np.float32) / 255
    expected = keras.Model(model.inputs[0], model.get_layer(layers[-1]).output)(x)
    np.testing.assert_allclose(activation_fn(graph, layers[-1])(x), expected, atol=1e-5)


def test_traces_per_model_are_bounded(monkeypatch):
    monkeypatch.setattr(graph_module, "MAX_TRACES_PER_MODEL", 2)
    inp = keras.Input((None, None, 3))
    model = keras.Model(inp, L.Dense(2)(L.GlobalAveragePooling2D()(L.Conv2D(2, 3)(inp))))
    for side in (16, 20, 24, 28):
        cached_trace(model, (side, side, 3))
    assert len(graph_module._TRACES[model]) == 2


def test_dotted_names_inside_nested_models_resolve():
    keras.utils.set_random_seed(5)
    base = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(64, 64, 3), alpha=0.35)
    assert "." in base.name                                   # mobilenetv2_0.35_64
    inner_in = keras.Input((64, 64, 3))
    inner = keras.Model(inner_in, L.GlobalAveragePooling2D(name="gap")(base(inner_in)), name="body.v1")
    inp = keras.Input((64, 64, 3))
    clf = keras.Model(inp, L.Dense(3, activation="softmax", name="cls")(inner(inp)))
    inspector = cw.ModelInspector(clf)
    inspector.set_image(random_image(64, seed=2))
    qualified = f"body.v1/{base.name}/out_relu"               # two levels of nesting, dots in both names
    assert qualified in inspector.layer_names, [n for n in inspector.layer_names if "out_relu" in n]
    assert inspector.layer("out_relu").name == qualified       # unqualified tail resolves too
    assert cw.default_cam_layer(inspector)[0] == qualified
    expected = keras.Model(base.inputs[0], base.get_layer("out_relu").output)(inspector.batch)
    np.testing.assert_allclose(inspector.activations(qualified), np.asarray(expected)[0], rtol=1e-4, atol=1e-4)
    heat = cw.grad_cam(inspector, inspector.batch, layer=qualified)[0]
    assert heat.shape == (64, 64) and heat.max() == pytest.approx(1.0)
    browser = cw.LayerBrowser(inspector, layer=qualified)
    assert browser.wait(60) and browser.layer == qualified and not browser.errors.message
    with pytest.raises(cw.LayerNotFoundError, match=r"Did you mean .*out_relu"):
        inspector.layer("body.v1/out_rel")


@pytest.mark.tensorflow
def test_tensorflows_kernels_of_a_freed_model_are_released_once():
    """A freed model's cached kernels are dropped at the next trace (once), not while models live."""
    from cnnviz_widgets.inspector.graph import release_freed_kernels

    release_freed_kernels()                              # whatever earlier tests left
    model = tiny_functional(size=32, classes=3)
    inspector = cw.ModelInspector(model)
    inspector.set_image(random_image(32))
    cw.grad_cam(inspector, inspector.batch)
    assert release_freed_kernels() is False              # the model lives: nothing to release
    ref = weakref.ref(model)
    del model, inspector
    gc.collect()
    assert ref() is None
    assert release_freed_kernels() is True and release_freed_kernels() is False
