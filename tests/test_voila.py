"""`voila notebooks/00_tour.ipynb` (the command of docs/sharing.md) serves the tour as an app without code.

Over HTTP only: the page Voila returns has run the notebook and holds the widget views with no
error and no source code. That the views then render and react in a browser is the browser
tests' job (tests/browser).
"""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

from tests.browser.harness import NotebookServer


@pytest.mark.slow
def test_voila_serves_the_tour_as_an_app_without_code():
    with NotebookServer("voila") as server:
        try:
            with urllib.request.urlopen(server.page_url, timeout=300) as response:
                status, page = response.status, response.read().decode("utf-8")
        except OSError as exc:
            pytest.fail(f"Voila did not serve the tour: {exc}\n{server.log_tail()}")
    assert status == 200
    outputs = [json.loads(block) for block in
               re.findall(r'<script type="application/vnd\.voila\.cell-output\+json">(.*?)</script>', page, re.S)]
    assert outputs, server.log_tail()
    errors = [o for o in outputs if o.get("output_type") == "error" or o.get("name") == "stderr"]
    assert not errors, errors[0]
    views = {o["data"]["application/vnd.jupyter.widget-view+json"]["model_id"] for o in outputs
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})}
    assert len(views) == 3, outputs   # the dashboard, the comparison and the layer browser
    assert "cw.explore()" not in page                 # code cells are stripped
    assert any("ModelInspector 'cnnviz_shapes'" in o.get("data", {}).get("text/plain", "") for o in outputs)
