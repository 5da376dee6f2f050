"""Real-browser harness: JupyterLab or Voila on loopback, driven by Debian's Chromium via Playwright.

Used by the browser tests (whose step screenshots ``scripts/make_screenshots.py`` turns into
the documentation's screenshots) and by ``tests/test_voila.py``. Never downloads a browser
(``playwright install`` cannot work offline): it uses ``/usr/bin/chromium`` (or
``$CNNVIZ_CHROMIUM``). Servers run on 127.0.0.1 on a free port, with no token, in a temporary
root that holds copies of the notebooks; every wait is bounded and a failure carries the tail
of the server's log.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
INSTALL_HINT = ("Chromium is needed for the browser tests: `apt-get install -y chromium fonts-dejavu-core` "
                "(as root; `make test` does it when it can), or set CNNVIZ_CHROMIUM to a Chromium binary.")


def chromium_path() -> str | None:
    """Path of the Chromium binary, or None when there is none."""
    candidate = os.environ.get("CNNVIZ_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return candidate if Path(candidate).is_file() and os.access(candidate, os.X_OK) else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerError(RuntimeError):
    """A server did not come up (the message ends with its log tail)."""


class NotebookServer:
    """JupyterLab (``kind="lab"``) or Voila (``kind="voila"``) serving copies of the notebooks.

    Use as a context manager; ``url(path)`` gives page addresses. The server's stdout and stderr
    go to ``log_path``; :meth:`log_tail` returns the end of it for failure messages.
    """

    def __init__(self, kind: str = "lab", notebook: str = "00_tour.ipynb", *, start_timeout: float = 120) -> None:
        if kind not in ("lab", "voila"):
            raise ValueError(f"kind must be 'lab' or 'voila', not {kind!r}")
        self.kind, self.notebook, self.start_timeout = kind, notebook, start_timeout
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix=f"cnnviz-{kind}-"))
        self.log_path = self.root / "server.log"
        self.process: subprocess.Popen | None = None

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> NotebookServer:
        for source in NOTEBOOKS.glob("*.ipynb"):
            shutil.copy(source, self.root / source.name)
        settings = self.root / ".settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text(json.dumps(
            {"fetchNews": "false", "checkForUpdates": False}))
        # every cell in the page, also those scrolled out of view, so that every widget can be checked
        notebook_settings = self.root / ".settings" / "@jupyterlab" / "notebook-extension"
        notebook_settings.mkdir(parents=True)
        (notebook_settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
        env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(self.root / ".settings"),
               "JUPYTERLAB_WORKSPACES_DIR": str(self.root / ".workspaces"), "TF_CPP_MIN_LOG_LEVEL": "3"}
        bin_dir = Path(sys.executable).parent
        common = ["--no-browser", "--ip=127.0.0.1", f"--port={self.port}", "--ServerApp.token=",
                  "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True"]
        if self.kind == "lab":
            command = [str(bin_dir / "jupyter"), "lab", *common, "--LabApp.expose_app_in_browser=True",
                       f"--ServerApp.root_dir={self.root}"]
            if os.geteuid() == 0:
                command.append("--allow-root")
        else:  # the documented command: voila notebooks/app.ipynb (one notebook, served at /)
            command = [str(bin_dir / "voila"), str(self.root / self.notebook), "--no-browser", f"--port={self.port}",
                       "--Voila.ip=127.0.0.1", "--show_tracebacks=True"]
        log = self.log_path.open("w")
        self.process = subprocess.Popen(command, cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        try:
            self._wait_until_up()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, 15)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, 9)
                self.process.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)

    def _wait_until_up(self) -> None:
        probe = self.url("api/status")  # Voila has no such page: any HTTP answer means it is up
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"{self.kind} exited with code {self.process.returncode}\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(probe, timeout=5) as response:
                    if response.status == 200:
                        return
            except urllib.error.HTTPError:
                return  # it answers HTTP: up (Voila has no status page; any answer will do)
            except OSError:
                pass
            time.sleep(0.25)
        raise ServerError(f"{self.kind} did not answer {probe} within {self.start_timeout:.0f} s\n{self.log_tail()}")

    # ------------------------------------------------------------------ helpers
    def shut_down_kernels(self) -> None:
        """Stop every kernel session the server runs (JupyterLab's REST API)."""
        with urllib.request.urlopen(self.url("api/sessions"), timeout=30) as response:
            sessions = json.load(response)
        for session in sessions:
            request = urllib.request.Request(self.url(f"api/sessions/{session['id']}"), method="DELETE")
            urllib.request.urlopen(request, timeout=30).close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    @property
    def page_url(self) -> str:
        """The page that shows ``notebook``: JupyterLab's editor, or Voila's rendering."""
        if self.kind == "lab":
            return self.url(f"lab/tree/{self.notebook}?reset")  # ?reset: no tabs restored from an earlier page
        return self.url("")

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "--- server log (tail) ---\n" + "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def chromium_page(viewport: tuple[int, int] = (1500, 1100)) -> Iterator:
    """A Playwright page in headless Debian Chromium (a fresh profile)."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    if path is None:
        raise RuntimeError(INSTALL_HINT)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
            page = context.new_page()
            messages: list[str] = []
            page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
            page.console_messages = messages
            yield page
        finally:
            browser.close()


# ---------------------------------------------------------------------- page queries (JavaScript)
IMAGE_STATS_JS = """(selector) => Array.from(document.querySelectorAll(selector)).map(img => {
  let std = 0, mean = 0, digest = 0;
  if (img.naturalWidth > 1 && img.complete) {
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    const ctx = canvas.getContext('2d', {willReadFrequently: true});
    ctx.drawImage(img, 0, 0);
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let sum = 0, sq = 0, n = 0;
    for (let i = 0; i < data.length; i += 4) {
      const v = (data[i] + data[i+1] + data[i+2]) / 3; sum += v; sq += v * v; n++;
    }
    mean = sum / n; std = Math.sqrt(Math.max(sq / n - mean * mean, 0));
    for (let i = 0; i < data.length; i++) digest = (digest * 31 + data[i]) % 1000000007;
  }
  return {classes: img.className, src: img.src, width: img.naturalWidth, height: img.naturalHeight,
          visible: img.offsetParent !== null, mean, std, digest};
})"""
"""Every matching image's natural size, visibility, pixel mean / standard deviation (0..255) and a
checksum of its pixels (``digest``: equal pictures, equal digests)."""

IMAGE_PIXELS_JS = """(selector) => { const img = document.querySelector(selector);
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  const rgb = [];
  for (let i = 0; i < data.length; i += 4) rgb.push(data[i], data[i+1], data[i+2]);
  return {width: img.naturalWidth, height: img.naturalHeight,
          shown_width: img.getBoundingClientRect().width, rgb};
}"""
"""The first matching image as the browser decoded it: natural and displayed size, RGB values row by row."""

PAGE_ERRORS_JS = """() => {
  const text = document.body.innerText;
  const widgetErrors = (text.match(/Error displaying widget/g) || []).length;
  const outputErrors = document.querySelectorAll(
    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"], ' +
    '.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]').length;
  const cnnvizErrors = Array.from(document.querySelectorAll('.cnnviz-error'))
    .filter(e => e.offsetParent !== null && e.innerText.trim()).map(e => e.innerText.trim());
  return {widgetErrors, outputErrors, cnnvizErrors};
}"""
"""Counts of "Error displaying widget", error/stderr outputs, and visible cnnviz error lines."""

KNOWN_CONSOLE_ERRORS = {
    r"<rect> attribute (width|height): A negative value is not valid":
        "bqplot lays out a figure inside a hidden dashboard tab at size 0, minus its margins",
    r"Failed to load resource: net::ERR_NAME_NOT_RESOLVED":
        "Voila asks a CDN for optional fonts and extensions; the machine has no network",
}
"""Browser console errors that are understood and harmless, by pattern, with their cause."""


def unexpected_console_errors(messages: list[str]) -> list[str]:
    """Uncaught page errors and console errors, except :data:`KNOWN_CONSOLE_ERRORS`."""
    return [m for m in messages if m.startswith(("error:", "pageerror:"))
            and not any(re.search(pattern, m) for pattern in KNOWN_CONSOLE_ERRORS)]


LAB_OUTPUT_ERRORS_JS = """() => window.jupyterapp.shell.currentWidget.content.widgets
  .filter(cell => cell.model.type === 'code')
  .flatMap(cell => cell.model.outputs.toJSON())
  .filter(o => o.output_type === 'error' || o.name === 'stderr')
  .map(o => o.output_type === 'error' ? `${o.ename}: ${o.evalue}` : `stderr: ${o.text}`)"""
"""Error and stderr outputs of the notebook open in JupyterLab, read from the cell models."""

LAB_RUN_DONE_JS = """() => { const panel = window.jupyterapp.shell.currentWidget;
  const code = panel.content.widgets.filter(cell => cell.model.type === 'code');
  const kernel = panel.sessionContext.session?.kernel;
  return code.length > 0 && code.every(cell => cell.model.executionCount !== null
           && !(cell.promptNode?.textContent || '').includes('*'))
         && kernel?.status === 'idle'; }"""
"""True once every code cell of the open notebook has run and the kernel is idle."""

BAR_HEIGHTS_JS = """(selector) => Array.from(document.querySelectorAll(selector + ' rect.bar'))
  .map(rect => rect.getBBox().height)"""
"""Heights in pixels of the bars bqplot drew inside the figures matching ``selector``."""

BARS_SETTLED_JS = """(selector) => {
  const heights = JSON.stringify(Array.from(document.querySelectorAll(selector + ' rect.bar'))
    .map(rect => rect.getBBox().height));
  const settled = window.cnnvizLastBars === heights;
  window.cnnvizLastBars = heights;
  return settled; }"""
"""Polled: true once the bars inside ``selector`` kept their heights between two polls (bqplot's
transitions have ended), so that a screenshot shows the final chart."""


class Expect:
    """Bounded waits that fail with a useful message: what was awaited, the server's log tail and
    the browser console. Use ``with expect("the grid image"):`` around Playwright waits."""

    def __init__(self, server: NotebookServer, page) -> None:
        self.server, self.page = server, page

    @contextlib.contextmanager
    def __call__(self, what: str) -> Iterator[None]:
        from playwright.sync_api import Error as PlaywrightError

        try:
            yield
        except PlaywrightError as exc:
            console = "\n".join(getattr(self.page, "console_messages", [])[-15:])
            raise AssertionError(f"waiting for {what} failed: {str(exc).splitlines()[0]}\n"
                                 f"--- browser console (tail) ---\n{console}\n{self.server.log_tail()}") from None


# ---------------------------------------------------------------------- driving JupyterLab
def run_all_in_lab(page, server: NotebookServer, timeout_ms: int = 120_000) -> float:
    """Open the server's notebook in JupyterLab, wait for its kernel, run all cells.

    Returns the ``time.monotonic()`` at which "run all" was issued.
    """
    page.goto(server.page_url, wait_until="domcontentloaded", timeout=timeout_ms)
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget "
                           "&& window.jupyterapp.shell.currentWidget.sessionContext", timeout=timeout_ms)
    page.evaluate("""async () => {
        const panel = window.jupyterapp.shell.currentWidget;
        await panel.context.ready;
        await panel.sessionContext.ready;
    }""")
    page.wait_for_function("() => window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel"
                           "?.connectionStatus === 'connected'", timeout=timeout_ms)
    started = time.monotonic()
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    return started


def wait_for_drawn_images(page, selector: str, count: int = 1, timeout_ms: int = 120_000) -> list[dict]:
    """Wait until at least ``count`` images match ``selector`` with a drawn picture (more than the
    1x1 placeholder, not one flat colour); return their statistics."""
    page.wait_for_function(
        """([selector, count]) => Array.from(document.querySelectorAll(selector))
             .filter(img => img.complete && img.naturalWidth > 1).length >= count""",
        arg=[selector, count], timeout=timeout_ms)
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        stats = [s for s in page.evaluate(IMAGE_STATS_JS, selector) if s["width"] > 1]
        if len([s for s in stats if s["std"] > 1.0]) >= count or time.monotonic() > deadline:
            return stats
        page.wait_for_timeout(100)


def wait_for_new_src(page, selector: str, old_src: str, timeout_ms: int = 60_000) -> float:
    """Wait until the first image matching ``selector`` shows a new picture; return the seconds waited."""
    start = time.monotonic()
    page.wait_for_function(
        """([selector, old]) => { const img = document.querySelector(selector);
             return img && img.src !== old && img.complete && img.naturalWidth > 1; }""",
        arg=[selector, old_src], timeout=timeout_ms)
    return time.monotonic() - start


# ---------------------------------------------------------------------- the tour's widgets
TIMINGS: dict[str, dict[str, float]] = {}
"""Seconds measured by the browser tests, by session label; printed at the end of the pytest run."""
DASHBOARD = ".cnnviz-dashboard"
TABS = {"Feature maps": "img.cnnviz-channel", "Filters": "img.cnnviz-filters",
        "Class heatmaps": "img.cnnviz-cam", "Occlusion": "img.cnnviz-occlusion"}
CAMS = ".cnnviz-widget:has(img.cnnviz-compare):not(.cnnviz-dashboard *)"
"""The tour's own CamOverlay (the comparison), not the dashboard's."""
MIN_STD = 5.0
"""Pixel standard deviation (0..255) below which a picture counts as flat: a blank or failed image."""


@dataclass
class BrowserSession:
    """A notebook open in a browser page (JupyterLab or Voila): waits with clear failures, picture
    statistics, error checks, screenshots, timings, and helpers that drive the tour's widgets."""

    server: NotebookServer
    page: object
    artifacts: Path
    label: str = ""
    """Heading of this session's timings in the report (default: the server kind)."""
    timings: dict[str, float] = field(init=False)
    expect: Expect = field(init=False)

    def __post_init__(self) -> None:
        self.expect = Expect(self.server, self.page)
        self.label = self.label or self.server.kind
        self.timings = TIMINGS.setdefault(self.label, {})   # sessions with one label share their timings

    def screenshot(self, name: str, selector: str = DASHBOARD) -> Path:
        """Save the first element matching ``selector`` as ``<lab|voila>_<name>.png``."""
        path = self.artifacts / f"{self.server.kind}_{name}.png"
        self.page.mouse.move(0, 0)  # no hover effects (bqplot's toolbar) in the picture
        element = self.page.locator(selector).first
        element.scroll_into_view_if_needed()
        element.screenshot(path=str(path), animations="disabled")
        return path

    def pixels(self, selector: str) -> tuple[np.ndarray, float]:
        """The first image matching ``selector`` as the browser decoded it, uint8 (H, W, 3), and
        the width it is displayed at, in CSS pixels."""
        found = self.page.evaluate(IMAGE_PIXELS_JS, selector)
        picture = np.asarray(found["rgb"], np.uint8).reshape(found["height"], found["width"], 3)
        return picture, float(found["shown_width"])

    def stats(self, selector: str) -> dict:
        """Statistics of the first image matching ``selector``."""
        found = self.page.evaluate(IMAGE_STATS_JS, selector)
        assert found, f"no image matches {selector}"
        return found[0]

    def open_tab(self, title: str) -> dict:
        """Click a dashboard tab and wait for its main image; return the image's statistics."""
        self.page.locator(f"{DASHBOARD} .lm-TabBar-tab", has_text=title).first.click()
        selector = f"{DASHBOARD} {TABS[title]}"
        with self.expect(f"the {title!r} tab's picture ({selector})"):
            wait_for_drawn_images(self.page, selector, 1)
            self.page.wait_for_function(
                "(s) => { const img = document.querySelector(s); return img && img.offsetParent !== null"
                " && img.complete && img.naturalWidth > 1; }", arg=selector)
        return self.stats(selector)

    def wait_for_first_pictures(self, after: str, standalone: bool = True) -> None:
        """Wait until the first pictures are drawn: the dashboard's open tab, and in the tour
        (``standalone``) the standalone LayerBrowser and the comparison's overlay and grid."""
        wanted = (("img.cnnviz-channel", 2), ("img.cnnviz-cam", 1), ("img.cnnviz-compare", 1)) if standalone \
            else (("img.cnnviz-channel", 1),)
        for selector, count in wanted:
            with self.expect(f"{count} drawn {selector} {after}"):
                wait_for_drawn_images(self.page, selector, count, timeout_ms=240_000)

    def check_every_widget_renders(self, standalone: bool = True) -> list[dict]:
        """Open each dashboard tab (a screenshot each: ``<kind>_01_feature_maps.png``...), then check
        every widget's main image and the bqplot charts; ends on the first tab. ``standalone``: the
        page also holds the tour's comparison CamOverlay and LayerBrowser (the app has the dashboard
        only). Returns the main images' statistics."""
        for i, title in enumerate(TABS):
            shown = self.open_tab(title)
            assert shown["std"] > MIN_STD, (title, shown)
            with self.expect(f"the {title!r} tab's charts to settle"):
                self.page.wait_for_function(BARS_SETTLED_JS, arg=DASHBOARD, polling=100, timeout=30_000)
            self.screenshot(f"{i + 1:02d}_{title.lower().replace(' ', '_')}")
        self.open_tab("Feature maps")

        pictures = self.page.evaluate(IMAGE_STATS_JS, "img.cnnviz-map")
        # the dashboard's four tabs, and in the tour the comparison's CamOverlay and the standalone LayerBrowser
        assert len(pictures) == (6 if standalone else 4), [p["classes"] for p in pictures]
        for picture in pictures:
            assert picture["src"].startswith("blob:"), picture
            assert picture["width"] >= 128 and picture["height"] >= 128, picture
            assert picture["std"] > MIN_STD and 10 < picture["mean"] < 245, picture
        assert len({p["digest"] for p in pictures}) >= len(pictures) - 1, "several widgets show the same picture"
        if standalone:
            compare = self.stats(f"{CAMS} img.cnnviz-compare")
            assert compare["width"] >= 4 * 96 and compare["std"] > MIN_STD, compare  # 4 tiles of 96 px, labelled

        # bqplot: the header's top-5 chart and the LayerBrowsers' sparsity charts drew their bars
        top_bars = [h for h in self.page.evaluate(BAR_HEIGHTS_JS, f"{DASHBOARD} .cnnviz-topk") if h > 0]
        assert len(top_bars) >= 5, top_bars
        assert max(top_bars) > 50, top_bars                    # the top class fills most of the axis
        sparsity = [h for h in self.page.evaluate(BAR_HEIGHTS_JS, f"{DASHBOARD} .cnnviz-sparsity") if h > 0]
        assert len(sparsity) >= 8, sparsity                    # two bars for each of the conv layers
        assert self.page.locator(f"{DASHBOARD} .cnnviz-topk .axis text", has_text="circle").count() >= 1
        return pictures

    def press_channel_keys(self, presses: int = 5) -> None:
        """Focus the dashboard's channel slider and press ArrowRight ``presses`` times; after each,
        the readout and the picture must change. Records the median and max latency."""
        self.open_tab("Feature maps")
        image = f"{DASHBOARD} img.cnnviz-channel"
        readout = self.page.locator(f"{DASHBOARD} .cnnviz-channel-slider .widget-readout").first
        self.page.locator(f"{DASHBOARD} .cnnviz-channel-slider .noUi-handle").first.focus()
        latencies = []
        for _ in range(presses):
            channel = int(readout.inner_text())
            before, after, seconds = self.change_and_wait(image, lambda: self.page.keyboard.press("ArrowRight"),
                                                          "the channel image after an ArrowRight key press")
            latencies.append(seconds)
            assert int(readout.inner_text()) == channel + 1
            assert after["digest"] != before["digest"], "the picture did not change with the channel"
            assert after["std"] > MIN_STD, after
        self.timings["slider key -> new image, median (s)"] = statistics.median(latencies)
        self.timings["slider key -> new image, max (s)"] = max(latencies)
        caption = self.page.locator(f"{DASHBOARD} .cnnviz-stats").first.inner_text()
        assert f"channel {channel + 1}" in caption, caption

    def change_and_wait(self, image: str, action: Callable[[], object], what: str,
                        timeout_s: float = 120) -> tuple[dict, dict, float]:
        """Run ``action()``, then :meth:`wait_for_change` of ``image``.

        Returns (statistics before, after, seconds from the action to the new picture).
        """
        before = self.stats(image)
        started = time.monotonic()
        with self.expect(what):
            action()
        after = self.wait_for_change(image, before, what, timeout_s)
        return before, after, time.monotonic() - started

    def wait_for_change(self, image: str, before: dict, what: str, timeout_s: float = 120) -> dict:
        """Wait until the image ``image`` shows a picture other than ``before`` (its statistics):
        other pixels, not only a new ``src``, since a late redraw of the same picture does not
        count. Returns the new statistics (still equal to ``before`` only after ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        src = before["src"]
        with self.expect(what):
            while True:
                remaining_ms = max(1_000, int(1000 * (deadline - time.monotonic())))
                wait_for_new_src(self.page, image, src, timeout_ms=remaining_ms)
                after = self.stats(image)
                if after["width"] <= 1 and time.monotonic() < deadline:
                    continue   # replaced again while read: wait for that picture to be decoded too
                if after["digest"] != before["digest"] or time.monotonic() > deadline:
                    return after
                src = after["src"]

    def assert_no_errors(self) -> None:
        """No "Error displaying widget", no error or stderr output, no visible cnnviz error."""
        errors = self.page.evaluate(PAGE_ERRORS_JS)
        outputs = self.page.evaluate(LAB_OUTPUT_ERRORS_JS) if self.server.kind == "lab" else []
        assert errors == {"widgetErrors": 0, "outputErrors": 0, "cnnvizErrors": []}, (errors, outputs)
        assert outputs == [], outputs
        console = unexpected_console_errors(getattr(self.page, "console_messages", []))
        assert console == [], console
