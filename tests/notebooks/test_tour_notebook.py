"""The tour notebook runs top to bottom, offline, and shows real results."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_tour_notebook_executes_without_errors(tmp_path):
    nb = nbformat.read(ROOT / "notebooks" / "00_tour.ipynb", as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"), "saved with outputs"
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs) + "".join(
        o.get("data", {}).get("text/plain", "") for o in outputs if "data" in o)
    assert "ModelInspector 'cnnviz_shapes'" in text
    assert "block3_conv2" in text and "conv" in text
    widget_views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(widget_views) == 3  # the dashboard, the comparison and the layer browser
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    images = [m for m in state.values() if m.get("model_name") == "ImageModel"]
    filled = [m for m in images if len(m.get("buffers", [{}])[0].get("data", "")) > 100]
    assert len(filled) >= 10
    for css in ("cnnviz-channel", "cnnviz-grid", "cnnviz-cam", "cnnviz-compare"):
        assert any(css in m["state"]["_dom_classes"] for m in filled), f"no {css} image was drawn"
    classes = {c for m in state.values() for c in m["state"].get("_dom_classes", [])}
    assert {"cnnviz-map", "cnnviz-channel", "cnnviz-cam", "cnnviz-compare", "cnnviz-topk"} <= classes
