"""The class picker: the top-k predictions as a bqplot bar chart (click a bar to pick it), a
dropdown of the same, and a box that takes any class by name."""

from __future__ import annotations

import difflib
import html
from collections.abc import Sequence
from typing import Any

import bqplot
import ipywidgets as widgets
import traitlets

from cnnviz_widgets.errors import close_matches
from cnnviz_widgets.inspector import ModelInspector
from cnnviz_widgets.widgets import _checks as checks
from cnnviz_widgets.widgets._base import close_held, stop_following

TOP = -1  # dropdown value meaning "the top prediction"

CHART_TITLES = {
    "softmax": "top predictions (click a bar)",
    "binary": "both classes, p(0) = 1 - p(1) (click a bar)",
    "multilabel": "top labels: independent probabilities, they do not sum to 1 (click a bar)",
    "score": "raw outputs, not probabilities (click a bar)",
}
"""The top-k chart's title for each head (see :mod:`cnnviz_widgets.inspector.heads`)."""


def match_class_name(typed: str, names: Sequence[str]) -> tuple[int | None, str]:
    """The class a name typed in the box means: (index, "") for an exact name (case and spaces
    ignored), (index, what was taken) for one close match, or (None, why not, with the closest
    names) when there is none or several close ones."""
    typed = str(typed).strip()
    folded = [n.strip().lower() for n in names]
    if typed.lower() in folded:
        return folded.index(typed.lower()), ""
    starting = [n for n in names if n.strip().lower().startswith(typed.lower())]
    if len(starting) == 1:
        return list(names).index(starting[0]), f"no class is called {typed!r}: took {starting[0]!r}"
    close = close_matches(typed, names)
    if len(close) == 1 or (close and difflib.SequenceMatcher(None, typed.lower(), close[0].lower()).ratio() >= 0.8):
        return list(names).index(close[0]), f"no class is called {typed!r}: took {close[0]!r}"
    if close:
        return None, f"no class is called {typed!r}; did you mean {', '.join(repr(c) for c in close)}?"
    more = ", ..." if len(names) > 6 else ""
    return None, f"no class is called {typed!r} (the classes: {', '.join(repr(n) for n in names[:6])}{more})"


