"""The widgets on every model kind the tutorials use, and after a model change."""

from __future__ import annotations

import numpy as np
import pytest

import cnnviz_widgets as cw
from cnnviz_widgets.render import decode_png
from tests.conftest import random_image, tiny_functional, tutorial_sequential
from tests.methods.tiny_models import nested_transfer_model


def test_widgets_follow_a_model_change(inspector):
    browser, cam = cw.LayerBrowser(inspector), cw.CamOverlay(inspector)
    gallery, sweeper = cw.FilterGallery(inspector), cw.OcclusionSweeper(inspector)
    cam.class_index = 4
    inspector.set_model(tiny_functional(size=32, classes=3))
    for widget in (browser, cam, gallery, sweeper):
        assert widget.wait(60) and not widget.errors.message, type(widget).__name__
    assert browser.layer == "relu2" and [o[1] for o in browser.layer_dropdown.options][0] == "conv1"
    assert cam.layer == "relu2" and cam.class_index is None       # the old class 4 does not exist here
    assert gallery.layer == "conv1" and sweeper.patch <= 32
    np.testing.assert_allclose(cam.heatmap, cw.grad_cam(inspector, inspector.batch, layer="relu2")[0], atol=1e-6)
    assert decode_png(sweeper.png)[:, :256].shape[:2] == (256, 256)   # 32 px enlarged 8x, then the colour bar


@pytest.mark.parametrize("build", [tutorial_sequential, nested_transfer_model], ids=["sequential_no_input", "nested"])
def test_every_widget_works_on_the_seed_model_kinds(build):
    model = build()
    dashboard = cw.explore(model, random_image(int(model.inputs[0].shape[1]) if model.inputs else 48))
    inspector = dashboard.inspector
    for tab in range(4):
        dashboard.show(tab)
        assert dashboard.wait(120)
        widget = dashboard.widgets[tab]
        assert not widget.errors.message, (tab, widget.errors.message)
        assert len(dashboard.png) > 200
    cam = dashboard.cams
    expected = cw.grad_cam(model, inspector.batch, layer=cam.layer)[0]
    np.testing.assert_allclose(cam.heatmap, expected, atol=1e-5)
    if build is nested_transfer_model:
        assert "/" in cam.layer                 # a layer inside the nested base network
    dashboard.close()


@pytest.mark.slow
def test_vgg16_layer_browser_and_cam_without_weights(samples):
    import keras

    inspector = cw.ModelInspector(keras.applications.VGG16(weights=None), preprocess="vgg16")
    inspector.set_image(samples[3]["image"])
    browser = cw.LayerBrowser(inspector, layer="block1_conv1")
    grid = decode_png(browser.grid_png)
    assert grid.shape[1] >= 16 * 64                # 64 thumbnails of 64 px per row of 16
    cam = cw.CamOverlay(inspector)
    assert cam.wait(300) and cam.layer == "block5_conv3"
    assert cam.heatmap.shape == (224, 224)
    assert inspector.forward_passes == 1
