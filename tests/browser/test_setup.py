"""How the browser tests find Chromium, and what happens without it (no browser needed here)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.browser.harness import CHROMIUM_FLAGS, ROOT

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
