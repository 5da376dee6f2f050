"""Static export of what a widget shows: save_png() and the Save PNG button."""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest

import cnnviz_widgets as cw
from cnnviz_widgets.render import decode_png
from cnnviz_widgets.widgets._base import fit_side


def test_save_png_writes_exactly_the_picture_shown(inspector, tmp_path):
    cam = cw.CamOverlay(inspector)
    cam.wait()
    path = cam.save_png(tmp_path / "cam.png")
    assert path == tmp_path / "cam.png"
    saved = decode_png(path.read_bytes())
    assert path.read_bytes() == cam.saved_png
    # the view as shown, for a slide: the overlay at 512 px, its colour bar on the right, a caption below
    overlay = cw.render.overlay(inspector.image, cam.heatmap, cam.alpha, cam.colormap)
    np.testing.assert_array_equal(saved[:512, :512], fit_side(overlay, 512))
    assert saved.shape[1] > 512 + 40 and saved.shape[0] > 512 + 40
    assert (saved[515:, :400] < 80).any()                # dark caption text under the map
    assert (saved[:512, 520:] != 255).any()              # the colour bar
    browser = cw.LayerBrowser(inspector, layer="block1_conv1", channel=3)   # traits given at construction
    assert browser.channel == browser.channel_slider.value == 3
    saved = browser.save_png(tmp_path / "b.png").read_bytes()
    np.testing.assert_array_equal(decode_png(saved), decode_png(browser.png))


def test_default_names_never_overwrite(inspector, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sweeper = cw.OcclusionSweeper(inspector, patch=24, stride=12)
    sweeper.wait()
    first, second = sweeper.save_png(), sweeper.save_png()
    assert (first.name, second.name) == ("cnnviz_occlusion_sweeper_001.png", "cnnviz_occlusion_sweeper_002.png")
    assert first.read_bytes() == second.read_bytes() == sweeper.saved_png


def test_bad_paths_and_empty_widgets_are_refused_with_a_reason(inspector, tmp_path, shapes_model):
    browser = cw.LayerBrowser(inspector)
    with pytest.raises(cw.ArgumentError, match=r"ending in \.png, not 'maps\.jpg'"):
        browser.save_png(tmp_path / "maps.jpg")
    with pytest.raises(cw.ArgumentError, match="the folder .* does not exist"):
        browser.save_png(tmp_path / "missing" / "maps.png")
    empty = cw.LayerBrowser(cw.ModelInspector(shapes_model))  # no image yet
    with pytest.raises(cw.ArgumentError, match="Nothing to save yet"):
        empty.save_png(tmp_path / "empty.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_button_saves_and_offers_a_download_link(inspector, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    gallery = cw.FilterGallery(inspector, layer="stem_conv")
    gallery.save_area.button.click()
    assert (tmp_path / "cnnviz_filter_gallery_001.png").read_bytes() == gallery.png
    link = re.search(r'download="cnnviz_filter_gallery_001.png" href="data:image/png;base64,([^"]+)"',
                     gallery.save_area.link.value)
    assert link and base64.b64decode(link.group(1)) == gallery.png
    assert not gallery.errors.message


def test_button_failure_shows_in_the_widget(shapes_model, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    empty = cw.CamOverlay(cw.ModelInspector(shapes_model))
    empty.save_area.button.click()
    assert "Nothing to save yet" in empty.errors.message
    assert empty.save_area.link.value == "" and list(tmp_path.iterdir()) == []


def test_dashboard_saves_the_open_tab(inspector, tmp_path):
    dashboard = cw.Dashboard(inspector)
    dashboard.show("Class heatmaps")
    dashboard.wait()
    path = dashboard.save_png(tmp_path / "tab.png")
    assert path.read_bytes() == dashboard.cams.saved_png != dashboard.layers.saved_png
