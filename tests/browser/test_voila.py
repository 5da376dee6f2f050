"""The tour as a Voila app (the README's `voila notebooks/00_tour.ipynb`), in headless Chromium:
the same widgets render with their pictures and charts, and a key press on a slider redraws."""

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
    MIN_STD,
    TABS,
    Expect,
    NotebookServer,
    TourSession,
    wait_for_drawn_images,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def voila(browser_page, artifacts) -> Iterator[TourSession]:
    """The tour served by Voila, opened, with its first pictures drawn."""
    with NotebookServer("voila") as server:
        page = browser_page
        expect = Expect(server, page)
        session = TourSession(server, page, expect, artifacts)
        started = time.monotonic()
        with expect("Voila to run the tour and show its page"):
            page.goto(server.page_url, wait_until="domcontentloaded", timeout=240_000)
        for selector, count in (("img.cnnviz-channel", 2), ("img.cnnviz-cam", 1), ("img.cnnviz-compare", 1)):
            with expect(f"{count} drawn {selector} in the Voila page"):
                wait_for_drawn_images(page, selector, count, timeout_ms=240_000)
        session.timings["open -> last image (s)"] = time.monotonic() - started
        yield session


def test_voila_renders_the_tour_without_code_or_errors(voila):
    page = voila.page
    for i, title in enumerate(TABS):
        shown = voila.open_tab(title)
        assert shown["std"] > MIN_STD, (title, shown)
        voila.screenshot(f"{i + 1:02d}_{title.lower().replace(' ', '_')}")
    voila.open_tab("Feature maps")
    pictures = page.evaluate(IMAGE_STATS_JS, "img.cnnviz-map")
    # the dashboard's four tabs, the comparison's CamOverlay and the standalone LayerBrowser
    assert len(pictures) == 6, [p["classes"] for p in pictures]
    for picture in pictures:
        assert picture["width"] >= 128 and picture["std"] > MIN_STD and 10 < picture["mean"] < 245, picture
    assert len({p["digest"] for p in pictures}) >= 5
    assert voila.stats(f"{CAMS} img.cnnviz-compare")["width"] >= 4 * 96
    top_bars = [h for h in page.evaluate(BAR_HEIGHTS_JS, f"{DASHBOARD} .cnnviz-topk") if h > 0]
    assert len(top_bars) >= 5 and max(top_bars) > 50, top_bars
    assert len([h for h in page.evaluate(BAR_HEIGHTS_JS, f"{DASHBOARD} .cnnviz-sparsity") if h > 0]) >= 8

    text = page.locator("body").inner_text()
    assert "ModelInspector 'cnnviz_shapes'" in text      # printed outputs are shown...
    assert "cw.explore()" not in text and "import cnnviz_widgets" not in text   # ...code is not
    voila.assert_no_errors()
    voila.screenshot("05_page", "body")


def test_voila_channel_slider_moves_with_the_keyboard(voila):
    page = voila.page
    image = f"{DASHBOARD} img.cnnviz-channel"
    readout = page.locator(f"{DASHBOARD} .cnnviz-channel-slider .widget-readout").first
    page.locator(f"{DASHBOARD} .cnnviz-channel-slider .noUi-handle").first.focus()
    latencies = []
    for _ in range(5):
        channel = int(readout.inner_text())
        before, after, seconds = voila.change_and_wait(image, lambda: page.keyboard.press("ArrowRight"),
                                                       "the channel image after an ArrowRight key press")
        latencies.append(seconds)
        assert int(readout.inner_text()) == channel + 1
        assert after["digest"] != before["digest"] and after["std"] > MIN_STD, (before, after)
    voila.timings["slider key -> new image, median (s)"] = statistics.median(latencies)
    voila.timings["slider key -> new image, max (s)"] = max(latencies)
    voila.assert_no_errors()
    voila.screenshot("06_channel_slider")
