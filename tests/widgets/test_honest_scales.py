"""Honest views: every map on a colour scale with real units, nothing stretched into invented
evidence (issue 24, section 1). The PNGs are decoded and their hot pixels counted."""

from __future__ import annotations

import time

import numpy as np
import pytest

import cnnviz_widgets as cw
from cnnviz_widgets.render import ColorScale, class_scale, colorize, decode_png, floor_scale, with_colorbar
from cnnviz_widgets.widgets.occlusion_sweeper import DROP_FLOOR

HOT = 0.5   # a pixel is hot where the map reaches half its colour scale


def hot_fraction(heat01: np.ndarray) -> float:
    return float((np.asarray(heat01) >= HOT).mean())


def hot_pixels_in_png(png: bytes, colormap: str = "jet") -> float:
    """Fraction of the map area of a view PNG (the map is the left square) coloured like the top
    half of the colormap (red/orange/yellow for jet: red channel high, blue low)."""
    picture = decode_png(png).astype(int)
    side = picture.shape[0] if picture.shape[0] < picture.shape[1] else picture.shape[1]
    area = picture[:side, :side]
    hot_colour = colorize(np.linspace(0.75, 1.0, 8), colormap).astype(int)
    distance = np.abs(area[:, :, None, :] - hot_colour[None, None]).sum(-1).min(-1)
    return float((distance < 60).mean())


def test_zero_drop_occlusion_has_no_hot_pixels_and_says_so(inspector, samples):
    star = next(s for s in samples if s["label"] == "star")
    inspector.set_image(star["image"])
    square = inspector.class_names.index("square")
    sweeper = cw.OcclusionSweeper(inspector, class_index=square, alpha=1.0)
    sweeper.wait()
    assert sweeper.sweep is not None and float(sweeper.sweep.heatmap.max()) < DROP_FLOOR
    assert hot_fraction(sweeper.heatmap) == 0.0
    assert hot_pixels_in_png(sweeper.png) == 0.0
    assert "nothing here is evidence for this class" in sweeper.caption.value
    assert "drop in probability, 0 to 1 pp" in sweeper.caption.value
    sweeper.class_index = None                       # the top class, larger patches: a real drop, hot pixels
    sweeper.patch, sweeper.stride = 32, 16
    sweeper.wait()
    assert float(sweeper.sweep.heatmap.max()) > 0.1 and hot_fraction(sweeper.heatmap) > 0.01
    assert hot_pixels_in_png(sweeper.png) > 0.01
    assert "evidence for this class" not in sweeper.caption.value
    sweeper.close()


def test_a_class_the_model_does_not_see_renders_dim_on_the_top_class_scale(inspector):
    cam = cw.CamOverlay(inspector, alpha=1.0)
    cam.wait()
    top_units, top_heat = cam.units.copy(), cam.heatmap.copy()
    unlikely = int(np.argmin(inspector.probabilities))
    assert inspector.probabilities[unlikely] < 1e-3
    cam.class_index = unlikely
    cam.wait()
    ratio = float(cam.units.max()) / float(top_units.max())
    assert 0 < ratio < 0.5
    # dimmer than the top class's map by the ratio of their raw maxima
    assert float(cam.heatmap.max()) == pytest.approx(ratio, rel=1e-4)
    assert hot_fraction(cam.heatmap) < hot_fraction(top_heat) / 3
    assert hot_pixels_in_png(cam.png) < hot_fraction(top_heat) / 3 + 1e-9
    assert f"{ratio:.2g}x the top" in cam.caption.value
    cam.scale = "own"                                 # the toggle: its own peak, and the caption says so
    cam.wait()
    assert float(cam.heatmap.max()) == pytest.approx(1.0)
    assert "stretched to this map&#x27;s own peak" in cam.caption.value
    with pytest.raises(Exception, match="scale must be one of top_class, own; got 'loud'"):
        cam.scale = "loud"
    assert cam.scale == "own"
    cam.close()


