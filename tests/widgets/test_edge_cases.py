"""Widgets before any image, and on a grayscale model."""

from __future__ import annotations

import keras
import numpy as np

import cnnviz_widgets as cw
from cnnviz_widgets.render import decode_png


def grayscale_model() -> keras.Model:
    keras.utils.set_random_seed(5)
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="c1")(inputs)
    x = keras.layers.Conv2D(6, 3, activation="relu", name="c2")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x), name="digits")


def test_widgets_wait_for_an_image_then_draw_it():
    inspector = cw.ModelInspector(grayscale_model())
    assert not inspector.has_image
    browser, cam = cw.LayerBrowser(inspector), cw.CamOverlay(inspector)
    sweeper, gallery = cw.OcclusionSweeper(inspector), cw.FilterGallery(inspector)
    for widget in (browser, cam, sweeper, gallery):
        assert not widget.errors.message, type(widget).__name__
    empty = browser.png
    inspector.set_image(np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8))
    for widget in (browser, cam, sweeper):
        assert widget.wait(60) and not widget.errors.message, type(widget).__name__
    assert browser.png != empty and decode_png(cam.png).shape[0] == 256   # 28 px brought to 256
    assert cam.heatmap.shape == (28, 28) and sweeper.sweep.grid.shape == (1, 7, 7)   # patch 4 = 28 / 8 px


def test_grayscale_kernels_and_fills():
    inspector = cw.ModelInspector(grayscale_model())
    inspector.set_image(np.full((28, 28), 200, np.uint8))
    gallery = cw.FilterGallery(inspector)
    assert gallery.layer == "c1" and "kernels of input channel 0" in gallery.caption.value
    sweeper = cw.OcclusionSweeper(inspector, patch=7, stride=7)
    sweeper.fill = "grey"
    assert sweeper.wait(60) and not sweeper.errors.message
    grey = inspector.preprocess(np.full((1, 1, 1, 1), 127.5, np.float32)).reshape(-1)
    direct = cw.occlusion_sweep(inspector, inspector.batch, patch=7, stride=7, fill=grey)
    np.testing.assert_allclose(sweeper.sweep.grid, direct.grid, atol=1e-6)
