"""Every notebook runs top to bottom, offline, with no error and no stderr, and shows real results.

Each notebook is executed in a fresh kernel by nbclient with the widgets' state stored, as a
student's "run all" would. Cells tagged ``needs-network`` run with Keras' downloads made to fail
(deterministically, whatever the machine's network), so the test checks that they explain
themselves instead of raising.
"""

from __future__ import annotations

import base64
import copy
import os
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

import cnnviz_widgets as cw
from cnnviz_widgets.export import widget_state

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
NETWORK_TAG = "needs-network"
EXECUTED_NOTEBOOKS = "CNNVIZ_EXECUTED_NOTEBOOKS"
"""Environment variable: the folder where executed notebooks are kept for the docs build (see tests/conftest.py)."""
EXPECTED = ["00_tour.ipynb", "01_feature_maps.ipynb", "02_filters.ipynb", "03_class_activation_maps.ipynb",
            "04_occlusion.ipynb", "05_your_own_model.ipynb", "06_datasets.ipynb", "07_training.ipynb", "app.ipynb"]

DOWNLOADS_FAIL = """import keras
import keras.src.utils.file_utils as _file_utils

def _no_network(*args, **kwargs):
    raise Exception("URL fetch failure: no network (simulated by the notebook test)")

_file_utils.get_file = keras.utils.get_file = _no_network"""


