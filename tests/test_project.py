"""Project-level promises: the README's two commands, CI, and the flat public API."""

from __future__ import annotations

import re
import types
from pathlib import Path

import pytest

import cnnviz_widgets as cw

# lint, types and the project's layout: the same whatever the backend
pytestmark = pytest.mark.default_backend

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


@pytest.mark.parametrize("module", [cw, cw.methods], ids=lambda m: m.__name__)
def test_all_is_exactly_what_the_module_exports(module):
    """``__all__`` names every public name of the module (its submodules aside), and each is importable."""
    public = {name for name, value in vars(module).items()
              if not name.startswith("_") and not isinstance(value, types.ModuleType)}
    assert sorted(public - set(module.__all__)) == []          # nothing exported by accident
    assert sorted(set(module.__all__) - public - {"backend", "methods", "render"}) == []   # nothing listed but missing
    assert len(module.__all__) == len(set(module.__all__))


def test_every_declared_method_is_exported_by_its_function_name():
    functions = {m.function.__name__: m.function for m in cw.HEATMAP_METHODS.values()}
    assert functions == cw.methods.METHOD_FUNCTIONS
    for name, function in functions.items():
        assert getattr(cw, name) is function and name in cw.__all__
        assert getattr(cw.methods, name) is function and name in cw.methods.__all__


def test_public_api_is_flat_and_complete():
    for name in cw.__all__:
        assert hasattr(cw, name), name
    assert issubclass(cw.LayerNotFoundError, cw.CnnvizError)
    assert issubclass(cw.UnsafeModelFileError, cw.ModelLoadError)


def test_import_and_first_prediction_print_no_tensorflow_chatter():
    """TensorFlow's C++ start-up lines would show as a red block under the notebook's first cell."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    code = "import cnnviz_widgets as cw; print(cw.ModelInspector().top_k(1)[0].name)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "circle"
    assert "oneDNN" not in result.stderr and "cuInit" not in result.stderr, result.stderr


def test_one_version_number_read_by_the_package_the_build_and_the_changelog():
    from importlib.metadata import version

    source = (ROOT / "cnnviz_widgets" / "_version.py").read_text()
    assert re.search(r'^__version__ = "(\d+\.\d+\.\d+)"$', source, re.M).group(1) == cw.__version__
    assert version("cnnviz-widgets") == cw.__version__, "the installed metadata is stale: make venv reinstalls"
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject and not re.search(r'^version = "', pyproject, re.M)
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(rf"^## {re.escape(cw.__version__)} ", changelog, re.M)


def test_ruff_is_clean():
    """The lint rules of pyproject.toml over the package, tests, benchmarks, scripts and lessons."""
    import subprocess
    import sys

    ruff = Path(sys.executable).with_name("ruff")
    folders = ["cnnviz_widgets", "tests", "benchmarks", "scripts", "lessons", "docs"]
    result = subprocess.run([str(ruff), "check", *folders], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:]


def test_mypy_is_clean():
    """The type checker over the package, with the settings of pyproject.toml."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:]


def test_only_the_backend_module_knows_the_backend():
    """Compilation, gradients and hashing go through cnnviz_widgets/backend.py; the rest is keras.ops.
    TensorFlow is also imported where it is the input (tf.data) or its start-up is silenced."""
    allowed = {"tensorflow": {"backend.py", "_startup.py", "dataset/sources.py"},
               "jax": {"backend.py"}, "torch": {"backend.py"}}
    for path in sorted((ROOT / "cnnviz_widgets").rglob("*.py")):
        name = path.relative_to(ROOT / "cnnviz_widgets").as_posix()
        text = path.read_text()
        for package, where in allowed.items():
            imports = re.findall(rf"^\s*(?:import {package}\b|from {package}[\s.])", text, re.M)
            assert not imports or name in where, f"{name} imports {package}"
