"""Dashboard and explore(): one inspector, one forward pass, only the open tab computes."""

from __future__ import annotations

import numpy as np

import cnnviz_widgets as cw
from cnnviz_widgets.widgets import Dashboard


def test_explore_runs_on_the_default_model_offline():
    dashboard = cw.explore()
    assert isinstance(dashboard, Dashboard)
    assert dashboard.inspector.model.name == "cnnviz_shapes"
    assert [dashboard.tabs.get_title(i) for i in range(4)] == ["Feature maps", "Filters", "Class heatmaps",
                                                              "Occlusion"]
    assert dashboard.png == dashboard.layers.png and len(dashboard.png) > 100
    dashboard.close()


def test_only_the_open_tab_computes_and_the_class_is_shared(inspector, samples):
    dashboard = Dashboard(inspector)
    assert dashboard.cams.heatmap is None and dashboard.occlusion.sweep is None   # hidden tabs wait
    dashboard.show("Class heatmaps")
    assert dashboard.wait(60)
    assert dashboard.cams.heatmap is not None and dashboard.occlusion.sweep is None
    dashboard.classes.bars.selected = [1]
    chosen = inspector.top_k(2)[1].index
    assert dashboard.cams.class_index == chosen == dashboard.occlusion.class_index
    dashboard.show("Occlusion")
    assert dashboard.wait(60)
    assert list(dashboard.occlusion.sweep.classes) == [chosen]
    dashboard.picker.sample = samples[2]["name"]
    assert dashboard.wait(60)
    assert inspector.forward_passes == 2           # one per image, shared by every widget
    np.testing.assert_array_equal(inspector.image, samples[2]["image"])
    assert dashboard.occlusion.sweep is not None
    dashboard.close()


def test_explore_takes_a_model_and_an_image(shapes_model, samples):
    dashboard = cw.explore(shapes_model, samples[5]["image"], class_names=cw.SHAPE_CLASS_NAMES)
    np.testing.assert_array_equal(dashboard.inspector.image, samples[5]["image"])
    assert dashboard.classes.describe().startswith("stripes")
    dashboard.close()


def test_dashboard_follows_a_model_change(inspector):
    from tests.conftest import tiny_functional

    dashboard = Dashboard(inspector)
    dashboard.classes.class_index = 5
    inspector.set_model(tiny_functional(size=32, classes=3))
    assert dashboard.classes.class_index is None and dashboard.cams.class_index is None
    assert "tiny_functional" in dashboard.title.value and "3 classes" in dashboard.title.value
    assert len(dashboard.classes.bars.x) == 3
    dashboard.show("Class heatmaps")
    assert dashboard.wait(60) and not dashboard.cams.errors.message
    dashboard.close()
