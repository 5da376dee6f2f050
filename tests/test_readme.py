"""Every command and code block of the README is exercised: run here, or by the test named below.

``test_every_block_is_covered`` fails when a block is added that no test knows about.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cnnviz_widgets as cw

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _blocks() -> list[str]:
    """The README's fenced blocks, each without the indentation of its fence."""
    found = re.findall(r"^( *)```\w*\n(.*?)^\1```", README, re.S | re.M)
    return ["\n".join(line[len(indent):] for line in body.splitlines()) for indent, body in found]


COVERED = {
    # marker found in the block -> where it is exercised
    "make lab\nmake test": "tests/test_project.py (the two set-up commands) and .ci/run",
    "dashboard.show(\"Class heatmaps\")": "test_quick_start",
    "cw.load_default_model().save(\"shapes.keras\")": "test_your_own_model",
    "VGG16(weights=\"imagenet\")": "test_network_line_is_valid (needs the network to run)",
    "inspector.activations(\"block3_conv2\")": "test_model_inspector_lines",
    "cats_vs_dogs = keras.Model(": "test_models_and_heads_block",
    "result = cw.scan(inspector, shapes": "test_scan_block",
    "m.grad_cam(inspector, x)": "test_readme_methods_example_runs_and_says_what_it_claims",
    "cam.wait()": "test_readme_widgets_example_runs_and_says_what_it_claims",
    "-m cnnviz_widgets.export notebooks/00_tour.ipynb -o tour.html": "test_export_command",
    "voila notebooks/00_tour.ipynb": "tests/test_voila.py (the same command, served and checked)",
    "cnnviz_widgets/": "the repository layout (a listing, not a command)",
    '@declare("my_cam"': "test_adding_a_method_block",
    'store="cnnviz-store"': "test_store_block",
    "-m cnnviz_widgets.precompute VGG16": "test_precompute_commands",
}


def block(marker: str) -> str:
    matches = [body for body in _blocks() if marker in body]
    assert len(matches) == 1, f"expected one README block with {marker!r}, found {len(matches)}"
    return matches[0]


def test_every_block_is_covered():
    blocks = _blocks()
    assert len(blocks) >= 10
    for body in blocks:
        assert any(marker in body for marker in COVERED), f"README block not exercised by any test:\n{body}"


def test_quick_start_is_three_lines_and_opens_the_heatmap_tab():
    code = block('dashboard.show("Class heatmaps")')
    assert len([line for line in code.splitlines() if line.strip()]) == 3
    namespace: dict = {}
    exec(compile(code, "README.md (Quick start)", "exec"), namespace)
    dashboard = namespace["dashboard"]
    assert dashboard.wait(120)
    assert dashboard.tabs.selected_index == 2 and dashboard.cams.active
    assert cw.render.decode_png(dashboard.png).shape == (192, 192, 3)
    assert dashboard.cams.classes.describe().startswith("circle")


def test_model_inspector_lines():
    namespace: dict = {"cw": cw}
    exec(compile(block('inspector.activations("block3_conv2")'), "README.md (ModelInspector)", "exec"), namespace)
    inspector = namespace["inspector"]
    assert inspector.top_k(3)[0].name == "circle"
    assert inspector.activations("block3_conv2").shape == (12, 12, 96)
    assert inspector.preprocessing == "scale_0_1"


def test_your_own_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(block('cw.load_default_model().save("shapes.keras")'), "README.md (own model)", "exec"), namespace)
    assert (tmp_path / "shapes.keras").is_file()
    for name in ("from_file", "no_input"):
        dashboard = namespace[name]
        assert dashboard.inspector.top_k(1)[0].name == "star", name
    assert namespace["no_input"].inspector.model.__class__.__name__ == "Sequential"
    nested = namespace["nested"]
    assert nested.cams.layer == "vgg16/block5_conv3" and nested.inspector.preprocessing == "vgg16"
    assert cw.default_cam_layer(namespace["transfer"])[0] == "vgg16/block5_conv3"


def test_network_line_is_valid():
    """It cannot run offline: check that it compiles and that every name it uses exists."""
    code = block('VGG16(weights="imagenet")')
    compile(code, "README.md (ImageNet)", "exec")
    import keras

    assert callable(cw.explore) and callable(keras.applications.VGG16)
    assert "class_names=\"imagenet\"" in code
    from cnnviz_widgets.data.class_names import resolve_class_names

    names = resolve_class_names("imagenet", 1000)     # shipped with the package, never downloaded
    assert len(names) == 1000 and "African bush elephant" in names


@pytest.mark.slow
def test_export_command(tmp_path):
    command = block("-m cnnviz_widgets.export").strip()
    assert command.startswith(".venv/bin/python ")
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    args = command.split()[1:]
    result = subprocess.run([sys.executable, *args], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r"wrote tour\.html \(\d+\.\d MB, \d+ widget models embedded\)", result.stdout)
    from cnnviz_widgets.export import embedded_widget_state

    state = embedded_widget_state((tmp_path / "tour.html").read_text(encoding="utf-8"))
    images = [m for m in state.values() if m["model_name"] == "ImageModel" and len(m.get("buffers", [])) == 1]
    assert len(images) >= 10


def test_readme_methods_example_runs_and_says_what_it_claims(capsys):
    code = block("m.grad_cam(inspector, x)")
    namespace: dict = {}
    exec(compile(code, "README.md (Methods)", "exec"), namespace)
    assert namespace["heat"].shape == (1, 96, 96) and namespace["heat"].max() == 1.0
    assert namespace["sweep"].grid.shape == (1, 15, 15)
    assert namespace["tiles"].shape == (16, 96, 96, 3)
    assert "1536 1536" in capsys.readouterr().out  # progress=print reached the last step
    assert cw.methods.default_cam_layer(namespace["inspector"])[0] == "block3_conv2"


