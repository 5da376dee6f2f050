"""Notebook 06 in JupyterLab, in headless Chromium: the DatasetBrowser draws its confusion matrix;
a click on a cell shows that cell's images; picking an image changes the class heatmap."""

from __future__ import annotations

import time

import pytest

from tests.browser.harness import LAB_RUN_DONE_JS, BrowserSession, NotebookServer, run_all_in_lab, wait_for_drawn_images

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BROWSER = ".cnnviz-dataset"
CELL_IMAGE = f"{BROWSER} img.cnnviz-dataset-cell"
CAPTION = f"{BROWSER} .cnnviz-cell-caption"
CAM = "img.cnnviz-cam"


def test_a_confusion_cell_click_and_an_image_pick(browser_page, artifacts):
    with NotebookServer("lab", notebook="06_datasets.ipynb") as server:
        session = BrowserSession(server, browser_page, artifacts, label="lab, dataset")
        page = browser_page
        try:
            with session.expect("JupyterLab to run notebook 06"):
                run_all_in_lab(page, server)
                page.wait_for_function(LAB_RUN_DONE_JS, timeout=300_000, polling=250)
            with session.expect("the dataset cell's images and the heatmap"):
                wait_for_drawn_images(page, CELL_IMAGE, 1)
                wait_for_drawn_images(page, CAM, 1)
            cells = page.locator(f"{BROWSER} .cnnviz-confusion rect.heatmapcell")
            assert cells.count() == 36                         # 6 x 6 classes
            first_caption = page.locator(CAPTION).inner_text()
            assert "wrong" in first_caption                    # the notebook opens the most confident mistake

            # a click on a diagonal cell (true = predicted): its caption and its images change
            diagonal = next(i for i in range(36) if i % 7 == 0 and i not in (0,))  # a cell other than the first
            _, after, seconds = session.change_and_wait(CELL_IMAGE, lambda: cells.nth(diagonal).click(),
                                                        "the cell's images after a click on the matrix")
            session.timings["confusion cell click -> its images (s)"] = seconds
            caption = page.locator(CAPTION).inner_text()
            assert caption != first_caption and "right" in caption, caption
            assert after["std"] > 5

            # picking an image of the cell makes it the inspector's image: the heatmap changes
            select = page.locator(f"{BROWSER} .cnnviz-image-select select")
            options = select.locator("option")
            assert options.count() >= 3
            started = time.monotonic()
            _, heat, _ = session.change_and_wait(CAM, lambda: select.select_option(index=2),
                                                 "the class heatmap after picking an image of the cell")
            session.timings["image pick -> new heatmap (s)"] = time.monotonic() - started
            assert heat["std"] > 5
            session.assert_no_errors()
            session.screenshot("dataset_browser", BROWSER)
        finally:
            page.goto("about:blank")
            server.shut_down_kernels()
