"""Every command and code block of the README and of the documentation pages (docs/) is
exercised: run here, or by the test named below.

``test_every_block_is_covered`` fails when a block is added that no test knows about.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cnnviz_widgets as cw

ROOT = Path(__file__).resolve().parents[1]
PAGES = {path: path.read_text() for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
         if not {"_build", "_generated", "notebooks"} & set(path.relative_to(ROOT).parts)}
"""The README and the documentation's own pages (not the build's output or the notebook copies)."""
README = PAGES[ROOT / "README.md"]


def page(name: str) -> str:
    """The text of ``docs/<name>``."""
    return PAGES[ROOT / "docs" / name]


COVERED = {
    # marker found in the block -> where it is exercised
    "make lab\nmake test": "tests/test_project.py (the two set-up commands) and .ci/run",
    "dashboard.show(\"Class heatmaps\")": "test_quick_start",
    "cw.CamOverlay(inspector, method=\"grad_cam_plus_plus\")             # one widget": "test_getting_started_lines",
    "cw.load_default_model().save(\"shapes.keras\")": "test_your_own_model",
    "VGG16(weights=\"imagenet\")": "test_network_line_is_valid (needs the network to run)",
    "inspector.activations(\"block3_conv2\")": "test_model_inspector_lines",
    "untrained = inspector.twin(weights=": "test_settings_and_twins_block",
    "cats_vs_dogs = keras.Model(": "test_models_and_heads_block",
    "result = cw.scan(inspector, shapes": "test_scan_block",
    "m.grad_cam(inspector, x)": "test_methods_example_runs_and_says_what_it_claims",
    "cam.wait()": "test_widgets_example_runs_and_says_what_it_claims",
    "browser.normalization = \"shared\"": "test_widget_pages",
    "gallery.export_atlas(\"atlas.png\")": "test_widget_pages",
    "cam.compare = (": "test_widget_pages",
    "sweeper.step = 20": "test_widget_pages",
    "triangles = browser.show_cell(2, 2)": "test_widget_pages",
    "dashboard.show(\"Occlusion\")": "test_widget_pages",
    "-m cnnviz_widgets.export notebooks/00_tour.ipynb -o tour.html": "test_export_command",
    "voila notebooks/app.ipynb": "tests/test_voila.py (the same command, served and checked)",
    "cnnviz_widgets/": "the repository layout (a listing, not a command)",
    '@declare("my_cam"': "test_adding_a_method_block",
    '@gradient_cam("positive_grad_cam"': "test_adding_a_gradient_cam_block",
    'store="cnnviz-store"': "test_store_block",
    "-m cnnviz_widgets.precompute VGG16": "test_precompute_commands",
    "/hub/user-redirect/git-pull?repo=": "test_the_nbgitpuller_link",
    'recorder = cw.TrainingRecorder("runs/shapes"': "test_training_blocks",
    'os.environ["KERAS_BACKEND"] = "jax"': "test_backends_blocks",
    "scripts/requirements.py --extras jax,lab --without tensorflow": "test_backends_blocks (and make test's .venv-jax)",
    "dashboard.inspector.snapshot = 3": "test_training_blocks",
    'timeline = cw.TrainingTimeline(inspector, x_axis="steps")': "test_training_blocks",
}


def code_blocks() -> list[tuple[Path, str]]:
    """Every (page, fenced block) that is code, not a MyST directive (``{toctree}``, ``{include}``...),
    each without the indentation of its fence."""
    found = []
    for path, text in PAGES.items():
        for indent, lang, body in re.findall(r"^( *)```([^\n]*)\n(.*?)^\1```", text, re.S | re.M):
            if not lang.startswith("{"):
                found.append((path, "\n".join(line[len(indent):] for line in body.splitlines())))
    return found


def block(marker: str, where: str | None = None) -> str:
    """The one code block holding ``marker`` (in the page ``where``, relative to the repository, if given)."""
    matches = [body for path, body in code_blocks()
               if marker in body and (where is None or path == ROOT / where)]
    assert len(matches) == 1, f"expected one block with {marker!r}, found {len(matches)}"
    return matches[0]


def section(text: str, heading: str) -> str:
    """The part of a page under ``## heading``, up to the next heading of that level."""
    return text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]


