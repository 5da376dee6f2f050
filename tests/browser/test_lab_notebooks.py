"""Every other notebook in JupyterLab, in headless Chromium: run all, then every visible widget
picture is drawn and nothing shows an error (the tour has its own, deeper test in test_lab.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.browser.harness import (
    IMAGE_STATS_JS,
    LAB_RUN_DONE_JS,
    NOTEBOOKS,
    BrowserSession,
    NotebookServer,
    run_all_in_lab,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FLAT_STD = 1.0
"""Below this pixel standard deviation a picture is flat (blank). Lower than the tour's bar: these
notebooks show single channels chosen for teaching, some of them nearly uniform."""
OTHERS = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb") if not p.name.startswith("00_"))
"""The lessons after the tour (the class app is the Voila tests' page)."""

VISIBLE_DRAWN_JS = """() => { const imgs = Array.from(document.querySelectorAll('img.cnnviz-map'))
  .filter(img => img.offsetParent !== null);
  return imgs.length > 0 && imgs.every(img => img.complete && img.naturalWidth > 1); }"""


@pytest.fixture(scope="module")
def lab_server() -> Iterator[NotebookServer]:
    with NotebookServer("lab") as server:
        yield server


@pytest.mark.parametrize("notebook", OTHERS)
def test_notebook_renders_every_widget_without_errors(lab_server, browser_page, artifacts, notebook):
    lab_server.notebook = notebook
    session = BrowserSession(lab_server, browser_page, artifacts, label="lab, other notebooks")
    page = browser_page
    page.console_messages.clear()
    try:
        with session.expect(f"JupyterLab to open {notebook}"):
            started = run_all_in_lab(page, lab_server)
        with session.expect(f"every cell of {notebook} to run"):
            page.wait_for_function(LAB_RUN_DONE_JS, timeout=300_000, polling=250)
        with session.expect(f"every visible picture of {notebook} to be drawn"):
            page.wait_for_function(VISIBLE_DRAWN_JS, timeout=120_000, polling=250)
        session.timings[f"{notebook}: run all -> drawn (s)"] = time.monotonic() - started
        pictures = [p for p in page.evaluate(IMAGE_STATS_JS, "img.cnnviz-map") if p["visible"]]
        assert len(pictures) >= 2, (notebook, pictures)   # each notebook shows two widgets or more
        for picture in pictures:
            assert picture["width"] > 1 and picture["std"] > FLAT_STD, (notebook, picture)
        session.assert_no_errors()
        page.screenshot(path=str(artifacts / f"lab_notebook_{notebook.removesuffix('.ipynb')}.png"))
    finally:
        page.goto("about:blank")  # leave the page first: a kernel stopping under it logs errors
        lab_server.shut_down_kernels()
