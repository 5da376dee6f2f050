"""Screenshots of the real widgets for the README, from a real run of the tour in JupyterLab.

Usage: .venv/bin/python scripts/make_screenshots.py [--out docs/images]

Starts JupyterLab on a copy of notebooks/00_tour.ipynb (loopback, no token), runs all cells in
headless Chromium, opens each dashboard tab and saves one PNG per view (palette-compressed with
Pillow). Needs Debian's Chromium (apt-get install chromium); never downloads a browser.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.harness import (  # noqa: E402
    NotebookServer,
    chromium_page,
    run_all_in_lab,
    wait_for_drawn_images,
)

TABS = {"Feature maps": "img.cnnviz-channel", "Filters": "img.cnnviz-filters",
        "Class heatmaps": ".cnnviz-dashboard img.cnnviz-cam", "Occlusion": "img.cnnviz-occlusion"}


def save(png: bytes, path: Path) -> None:
    """Write a screenshot as a 256-colour PNG (a fraction of the size, no visible loss for UI)."""
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE)
    image.save(path, optimize=True)
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KB, {image.width}x{image.height})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with NotebookServer("lab") as server, chromium_page((1400, 2600)) as page:
        started = run_all_in_lab(page, server)
        wait_for_drawn_images(page, "img.cnnviz-channel", 2)
        wait_for_drawn_images(page, "img.cnnviz-compare", 1)
        print(f"images drawn {time.monotonic() - started:.1f} s after run-all")
        page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
        dashboard = page.locator(".cnnviz-dashboard").first
        for i, (title, selector) in enumerate(TABS.items()):
            dashboard.locator(".lm-TabBar-tab", has_text=title).first.click()
            wait_for_drawn_images(page, selector, 1)
            page.wait_for_timeout(300)  # let the bqplot charts finish their transitions
            save(dashboard.screenshot(), args.out / f"dashboard_{i}_{title.lower().replace(' ', '_')}.png")
        # the tour's own CamOverlay (cell 3), not the dashboard's: the one whose comparison is visible
        comparison = page.locator("img.cnnviz-compare:visible").first.locator(
            "xpath=ancestor::div[contains(concat(' ', @class, ' '), ' cnnviz-widget ')][1]")
        comparison.scroll_into_view_if_needed()
        save(comparison.screenshot(), args.out / "cam_comparison.png")


if __name__ == "__main__":
    main()
