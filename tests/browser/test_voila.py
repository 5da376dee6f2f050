"""The class app in Voila (docs/sharing.md's `voila notebooks/app.ipynb`), in headless Chromium: the
dashboard renders with its pictures and charts, the page holds prose and the dashboard only (no
printed repr, no code), and a key press on a slider redraws."""

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
    with NotebookServer("voila", "app.ipynb") as server:
        page = browser_page
        session = BrowserSession(server, page, artifacts)
        expect = session.expect
        started = time.monotonic()
        with expect("Voila to run the app and show its page"):
            page.goto(server.page_url, wait_until="domcontentloaded", timeout=240_000)
        session.wait_for_first_pictures("in the Voila page", standalone=False)
        session.timings["open -> last image (s)"] = time.monotonic() - started
        yield session


def test_voila_renders_the_app_without_code_reprs_or_errors(voila):
    voila.check_every_widget_renders(standalone=False)
    text = voila.page.locator("body").inner_text()
    assert "What does a convolutional network see?" in text and "What to try" in text   # the prose
    for debugging in ("<ModelInspector", "Prediction(", "forward_passes", "cache_info", "Dashboard(", "cw.",
                      "import cnnviz_widgets"):
        assert debugging not in text, debugging        # no repr, no printed dict, no code
    voila.assert_no_errors()
    voila.screenshot("05_page", "body")


def test_voila_channel_slider_moves_with_the_keyboard(voila):
    voila.press_channel_keys(5)
    voila.assert_no_errors()
    voila.screenshot("06_channel_slider")
