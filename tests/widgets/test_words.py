"""Words for a classroom (issue 24, section 5): the controls the tour and the app name exist under
those labels, the dashboard header speaks plainly, controls explain themselves on hover."""

from __future__ import annotations

import html
import re
from pathlib import Path

import ipywidgets as widgets
import jupytext
import pytest

import cnnviz_widgets as cw
from cnnviz_widgets.widgets._base import held_widgets
from cnnviz_widgets.widgets.dashboard import DATASET_TAB

ROOT = Path(__file__).resolve().parents[2]


def named_in(lesson: str) -> set[str]:
    """The words a lesson's prose writes in *italics*: the labels of controls it tells a student to use."""
    prose = " ".join(c.source for c in jupytext.read(ROOT / "lessons" / lesson).cells if c.cell_type == "markdown")
    return {" ".join(m.split()) for m in re.findall(r"(?<![*\w])\*([^*]+?)\*(?![*\w])", prose)}


def visible_words(dashboard: cw.Dashboard) -> str:
    """Everything a student can read on the dashboard: labels, options, tab titles, texts."""
    found = [*dashboard.tabs.titles, DATASET_TAB]
    for part in [dashboard, *held_widgets(dashboard)]:
        for trait in ("description", "placeholder", "label"):
            value = getattr(part, trait, None)
            if isinstance(value, str):
                found.append(value)
        options = getattr(part, "_options_labels", None)
        if options:
            found.extend(options)
        if isinstance(part, widgets.HTML):
            found.append(html.unescape(re.sub(r"<[^>]+>", " ", part.value)))
    return "\n".join(" ".join(text.split()) for text in found)


@pytest.mark.parametrize("lesson", ["00_tour.py", "app.py"])
def test_every_control_the_lesson_names_exists_under_that_label(lesson):
    named = named_in(lesson)
    assert {"channel", "layer", "method", "patterns"} <= named     # the test reads the prose
    dashboard = cw.explore()
    words = visible_words(dashboard).lower()
    missing = sorted(name for name in named if name.lower() not in words)
    assert not missing, f"{lesson} names controls the dashboard does not show: {missing}"
    dashboard.close()


def test_the_header_speaks_plainly_and_names_the_image():
    dashboard = cw.explore()
    header = dashboard.title.value
    assert "a classifier of 6 classes" in header and "looks at colour pictures of 96x96 pixels" in header
    assert "showing <b>sample 00_circle</b> (stretched to 96x96)" in header
    assert "head" not in header and "auto:" not in header              # the head rule is in repr
    assert "head 'softmax'" in repr(dashboard.inspector)
    dashboard.inspector.fit = "pad"
    assert "(padded to 96x96)" in dashboard.title.value
    dashboard.close()


def test_every_declared_control_has_a_tooltip_from_its_help(inspector):
    for widget in (cw.CamOverlay(inspector), cw.LayerBrowser(inspector), cw.OcclusionSweeper(inspector),
                   cw.FilterGallery(inspector)):
        for name, control in widget.controls.items():
            help_text = widget.traits()[name].help
            parts = [p for p in [control, *held_widgets(control)]
                     if isinstance(p, (widgets.ValueWidget, widgets.Button))
                     and not isinstance(p, (widgets.HTML, widgets.Label, widgets.Image))]
            assert (parts or control.children == ()) and all(p.tooltip for p in parts), (type(widget).__name__, name)
            if not isinstance(control, widgets.Box):
                assert control.tooltip == help_text or name == "randomised", (type(widget).__name__, name)
            else:
                assert control.tooltip is None or control.tooltip == ""   # a box cannot show one
        widget.close()


def test_batch_size_zero_reads_auto_and_recipes_belong_to_patterns(inspector):
    cam = cw.CamOverlay(inspector, method="smoothgrad")
    assert "auto" in cam.batch_size_input.meaning.value
    cam.batch_size = 8
    assert "auto" not in cam.batch_size_input.meaning.value.split("(")[0]
    gallery = cw.FilterGallery(inspector)
    assert gallery.mode == "weights" and gallery.recipe_buttons.layout.display == "none"
    gallery.mode = "patterns"
    assert gallery.recipe_buttons.layout.display is None
    cam.close()
    gallery.close()


def test_typed_class_names_take_a_close_match_or_say_why_not(inspector):
    cam = cw.CamOverlay(inspector)
    box, message = cam.classes.name_box, cam.classes.name_message
    for typed in ("squar", "sqare", "Square"):
        cam.class_index = None
        box.value = typed
        assert cam.class_index == cw.SHAPE_CLASS_NAMES.index("square"), typed
    assert "took 'square'" in html.unescape(cam.classes.name_message.value) or box.value == "Square"
    cam.class_index = 2
    box.value = "dog"
    assert cam.class_index == 2                                        # unchanged, and said
    assert "no class is called 'dog'" in html.unescape(message.value)
    assert "'circle'" in html.unescape(message.value)
    cam.close()


def test_bad_values_from_code_raise_one_readable_line_without_traitlets_frames(inspector):
    import traceback

    browser = cw.LayerBrowser(inspector)
    with pytest.raises(cw.LayerNotFoundError) as caught:
        browser.layer = "conv5"
    assert caught.value.__suppress_context__ and caught.value.__cause__ is None
    frames = traceback.extract_tb(caught.value.__traceback__)
    assert not any("traitlets" in frame.filename for frame in frames)
    assert str(caught.value).startswith("No layer named 'conv5' in this model.")
    cam = cw.CamOverlay(inspector)
    with pytest.raises(Exception, match=r"got 'gradcam'\. Did you mean 'grad_cam'"):
        cam.method = "gradcam"
    with pytest.raises(cw.ArgumentError, match=r"Unknown method 'gradcam'\. Did you mean 'grad_cam'"):
        cw.heatmap(inspector, inspector.batch, "gradcam")
    browser.close()
    cam.close()
