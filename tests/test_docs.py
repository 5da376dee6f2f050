"""The documentation site builds offline with no warning (the same build as ``make docs``), with
its API reference, its widget pages and every notebook executed.

In a whole test run, tests/notebooks has executed every notebook just before (each as a student's
"run all"); the build then shows those outputs instead of running each notebook a second time
(``CNNVIZ_EXECUTED_NOTEBOOKS``, docs/conf.py). Run alone, the build executes them itself."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import cnnviz_widgets as cw

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_site_builds_without_a_warning_and_shows_what_it_says(tmp_path):
    out = tmp_path / "html"
    done = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", str(ROOT / "docs"),
                           str(out)], capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, (done.stdout[-3000:] + done.stderr[-5000:])
    api = (out / "api.html").read_text()
    for name in ("ModelInspector", "CamOverlay", "ResultStore", "sanity_check", "scan", "heatmap"):
        assert f'id="cnnviz_widgets.{name}"' in api, name
    methods = (out / "methods.html").read_text()
    for method in cw.HEATMAP_METHODS.values():          # the table comes from the declarations
        assert method.label in methods, method.label
    from cnnviz_widgets.widgets import WIDGETS_WITH_CONTROLS
    from cnnviz_widgets.widgets._controls import declared_controls

    pages = {re.sub(r"(?<!^)(?=[A-Z])", "-", widget.__name__).lower(): widget   # LayerBrowser -> layer-browser
             for widget in (*WIDGETS_WITH_CONTROLS, cw.Dashboard)}
    assert {p.stem for p in (ROOT / "docs" / "widgets").glob("*.md")} == set(pages)
    for name, widget in pages.items():              # one page per widget: its screenshot and its declared traits
        html = (out / "widgets" / f"{name}.html").read_text()
        assert "<img" in html and f'class="sig-name descname"><span class="pre">{widget.__name__}<' in html, name
        for trait in declared_controls(widget):
            assert f"<code class=\"docutils literal notranslate\"><span class=\"pre\">{trait}</span>" in html, trait
    notebooks = sorted(p.stem for p in (out / "notebooks").glob("*.html"))
    assert notebooks == sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    tour = (out / "notebooks" / "00_tour.html").read_text()
    assert "application/vnd.jupyter.widget-state+json" in tour      # executed, with the widgets' state
    datasets = (out / "notebooks" / "06_datasets.html").read_text()
    assert re.search(r"accuracy \d+\.\d%", datasets)                 # the scan's printed output
    assert f"cnnviz-widgets {cw.__version__}" in (out / "index.html").read_text()