def test_readme_widgets_example_runs_and_says_what_it_claims():
    code = block("cam.wait()")
    namespace: dict = {}
    exec(compile(code, "README.md (Widgets)", "exec"), namespace)
    cam, browser, inspector = namespace["cam"], namespace["browser"], namespace["inspector"]
    assert cam.heatmap.shape == (96, 96) and cam.classes.describe().startswith("star")
    assert namespace["png"][:8] == b"\x89PNG\r\n\x1a\n"
    assert browser.channel == 5 and inspector.forward_passes == 1


def test_models_and_heads_block():
    namespace: dict = {}
    exec(compile(block("cats_vs_dogs = keras.Model("), "README.md (Models and heads)", "exec"), namespace)
    inspector = namespace["inspector"]
    assert inspector.head == "binary" and inspector.class_names == ("cat", "dog")
    p = float(inspector.probabilities[1])
    assert float(inspector.probabilities[0]) == pytest.approx(1 - p, abs=1e-6)
    assert namespace["cat_map"].shape == (1, 96, 96)


def test_the_heads_table_is_the_heads_registry():
    section = README.split("## Models and heads", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \|", section, re.M)
    assert rows == list(cw.HEADS)


def test_the_widget_table_lists_every_declared_trait():
    from cnnviz_widgets.widgets._controls import declared_controls

    section = README.split("## Widgets", 1)[1].split("\n## ", 1)[0]
    for widget in (cw.LayerBrowser, cw.FilterGallery, cw.CamOverlay, cw.OcclusionSweeper, cw.DatasetBrowser):
        row = next(line for line in section.splitlines() if line.startswith(f"| `{widget.__name__}(inspector"))
        listed = set(re.findall(r"`(\w+)`", row.split("|")[2]))
        assert listed == set(declared_controls(widget)), widget.__name__


def test_scan_block(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(block("result = cw.scan(inspector, shapes"), "README.md (Across a dataset)", "exec"), namespace)
    result, dashboard = namespace["result"], namespace["dashboard"]
    assert result.confusion.shape == (6, 6) and result.confusion.sum() == 300 and result.accuracy > 0.95
    assert len(result.top_examples("block3_conv2", 5)) == 9
    assert (tmp_path / "shapes-scan" / "manifest.json").exists()
    assert dashboard.tab_titles[-1] == "Dataset" and len(dashboard.dataset.scan) == 300
    dashboard.close()


def test_the_methods_table_is_generated_from_the_declarations():
    sys.path.insert(0, str(ROOT / "scripts"))
    from build_readme import with_methods_table

    assert with_methods_table(README) == README, "run: python scripts/build_readme.py"
    rows = re.findall(r"^\| `(\w+)` \| ", README.split("<!-- methods-table:start -->", 1)[1], re.M)
    assert rows[:len(cw.HEATMAP_METHODS)] == list(cw.HEATMAP_METHODS)


def test_adding_a_method_block():
    from cnnviz_widgets.methods import HEATMAP_METHODS, Option, declare

    namespace = {"declare": declare, "Option": Option}
    try:
        exec(compile(block('@declare("my_cam"'), "README.md (Adding a method)", "exec"), namespace)
        spec = HEATMAP_METHODS["my_cam"]
        assert spec.family == "cam" and spec.uses_layer and [o.name for o in spec.options] == ["sharpness"]
        assert spec.checked_options({"sharpness": 3}) == {"sharpness": 3.0}
        with pytest.raises(cw.ArgumentError, match="sharpness of My-CAM must be a number in 0.1..10.0"):
            spec.checked_options({"sharpness": 11})
    finally:
        HEATMAP_METHODS.pop("my_cam", None)


def test_store_block(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from PIL import Image

    Image.fromarray(cw.sample_images()[1]["image"]).save("photo.jpg")
    code = block('store="cnnviz-store"')
    namespace = {"cw": cw, "model": cw.load_default_model()}
    exec(code, namespace)
    store = namespace["inspector"].store
    assert store.folder == Path("cnnviz-store") and len(store) == 17 and store.hits == 0   # 16 patterns + 1 map
    exec(code, namespace)                                       # the same lines again (a new inspector): read back
    again = namespace["inspector"].store
    assert again is not store and again.hits == 17 and again.misses == 0 and len(again) == 17


def test_precompute_commands(tmp_path, monkeypatch):
    from cnnviz_widgets.precompute import build_parser, main

    prefix = ".venv/bin/python -m cnnviz_widgets.precompute "
    lines = [line for line in block("-m cnnviz_widgets.precompute VGG16").splitlines() if line.strip()]
    assert len(lines) == 2 and all(line.startswith(prefix) for line in lines)
    first, second = (build_parser().parse_args(line[len(prefix):].split()) for line in lines)
    assert (first.model, first.all_conv, first.filters, first.store) == ("VGG16", True, 64, "course-store")
    assert (second.model, second.patterns) == ("model.keras", ["block3_conv1", "block4_conv1"])
    monkeypatch.chdir(tmp_path)
    cw.load_default_model().save("model.keras")                 # the same command on the default model's layers
    argv = lines[1][len(prefix):].replace("block3_conv1 block4_conv1", "block2_conv1 block3_conv1").split()
    assert main([*argv, "--filters", "2", "--steps", "2"]) == 0
    assert len(cw.ResultStore("course-store")) == 4
