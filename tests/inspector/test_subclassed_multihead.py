"""A trained-style subclassed model with three heads (box, landmarks, a 2-class softmax), built in
the three ways users build one, is explained through every declared method, the occlusion sweep,
patterns and every widget exactly as a functional model made of the same layers.

The inspector knows the model's input shape, head and output; none of the methods may ask the
model again: a subclassed model whose ``build()`` records no input shape failed every method
(issue 23) although the inspector had been given ``input_shape``.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import cnnviz_widgets as cw
from cnnviz_widgets.methods import filter_patterns
from cnnviz_widgets.render import decode_png
from tests.conftest import random_image

SIZE = 32
L = keras.layers


class ThreeHeads(keras.Model):
    """Box regression (4), landmarks (10) and a 2-class softmax on one small convolutional body."""

    def __init__(self, **kwargs) -> None:        # **kwargs: Keras rebuilds it from its config (copies)
        super().__init__(**{"name": "three_heads", **kwargs})
        self.conv1 = L.Conv2D(8, 3, padding="same", activation="relu", name="conv1")
        self.conv2 = L.Conv2D(12, 3, padding="same", activation="relu", name="conv2")
        self.pool = L.GlobalAveragePooling2D(name="pool")
        self.box = L.Dense(4, name="box")
        self.landmarks = L.Dense(10, name="landmarks")
        self.species = L.Dense(2, activation="softmax", name="species")

    def build(self, input_shape=(None, SIZE, SIZE, 3)):
        self.conv1.build(input_shape)
        self.conv2.build((*input_shape[:3], 8))
        for head in (self.box, self.landmarks, self.species):
            head.build((None, 12))

    def call(self, x):
        features = self.pool(self.conv2(self.conv1(x)))
        return self.box(features), self.landmarks(features), self.species(features)


def three_heads(how: str) -> keras.Model:
    model = ThreeHeads()
    if how == "build":
        model.build((None, SIZE, SIZE, 3))
    elif how == "build_records_no_shape":   # its own build() takes no argument: Keras records no input shape
        model.build()
    else:                                    # called once on a batch
        model(np.zeros((1, SIZE, SIZE, 3), np.float32))
    rng = np.random.default_rng(7)           # "trained" weights, set after building
    model.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def functional_twin(model: ThreeHeads) -> keras.Model:
    """The class head as a functional model on the same layer objects (so the same weights)."""
    inp = keras.Input((SIZE, SIZE, 3))
    return keras.Model(inp, model.species(model.pool(model.conv2(model.conv1(inp)))), name="twin")


@pytest.fixture(scope="module", params=["build", "build_records_no_shape", "called_once"])
def subject(request):
    model = three_heads(request.param)
    inspector = cw.ModelInspector(model, output=2, input_shape=(SIZE, SIZE, 3))
    inspector.set_image(random_image(40, seed=3))
    return inspector, functional_twin(model)


def test_the_inspector_reads_the_class_head(subject):
    inspector, twin = subject
    assert inspector.output_names == ("output_0", "output_1", "output_2") and inspector.output_name == "output_2"
    assert inspector.head == "softmax" and inspector.n_classes == 2
    np.testing.assert_allclose(inspector.probabilities, np.array(twin(inspector.batch))[0], atol=1e-6)


@pytest.mark.parametrize("method", list(cw.HEATMAP_METHODS))
def test_every_declared_method_explains_it_as_its_functional_twin(subject, method):
    inspector, twin = subject
    got = cw.heatmap(inspector, inspector.batch, method, 1)
    expected = cw.heatmap(twin, inspector.batch, method, 1)
    assert got.shape == (1, SIZE, SIZE)
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_occlusion_sweep_and_patterns(subject):
    inspector, twin = subject
    sweep = cw.occlusion_sweep(inspector, inspector.batch, 1, patch=8)
    np.testing.assert_allclose(sweep.probabilities, cw.occlusion_sweep(twin, inspector.batch, 1, patch=8).probabilities,
                               atol=1e-6)
    assert sweep.grid.shape == (1, 4, 4)
    patterns = filter_patterns(inspector, "conv2", [0, 1], steps=4)
    np.testing.assert_array_equal(patterns, filter_patterns(twin, "conv2", [0, 1], steps=4,
                                                             preprocess=inspector.preprocess))


def test_every_widget_draws_it(subject):
    inspector, twin = subject
    cam = cw.CamOverlay(inspector, class_index=1, scale="own")   # its own peak: equal to the function's map
    liveliest = int(inspector.activations("conv2").std(axis=(0, 1)).argmax())   # random weights leave some blank
    layers = cw.LayerBrowser(inspector, layer="conv2", channel=liveliest)
    gallery = cw.FilterGallery(inspector, layer="conv2", mode="patterns", steps=3)
    sweeper = cw.OcclusionSweeper(inspector, class_index=1, patch=8, stride=8)
    dashboard = cw.Dashboard(inspector)
    dashboard.layers.layer, dashboard.layers.channel = "conv2", liveliest
    data = np.stack([random_image(SIZE, seed=s) for s in range(6)])
    scan = cw.scan(inspector, data, batch_size=4)
    browser = cw.DatasetBrowser(inspector, scan, data=data)
    try:
        np.testing.assert_allclose(cam.compute(), cw.grad_cam(twin, inspector.batch, 1)[0], atol=1e-4)
        cam.randomised = True        # Grad-CAM on a copy with random weights, read like the inspector
        assert cam.wait(120) and cam.errors.message == ""
        assert cam.randomised_heatmap.shape == (SIZE, SIZE)
        randomised = cam.randomised_heatmap   # in the method's units: compared on each map's own peak
        assert np.abs(randomised / max(float(randomised.max()), 1e-12) - cam.heatmap).max() > 0.05
        np.testing.assert_allclose(sweeper.compute().probabilities,
                                   cw.occlusion_sweep(twin, inspector.batch, 1, patch=8).probabilities, atol=1e-6)
        for widget in (cam, layers, gallery, sweeper, dashboard, browser):
            assert widget.wait(120)
            parts = widget.widgets if isinstance(widget, cw.Dashboard) else (widget,)
            assert [w.errors.message for w in parts] == [""] * len(parts), type(widget).__name__
            picture = decode_png(widget.png)
            assert picture.reshape(-1, picture.shape[-1]).std(axis=0).max() > 1, type(widget).__name__
        np.testing.assert_allclose(scan.probabilities[0], np.array(twin(inspector.preprocess(
            random_image(SIZE, seed=0)[None].astype(np.float32))))[0], atol=1e-5)
    finally:
        for widget in (cam, layers, gallery, sweeper, dashboard, browser):
            widget.close()
