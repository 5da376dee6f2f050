"""The tour in JupyterLab, in headless Chromium: every widget renders, and reacts as a student drives it.

One JupyterLab server and one page for the module: the tour runs once (run all), then each test
drives one control from whatever state the page is in and checks the picture it changes. Every
step saves a screenshot to ``artifacts/browser/lab_*.png``; times are printed, never asserted.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator

import pytest

from tests.browser.harness import (
    BAR_HEIGHTS_JS,
    CAMS,
    DASHBOARD,
    IMAGE_STATS_JS,
    LAB_RUN_DONE_JS,
    MIN_STD,
    TABS,
    Expect,
    NotebookServer,
    TourSession,
    run_all_in_lab,
    wait_for_drawn_images,
    wait_for_new_src,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def lab(browser_page, artifacts) -> Iterator[TourSession]:
    """The tour opened in JupyterLab with every cell run and the first pictures drawn."""
    with NotebookServer("lab") as server:
        page = browser_page
        expect = Expect(server, page)
        session = TourSession(server, page, expect, artifacts)
        with expect("JupyterLab to open the tour and start its kernel"):
            started = run_all_in_lab(page, server)
        # the dashboard's first tab, the comparison's overlay and grid, the standalone LayerBrowser
        for selector, count in (("img.cnnviz-channel", 2), ("img.cnnviz-cam", 1), ("img.cnnviz-compare", 1)):
            with expect(f"{count} drawn {selector} after run-all"):
                wait_for_drawn_images(page, selector, count, timeout_ms=240_000)
        session.timings["run all -> last image (s)"] = time.monotonic() - started
        with expect("every cell to finish and the kernel to be idle"):
            page.wait_for_function(LAB_RUN_DONE_JS, timeout=240_000, polling=250)
        session.timings["run all -> kernel idle (s)"] = time.monotonic() - started
        # the left sidebar off: wider widgets and screenshots
        page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
        yield session


def test_tour_renders_every_widget_with_pictures_and_charts(lab):
    page = lab.page
    for i, title in enumerate(TABS):
        shown = lab.open_tab(title)
        assert shown["std"] > MIN_STD, (title, shown)
        page.wait_for_timeout(300)  # bqplot's bar transitions (300 ms) end before the screenshot
        lab.screenshot(f"{i + 1:02d}_{title.lower().replace(' ', '_')}")
    lab.open_tab("Feature maps")

    pictures = page.evaluate(IMAGE_STATS_JS, "img.cnnviz-map")
    # the dashboard's four tabs, the comparison's CamOverlay and the standalone LayerBrowser
    assert len(pictures) == 6, [p["classes"] for p in pictures]
    for picture in pictures:
        assert picture["src"].startswith("blob:"), picture
        assert picture["width"] >= 128 and picture["height"] >= 128, picture
        assert picture["std"] > MIN_STD and 10 < picture["mean"] < 245, picture
    assert len({p["digest"] for p in pictures}) >= 5, "several widgets show the same picture"

    compare = lab.stats(f"{CAMS} img.cnnviz-compare")
    assert compare["width"] >= 4 * 96 and compare["std"] > MIN_STD, compare  # 4 tiles of 96 px, labelled

    # bqplot: the header's top-5 chart and the LayerBrowsers' sparsity charts drew their bars
    top_bars = [h for h in page.evaluate(BAR_HEIGHTS_JS, f"{DASHBOARD} .cnnviz-topk") if h > 0]
    assert len(top_bars) >= 5, top_bars
    assert max(top_bars) > 50, top_bars                        # the top class fills most of the axis
    sparsity = [h for h in page.evaluate(BAR_HEIGHTS_JS, f"{DASHBOARD} .cnnviz-sparsity") if h > 0]
    assert len(sparsity) >= 8, sparsity                        # two bars for each of the conv layers
    assert page.locator(f"{DASHBOARD} .cnnviz-topk .axis text", has_text="circle").count() >= 1

    text = page.locator(".jp-Notebook").inner_text()
    assert "ModelInspector 'cnnviz_shapes'" in text        # the inspector's repr printed by its cell
    assert "block3_conv2" in text                           # the layer table cell
    lab.assert_no_errors()
    lab.screenshot("05_cam_comparison", CAMS)


def test_channel_slider_moves_with_the_keyboard(lab):
    page = lab.page
    lab.open_tab("Feature maps")
    image = f"{DASHBOARD} img.cnnviz-channel"
    handle = page.locator(f"{DASHBOARD} .cnnviz-channel-slider .noUi-handle").first
    readout = page.locator(f"{DASHBOARD} .cnnviz-channel-slider .widget-readout").first
    handle.focus()
    latencies = []
    for _ in range(5):
        channel = int(readout.inner_text())
        before, after, seconds = lab.change_and_wait(image, lambda: page.keyboard.press("ArrowRight"),
                                                     "the channel image after an ArrowRight key press")
        latencies.append(seconds)
        assert int(readout.inner_text()) == channel + 1
        assert after["digest"] != before["digest"], "the picture did not change with the channel"
        assert after["std"] > MIN_STD, after
    lab.timings["slider key -> new image, median (s)"] = statistics.median(latencies)
    lab.timings["slider key -> new image, max (s)"] = max(latencies)
    caption = page.locator(f"{DASHBOARD} .cnnviz-stats").first.inner_text()
    assert f"channel {channel + 1}" in caption, caption
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
    with lab.expect(f"the grid of layer {target}"):
        wait_for_new_src(page, f"{DASHBOARD} img.cnnviz-grid", grid_before["src"])
    assert lab.stats(f"{DASHBOARD} img.cnnviz-grid")["digest"] != grid_before["digest"]
    assert target.split()[0] in page.locator(f"{DASHBOARD} .cnnviz-stats").first.inner_text()
    lab.assert_no_errors()
    lab.screenshot("07_layer_picked")


def test_picking_another_class_in_cam_overlay_changes_the_overlay(lab):
    page = lab.page
    widget = CAMS
    select = page.locator(f"{widget} .cnnviz-class-select select").first
    options = select.locator("option").all_inner_texts()
    assert len(options) == 6, options  # "top prediction" and the top 5
    current = select.input_value()
    values = [o.get_attribute("value") for o in select.locator("option").all()]
    # ipywidgets' Dropdown uses option labels as values; choose the second-ranked class
    target = options[2] if current != options[2] else options[3]
    compare_before = lab.stats(f"{widget} img.cnnviz-compare")
    before, after, seconds = lab.change_and_wait(f"{widget} img.cnnviz-cam",
                                                 lambda: select.select_option(label=target),
                                                 f"the CamOverlay after picking class {target!r}")
    lab.timings["class pick -> new overlay (s)"] = seconds
    assert after["digest"] != before["digest"], "the overlay did not change with the class"
    class_name = target.split()[0]
    caption = page.locator(f"{widget} .cnnviz-class-picker").first.inner_text()
    assert f"explaining {class_name}" in caption, (caption, values)
    with lab.expect("the comparison grid for the new class"):
        wait_for_new_src(page, f"{widget} img.cnnviz-compare", compare_before["src"], timeout_ms=180_000)
    lab.assert_no_errors()
    lab.screenshot("08_class_picked", widget)


def test_clicking_a_bar_of_the_top_k_chart_explains_that_class(lab):
    page = lab.page
    lab.open_tab("Class heatmaps")
    image = f"{DASHBOARD} img.cnnviz-cam"
    bars = page.locator(f"{DASHBOARD} .cnnviz-topk rect.bar")
    labels = page.locator(f"{DASHBOARD} .cnnviz-topk .axis text")
    before, after, seconds = lab.change_and_wait(image, lambda: bars.nth(1).click(),
                                                 "the class heatmap after clicking a bar")
    assert after["digest"] != before["digest"]
    caption = page.locator(f"{DASHBOARD} .cnnviz-class-picker").first.inner_text()
    assert "explaining" in caption and "top prediction" not in page.locator(
        f"{DASHBOARD} .cnnviz-class-select select").first.input_value(), (caption, labels.all_inner_texts())
    lab.assert_no_errors()
    lab.screenshot("09_bar_clicked")


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
