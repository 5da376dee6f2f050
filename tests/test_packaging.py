"""The sdist and the wheel as a user gets them: built here, the wheel installed into a fresh
virtual environment outside the repository, and the quick start run there, so that package data
(the default model, the sample images, the class names) can never go missing unnoticed."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest

import cnnviz_widgets as cw

# the wheel's contents and a fresh venv built with TensorFlow
pytestmark = pytest.mark.default_backend

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DATA = ("cnnviz_widgets/embedded/default_model.keras", "cnnviz_widgets/embedded/samples/")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return {"wheel": next(out.glob("*.whl")), "sdist": next(out.glob("*.tar.gz")), "folder": out}


def test_both_carry_the_version_and_the_package_data(built):
    assert built["wheel"].name.startswith(f"cnnviz_widgets-{cw.__version__}-")
    assert built["sdist"].name == f"cnnviz_widgets-{cw.__version__}.tar.gz"
    names = zipfile.ZipFile(built["wheel"]).namelist()
    for wanted in PACKAGE_DATA:
        assert any(n.startswith(wanted) for n in names), wanted
    assert sum(n.startswith("cnnviz_widgets/embedded/samples/") and n.endswith(".png") for n in names) >= 6
    assert not any(n.startswith(("tests/", "benchmarks/", "notebooks/")) for n in names)
    metadata = next(n for n in names if n.endswith("METADATA"))
    requires = zipfile.ZipFile(built["wheel"]).read(metadata).decode()
    assert "Requires-Dist: nbconvert" in requires and f"Version: {cw.__version__}" in requires
    with tarfile.open(built["sdist"]) as sdist:
        members = sdist.getnames()
    prefix = f"cnnviz_widgets-{cw.__version__}/"
    for wanted in ("pyproject.toml", "README.md", *PACKAGE_DATA):
        assert any(m.startswith(prefix + wanted) for m in members), wanted


def test_the_wheel_in_a_fresh_environment_runs_the_quick_start(built, tmp_path):
    """The wheel goes into a new venv with no dependencies of its own; the dependencies come from
    this environment's site-packages through a .pth line (nothing is downloaded), so only the
    wheel's own files can be what the quick start imports."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(built["wheel"])],
                   check=True, timeout=300)
    fresh_site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                capture_output=True, text=True, check=True).stdout.strip()
    (Path(fresh_site) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    quick_start = textwrap.dedent("""
        import cnnviz_widgets as cw
        dashboard = cw.explore()
        dashboard.show("Class heatmaps")
        assert dashboard.cams.wait(120) and not dashboard.cams.errors.message
        print(cw.__file__)
        print(cw.__version__, dashboard.inspector.top_k(1)[0].name, dashboard.cams.heatmap.shape)
    """)
    run = tmp_path / "elsewhere"
    run.mkdir()
    done = subprocess.run([str(python), "-c", quick_start], cwd=run, capture_output=True, text=True, timeout=600,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TF_CPP_MIN_LOG_LEVEL": "3",
                               "KERAS_BACKEND": cw.backend.NAME})
    assert done.returncode == 0, done.stderr[-4000:]
    where, summary = done.stdout.strip().splitlines()[-2:]
    assert where.startswith(fresh_site), where                 # the wheel's copy, not the repository's
    version, top_class, shape = summary.split(" ", 2)
    assert version == cw.__version__ and top_class in cw.SHAPE_CLASS_NAMES and shape == "(96, 96)"
