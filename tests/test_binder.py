"""The Binder files agree with the package: Python version, install command, notebooks, links."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_runtime_is_the_oldest_supported_python():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.\d+", runtime), runtime
    assert PYPROJECT["project"]["requires-python"] == ">=" + runtime.removeprefix("python-")


def test_postbuild_installs_this_package_with_the_lab_extras():
    script = (BINDER / "postBuild").read_text()
    assert os.access(BINDER / "postBuild", os.X_OK), "repo2docker runs postBuild only when it is executable"
    mode = subprocess.run(["git", "ls-files", "-s", "binder/postBuild"], cwd=ROOT, capture_output=True, text=True)
    assert mode.stdout.startswith("100755") or not mode.stdout, mode.stdout  # executable in git too
    subprocess.run(["bash", "-n", str(BINDER / "postBuild")], check=True)  # valid shell
    install = re.search(r'pip install [^\n]*-e "\.\[(\w+)\]"', script)
    assert install, "postBuild must install the package explicitly (repo2docker ignores the root pyproject)"
    extras = PYPROJECT["project"]["optional-dependencies"][install.group(1)]
    assert {"jupyterlab", "voila"} <= {re.split(r"[<>=\[ ]", e)[0] for e in extras}
    package = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"][0].rstrip("*")
    assert f"import {package}" in script and (ROOT / package / "__init__.py").is_file()
    assert "VGG16(weights=\"imagenet\")" in script and "|| echo" in script  # cached, but never fails the build


def test_every_notebook_a_link_or_script_names_exists():
    texts = {path: path.read_text() for path in (ROOT / "README.md", BINDER / "README.md", BINDER / "postBuild",
                                                 ROOT / "docs" / "classroom.md", ROOT / "docs" / "notebooks.md")}
    named = {(path, m) for path, text in texts.items() for m in re.findall(r"notebooks/[\w.-]+\.ipynb", text)}
    assert len({m for _, m in named}) >= 6, "the docs should link every notebook"
    missing = [(path.name, m) for path, m in named if not (ROOT / m).is_file()]
    assert not missing, missing
    notebooks_page = texts[ROOT / "docs" / "notebooks.md"]
    links = re.findall(r"urlpath=(lab/tree|voila/render)/(notebooks/[\w.-]+\.ipynb)", notebooks_page)
    assert ("lab/tree", "notebooks/00_tour.ipynb") in links and ("voila/render", "notebooks/app.ipynb") in links
