"""`voila notebooks/app.ipynb` (the command of docs/sharing.md) serves the class app without code.

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
def test_voila_serves_the_app_without_code_or_printed_output():
    with NotebookServer("voila", "app.ipynb") as server:
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
    assert len(views) == 1, outputs   # the dashboard
    assert "cw.explore()" not in page                 # code cells are stripped
    texts = [o for o in outputs if "text/plain" in o.get("data", {}) and
             "application/vnd.jupyter.widget-view+json" not in o["data"]] + \
        [o for o in outputs if o.get("output_type") == "stream"]
    assert not texts, texts                           # no repr, no printed output: the dashboard and prose only