def test_every_map_view_carries_a_colour_bar_with_its_units(inspector):
    cam = cw.CamOverlay(inspector, method="smoothgrad")
    cam.wait()
    picture = decode_png(cam.png)
    assert picture.shape[0] == 256 and picture.shape[1] > 256 + 30    # the map, then its bar
    assert "attribution per pixel" in cam.caption.value
    browser = cw.LayerBrowser(inspector)
    assert decode_png(browser.png).shape[1] > 256 + 30
    cam.close()
    browser.close()


def test_the_heatmap_keeps_one_display_size_across_methods(inspector):
    cam = cw.CamOverlay(inspector)
    sizes = set()
    for method in ("grad_cam", "score_cam", "smoothgrad"):
        cam.method = method
        cam.wait()
        sizes.add(decode_png(cam.png).shape[0])
        assert cam.overlay_view.layout.width == f"{decode_png(cam.png).shape[1]}px"
    assert sizes == {256}
    cam.close()


def box_holding(root, child):
    """The box among ``root``'s descendants whose children include ``child`` (None if none)."""
    for box in [root, *held(root)]:
        if child in getattr(box, "children", ()):
            return box
    return None


def held(root):
    found = []
    for child in getattr(root, "children", ()):
        found += [child, *held(child)]
    return found


def test_randomised_view_sits_beside_the_trained_map_at_its_size_and_scale(inspector):
    cam = cw.CamOverlay(inspector, randomised=True)
    cam.wait()
    found = cam.randomised_heatmap
    assert found is not None and found.shape == cam.units.shape
    trained, randomised = decode_png(cam.overlay_view.value), decode_png(cam.random_view.value)
    assert randomised.shape == trained.shape                          # same size, bar included
    assert cam.random_view.layout.width == f"{randomised.shape[1]}px"
    row = box_holding(cam, box_holding(cam, cam.overlay_view))
    assert cam.random_box in row.children                             # beside the trained map, not below
    scale = cam.color_scale                                           # one scale covers both maps
    assert scale.high == pytest.approx(max(float(cam.units.max()), float(found.max())), rel=1e-6)
    assert "one scale for the trained and the randomised map" in cam.caption.value
    assert "weights randomised" in cam.random_box.children[0].value
    cam.randomised = False
    cam.wait()
    assert cam.random_box.layout.display == "none" and "randomised" not in cam.color_scale.note
    cam.close()


@pytest.mark.parametrize("make", [
    lambda i: cw.OcclusionSweeper(i, patch=2, stride=1),
    lambda i: cw.FilterGallery(i, mode="patterns", steps=3000),
], ids=["occlusion", "patterns"])
def test_slow_work_says_it_is_computing_with_progress_and_cancel_beside_the_picture(inspector, make, monkeypatch):
    from cnnviz_widgets.widgets._base import InspectorWidget

    monkeypatch.setattr(InspectorWidget, "first_result_timeout", 0.0)   # look while it runs
    widget = make(inspector)
    picture = widget.overlay_view if isinstance(widget, cw.OcclusionSweeper) else widget.gallery_view
    assert box_holding(widget, picture) is box_holding(widget, widget.progress)   # not at the bottom
    assert box_holding(widget, widget.progress) is not widget
    deadline = time.monotonic() + 60
    while widget.progress.layout.display == "none" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert widget.busy and widget.progress.layout.display is None
    assert "computing" in widget.caption.value and "Cancel stops" in widget.caption.value
    widget.progress.cancel_button.click()
    assert widget.wait(30) and widget.progress.layout.display == "none"
    widget.close()


def test_saved_png_is_a_slide_picture_with_bar_and_caption(inspector, tmp_path):
    cam = cw.CamOverlay(inspector)
    cam.wait()
    saved = decode_png(cam.save_png(tmp_path / "map.png").read_bytes())
    assert saved.shape[1] >= 512 + 40 and saved.shape[0] > 512 + 30   # 512 px map, bar, caption below
    below = saved[520:, :512]
    assert (below < 100).any()                                        # caption text is drawn
    cam.close()


