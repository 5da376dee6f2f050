"""Declarations that several widgets share: the class to explain, the overlay's alpha, the
colormap, and a 0-based index on a slider. Each call returns a new trait (a trait object
belongs to one class)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import traitlets

from cnnviz_widgets.render import COLORMAPS
from cnnviz_widgets.widgets import _checks as checks
from cnnviz_widgets.widgets._class_picker import ClassPicker
from cnnviz_widgets.widgets._controls import control


def class_index_trait() -> traitlets.TraitType:
    """``class_index``: None for the top prediction; shown by a :class:`ClassPicker` in ``classes``
    (built with the widget's ``_chart`` flag), reset to None by a model change."""
    return control(
        traitlets.Int(None, allow_none=True, help="Class to explain; None for the top prediction."),
        check=checks.between(0, lambda w: w.inspector.n_classes - 1, note=" (or None for the top prediction)"),
        reset=lambda w: None, reset_on_model=True, attribute="classes", value_trait="class_index",
        make=lambda w: ClassPicker(w.inspector, chart=w._chart))


def alpha_trait() -> traitlets.TraitType:
    """``alpha``: weight of the heatmap in the overlay, 0..1, on ``alpha_slider``."""
    return control(
        traitlets.Float(0.5, help="Weight of the heatmap in the overlay, 0..1."),
        check=checks.between(0.0, 1.0), attribute="alpha_slider",
        make=lambda w: widgets.FloatSlider(description="alpha", min=0.0, max=1.0, step=0.05))


def colormap_trait(default: str) -> traitlets.TraitType:
    """``colormap``: one of :data:`~cnnviz_widgets.render.COLORMAPS`, on ``colormap_dropdown``."""
    return control(
        traitlets.Unicode(default, help=f"A matplotlib colormap name, one of {', '.join(COLORMAPS)}."),
        check=checks.among(COLORMAPS), attribute="colormap_dropdown",
        make=lambda w: widgets.Dropdown(description="colormap", options=COLORMAPS,
                                        layout=widgets.Layout(width="220px")))


def index_trait(help: str, count: Callable[[Any], int], *, description: str, attribute: str,
                note: Callable[[Any], str], css: tuple[str, ...] = (), **slider: Any) -> traitlets.TraitType:
    """A 0-based index among ``count(widget)`` items (a channel, a page, a step) on an IntSlider:
    checked against, and bounded by, ``0 .. count - 1``; back to 0 when that shrinks below it."""
    return control(
        traitlets.Int(0, help=help), check=checks.between(0, lambda w: count(w) - 1, note=note),
        bounds=lambda w: (0, count(w) - 1), reset=lambda w: 0, attribute=attribute, css=css,
        make=lambda w: widgets.IntSlider(description=description, min=0, max=0, **slider))