class ClassPicker(widgets.VBox):
    """Picks the class to explain. ``class_index`` None means "whatever the model predicts".

    Follows the inspector: a new image refreshes the probabilities and the chart.
    """

    class_index = traitlets.Int(None, allow_none=True, help="Class to explain; None for the top prediction.")

    def __init__(self, inspector: ModelInspector, *, k: int = 5, chart: bool = True) -> None:
        self.inspector = inspector
        self.k = k
        self._syncing = False
        self._top: list = []
        self.dropdown = widgets.Dropdown(description="class", options=[("top prediction", TOP)], value=TOP,
                                         tooltip="the class whose evidence the maps show",
                                         layout=widgets.Layout(width="320px"))
        self.dropdown.add_class("cnnviz-class-select")
        self.name_box = widgets.Combobox(placeholder="any class by name…", ensure_option=False,
                                         continuous_update=False, tooltip="type a class name and press Enter",
                                         layout=widgets.Layout(width="220px"))
        self.name_box.add_class("cnnviz-class-name")
        self.name_message = widgets.HTML("")
        self.name_message.add_class("cnnviz-class-name-message")
        scales = {"x": bqplot.OrdinalScale(), "y": bqplot.LinearScale(min=0.0, max=1.0, allow_padding=False)}
        # an invisible full-height column behind each bar, so that a class with a tiny probability can
        # be clicked too (a visible grey column read as 100%)
        self.track = bqplot.Bars(x=[""], y=[1.0], scales=scales, colors=["#ffffff"], opacities=[0.0],
                                 interactions={"click": "select"})
        self.bars = bqplot.Bars(x=[""], y=[0.0], scales=scales, interactions={"click": "select"},
                                colors=["#4c72b0"], selected_style={"fill": "#dd8452"},
                                tooltip=bqplot.Tooltip(fields=["x", "y"], formats=["", ".1%"]))
        self.axes_y = bqplot.Axis(scale=scales["y"], side="left", tick_format=".0%", num_ticks=3)
        axes = [bqplot.Axis(scale=scales["x"], tick_rotate=-20, tick_style={"font-size": "10px"}), self.axes_y]
        self.figure = bqplot.Figure(display_toolbar=False, marks=[self.track, self.bars], axes=axes,
                                    title="top predictions (click a bar)",
                                    fig_margin={"top": 40, "bottom": 55, "left": 45, "right": 10},
                                    title_style={"font-size": "13px"},
                                    layout=widgets.Layout(width="380px", height="210px"))
        self.figure.add_class("cnnviz-topk")
        self.caption = widgets.HTML("")
        self.dropdown.observe(self._from_dropdown, "value")
        self.name_box.observe(self._from_name, "value")
        self.bars.observe(self._from_bars, "selected")
        self.track.observe(self._from_bars, "selected")
        children = [self.figure] if chart else []
        super().__init__([*children, widgets.HBox([self.dropdown, self.name_box]), self.name_message, self.caption])
        self.add_class("cnnviz-class-picker")
        inspector.observe(self._on_inspector, names=["image_version", "model_version"])
        self.update()

    # ------------------------------------------------------------------ state from the inspector
    def _on_inspector(self, change: dict) -> None:
        if change["name"] == "model_version" and self.class_index is not None \
                and self.class_index >= self.inspector.n_classes:
            self._syncing = True
            try:
                self.class_index = None      # the old class does not exist in the new model
            finally:
                self._syncing = False
        try:
            self.update()
        except Exception:  # noqa: BLE001 - the owning widget shows model errors
            pass

    def update(self) -> None:
        """Re-read the top-k predictions of the current image."""
        if self.name_box.options != self.inspector.class_names:
            self.name_box.options = self.inspector.class_names
        if not self.inspector.has_image:
            return
        self._top = self.inspector.top_k(min(self.k, self.inspector.n_classes))
        names = [p.name for p in self._top]
        self.figure.title = CHART_TITLES[self.inspector.head]
        y_scale = self.bars.scales["y"]
        if self.inspector.head == "score":   # raw outputs: the axis spans them and zero
            values = [p.probability for p in self._top]
            y_scale.min, y_scale.max = min(0.0, *values), max(1e-6, *values)
            self.axes_y.tick_format = ".3g"
        else:
            y_scale.min, y_scale.max = 0.0, 1.0
            self.axes_y.tick_format = ".0%"
        with self.bars.hold_sync(), self.track.hold_sync():
            self.bars.selected = self.track.selected = None
            # the front end keeps an ordinal scale's domain in the order it first saw the names: give it
            # this image's order, or a new image's bars are drawn in the old order
            self.bars.scales["x"].domain = names
            self.bars.x, self.track.x = names, names
            self.bars.y = [p.probability for p in self._top]
            self.track.y = [y_scale.max] * len(names)
        self._sync_controls()

    def resolved(self) -> int:
        """The class index to explain: ``class_index``, or the top prediction when it is None."""
        if self.class_index is not None:
            return self.class_index
        return self.inspector.top_k(1)[0].index

    def describe(self) -> str:
        """e.g. ``'star (class 3), p = 97.1%'``."""
        index = self.resolved()
        value = float(self.inspector.probabilities[index])
        shown = f"output = {value:.4g}" if self.inspector.head == "score" else f"p = {value:.1%}"
        return f"{self.inspector.class_names[index]} (class {index}), {shown}"

    # ------------------------------------------------------------------ controls <-> trait
    @traitlets.validate("class_index")
    def _check_class(self, proposal: dict) -> int | None:
        return checks.require_in_range("class_index", proposal["value"], 0, self.inspector.n_classes - 1,
                                       allow_none=True, note=" (or None for the top prediction)")

    @traitlets.observe("class_index")
    def _on_class(self, change: dict) -> None:
        self._sync_controls()

    def _sync_controls(self) -> None:
        self._syncing = True
        try:
            options = [("top prediction", TOP)] + [(f"{p.name}  {p.probability:.1%}", p.index) for p in self._top]
            index = self.class_index
            if index is not None and index not in [p.index for p in self._top]:
                probability = float(self.inspector.probabilities[index]) if self.inspector.has_image else 0.0
                options.append((f"{self.inspector.class_names[index]}  {probability:.1%}", index))
            self.dropdown.options = options
            self.dropdown.value = TOP if index is None else index
            positions = [i for i, p in enumerate(self._top) if p.index == index]
            self.bars.selected = self.track.selected = positions or None
            if self.inspector.has_image:
                self.caption.value = f"<small>explaining <b>{self.describe()}</b></small>"
        finally:
            self._syncing = False

    def _from_dropdown(self, change: dict) -> None:
        if not self._syncing and change["new"] is not None:
            self.class_index = None if change["new"] == TOP else int(change["new"])

    def _from_name(self, change: dict) -> None:
        if self._syncing or not str(change["new"]).strip():
            return
        index, message = match_class_name(change["new"], self.inspector.class_names)
        self.name_message.value = f"<small>{html.escape(message)}</small>" if message else ""
        if index is not None:
            self.class_index = index

    def _from_bars(self, change: dict) -> None:
        selected: Any = change["new"]
        if self._syncing or selected is None or len(selected) == 0:
            return
        position = int(selected[-1])
        if position < len(self._top):
            self.class_index = self._top[position].index

    def close(self) -> None:
        stop_following(self.inspector, self._on_inspector, ["image_version", "model_version"])
        close_held(self)
        super().close()
