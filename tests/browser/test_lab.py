"""The tour in JupyterLab, in headless Chromium: every widget renders, and reacts as a student drives it.

One JupyterLab server and one page for the module: the tour runs once (run all), then each test
drives one control from whatever state the page is in and checks the picture it changes. Every
step saves a screenshot to ``artifacts/browser/lab_*.png``; times are printed, never asserted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import cnnviz_widgets as cw
from tests.browser.harness import (
    CAMS,
    DASHBOARD,
    LAB_RUN_DONE_JS,
    MIN_STD,
    TABS,
    BrowserSession,
    NotebookServer,
    run_all_in_lab,
)

pytestmark = pytest.mark.browser

SAMPLES = Path(cw.__file__).parent / "embedded" / "samples"


@pytest.fixture(scope="module")
def lab(browser_page, artifacts) -> Iterator[BrowserSession]:
    """The tour opened in JupyterLab with every cell run and the first pictures drawn."""
    with NotebookServer("lab") as server:
        page = browser_page
        session = BrowserSession(server, page, artifacts)
        expect = session.expect
        with expect("JupyterLab to open the tour and start its kernel"):
            started = run_all_in_lab(page, server)
        session.wait_for_first_pictures("after run-all")
        session.timings["run all -> last image (s)"] = time.monotonic() - started
        with expect("every cell to finish and the kernel to be idle"):
            page.wait_for_function(LAB_RUN_DONE_JS, timeout=240_000, polling=250)
        session.timings["run all -> kernel idle (s)"] = time.monotonic() - started
        # the left sidebar off: wider widgets and screenshots
        page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
        yield session


def test_tour_renders_every_widget_with_pictures_and_charts(lab):
    lab.check_every_widget_renders()
    text = lab.page.locator(".jp-Notebook").inner_text()
    assert "ModelInspector 'cnnviz_shapes'" in text        # the inspector's repr printed by its cell
    assert "block3_conv2" in text                           # the layer table cell
    lab.assert_no_errors()
    lab.screenshot("05_cam_comparison", CAMS)


def test_channel_slider_moves_with_the_keyboard(lab):
    lab.press_channel_keys(5)
    lab.assert_no_errors()
    lab.screenshot("06_channel_slider")


def test_picking_another_layer_redraws_the_maps(lab):
    page = lab.page
    lab.open_tab("Feature maps")
    select = page.locator(f"{DASHBOARD} .cnnviz-layer-select select").first
    labels = select.locator("option").all_inner_texts()   # "block3_conv2  12x12x96"...
    current = select.locator("option:checked").inner_text()
    target = next(label for label in labels if label.startswith("block3_conv2" if "block3_conv2" not in current
                                                                 else "stem_conv"))
    grid_before = lab.stats(f"{DASHBOARD} img.cnnviz-grid")
    before, after, seconds = lab.change_and_wait(f"{DASHBOARD} img.cnnviz-channel",
                                                 lambda: select.select_option(label=target),
                                                 f"the channel image of layer {target}")
    lab.timings["layer pick -> new image (s)"] = seconds
    assert after["digest"] != before["digest"]
    grid_after = lab.wait_for_change(f"{DASHBOARD} img.cnnviz-grid", grid_before, f"the grid of layer {target}")
    assert grid_after["digest"] != grid_before["digest"]
    assert target.split()[0] in page.locator(f"{DASHBOARD} .cnnviz-stats").first.inner_text()
    lab.assert_no_errors()
    lab.screenshot("07_layer_picked")


def test_picking_another_class_in_cam_overlay_changes_the_overlay(lab):
    page = lab.page
    widget = CAMS
    select = page.locator(f"{widget} .cnnviz-class-select select").first
    options = select.locator("option").all_inner_texts()
    assert len(options) == 6, options  # "top prediction" and the top 5
    current = select.locator("option:checked").inner_text()
    target = options[2] if current != options[2] else options[3]   # the second-ranked class, or the third
    compare_before = lab.stats(f"{widget} img.cnnviz-compare")
    before, after, seconds = lab.change_and_wait(f"{widget} img.cnnviz-cam",
                                                 lambda: select.select_option(label=target),
                                                 f"the CamOverlay after picking class {target!r}")
    lab.timings["class pick -> new overlay (s)"] = seconds
    assert after["digest"] != before["digest"], "the overlay did not change with the class"
    class_name = target.split()[0]
    caption = page.locator(f"{widget} .cnnviz-class-picker").first.inner_text()
    assert f"explaining {class_name}" in caption, caption
    assert f"for {class_name}" in page.locator(f"{widget} .cnnviz-caption").first.inner_text()
    compare_after = lab.wait_for_change(f"{widget} img.cnnviz-compare", compare_before,
                                        "the comparison grid for the new class", timeout_s=180)
    assert compare_after["digest"] != compare_before["digest"]
    lab.assert_no_errors()
    lab.screenshot("08_class_picked", widget)


def test_clicking_a_bar_of_the_top_k_chart_explains_that_class(lab):
    page = lab.page
    lab.open_tab("Class heatmaps")
    image = f"{DASHBOARD} img.cnnviz-cam"
    # each class has a full-height track bar behind its probability bar; the tracks come first
    tracks = page.locator(f"{DASHBOARD} .cnnviz-topk rect.bar")
    select = page.locator(f"{DASHBOARD} .cnnviz-class-select select").first
    ranked = select.locator("option").all_inner_texts()[1:]   # after "top prediction": the top 5
    chosen = select.locator("option:checked").inner_text()
    rank = 1 if chosen != ranked[1] else 2                     # a class other than the one shown
    before, after, seconds = lab.change_and_wait(image, lambda: tracks.nth(rank).click(),
                                                 f"the class heatmap after clicking the bar of {ranked[rank]!r}")
    lab.timings["bar click -> new heatmap (s)"] = seconds
    assert after["digest"] != before["digest"]
    assert select.locator("option:checked").inner_text() == ranked[rank]
    caption = page.locator(f"{DASHBOARD} .cnnviz-class-picker").first.inner_text()
    assert f"explaining {ranked[rank].split()[0]}" in caption, caption
    lab.assert_no_errors()
    lab.screenshot("09_bar_clicked")


TICK_ORDER_JS = """(selector) => Array.from(document.querySelectorAll(selector + ' .tick'))
  .filter(t => t.getBoundingClientRect().height > 0 && t.textContent.trim() && isNaN(parseFloat(t.textContent)))
  .map(t => [t.getBoundingClientRect().x, t.textContent.trim()]).sort((a, b) => a[0] - b[0]).map(t => t[1])"""
"""The class names under the top-k chart's bars, left to right as drawn."""