START_UP_NOISE = ("oneDNN custom operations", "cuInit", "cuda_executor", "TF_ENABLE_ONEDNN_OPTS",
                  "Unable to register")
"""Lines TensorFlow's C++ side prints while it starts (the red block under a notebook's first cell)."""


@pytest.mark.tensorflow
def test_tensorflow_starts_quietly_in_the_documented_order():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    for code in ("import cnnviz_widgets as cw\nimport keras", "import cnnviz_widgets as cw\nimport tensorflow"):
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        noise = [line for line in done.stderr.splitlines() if any(word in line for word in START_UP_NOISE)]
        assert not noise, (code, noise)
    for path, body in code_blocks():   # every page imports cnnviz_widgets before keras
        lines = body.splitlines()
        if "import keras" in lines and "import cnnviz_widgets as cw" in body:
            first_cw = next(i for i, line in enumerate(lines) if line.startswith("import cnnviz_widgets"))
            assert first_cw < lines.index("import keras"), f"{path.relative_to(ROOT)} imports keras first"


def test_every_block_is_covered():
    blocks = code_blocks()
    assert len(blocks) >= 20
    for path, body in blocks:
        assert any(marker in body for marker in COVERED), f"{path.relative_to(ROOT)}: block not exercised:\n{body}"


def test_the_readme_is_a_front_page_that_links_every_page():
    headings = re.findall(r"^## (.*)$", README, re.M)
    assert headings == ["Set-up", "Quick start", "Documentation"]
    assert README.count("![") == 1                           # one screenshot
    linked = set(re.findall(r"\]\(docs/([\w-]+\.md)", README))
    pages = {path.name for path in (ROOT / "docs").glob("*.md")} - {"index.md", "changelog.md", "api.md"}
    assert pages <= linked, pages - linked
    for target, anchor in re.findall(r"\]\(docs/([\w-]+\.md)#([\w-]+)\)", README):   # anchors name real headings
        slugs = {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-")
                 for h in re.findall(r"^#+ (.*)$", page(target), re.M)}
        assert anchor in slugs, (target, anchor)
    toctree = page("index.md").split("{toctree}", 1)[1]
    assert {name.removesuffix(".md") for name in pages | {"api.md", "changelog.md"}} <= set(toctree.split())


def test_the_quick_start_is_the_same_everywhere():
    quick = block('dashboard.show("Class heatmaps")', "README.md")
    for where in ("docs/index.md", "docs/getting-started.md"):
        assert block('dashboard.show("Class heatmaps")', where) == quick, where


def test_quick_start_is_three_lines_and_opens_the_heatmap_tab():
    code = block('dashboard.show("Class heatmaps")', "README.md")
    assert len([line for line in code.splitlines() if line.strip()]) == 3
    namespace: dict = {}
    exec(compile(code, "README.md (Quick start)", "exec"), namespace)
    dashboard = namespace["dashboard"]
    assert dashboard.wait(120)
    assert dashboard.tabs.selected_index == 2 and dashboard.cams.active
    assert cw.render.decode_png(dashboard.png).shape[0] == 256            # the map at 256 px, then its colour bar
    assert dashboard.cams.classes.describe().startswith("circle")


def test_getting_started_lines():
    namespace: dict = {"cw": cw}
    exec(compile(block("# one widget"), "docs (getting started)", "exec"), namespace)
    assert namespace["heat"].shape == (1, 96, 96) and namespace["heat"].max() == 1.0
    assert float(namespace["heat"].min()) >= 0.0


