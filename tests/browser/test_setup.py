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
    assert recipe.index("scripts/ensure_chromium.sh") < recipe.index("scripts/test_suites.sh")
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    for script in ("ensure_chromium.sh", "test_suites.sh"):
        assert os.access(ROOT / "scripts" / script, os.X_OK)


def _fake_suites(tmp_path, jax_status: int, tf_status: int = 0) -> subprocess.CompletedProcess:
    """scripts/test_suites.sh with a stand-in pytest (records its arguments, exits ``tf_status``)
    and a stand-in make for the JAX run (prints a line, exits ``jax_status``)."""
    calls = tmp_path / "calls"
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\necho "pytest $*" >> {calls}\nexit {tf_status}\n')
    make = tmp_path / "make"
    make.write_text(f'#!/bin/sh\necho "make $*" >> {calls}\necho "the JAX run says hello"\nexit {jax_status}\n')
    for stub in (python, make):
        stub.chmod(0o755)
    env = {**os.environ, "CNNVIZ_TEST_PYTHON": str(python), "MAKE": str(make), "PYTEST_ARGS": ""}
    return subprocess.run([str(ROOT / "scripts" / "test_suites.sh")], env=env, capture_output=True, text=True,
                          timeout=60)


def test_make_test_runs_the_jax_run_beside_the_suite_then_the_browser_tests_and_fails_if_any_fails(tmp_path):
    run = _fake_suites(tmp_path, jax_status=0)
    assert run.returncode == 0, run.stdout + run.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    assert sorted(calls[:2]) == ["make --no-print-directory test-jax", "pytest -m pytest -m not browser"]
    assert calls[2:] == ["pytest -m pytest -m browser"]                 # alone, after both
    assert run.stdout.index("the JAX run says hello") < run.stdout.index("The browser tests")
    assert re.search(r"TensorFlow suite \d+ s \(exit 0\), JAX run beside it \d+ s \(exit 0\)", run.stdout)
    failed_jax = _fake_suites(tmp_path, jax_status=3)
    assert failed_jax.returncode == 1 and "(exit 3), browser tests" in failed_jax.stdout
    failed_tf = _fake_suites(tmp_path, jax_status=0, tf_status=2)
    assert failed_tf.returncode == 1 and re.search(r"TensorFlow suite \d+ s \(exit 2\)", failed_tf.stdout)


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
