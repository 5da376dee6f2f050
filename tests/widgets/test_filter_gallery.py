"""FilterGallery: kernels tile by tile, patterns a page at a time and cached, atlases on disk."""

from __future__ import annotations

import importlib
import time

import numpy as np
import pytest
import traitlets

import cnnviz_widgets as cw
from cnnviz_widgets.render import decode_png
from cnnviz_widgets.widgets import FilterGallery, filter_gallery

patterns_module = importlib.import_module("cnnviz_widgets.methods.patterns")


def test_weights_of_the_rgb_layer_are_the_kernels(inspector):
    gallery = FilterGallery(inspector)
    assert gallery.layer == "stem_conv" and gallery.n_filters == 16 and gallery.n_pages == 1
    atlas = gallery.atlas()
    kernels = cw.filter_weights_rgb(inspector, "stem_conv")     # (16, 5, 5, 3)
    factor = 64 // 5
    first = atlas[5:5 + 5 * factor:factor, 5:5 + 5 * factor:factor]
    np.testing.assert_array_equal(first, (kernels[0] * 255 + 0.5).astype(np.uint8))
    assert atlas.shape == (2 * (60 + 5) + 5, 8 * (60 + 5) + 5, 3)   # 5x5 kernels enlarged 12x
    assert atlas[:5].max() == 0                                       # black 5 px margins, as the atlas tutorial
    assert gallery.input_channel_slider.layout.display == "none"   # RGB layers need no input channel


def test_pages_and_input_channels_of_a_deeper_layer(inspector):
    gallery = FilterGallery(inspector, layer="block2_conv1")      # 3x3x32x64
    assert gallery.n_pages == 4
    shown = {gallery.png}
    gallery.page = 3
    assert gallery.page_filters() == list(range(48, 64))
    shown.add(gallery.png)
    gallery.input_channel = 5
    shown.add(gallery.png)
    assert len(shown) == 3 and "kernels of input channel 5" in gallery.caption.value
    with pytest.raises(traitlets.TraitError, match=r"page must be in 0\.\.3"):
        gallery.page = 4
    with pytest.raises(traitlets.TraitError, match="not a 2-D convolution"):
        gallery.layer = "block2_pool"


def test_patterns_are_computed_once_per_page_and_paging_back_is_free(inspector, count_calls, tmp_path):
    counter = count_calls(filter_gallery, "filter_patterns")
    gallery = FilterGallery(inspector, layer="block1_conv1", page_size=4)
    gallery.steps = 4
    gallery.mode = "patterns"
    assert gallery.wait(120) and not gallery.errors.message
    first = gallery.png
    direct = cw.filter_patterns(inspector, "block1_conv1", [0, 1, 2, 3], steps=4)
    np.testing.assert_array_equal(gallery.pattern_tiles([0, 1, 2, 3]), direct)
    gallery.page = 1
    gallery.wait(120)
    assert counter.calls == 2 and gallery.png != first
    gallery.page = 0
    assert gallery.png == first and counter.calls == 2 and not gallery.busy   # from cache
    path = gallery.export_atlas(tmp_path / "atlas.png")
    atlas = decode_png(path.read_bytes())
    side = direct.shape[1]
    assert atlas.shape == (side + 10, 4 * (side + 5) + 5, 3) and counter.calls == 2
    with pytest.raises(traitlets.TraitError, match="ending in .png"):
        gallery.export_atlas(tmp_path / "atlas.jpg")


def test_long_work_shows_progress_and_the_cancel_button_stops_it(inspector):
    gallery = FilterGallery(inspector, layer="block2_conv2", page_size=16)
    gallery.steps = 2000
    gallery.mode = "patterns"
    deadline = time.monotonic() + 60
    while gallery.progress.bar.value < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gallery.progress.layout.display is None                     # visible while it runs
    assert gallery.progress.label.value.startswith("16 patterns") and "%" in gallery.progress.label.value
    gallery.progress.cancel_button.click()
    assert gallery.wait(30)
    assert gallery.progress.layout.display == "none"
    # the last live frame stays, and says how far it got; nothing was kept as if finished
    assert gallery.frames_shown >= 1 and "patterns forming: step" in gallery.caption.value
    step = int(gallery.caption.value.split("step ")[1].split("/")[0])
    assert 0 <= step < 2000 and "/2000" in gallery.caption.value
    last = gallery.png
    time.sleep(0.5)
    assert gallery.png == last and decode_png(last).std() > 0
    assert gallery._missing_patterns(gallery.page_filters()) == gallery.page_filters()


def test_patterns_are_drawn_while_they_form(inspector, monkeypatch):
    monkeypatch.setattr(patterns_module, "FRAME_SECONDS", 0.0)     # a frame after every step
    gallery = FilterGallery(inspector, layer="block1_conv1", page_size=4, steps=5)
    shown = []
    gallery.gallery_view.observe(lambda change: shown.append(change["new"]), "value")
    gallery.mode = "patterns"
    assert gallery.wait(120) and not gallery.errors.message
    assert gallery.frames_shown == 6                                  # the start, then each of 5 steps
    assert shown[0] != gallery.png and gallery.png == shown[-1]       # from noise to the final page
    assert "patterns forming" not in gallery.caption.value and "robust patterns" in gallery.caption.value
    np.testing.assert_array_equal(gallery.pattern_tiles([0, 1, 2, 3]),
                                  cw.filter_patterns(inspector, "block1_conv1", range(4), steps=5))


def test_pattern_size_reaches_the_patterns_and_refused_sizes_do_not_stick(inspector):
    gallery = FilterGallery(inspector, layer="block1_conv1", page_size=2, steps=2, pattern_size=40)
    gallery.mode = "patterns"
    assert gallery.wait(120) and not gallery.errors.message
    assert gallery.pattern_tiles([0, 1]).shape == (2, 40, 40, 3)
    for refused in (4, 513, "40"):
        with pytest.raises(traitlets.TraitError):
            gallery.pattern_size = refused
        assert gallery.pattern_size == 40
    gallery.pattern_size = None
    assert gallery.wait(120) and gallery.pattern_tiles([0]).shape == (1, 96, 96, 3)