def _run_page_block(marker: str, namespace: dict, wait: str) -> dict:
    exec(compile(block(marker), f"docs (the page of {wait})", "exec"), namespace)
    assert namespace[wait].wait(300), wait
    return namespace


@pytest.mark.default_backend   # the docs' own examples; the backends page's run under JAX
def test_widget_pages(tmp_path, monkeypatch):
    """The example on each widget's page runs and does what its comments say."""
    monkeypatch.chdir(tmp_path)
    inspector = cw.ModelInspector()
    ns = _run_page_block('browser.normalization = "shared"', {"cw": cw, "inspector": inspector}, "browser")
    per_channel = cw.LayerBrowser(inspector, layer="block1_conv1", channel=7)
    assert per_channel.wait(60) and ns["browser"].channel == 7
    assert ns["browser"].png != per_channel.png              # one range for the layer draws another picture

    ns = _run_page_block("gallery.page = 1", {"cw": cw, "inspector": inspector}, "gallery")
    gallery = ns["gallery"]
    assert gallery.page == 1 and gallery.page_filters() == list(range(16, 32))
    atlas = cw.render.decode_png(Path("atlas.png").read_bytes())
    assert atlas.ndim == 3 and atlas.std() > 5                # the page's patterns, not a blank grid

    ns = _run_page_block("cam.compare = (", {"cw": cw, "inspector": inspector}, "cam")
    assert ns["cam"].classes.describe().startswith("star")
    assert ns["cam"].compare == ("grad_cam", "score_cam", "smoothgrad")

    ns = _run_page_block("sweeper.step = 20", {"cw": cw, "inspector": inspector}, "sweeper")
    assert ns["sweeper"].sweep.grid.shape == (1, 11, 11) and ns["sweeper"].step == 20   # (96 - 16) / 8 + 1

    ns = _run_page_block("triangles = browser.show_cell(2, 2)", {"cw": cw, "inspector": inspector}, "browser")
    scan, triangles = ns["browser"].scan, ns["triangles"]
    assert triangles and all(scan.labels[i] == 2 and scan.predictions[i] == 2 for i in triangles)
    assert np.array_equal(inspector.image, ns["browser"].image(triangles[0]))
    assert inspector.top_k(1)[0].name == "triangle"

    ns = _run_page_block('dashboard.show("Occlusion")', {"cw": cw}, "dashboard")
    assert ns["dashboard"].tabs.selected_index == ns["dashboard"].tab_titles.index("Occlusion")
    assert len(list(tmp_path.glob("cnnviz_*.png"))) == 1


def test_model_inspector_lines():
    namespace: dict = {"cw": cw}
    exec(compile(block('inspector.activations("block3_conv2")'), "docs (ModelInspector)", "exec"), namespace)
    inspector = namespace["inspector"]
    assert inspector.top_k(3)[0].name == "circle"
    assert inspector.activations("block3_conv2").shape == (12, 12, 96)
    assert inspector.preprocessing == "scale_0_1"


