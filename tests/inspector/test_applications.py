"""Every constructor in ``keras.applications``, found by enumeration (weights=None), on a real photo.

A new architecture in a later Keras is picked up here by itself and fails loudly when the
automatic preprocessing or the CAM layer does not fit it.
"""

from __future__ import annotations

import inspect

import keras
import numpy as np
import pytest
import skimage.data

import cnnviz_widgets as cw
from cnnviz_widgets.render import decode_png

# every keras.applications architecture: passes under JAX too (checked 2026-12-05), 2.5 min there;
# tests/inspector/test_model_kinds.py runs the model kinds under JAX
pytestmark = pytest.mark.default_backend

SIZE = 128
"""Input side the architectures are built at: at least every one's minimum, and large enough
that each keeps a final feature map larger than 1x1."""

FAST = {"MobileNetV2", "MobileNetV3Small", "ResNet50V2", "VGG16", "NASNetMobile", "EfficientNetB0"}
"""Architectures cheap enough for the quick run; every other one is marked slow (all run in CI)."""


def application_constructors() -> dict[str, object]:
    """Every model constructor that ``keras.applications`` exports, by name."""
    found = {}
    for name in dir(keras.applications):
        value = getattr(keras.applications, name)
        if name[0].isupper() and inspect.isfunction(value) and "weights" in inspect.signature(value).parameters:
            found[name] = value
    return found


def own_preprocess_input(constructor) -> object:
    """The ``preprocess_input`` of the module that defines ``constructor`` (keras.applications.<module>)."""
    module = getattr(keras.applications, constructor.__module__.rsplit(".", 1)[-1])
    return module.preprocess_input


CONSTRUCTORS = application_constructors()


def test_the_enumeration_finds_the_known_families():
    # a sanity check on the discovery itself, not a list of what is tested
    assert len(CONSTRUCTORS) >= 30
    assert {"VGG16", "ResNet50V2", "MobileNetV2", "NASNetMobile"} <= set(CONSTRUCTORS)
    assert FAST <= set(CONSTRUCTORS)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return skimage.data.chelsea()          # a real photograph shipped by scikit-image (a cat)


def _not_flat(png: bytes) -> bool:
    pixels = decode_png(png).astype(np.float32)
    return pixels.shape[0] >= 64 and pixels.std() > 2.0


@pytest.mark.parametrize("name", [pytest.param(n, marks=() if n in FAST else pytest.mark.slow)
                                  for n in CONSTRUCTORS])
def test_every_keras_application(name, photo):
    constructor = CONSTRUCTORS[name]
    keras.utils.set_random_seed(0)
    model = constructor(weights=None, input_shape=(SIZE, SIZE, 3), classes=10)
    inspector = cw.ModelInspector(model)
    inspector.set_image(photo)

    # auto preprocessing == the architecture's own preprocess_input, on the same pixels
    pixels = inspector.image.astype(np.float32)[None]
    expected = np.asarray(own_preprocess_input(constructor)(pixels.copy()), np.float32)
    np.testing.assert_allclose(inspector.batch, expected, atol=1e-4, rtol=1e-5,
                               err_msg=f"{name}: auto chose {inspector.preprocessing!r}")

    # the CAM layer is a spatial feature map larger than 1x1
    layer, reason = cw.default_cam_layer(inspector)
    h, w, _ = inspector.layer(layer).output_shape
    assert h * w > 1, (layer, reason)

    heat = cw.grad_cam(inspector, inspector.batch, layer=layer)[0]
    assert heat.shape == (SIZE, SIZE) and np.isfinite(heat).all() and heat.max() == pytest.approx(1.0)

    views = [cw.LayerBrowser(inspector), cw.FilterGallery(inspector), cw.CamOverlay(inspector)]
    if name in FAST:
        # the sweep only batches the traced forward pass that the other views run already; on the
        # large architectures it took 8-14 s each and set the test run's peak memory
        views.append(cw.OcclusionSweeper(inspector, patch=32, stride=32))
    for view in views:
        assert view.wait(600), type(view).__name__
        assert not view.errors.message, (type(view).__name__, view.errors.message)
        assert _not_flat(view.png), type(view).__name__
        view.close()
    assert views[2].layer == layer
