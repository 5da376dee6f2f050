"""Project-level promises: the README's two commands, CI, and the flat public API."""

from __future__ import annotations

import re
from pathlib import Path

import cnnviz_widgets as cw

ROOT = Path(__file__).resolve().parents[1]


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```(?:bash|sh)\n(.*?)```", readme, re.S)
    assert block, "README needs a fenced set-up block"
    commands = [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]
    assert commands == ["make lab", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)
    makefile = (ROOT / "Makefile").read_text()
    assert "notebooks/00_tour.ipynb" in makefile and "-m venv" in makefile


def test_public_api_is_flat_and_complete():
    for name in cw.__all__:
        assert hasattr(cw, name), name
    assert issubclass(cw.LayerNotFoundError, cw.CnnvizError)
    assert issubclass(cw.UnsafeModelFileError, cw.ModelLoadError)
