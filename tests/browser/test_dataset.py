"""Notebook 06 in JupyterLab, in headless Chromium: the DatasetBrowser draws its confusion matrix;
a click on a cell shows that cell's images; a click on one of them, or picking one in the list,
changes the class heatmap."""

from __future__ import annotations

import time

import pytest

from cnnviz_widgets.widgets.dataset_browser import MARGIN, THUMB
from tests.browser.harness import LAB_RUN_DONE_JS, BrowserSession, NotebookServer, run_all_in_lab, wait_for_drawn_images

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BROWSER = ".cnnviz-dataset"
THUMBNAILS = f"{BROWSER} .cnnviz-dataset-cells image"
"""The cell's thumbnails: an SVG image in a bqplot figure (its image mark takes the clicks)."""
CAPTION = f"{BROWSER} .cnnviz-cell-caption"
CAM = "img.cnnviz-cam"
SVG_IMAGE_JS = """async (selector) => {
  const image = document.querySelector(selector);
  const href = image && image.getAttribute('href');
  if (!href) return {href: null, width: 0, height: 0, std: 0};
  const bitmap = await createImageBitmap(await (await fetch(href)).blob());
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width; canvas.height = bitmap.height;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(bitmap, 0, 0);
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let sum = 0, sq = 0, n = 0;
  for (let i = 0; i < data.length; i += 4) {
    const v = (data[i] + data[i+1] + data[i+2]) / 3; sum += v; sq += v*v; n++;
  }
  const mean = sum / n;
  return {href, width: bitmap.width, height: bitmap.height, std: Math.sqrt(Math.max(sq / n - mean * mean, 0))};
}"""
"""The SVG image's address, natural size and pixel standard deviation (0..255)."""


def wait_for_thumbnails(page, old_href: str | None = None, timeout_s: float = 120) -> dict:
    """Wait until the thumbnails show a drawn picture other than ``old_href``; return its statistics."""
    deadline = time.monotonic() + timeout_s
    while True:
        stats = page.evaluate(SVG_IMAGE_JS, THUMBNAILS)
        if (stats["href"] and stats["href"] != old_href and stats["std"] > 5) or time.monotonic() > deadline:
            return stats
        page.wait_for_timeout(100)


def test_a_confusion_cell_click_and_an_image_pick(browser_page, artifacts):
    with NotebookServer("lab", notebook="06_datasets.ipynb") as server:
        session = BrowserSession(server, browser_page, artifacts, label="lab, dataset")
        page = browser_page
        try:
            with session.expect("JupyterLab to run notebook 06"):
                run_all_in_lab(page, server)
                page.wait_for_function(LAB_RUN_DONE_JS, timeout=300_000, polling=250)
            with session.expect("the dataset cell's images and the heatmap"):
                first = wait_for_thumbnails(page)
                assert first["std"] > 5 and first["width"] > THUMB, first
                wait_for_drawn_images(page, CAM, 1)
            cells = page.locator(f"{BROWSER} .cnnviz-confusion rect.heatmapcell")
            assert cells.count() == 36                         # 6 x 6 classes
            first_caption = page.locator(CAPTION).inner_text()
            assert "wrong" in first_caption                    # the notebook opens the most confident mistake

            # a click on a diagonal cell (true = predicted): its caption and its images change
            diagonal = next(i for i in range(36) if i % 7 == 0 and i not in (0,))  # a cell other than the first
            started = time.monotonic()
            with session.expect("the cell's images after a click on the matrix"):
                cells.nth(diagonal).click()
                after = wait_for_thumbnails(page, first["href"])
            session.timings["confusion cell click -> its images (s)"] = time.monotonic() - started
            caption = page.locator(CAPTION).inner_text()
            assert caption != first_caption and "right" in caption, caption
            assert after["href"] != first["href"] and after["std"] > 5

            # a click on the second thumbnail makes it the inspector's image: the heatmap changes
            box = page.locator(THUMBNAILS).bounding_box()
            per_pixel = box["width"] / after["width"]
            x, y = MARGIN + (THUMB + MARGIN) + THUMB / 2, MARGIN + THUMB / 2      # its centre, picture pixels
            _, heat, seconds = session.change_and_wait(
                CAM, lambda: page.mouse.click(box["x"] + x * per_pixel, box["y"] + y * per_pixel),
                "the class heatmap after a click on an image of the cell")
            session.timings["image click -> new heatmap (s)"] = seconds
            assert heat["std"] > 5
            select = page.locator(f"{BROWSER} .cnnviz-image-select select")
            assert select.locator("option:checked").inner_text().startswith("#")   # the list shows the pick

            # picking another image in the list does the same
            options = select.locator("option")
            assert options.count() >= 4
            _, heat, seconds = session.change_and_wait(CAM, lambda: select.select_option(index=3),
                                                       "the class heatmap after picking an image of the cell")
            session.timings["image pick -> new heatmap (s)"] = seconds
            assert heat["std"] > 5
            session.assert_no_errors()
            session.screenshot("dataset_browser", BROWSER)
        finally:
            page.goto("about:blank")
            server.shut_down_kernels()
