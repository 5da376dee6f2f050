"""How the browser tests find Chromium, and what happens without it (no browser needed here)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

from tests.browser.harness import CHROMIUM_FLAGS, ROOT, TABS

MISSING = {**os.environ, "CNNVIZ_CHROMIUM": "/nonexistent/chromium"}


def test_make_test_prepares_chromium_before_pytest_and_ci_runs_make_test():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert recipe.index("scripts/ensure_chromium.sh") < recipe.index("-m pytest")
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert os.access(ROOT / "scripts" / "ensure_chromium.sh", os.X_OK)


def test_without_chromium_the_setup_script_says_how_to_install_it_and_goes_on():
    run = subprocess.run([str(ROOT / "scripts" / "ensure_chromium.sh")], env=MISSING, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0
    assert "BROWSER TESTS WILL BE SKIPPED" in run.stderr
    assert "apt-get install -y chromium fonts-dejavu-core" in run.stderr
    assert "/nonexistent/chromium" in run.stderr


def test_without_chromium_the_browser_tests_are_reported_skipped_loudly():
    run = subprocess.run([sys.executable, "-m", "pytest", "tests/browser", "-m", "browser", "-p", "no:cacheprovider",
                          "-q"], cwd=ROOT, env=MISSING, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:]
    summary = run.stdout.strip().splitlines()
    assert re.search(r"BROWSER TESTS SKIPPED: Chromium is needed", run.stdout), run.stdout[-3000:]
    assert re.search(r"!{3,} \d+ BROWSER TESTS SKIPPED !{3,}", run.stdout), run.stdout[-3000:]
    assert not re.search(r"\d+ passed", summary[-1]) and re.search(r"\d+ skipped", run.stdout), summary[-1]


def test_chromium_is_launched_with_the_offline_flags():
    assert CHROMIUM_FLAGS == ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                              "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def test_every_screenshot_comes_from_a_step_a_browser_test_saves():
    spec = importlib.util.spec_from_file_location("make_screenshots", ROOT / "scripts" / "make_screenshots.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    pages = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "docs" / "widgets").glob("*.md")]
    shown = {image for path in pages for image in re.findall(r"images/([\w.]+\.png)\)", path.read_text())}
    assert shown == set(script.SCREENSHOTS.values())
    tests = "".join((ROOT / test).read_text() for test in script.BROWSER_TESTS)
    tab_steps = {f"lab_{i + 1:02d}_{title.lower().replace(' ', '_')}.png" for i, title in enumerate(TABS)}
    for step in script.SCREENSHOTS:
        assert step in tab_steps or f'"{step[4:-4]}"' in tests, step
    assert all((ROOT / "docs" / "images" / image).is_file() for image in shown)


def test_only_understood_console_errors_are_tolerated():
    from tests.browser.harness import unexpected_console_errors

    messages = ['error: Error: <rect> attribute width: A negative value is not valid. ("-60")',
                "error: Failed to load resource: net::ERR_NAME_NOT_RESOLVED",
                "warning: Canvas2D: Multiple readback operations",
                "error: Error: Could not create a view for model id 3f2c",
                "pageerror: TypeError: Cannot read properties of undefined (reading 'model')"]
    assert unexpected_console_errors(messages) == messages[3:]
