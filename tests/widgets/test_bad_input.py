"""Inputs that used to get through: decompression bombs, complex arrays, NaN outputs, double close."""

from __future__ import annotations

import gc
import struct
import warnings
import zlib

import keras
import numpy as np
import pytest
from PIL import Image

import cnnviz_widgets as cw
from cnnviz_widgets.inspector import images
from cnnviz_widgets.widgets._base import held_widgets
from tests.conftest import random_image, tiny_functional


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR claiming ``width`` x ``height`` RGB, with a tiny IDAT:
    a few hundred bytes that would decode to width * height * 3 bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


@pytest.mark.parametrize("side", [30_000, 12_000], ids=["900Mpx_over_pillow_limit", "144Mpx_over_ours"])
def test_decompression_bombs_are_refused_with_our_error(inspector, tmp_path, side):
    bomb = png_header_only(side, side)
    assert len(bomb) < 200
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb)
    for source in (path, bomb):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no DecompressionBombWarning either
            with pytest.raises(cw.ImageReadError, match=r"over the limit of 100,000,000"):
                inspector.set_image(source)


def test_the_pixel_limit_is_configurable(inspector):
    image = Image.fromarray(random_image(40))           # 1,600 pixels
    try:
        cw.set_max_image_pixels(1_000)
        with pytest.raises(cw.ImageReadError, match=r"40x40 = 1,600 pixels, over the limit of 1,000"):
            inspector.set_image(image)
        cw.set_max_image_pixels(2_000)
        inspector.set_image(image)
        assert inspector.image.shape[:2] == inspector.input_size
        with pytest.raises(cw.ImageReadError, match="positive int or None; got 0"):
            cw.set_max_image_pixels(0)
    finally:
        cw.set_max_image_pixels(100_000_000)
    assert images.MAX_IMAGE_PIXELS == 100_000_000


def test_complex_arrays_are_refused(inspector):
    before = inspector.image.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(cw.ImageReadError, match="real numbers .* got dtype complex128"):
            inspector.set_image(np.ones((8, 8, 3), np.complex128))
    np.testing.assert_array_equal(inspector.image, before)


def nan_model() -> keras.Model:
    model = tiny_functional(size=32, classes=3)
    head = model.get_layer("head")
    kernel, bias = head.get_weights()
    head.set_weights([np.full_like(kernel, np.nan), bias])
    return model


def test_nan_outputs_warn_and_every_widget_says_so():
    inspector = cw.ModelInspector(nan_model())
    inspector.set_image(random_image(32))
    with pytest.warns(RuntimeWarning, match="NaN or infinite"):
        _ = inspector.probabilities
    assert "NaN or infinite" in inspector.output_problem
    with pytest.raises(cw.NonFiniteOutputError, match="NaN weights, or an overflow"):
        inspector.check_output()
    for widget in (cw.LayerBrowser(inspector), cw.FilterGallery(inspector), cw.CamOverlay(inspector),
                   cw.OcclusionSweeper(inspector)):
        widget.wait(30)
        assert "NaN or infinite" in widget.errors.message, type(widget).__name__
        assert widget.errors.layout.display is None          # visible
    # a finite image on a sound model clears it
    sound = cw.ModelInspector(tiny_functional(size=32, classes=3))
    sound.set_image(random_image(32))
    assert sound.output_problem is None


def test_close_can_be_called_twice_and_at_garbage_collection(inspector):
    dashboard = cw.Dashboard(inspector)
    picker, classes = dashboard.picker, dashboard.classes
    dashboard.close()
    for widget in (dashboard, picker, classes, *dashboard.widgets):
        widget.close()                                       # a second close is harmless
    standalone = [cw.ImagePicker(inspector), cw.ClassPicker(inspector)]
    for widget in standalone:
        widget.close()
        widget.close()
    parts = [part for widget in (dashboard, *standalone) for part in held_widgets(widget)]
    assert [p for p in parts if p.comm is not None] == []       # every part is closed, none twice-failed
    drawn = dashboard.layers.png
    inspector.set_image(random_image(96, seed=2))                # closed widgets no longer follow
    assert dashboard.layers.png == drawn and dashboard.layers.errors.message == ""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        del dashboard, picker, classes, standalone, widget, parts
        gc.collect()