def test_near_uniform_predictions_are_said_plainly(shapes_model, samples):
    import keras

    untrained = keras.models.clone_model(shapes_model)               # fresh initial weights
    for layer in untrained.layers:
        if layer.weights:
            layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    inspector = cw.ModelInspector(untrained, class_names=cw.SHAPE_CLASS_NAMES)
    inspector.set_image(samples[0]["image"])
    assert inspector.near_uniform
    cam = cw.CamOverlay(inspector)
    cam.wait()
    assert "nearly uniform" in cam.caption.value and "not evidence for a class" in cam.caption.value
    cam.close()


def test_near_blank_channels_are_drawn_blank_and_labelled(inspector, monkeypatch):
    browser = cw.LayerBrowser(inspector)
    maps = inspector.activations(browser.layer).copy()
    maps[..., 1] = maps[..., 1] * 1e-12 + 1e-13 * np.arange(maps[..., 1].size).reshape(maps.shape[:2])
    monkeypatch.setattr(inspector, "activations", lambda name: maps)
    browser.channel = 1
    browser.refresh()
    assert "channel 1 is blank" in browser.stats.value
    picture = decode_png(browser.png)[:, :256]
    assert len(np.unique(picture.reshape(-1, 3), axis=0)) == 1        # one colour: nothing stretched
    browser.close()


def test_the_channel_grid_pages_through_many_channels(inspector):
    browser = cw.LayerBrowser(inspector, images_per_row=4)
    assert browser.n_pages == -(-browser.n_channels // 32)
    first = browser.grid_png
    if browser.n_pages > 1:
        browser.grid_page = 1
        assert browser.grid_png != first
    with pytest.raises(Exception, match="grid_page must be in 0"):
        browser.grid_page = browser.n_pages
    browser.close()


def test_scales_say_what_they_are():
    assert floor_scale(0.0004, 0.01, "drop in probability", factor=100, suffix=" pp").high == 0.01
    assert floor_scale(0.3, 0.01, "drop").high == 0.3
    shared = class_scale(0.01, 0.1, "raw")
    assert shared.high == 0.1 and "0.1x the top" in shared.note
    assert class_scale(0.01, 0.1, "raw", own=True).high == 0.01
    scale = ColorScale(0.0, 0.02, "drop in probability", 100.0, " pp")
    assert scale.label(0.02) == "2 pp" and scale.describe() == "drop in probability, 0 to 2 pp"
    figure = with_colorbar(np.zeros((100, 100, 3), np.uint8), scale, "jet")
    top, bottom = figure[7, 106 + 3], figure[90, 106 + 3]
    assert top[0] > 100 and top[2] < 30              # jet: dark red at the top (high values)...
    assert bottom[2] > 100 and bottom[0] < 30        # ...and dark blue at the bottom
    with pytest.raises(ValueError, match="finite low <= high"):
        ColorScale(1.0, 0.0, "x")


def test_the_sparsity_chart_scrolls_on_a_deep_network():
    import keras

    inputs = keras.Input((16, 16, 3))
    x = inputs
    for i in range(60):
        x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name=f"conv_{i:02d}")(x)
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    inspector = cw.ModelInspector(keras.Model(inputs, outputs), preprocess="none")
    inspector.set_image(np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8))
    browser = cw.LayerBrowser(inspector)
    spatial = len(browser._sparsity_bars.x)
    assert spatial >= 60
    assert browser.sparsity_chart.layout.width == f"{12 * spatial + 60}px"       # 12 px a layer...
    assert browser.sparsity_box.children[1].layout.overflow == "auto hidden"      # ...in a box that scrolls sideways
    assert browser.sparsity_chart.display_toolbar is False and browser.sparsity_chart.title == ""
    browser.close()


def test_unscaled_maps_are_the_scaled_maps_times_their_peak_and_bad_raw_is_refused(inspector):
    scaled = cw.heatmap(inspector, inspector.batch, "grad_cam")
    unscaled = cw.heatmap(inspector, inspector.batch, "grad_cam", raw="unscaled")
    peak = float(unscaled.max())
    assert peak > 0 and unscaled.min() >= 0
    np.testing.assert_allclose(unscaled / peak, scaled, atol=1e-6)
    with pytest.raises(cw.ArgumentError, match="raw must be False, True or 'unscaled'; got 'units'"):
        cw.heatmap(inspector, inspector.batch, "grad_cam", raw="units")