class Run:
    """An executed notebook: its cells, text outputs, widget views and stored widget state."""

    def __init__(self, nb):
        self.nb = nb
        self.outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
        self.stdout = "".join(o.text for o in self.outputs if o.output_type == "stream" and o.name == "stdout")
        self.stderr = "".join(o.text for o in self.outputs if o.output_type == "stream" and o.name == "stderr")
        self.views = [o.data["application/vnd.jupyter.widget-view+json"]["model_id"] for o in self.outputs
                      if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        self.static_images = [o for o in self.outputs if "image/png" in o.get("data", {})]
        self.state = widget_state(nb)

    def drawn_images(self, css: str = "cnnviz-map") -> list[dict]:
        """Image models with a drawn PNG (more than the 1x1 placeholder) carrying ``css``."""
        return [m for m in self.state.values() if m.get("model_name") == "ImageModel"
                and css in m["state"].get("_dom_classes", [])
                and len(m.get("buffers", [{}])[0].get("data", "")) > 300]

    def pixels(self, css: str = "cnnviz-map") -> list[np.ndarray]:
        """The drawn pictures carrying ``css``, decoded to arrays."""
        return [cw.render.decode_png(base64.b64decode(m["buffers"][0]["data"])) for m in self.drawn_images(css)]

    def number(self, pattern: str) -> float:
        found = re.search(pattern, self.stdout)
        assert found, f"{pattern!r} not in the output:\n{self.stdout[-2000:]}"
        return float(found.group(1))


def execute(name: str, tmp_path: Path) -> Run:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert all(not c.get("outputs") and c.get("execution_count") is None
               for c in nb.cells if c.cell_type == "code"), f"{name} was saved with outputs"
    for cell in list(nb.cells):
        if NETWORK_TAG in cell.metadata.get("tags", []):
            nb.cells.insert(nb.cells.index(cell), nbformat.v4.new_code_cell(DOWNLOADS_FAIL))
    NotebookClient(nb, timeout=600, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    run = Run(nb)
    errors = [o for o in run.outputs if o.output_type == "error"]
    assert not errors, f"{name}: {errors[0].ename}: {errors[0].evalue}"
    assert not run.stderr.strip(), f"{name} wrote to stderr:\n{run.stderr[:2000]}"
    for model_id in run.views:  # every displayed widget is in the stored state
        assert model_id in run.state, f"{name}: widget {model_id} not in the stored widget state"
    keep_for_the_docs(name, nb)
    return run


def keep_for_the_docs(name: str, nb) -> None:
    """Save the executed notebook, as the student sees it (the cells the test added taken out), where
    the documentation build of this test run finds it (``CNNVIZ_EXECUTED_NOTEBOOKS``, set by the
    test session): the site then shows these outputs instead of running every notebook a second time."""
    folder = os.environ.get(EXECUTED_NOTEBOOKS)
    if folder:
        shown = copy.deepcopy(nb)
        shown.cells = [cell for cell in shown.cells if cell.source != DOWNLOADS_FAIL]
        nbformat.write(shown, Path(folder) / name)


def test_every_notebook_is_tested_and_built_by_the_script():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == EXPECTED
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_notebooks", ROOT / "scripts" / "build_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert list(module.NOTEBOOKS) == EXPECTED
    for name, lesson in module.NOTEBOOKS.items():   # the committed notebook is the lesson file's, exactly
        assert (NOTEBOOKS / name).read_text() == module.notebook_text(lesson), (
            f"notebooks/{name} differs from {lesson.relative_to(ROOT)}: edit the lesson file and run "
            "scripts/build_notebooks.py")
    tagged = {name: [c for c in nbformat.read(NOTEBOOKS / name, as_version=4).cells
                     if NETWORK_TAG in c.metadata.get("tags", [])] for name in EXPECTED}
    assert {name: len(cells) for name, cells in tagged.items() if cells} == {"05_your_own_model.ipynb": 1}
    assert "NEEDS NETWORK" in tagged["05_your_own_model.ipynb"][0].source
    for name in EXPECTED:  # an escaped newline would show as a literal "\n" in the rendered text
        for cell in nbformat.read(NOTEBOOKS / name, as_version=4).cells:
            assert "\\n" not in cell.source or cell.cell_type == "code", f"{name}: {cell.source[:60]!r}"


@pytest.mark.slow
@pytest.mark.classroom
def test_tour(tmp_path):
    run = execute("00_tour.ipynb", tmp_path)
    assert "ModelInspector 'cnnviz_shapes'" in "".join(o.get("data", {}).get("text/plain", "") for o in run.outputs)
    assert "block3_conv2" in run.stdout and "conv" in run.stdout
    assert len(run.views) == 3  # the dashboard, the comparison and the layer browser
    assert len(run.drawn_images()) >= 3
    for css in ("cnnviz-channel", "cnnviz-grid", "cnnviz-cam", "cnnviz-compare"):
        assert run.drawn_images(css), f"no {css} image was drawn"
    classes = {c for m in run.state.values() for c in m["state"].get("_dom_classes", [])}
    assert {"cnnviz-map", "cnnviz-channel", "cnnviz-cam", "cnnviz-compare", "cnnviz-topk", "cnnviz-save"} <= classes


@pytest.mark.slow
def test_app(tmp_path):
    run = execute("app.ipynb", tmp_path)
    assert len(run.views) == 1 and not run.stdout           # the dashboard, nothing printed
    assert not [o for o in run.outputs if "text/plain" in o.get("data", {})
                and "application/vnd.jupyter.widget-view+json" not in o["data"]]   # no repr
    assert run.drawn_images("cnnviz-channel")


@pytest.mark.slow
def test_feature_maps(tmp_path):
    run = execute("01_feature_maps.ipynb", tmp_path)
    # the claims of the text: the first layer knows ~nothing of the class, the last nearly all
    assert run.number(r"stem_conv\s+nearest-class-centroid accuracy\s+(\d+)%") < 35
    assert run.number(r"block3_conv2\s+nearest-class-centroid accuracy\s+(\d+)%") >= 90
    first = run.number(r"zero activations, first -> last spatial layer: (\d+)%")
    last = run.number(r"zero activations, first -> last spatial layer: \d+% -> (\d+)%")
    assert 30 <= first <= 70 and 30 <= last <= 70  # "about half ... in every layer" (not sparser deeper)
    assert len(run.static_images) == 1 and len(run.views) == 2
    assert run.drawn_images("cnnviz-channel") and run.drawn_images("cnnviz-grid")


@pytest.mark.slow
def test_filters(tmp_path):
    run = execute("02_filters.ipynb", tmp_path)
    robust = run.number(r"robust\s+mean activation of the targeted filter: ([\d.]+)")
    classic = run.number(r"classic\s+mean activation of the targeted filter: ([\d.]+)")
    assert robust > 0.5 and classic > 0.5
    atlas = tmp_path / "block2_conv1_patterns.png"
    from PIL import Image

    assert Image.open(atlas).size == (8 * 96 + 9 * 5, 96 + 2 * 5)  # 8 patterns, 5 px black margins
    assert len(run.drawn_images("cnnviz-filters")) == 2


@pytest.mark.slow
def test_class_activation_maps(tmp_path):
    run = execute("03_class_activation_maps.ipynb", tmp_path)
    table = {name.strip(): (int(hits), float(deletion), float(insertion)) for name, hits, deletion, insertion
             in re.findall(r"^(\S+(?: \(baseline\))?)\s+(\d+)%\s+([\d.]+)\s+([\d.]+)$", run.stdout, re.M)}
    assert set(table) == {*cw.methods.HEATMAP_METHODS, "random (baseline)", "centre (baseline)"}, run.stdout
    grad_cam, random, centre = table["grad_cam"], table["random (baseline)"], table["centre (baseline)"]
    assert grad_cam[0] >= 80 and random[0] <= 50 and centre[0] <= 50    # pointing game
    assert grad_cam[1] < random[1] and grad_cam[2] > random[2]      # deletion lower, insertion higher
    assert "block3_conv2" in run.stdout
    assert run.drawn_images("cnnviz-compare") and run.drawn_images("cnnviz-cam")
    assert run.number(r"'insertion_auc': ([\d.]+)") >= 0
    # the sanity check: Grad-CAM decorrelates at the top, Guided Backprop only at the first layers
    grad_cam_rho = [float(v) for v in re.search(r"grad_cam rho from the top down: (.*)", run.stdout)[1].split()]
    guided_rho = [float(v) for v in re.search(r"guided_backprop rho from the top down: (.*)", run.stdout)[1].split()]
    assert grad_cam_rho[0] < 0.3 and min(guided_rho[:-1]) > 0.45 and guided_rho[-1] < guided_rho[0] - 0.3
    for spec in cw.methods.HEATMAP_METHODS.values():
        assert f"distrust it when: {spec.distrust}" in run.stdout


@pytest.mark.slow
def test_occlusion(tmp_path):
    run = execute("04_occlusion.ipynb", tmp_path)
    table = re.findall(r"^\s+(\d+)\s+\(\d+, \d+\)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(True|False)$", run.stdout, re.M)
    by_patch = {int(p): (float(drop), float(on), float(off)) for p, drop, on, off, _ in table}
    assert sorted(by_patch) == [6, 12, 24, 48]
    assert by_patch[6][0] < 0.1 and by_patch[12][0] < 0.1 and by_patch[48][0] > 0.5  # small patches hardly matter
    assert by_patch[48][2] > 3 * by_patch[6][2] + 0.05                               # large ones spill off the shape
    assert run.number(r"lowest ([\d.]+) with the patch") < run.number(r"intact probability ([\d.]+)")
    assert run.drawn_images("cnnviz-occlusion") and run.drawn_images("cnnviz-step")


@pytest.mark.slow
def test_your_own_model(tmp_path):
    run = execute("05_your_own_model.ipynb", tmp_path)
    assert re.search(r"shapes\.keras .*name='star'", run.stdout) and re.search(r"shapes\.h5 .*name='star'", run.stdout)
    assert "top: Prediction(index=3, name='star'" in run.stdout             # the Sequential without Input
    assert "vgg16/block5_conv3" in run.stdout                              # the nested base network
    assert re.search(r"vgg16 .*preprocessing='vgg16'.*block5_conv3 -> heatmap \(1, 224, 224\)", run.stdout)
    assert re.search(r"resnet50v2 .*preprocessing='resnet_v2'.*post_relu -> heatmap \(1, 224, 224\)", run.stdout)
    assert "Skipped the ImageNet example" in run.stdout and "no network" in run.stdout
    assert len(run.views) == 3
    # the channel views of the dashboard (trained) and of the transfer model (seeded random weights): neither blank
    channels = run.pixels("cnnviz-channel")
    spread = [float(picture.std(axis=(0, 1)).max()) for picture in channels]   # over positions, per colour
    assert len(channels) == 2 and min(spread) > 1, spread


def test_datasets(tmp_path):
    run = execute("06_datasets.ipynb", tmp_path)
    accuracy = run.number(r"accuracy ([\d.]+)%\), 0 skipped") / 100
    assert 0.5 < accuracy < 0.9                                        # the hard shapes fool the model
    assert re.search(r"most confident mistake: image #\d+, a \w+ taken for a \w+ with p = [\d.]+%", run.stdout)
    on_stars = run.number(r"fires most on star: mean ([\d.]+) on stars")
    assert on_stars > run.number(r"against ([\d.]+) on the other classes")
    assert run.drawn_images("cnnviz-dataset-cell") and run.drawn_images("cnnviz-channel-examples")
    assert run.drawn_images("cnnviz-cam")
    assert len(run.views) == 3


@pytest.mark.default_backend   # 6 epochs take 3.5 min under JAX on a CPU, and its lesson text reads the run's own
def test_training(tmp_path):   # numbers; tests/training records and scrubs under JAX
    run = execute("07_training.ipynb", tmp_path)
    final = [float(v) for v in re.findall(r"val_accuracy: ([\d.]+)", run.stdout)]
    assert len(final) == 6 and final[-1] > 0.85 and final[0] < 0.5          # it learns, within the lesson
    snapshots = int(run.number(r"<Run '[^']+': (\d+) snapshots"))
    assert snapshots == 1 + 8 + 6                                            # start, log steps 1..128, 6 epochs
    rows = re.findall(r"^\s+(\d+)((?:\s+\d+%){6})$", run.stdout, re.M)
    accuracy = {int(index): np.mean([float(v) for v in re.findall(r"(\d+)%", values)]) for index, values in rows}
    assert accuracy[snapshots - 1] > 85 and accuracy[0] < 40                # the diagonal fills
    assert re.search(r"snapshot 1: the picture is a (\w+); the network says (?!\1)", run.stdout)
    assert re.search(r"snapshot 14: the picture is a (\w+); the network says \1", run.stdout)
    for css in ("cnnviz-kernel-film", "cnnviz-cam-film"):
        pictures = run.pixels(css)
        assert pictures and pictures[-1].std() > 10, css
    assert (tmp_path / "runs" / "shapes_student" / "run.json").exists()