def test_settings_and_twins_block(capsys):
    namespace: dict = {}
    exec(compile(block("untrained = inspector.twin(weights="), "docs (twins)", "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "scale_0_1 ('circle', 'square')"
    assert float(printed[1]) == pytest.approx(1 / 6, abs=1e-6)      # what the comment says
    inspector = namespace["inspector"]
    assert inspector.top_k(1)[0].probability > 0.5                  # the user's model is untouched


def test_your_own_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(block('cw.load_default_model().save("shapes.keras")'), "docs (own model)", "exec"), namespace)
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
    compile(code, "docs (ImageNet)", "exec")
    import keras

    assert callable(cw.explore) and callable(keras.applications.VGG16)
    assert "class_names=\"imagenet\"" in code
    from cnnviz_widgets.embedded.class_names import resolve_class_names

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


@pytest.mark.default_backend   # the docs' own examples; the backends page's run under JAX
def test_methods_example_runs_and_says_what_it_claims(capsys):
    code = block("m.grad_cam(inspector, x)")
    namespace: dict = {}
    exec(compile(code, "docs (Methods)", "exec"), namespace)
    assert namespace["heat"].shape == (1, 96, 96) and namespace["heat"].max() == 1.0
    assert namespace["sweep"].grid.shape == (1, 15, 15)
    assert namespace["tiles"].shape == (16, 96, 96, 3)
    assert "1536 1536" in capsys.readouterr().out  # progress=print reached the last step
    assert cw.methods.default_cam_layer(namespace["inspector"])[0] == "block3_conv2"


def test_widgets_example_runs_and_says_what_it_claims():
    code = block("cam.wait()")
    namespace: dict = {}
    exec(compile(code, "docs (Widgets)", "exec"), namespace)
    cam, browser, inspector = namespace["cam"], namespace["browser"], namespace["inspector"]
    assert cam.heatmap.shape == (96, 96) and cam.classes.describe().startswith("star")
    assert namespace["png"][:8] == b"\x89PNG\r\n\x1a\n"
    assert browser.channel == 5 and inspector.forward_passes == 1


def test_models_and_heads_block():
    namespace: dict = {}
    exec(compile(block("cats_vs_dogs = keras.Model("), "docs (Models and heads)", "exec"), namespace)
    inspector = namespace["inspector"]
    assert inspector.head == "binary" and inspector.class_names == ("cat", "dog")
    p = float(inspector.probabilities[1])
    assert float(inspector.probabilities[0]) == pytest.approx(1 - p, abs=1e-6)
    assert namespace["cat_map"].shape == (1, 96, 96)


def test_the_heads_table_is_the_heads_registry():
    rows = re.findall(r"^\| `(\w+)` \|", section(page("inspector.md"), "Models and heads"), re.M)
    assert rows == list(cw.HEADS)


def test_the_widget_table_lists_every_declared_trait():
    from cnnviz_widgets.widgets import WIDGETS_WITH_CONTROLS
    from cnnviz_widgets.widgets._controls import declared_controls

    assert WIDGETS_WITH_CONTROLS                # derived from the declarations: never empty by mistake
    for widget in WIDGETS_WITH_CONTROLS:
        row = next(line for line in page("widgets.md").splitlines() if f"`{widget.__name__}(inspector" in line)
        listed = set(re.findall(r"`(\w+)`", row.split("|")[2]))
        assert listed == set(declared_controls(widget)), widget.__name__


def test_scan_block(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(block("result = cw.scan(inspector, shapes"), "docs (Across a dataset)", "exec"), namespace)
    result, dashboard = namespace["result"], namespace["dashboard"]
    assert result.confusion.shape == (6, 6) and result.confusion.sum() == 300 and result.accuracy > 0.95
    assert len(result.top_examples("block3_conv2", 5)) == 9
    assert (tmp_path / "shapes-scan" / "manifest.json").exists()
    assert dashboard.tab_titles[-1] == "Dataset" and len(dashboard.dataset.scan) == 300
    dashboard.close()


def test_the_methods_table_is_generated_from_the_declarations():
    sys.path.insert(0, str(ROOT / "scripts"))
    from build_methods_table import with_methods_table

    methods = page("methods.md")
    assert with_methods_table(methods) == methods, "run: python scripts/build_methods_table.py"
    rows = re.findall(r"^\| `(\w+)` \| ", methods.split("<!-- methods-table:start -->", 1)[1], re.M)
    assert rows[:len(cw.HEATMAP_METHODS)] == list(cw.HEATMAP_METHODS)


def test_adding_a_method_block():
    from cnnviz_widgets.methods import HEATMAP_METHODS, Option, declare

    namespace = {"declare": declare, "Option": Option}
    try:
        exec(compile(block('@declare("my_cam"'), "docs (Adding a method)", "exec"), namespace)
        spec = HEATMAP_METHODS["my_cam"]
        assert spec.family == "cam" and spec.uses_layer and [o.name for o in spec.options] == ["sharpness"]
        assert spec.checked_options({"sharpness": 3}) == {"sharpness": 3.0}
        with pytest.raises(cw.ArgumentError, match="sharpness of My-CAM must be a number in 0.1..10.0"):
            spec.checked_options({"sharpness": 11})
    finally:
        HEATMAP_METHODS.pop("my_cam", None)


def test_adding_a_gradient_cam_block(functional_model):
    """The block declares a working method: the frame is shared, only the step is new."""
    from cnnviz_widgets.methods import HEATMAP_METHODS

    namespace: dict = {}
    try:
        exec(compile(block('@gradient_cam("positive_grad_cam"'), "docs (gradient CAM)", "exec"), namespace)
        method = namespace["positive_grad_cam"]
        assert HEATMAP_METHODS["positive_grad_cam"].function is method and method.__name__ == "positive_grad_cam"
        x = np.random.default_rng(0).uniform(0, 1, (2, 32, 32, 3)).astype(np.float32)
        maps = cw.heatmap(functional_model, x, "positive_grad_cam", 1, "relu2")
        assert maps.shape == (2, 32, 32) and maps.max() == pytest.approx(1.0)
        raw = method(functional_model, x, 1, "relu2", raw=True)
        assert raw.shape == (2, 32, 32) and np.corrcoef(np.maximum(raw, 0).ravel(), maps.ravel())[0, 1] > 0.9
    finally:
        HEATMAP_METHODS.pop("positive_grad_cam", None)


@pytest.mark.default_backend   # the docs' own examples; the backends page's run under JAX
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
    lines = [line for line in block("-m cnnviz_widgets.precompute VGG16", "docs/store.md").splitlines() if line.strip()]
    classroom = block("-m cnnviz_widgets.precompute VGG16", "docs/classroom.md").strip()
    assert classroom.removeprefix("python ") == lines[0].removeprefix(".venv/bin/python ")
    assert len(lines) == 2 and all(line.startswith(prefix) for line in lines)
    first, second = (build_parser().parse_args(line[len(prefix):].split()) for line in lines)
    assert (first.model, first.all_conv, first.filters, first.store) == ("VGG16", True, 64, "course-store")
    assert (second.model, second.patterns) == ("model.keras", ["block3_conv1", "block4_conv1"])
    monkeypatch.chdir(tmp_path)
    cw.load_default_model().save("model.keras")                 # the same command on the default model's layers
    argv = lines[1][len(prefix):].replace("block3_conv1 block4_conv1", "block2_conv1 block3_conv1").split()
    assert main([*argv, "--filters", "2", "--steps", "2"]) == 0
    assert len(cw.ResultStore("course-store")) == 4


def test_the_nbgitpuller_link():
    from urllib.parse import parse_qs, unquote, urlsplit

    link = block("/hub/user-redirect/git-pull?repo=").strip()
    query = parse_qs(urlsplit(link).query)
    assert unquote(query["repo"][0]) == "https://github.com/<owner>/<repo>" and query["branch"] == ["main"]
    urlpath = unquote(query["urlpath"][0])
    assert urlpath.startswith("lab/tree/<repo>/")
    assert (ROOT / urlpath.removeprefix("lab/tree/<repo>/")).is_file()


def test_the_kernel_memory_tables_are_the_benchmarks_stored_numbers():
    """docs/classroom.md and benchmarks/README.md show benchmarks/kernel_memory.py's stored output,
    for every notebook that ships: a new notebook, or a page edited by hand, fails here."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import kernel_memory

    stored = kernel_memory.load()
    assert set(stored["notebooks"]) == {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}, \
        "measure the new notebook: python benchmarks/kernel_memory.py notebooks/<name>.ipynb"
    for path in kernel_memory.PAGES:
        text = path.read_text()
        assert kernel_memory.with_table(text, stored) == text, f"run: python benchmarks/kernel_memory.py ({path.name})"
    for row in stored["notebooks"].values():
        assert 200 < row["rss_end_mib"] <= row["peak_mib"] + 1 and 0 < row["seconds"] < 900


def test_training_blocks(tmp_path, monkeypatch):
    """The Training page's and the TrainingTimeline page's examples, on a tiny model trained for real."""
    from tests.training.conftest import compiled, data

    monkeypatch.chdir(tmp_path)
    model = compiled()
    x, y = data()
    namespace = {"cw": cw, "model": model, "x": x, "y": y, "probe_images": x[:12], "probe_labels": y[:12]}
    exec(compile(block('recorder = cw.TrainingRecorder("runs/shapes"', "docs/training.md").replace(
        "epochs=6", "epochs=3, verbose=0"), "docs (Watching a network learn)", "exec"), namespace)
    run = namespace["run"]
    assert run.snapshots[-1].epoch == 3 and len(run.history["loss"]) == 3
    assert run.probe_predictions(-1).shape == (12,)
    exec(compile(block("dashboard.inspector.snapshot = 3", "docs/training.md"), "docs (time axis)", "exec"), namespace)
    dashboard = namespace["dashboard"]
    assert dashboard.tab_titles[-1] == "Training" and dashboard.tabs.selected_index == len(dashboard.tab_titles) - 1
    for shown, stored in zip(dashboard.inspector.model.get_weights(), run.weights(3), strict=True):
        np.testing.assert_array_equal(shown, stored)
    dashboard.close()
    exec(compile(block('timeline = cw.TrainingTimeline(inspector, x_axis="steps")'), "docs (TrainingTimeline)", "exec"),
         namespace)
    timeline = namespace["timeline"]
    assert timeline.wait(120) and timeline.x_axis == "steps" and timeline.snapshot_slider.value == 0
    assert namespace["inspector"].snapshot_shown.kind == "start"
    timeline.close()


def test_backends_blocks():
    """docs/backends.md: the first cell picks JAX by itself; the JAX-only install asks for every declared
    requirement of the package and its lab extra, and JAX, and not TensorFlow."""
    python = Path(sys.executable) if cw.backend.NAME == "jax" else ROOT / ".venv-jax" / "bin" / "python"
    assert python.exists(), "make test builds .venv-jax before running the suite"
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    done = subprocess.run([str(python), "-c", block('os.environ["KERAS_BACKEND"] = "jax"', "docs/backends.md")],
                          capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.split() == ["jax"], done.stderr[-2000:]

    import tomllib

    sys.path.insert(0, str(ROOT / "scripts"))
    from requirements import requirement_name

    command = next(line for line in block("scripts/requirements.py --extras jax,lab").splitlines()
                   if line.startswith("python scripts/requirements.py"))
    printed = subprocess.run([sys.executable, *command.split()[1:command.split().index(">")]], capture_output=True,
                             text=True, check=True, cwd=ROOT).stdout.split()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    declared = project["dependencies"] + extras["lab"] + extras["jax"]
    assert sorted(printed) == sorted(r for r in declared if requirement_name(r) != "tensorflow")
    assert "tensorflow" not in {requirement_name(r) for r in printed} and "jax" in map(requirement_name, printed)


def test_the_backends_tables_are_the_benchmarks_stored_numbers():
    """docs/backends.md and benchmarks/README.md show benchmarks/backends.py's stored output."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import backends

    stored = backends.load()
    for path in backends.PAGES:
        text = path.read_text()
        assert backends.with_table(text, stored) == text, f"run: python benchmarks/backends.py ({path.name})"
    assert set(stored["tensorflow"]["default"]) == set(stored["jax"]["default"]) == set(cw.HEATMAP_METHODS)
    for backend in ("tensorflow", "jax"):
        assert 0 < stored[backend]["import_seconds"] < 60 and 100 < stored[backend]["import_rss_mib"] < 4000