def test_opening_another_image_by_path_reorders_the_top_k_chart(lab):
    page = lab.page
    lab.open_tab("Feature maps")
    chart = f"{DASHBOARD} .cnnviz-topk"
    before = page.evaluate(TICK_ORDER_JS, chart)
    sample = next(s for s in cw.sample_images() if s["label"] != before[0])
    inspector = cw.ModelInspector()
    inspector.set_image(sample["image"])
    expected = [p.name for p in inspector.top_k(5)]
    assert expected[0] != before[0]
    path = SAMPLES / f"{sample['name']}.png"
    page.locator(f"{DASHBOARD} .cnnviz-path-box input").first.fill(str(path))
    lab.change_and_wait(f"{DASHBOARD} img.cnnviz-channel",
                        lambda: page.locator(f"{DASHBOARD} .cnnviz-open").first.click(),
                        f"the feature maps of {path.name}, opened by path")
    with lab.expect(f"the top-k chart to put {expected[0]!r} first"):
        page.wait_for_function(f"(s) => ({TICK_ORDER_JS})(s)[0] === {expected[0]!r}", arg=chart, timeout=30_000)
    assert page.evaluate(TICK_ORDER_JS, chart) == expected      # the new image's order, not the old one's
    lab.assert_no_errors()
    lab.screenshot("12_opened_by_path", chart)


