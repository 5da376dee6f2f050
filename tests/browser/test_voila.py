"""The tour as a Voila app (docs/sharing.md's `voila notebooks/00_tour.ipynb`), in headless Chromium:
the same widgets render with their pictures and charts, and a key press on a slider redraws."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.browser.harness import (
    BrowserSession,
    NotebookServer,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def voila(browser_page, artifacts) -> Iterator[BrowserSession]:
    """The tour served by Voila, opened, with its first pictures drawn."""
    with NotebookServer("voila") as server:
        page = browser_page
        session = BrowserSession(server, page, artifacts)
        expect = session.expect
        started = time.monotonic()
        with expect("Voila to run the tour and show its page"):
            page.goto(server.page_url, wait_until="domcontentloaded", timeout=240_000)
        session.wait_for_first_pictures("in the Voila page")
        session.timings["open -> last image (s)"] = time.monotonic() - started
        yield session


def test_voila_renders_the_tour_without_code_or_errors(voila):
    voila.check_every_widget_renders()
    text = voila.page.locator("body").inner_text()
    assert "ModelInspector 'cnnviz_shapes'" in text      # printed outputs are shown...
    assert "cw.explore()" not in text and "import cnnviz_widgets" not in text   # ...code is not
    voila.assert_no_errors()
    voila.screenshot("05_page", "body")


def test_voila_channel_slider_moves_with_the_keyboard(voila):
    voila.press_channel_keys(5)
    voila.assert_no_errors()
    voila.screenshot("06_channel_slider")
