"""Write the notebooks in notebooks/ from the lesson files in lessons/ (output-free).

Each lesson is a jupytext percent-format Python file: ``# %%`` starts a code cell, ``# %% [markdown]``
a markdown cell (its lines commented), and a cell header can carry tags
(``# %% tags=["needs-network"]``). The lesson files are what people edit and what ruff checks; the
``.ipynb`` files are generated from them (Binder, Voila and the browser tests open those), and
``tests/notebooks/test_notebooks.py`` fails when the two differ.

Usage: python scripts/build_notebooks.py
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ROOT / "lessons"

APP = LESSONS / "app.py"
"""The app Voila serves (``voila notebooks/app.ipynb``): the dashboard and prose only, no printed output."""

NOTEBOOKS = {f"{path.stem}.ipynb": path for path in [*sorted(LESSONS.glob("[0-9][0-9]_*.py")), APP]}
"""Each notebook's name and the lesson file it is made from."""

NETWORK_TAG = "needs-network"
"""Tag of the cells that need internet access (the notebook test skips only those)."""


def notebook(lesson: Path) -> nbformat.NotebookNode:
    """The output-free notebook of a lesson file, with stable cell ids and only the cells' tags."""
    nb = jupytext.read(lesson, fmt="py:percent")
    nb.metadata = nbformat.from_dict({
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    })
    for i, cell in enumerate(nb.cells):
        tags = cell.metadata.get("tags")
        cell.metadata = nbformat.from_dict({"tags": tags} if tags else {})
        cell["id"] = f"cell-{i:02d}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.validate(nb)
    return nb


def notebook_text(lesson: Path) -> str:
    """The ``.ipynb`` file's text for a lesson."""
    return nbformat.writes(notebook(lesson)) + "\n"


if __name__ == "__main__":
    for filename, lesson in NOTEBOOKS.items():
        target = ROOT / "notebooks" / filename
        target.write_text(notebook_text(lesson))
        print("wrote", target.relative_to(ROOT))