def test_a_class_name_typed_in_the_box_is_taken_or_refused_with_a_reason(lab):
    page = lab.page
    lab.open_tab("Class heatmaps")
    box = page.locator(f"{DASHBOARD} .cnnviz-class-name input").first
    box.fill("squar")
    box.press("Enter")
    message = page.locator(f"{DASHBOARD} .cnnviz-class-picker").first
    with lab.expect("the typed 'squar' to be taken as 'square'"):
        page.wait_for_function("(s) => document.querySelector(s).innerText.includes(\"took 'square'\")",
                               arg=f"{DASHBOARD} .cnnviz-class-picker", timeout=30_000)
    assert "explaining square" in message.inner_text()
    box.fill("dog")
    box.press("Enter")
    with lab.expect("a message that no class is called 'dog'"):
        page.wait_for_function("(s) => document.querySelector(s).innerText.includes(\"no class is called 'dog'\")",
                               arg=f"{DASHBOARD} .cnnviz-class-picker", timeout=30_000)
    assert "explaining square" in message.inner_text()             # the class stayed
    lab.assert_no_errors()
    lab.screenshot("13_class_typed", f"{DASHBOARD} .cnnviz-class-picker")


def test_occlusion_patch_size_follows_the_slider(lab):
    page = lab.page
    lab.open_tab("Occlusion")
    handle = page.locator(f"{DASHBOARD} .cnnviz-patch-slider .noUi-handle").first
    readout = page.locator(f"{DASHBOARD} .cnnviz-patch-slider .widget-readout").first
    patch = int(readout.inner_text())
    handle.focus()
    before, after, seconds = lab.change_and_wait(
        f"{DASHBOARD} img.cnnviz-occlusion", lambda: [page.keyboard.press("ArrowRight") for _ in range(4)],
        "the occlusion map for a larger patch")
    lab.timings["patch change -> new occlusion map (s)"] = seconds
    assert int(readout.inner_text()) == patch + 4
    assert after["digest"] != before["digest"] and after["std"] > MIN_STD, (before, after)
    lab.assert_no_errors()
    lab.screenshot("10_patch_changed")


def colour_bar_colormap(picture: np.ndarray) -> str | None:
    """The colormap whose ramp (top of the scale at the top) runs down a column in the right half
    of ``picture``, as :func:`cnnviz_widgets.render.colorbar` draws it; None when no column has one."""
    from cnnviz_widgets.render import COLORMAPS, colorize

    height = picture.shape[0]
    pad = 11 // 2 + 1                                    # the views' bars use font size 11
    strip = height - 2 * pad
    rows = np.array([pad + 2, height // 2, height - pad - 3])
    values = (1.0 - (rows - pad) / (strip - 1)).astype(np.float32)
    columns = picture[rows, picture.shape[1] // 2:].astype(int)          # (3, W/2, 3)
    for name in COLORMAPS:
        expected = colorize(values, name).astype(int)                    # (3, 3)
        if (np.abs(columns - expected[:, None]).sum(-1) <= 12).all(axis=0).any():
            return name
    return None


def test_every_map_view_shows_its_colour_bar_at_its_own_pixel_size(lab):
    for title in ("Feature maps", "Class heatmaps", "Occlusion"):
        lab.open_tab(title)
        selector = f"{DASHBOARD} {TABS[title]}"
        picture, shown_width = lab.pixels(selector)
        assert abs(shown_width - picture.shape[1]) <= 1, (title, shown_width, picture.shape)  # not rescaled
        assert colour_bar_colormap(picture) is not None, f"no colour bar in the {title!r} view"
        assert colour_bar_colormap(picture[:, : picture.shape[1] // 2 + 8]) is None   # the map itself is no bar
        lab.screenshot(f"bar_{title.split()[0].lower()}", selector)
    lab.assert_no_errors()
