"""The screenshots of the README and the documentation, made from the browser tests' step screenshots.

Usage: .venv/bin/python scripts/make_screenshots.py [--artifacts artifacts/browser] [--out docs/images]

Without ``--artifacts`` it first runs the JupyterLab browser tests that save them into a temporary
folder: tests/browser/test_lab.py (the tour run in JupyterLab in headless Debian Chromium, each
dashboard tab opened, then driven) and tests/browser/test_dataset.py (notebook 06's DatasetBrowser,
clicked). With it, it reuses the screenshots a test run already left there (``make test``
writes them to artifacts/browser). Each chosen step is saved as a 256-colour PNG (Pillow), a
fraction of the size with no visible loss for a UI. Never downloads a browser.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]

SCREENSHOTS = {
    "lab_01_feature_maps.png": "dashboard_0_feature_maps.png",
    "lab_02_filters.png": "dashboard_1_filters.png",
    "lab_03_class_heatmaps.png": "dashboard_2_class_heatmaps.png",
    "lab_04_occlusion.png": "dashboard_3_occlusion.png",
    "lab_05_cam_comparison.png": "cam_comparison.png",
    "lab_dataset_browser.png": "dataset_browser.png",
    "lab_training_timeline.png": "training_timeline.png",
}
"""Browser-test step screenshot -> image in docs/images."""
BROWSER_TESTS = ("tests/browser/test_lab.py", "tests/browser/test_dataset.py", "tests/browser/test_training.py")
"""The tests whose steps save those screenshots."""


def run_browser_test(artifacts: Path) -> None:
    """Run the browser tests that save the screenshots, writing their steps to ``artifacts``."""
    env = {**os.environ, "CNNVIZ_ARTIFACTS": str(artifacts)}
    command = [sys.executable, "-m", "pytest", *BROWSER_TESTS, "-p", "no:cacheprovider", "-q"]
    if subprocess.run(command, cwd=ROOT, env=env).returncode != 0:
        sys.exit("the browser test failed: no screenshots written")


def save_quantized(source: Path, target: Path) -> None:
    """Copy a screenshot as a palette PNG."""
    image = Image.open(source).convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE)
    image.save(target, optimize=True)
    print(f"wrote {target} ({target.stat().st_size // 1024} KB, {image.width}x{image.height})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, help="reuse the step screenshots in this folder")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cnnviz-shots-") as temporary:
        artifacts = args.artifacts or Path(temporary)
        if args.artifacts is None:
            run_browser_test(artifacts)
        missing = [name for name in SCREENSHOTS if not (artifacts / name).is_file()]
        if missing:
            sys.exit(f"{artifacts} lacks {', '.join(missing)}: run the browser tests first")
        args.out.mkdir(parents=True, exist_ok=True)
        for step, image in SCREENSHOTS.items():
            save_quantized(artifacts / step, args.out / image)


if __name__ == "__main__":
    main()
