"""Notebooks to self-contained HTML: run a notebook and keep its widgets' state in the page.

A student opens the HTML in a browser without a kernel and sees the widgets as they were drawn
(images, charts, slider positions; moving a slider does nothing without a kernel). The page loads
the widget JavaScript (``@jupyter-widgets/html-manager`` and bqplot) from the jsDelivr CDN when it
is opened, so the reader needs internet access; the PNG export (``widget.save_png()``) does not.

Command line: ``python -m cnnviz_widgets.export notebooks/00_tour.ipynb -o tour.html``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from cnnviz_widgets.errors import ArgumentError

WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"


def execute_notebook(notebook: str | os.PathLike, *, timeout: int = 600, kernel_name: str = "python3",
                     working_dir: str | os.PathLike | None = None):
    """Run every cell of ``notebook`` in a fresh kernel and return the executed ``NotebookNode``.

    The widgets' state is stored in the notebook's metadata (``widgets`` /
    ``application/vnd.jupyter.widget-state+json``), as JupyterLab's "Save Widget State
    Automatically" does. ``working_dir`` defaults to the notebook's folder.

    Raises:
        ArgumentError: the notebook does not exist or is not a notebook.
        nbclient.exceptions.CellExecutionError: a cell raised (the message names the cell).
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(notebook)
    if not path.is_file():
        raise ArgumentError(f"No notebook at {str(path)!r}")
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:
        raise ArgumentError(f"{path.name!r} is not a readable notebook: {exc}") from exc
    folder = Path(working_dir) if working_dir is not None else path.resolve().parent
    NotebookClient(nb, timeout=timeout, kernel_name=kernel_name, store_widget_state=True,
                   resources={"metadata": {"path": str(folder)}}).execute()
    return nb


def widget_state(nb) -> dict:
    """The stored widget models of an executed notebook: ``{model_id: {"model_name", "state", ...}}``."""
    return nb.metadata.get("widgets", {}).get(WIDGET_STATE_MIME, {}).get("state", {})


def export_html(notebook: str | os.PathLike, output: str | os.PathLike | None = None, *, execute: bool = True,
                timeout: int = 600, kernel_name: str = "python3") -> Path:
    """Write ``notebook`` as one HTML page with its widgets' state embedded; returns the page's path.

    Args:
        notebook: path of a ``.ipynb`` file.
        output: path of the page (default: the notebook's path with ``.html``).
        execute: run the notebook first (default). With ``False`` the notebook is exported as saved,
            which keeps widgets only if it was saved with its widget state.
        timeout: seconds allowed per cell.

    Raises:
        ArgumentError: missing notebook, or an output path that does not end in .html.
    """
    import nbformat
    from nbconvert import HTMLExporter

    path = Path(notebook)
    target = Path(output) if output is not None else path.with_suffix(".html")
    if target.suffix.lower() not in (".html", ".htm"):
        raise ArgumentError(f"The page is HTML; give an output path ending in .html, not {target.name!r}")
    if execute:
        nb = execute_notebook(path, timeout=timeout, kernel_name=kernel_name)
    elif path.is_file():
        nb = nbformat.read(path, as_version=4)
    else:
        raise ArgumentError(f"No notebook at {str(path)!r}")
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    target.write_text(body, encoding="utf-8")
    return target


def embedded_widget_state(page: str) -> dict:
    """The widget state embedded in an exported HTML page (empty when there is none)."""
    marker = f'<script type="{WIDGET_STATE_MIME}">'
    start = page.find(marker)
    if start < 0:
        return {}
    end = page.index("</script>", start)
    return json.loads(page[start + len(marker):end]).get("state", {})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnviz_widgets.export",
                                     description="Run a notebook and save it as HTML with its widgets' state.")
    parser.add_argument("notebook")
    parser.add_argument("-o", "--output", help="the HTML file (default: next to the notebook)")
    parser.add_argument("--no-execute", action="store_true", help="export as saved, without running it")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    args = parser.parse_args(argv)
    page = export_html(args.notebook, args.output, execute=not args.no_execute, timeout=args.timeout)
    models = embedded_widget_state(page.read_text(encoding="utf-8"))
    print(f"wrote {page} ({page.stat().st_size / 1e6:.1f} MB, {len(models)} widget models embedded)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
