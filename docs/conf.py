"""Sphinx configuration of the documentation site (``make docs``; built offline, warnings as errors).

Sphinx rather than mkdocs: the docstrings are written with Sphinx's roles (``:func:``,
``:class:``) and Google-style sections, which autodoc and napoleon render as they are, and myst-nb
executes the notebooks during the build and keeps their widget state, as Captum's site does.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from cnnviz_widgets._version import __version__  # noqa: E402

project = "cnnviz-widgets"
author = "cnnviz-widgets developers"
copyright = "2026, cnnviz-widgets developers"
version = release = __version__

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
exclude_patterns = ["_build", "_generated", "**/.ipynb_checkpoints"]   # _generated is included, not a page
html_theme = "furo"
html_title = f"cnnviz-widgets {__version__}"
html_static_path: list[str] = []

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True           # a dataclass's Attributes section, not a second description of its fields

myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3
EXECUTED = Path(os.environ.get("CNNVIZ_EXECUTED_NOTEBOOKS") or HERE / "no-such-folder")
"""Set by the test session: where tests/notebooks kept the notebooks it executed in the same run."""
REUSE_EXECUTED = all((EXECUTED / nb.name).is_file() for nb in (ROOT / "notebooks").glob("*.ipynb"))
# every notebook runs during the build, offline, on the embedded model; in a test run that has just
# executed them all (tests/notebooks), their outputs and widget state are shown as they came out
nb_execution_mode = "off" if REUSE_EXECUTED else "force"
nb_execution_timeout = 900
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True


def _copy_notebooks(app) -> None:
    """The notebooks are built from lessons/ into notebooks/; the site renders copies of them."""
    target = HERE / "notebooks"
    target.mkdir(exist_ok=True)
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        shutil.copyfile(EXECUTED / notebook.name if REUSE_EXECUTED else notebook, target / notebook.name)


def _write_generated(app) -> None:
    """Parts of pages made from the code: each widget's table of declared traits."""
    from cnnviz_widgets.widgets import WIDGETS_WITH_CONTROLS
    from cnnviz_widgets.widgets._controls import traits_table

    generated = HERE / "_generated"
    generated.mkdir(exist_ok=True)
    for widget in WIDGETS_WITH_CONTROLS:
        (generated / f"traits-{widget.__name__}.md").write_text(traits_table(widget) + "\n")


def setup(app) -> None:
    app.connect("builder-inited", _copy_notebooks)
    app.connect("builder-inited", _write_generated)
