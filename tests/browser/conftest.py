"""Browser tests: skipped, loudly, when Playwright or Chromium is missing; fixtures for a page.

`make test` installs Debian's Chromium first when it runs as root with apt (CI does), so there
the browser tests always run. Elsewhere a missing browser skips them with the install hint, and
the end of the pytest report repeats it in a banner.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.harness import INSTALL_HINT, ROOT, TIMINGS, chromium_path

ARTIFACTS = Path(os.environ.get("CNNVIZ_ARTIFACTS", ROOT / "artifacts" / "browser"))
"""Where the browser tests save a screenshot of each step (git-ignored; the documentation's screenshots
are made from these by scripts/make_screenshots.py)."""


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed: pip install -e '.[dev]'"
    if chromium_path() is None:
        return INSTALL_HINT
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = missing_browser()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=f"BROWSER TESTS SKIPPED: {reason}")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if TIMINGS:
        terminalreporter.write_sep("-", "browser timings (measured, not asserted)")
        for label, timings in TIMINGS.items():
            terminalreporter.write_line(f"{label}:")
            for what, seconds in timings.items():
                terminalreporter.write_line(f"  {what:56s} {seconds:7.2f}")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "timings.json").write_text(json.dumps(TIMINGS, indent=1))
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if "BROWSER TESTS SKIPPED" in str(r.longrepr)]
    if skipped:
        terminalreporter.write_sep("!", f"{len(skipped)} BROWSER TESTS SKIPPED", red=True, bold=True)
        terminalreporter.write_line(missing_browser() or INSTALL_HINT, red=True, bold=True)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """The folder for step screenshots (created)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def browser_page() -> Iterator:
    """A fresh headless Chromium page for one test module (tall, so that element screenshots fit)."""
    from tests.browser.harness import chromium_page

    with chromium_page((1400, 2600)) as page:
        page.set_default_timeout(60_000)  # actions; the waits give their own
        yield page
