"""Notebook to HTML with the widgets' state embedded (opened without a kernel)."""

from __future__ import annotations

import re

import nbformat
import pytest

import cnnviz_widgets as cw
from cnnviz_widgets.export import embedded_widget_state, main

CELLS = [
    "import cnnviz_widgets as cw\ninspector = cw.ModelInspector()",
    "cam = cw.CamOverlay(inspector)\ncam",
    "print('explained:', inspector.top_k(1)[0].name)",
]


@pytest.fixture
def notebook(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    path = tmp_path / "lesson.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_exported_page_embeds_the_drawn_widgets(notebook):
    page = cw.export_html(notebook)
    assert page == notebook.with_suffix(".html")
    text = page.read_text(encoding="utf-8")
    state = embedded_widget_state(text)
    images = [m for m in state.values() if m["model_name"] == "ImageModel"
              and "cnnviz-cam" in m["state"]["_dom_classes"]]
    assert len(images) == 1
    png = __import__("base64").b64decode(images[0]["buffers"][0]["data"])
    assert cw.render.decode_png(png).shape[0] == 256                   # the drawn overlay, not a placeholder
    assert any(m["model_name"] == "FigureModel" and m["model_module"] == "bqplot" for m in state.values())
    views = re.findall(r'"model_id": "([0-9a-f]+)"', text)
    assert views and all(v in state for v in views)                   # every view's model is embedded
    assert "explained: circle" in text
    assert "@jupyter-widgets/html-manager" in text                      # the page loads the widget manager


@pytest.mark.slow
def test_command_line_export(notebook, tmp_path, capsys):
    out = tmp_path / "site" / "page.html"
    out.parent.mkdir()
    assert main([str(notebook), "-o", str(out)]) == 0
    assert re.search(r"wrote .*page\.html \(\d\.\d MB, \d+ widget models embedded\)", capsys.readouterr().out)
    assert embedded_widget_state(out.read_text(encoding="utf-8"))


def test_bad_arguments_are_refused_before_any_work(notebook, tmp_path):
    with pytest.raises(cw.ArgumentError, match=r"ending in \.html, not 'page\.pdf'"):
        cw.export_html(notebook, tmp_path / "page.pdf")
    with pytest.raises(cw.ArgumentError, match="No notebook at"):
        cw.export_html(tmp_path / "missing.ipynb")
    with pytest.raises(cw.ArgumentError, match="No notebook at"):
        cw.export_html(tmp_path / "missing.ipynb", execute=False)
    assert not list(tmp_path.glob("*.html"))


def test_a_notebook_saved_without_state_exports_without_widgets(notebook):
    text = cw.export_html(notebook, execute=False).read_text(encoding="utf-8")
    assert embedded_widget_state(text) == {}
