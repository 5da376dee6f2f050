"""TrainingTimeline: a recorded training run on a time axis. Curves of loss and accuracy with a
marker at the snapshot shown, a slider and Play that move the inspector's ``snapshot`` (every
bound widget follows), and what changed at a glance: which layers learn when, the first
layer's kernels and one image's heatmap across the run, the probe's accuracy per class, its
confusion matrix at the snapshot, and dead channels per layer.

Everything that needs only the run's files (curves, probe) draws at once; the views that need the
network at several snapshots (filmstrips, dead channels, layer changes) are computed in the
background, with a progress bar and Cancel, and cached.
"""

from __future__ import annotations

import html
from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np
import traitlets

from cnnviz_widgets.inspector import ModelInspector
from cnnviz_widgets.methods import filter_weights, filter_weights_rgb, first_conv_layer, heatmap, heatmap_method
from cnnviz_widgets.render import ColorScale, colorize, enlarge, overlay, tile_grid, with_colorbar
from cnnviz_widgets.training.timeline import (
    dead_channels,
    probe_accuracy_by_class,
    probe_confusion,
    relative_changes,
    snapshot_label,
    spread,
    weight_groups,
)
from cnnviz_widgets.widgets import _checks as checks
from cnnviz_widgets.widgets._base import (
    InspectorWidget,
    computing_caption,
    fit_side,
    guarded,
    image_view,
    show_picture,
    stop_following,
)
from cnnviz_widgets.widgets._controls import control
from cnnviz_widgets.widgets._runner import Progress

X_AXES = (("epochs", "epochs"), ("steps (log)", "steps"))
FILM_FILTERS = 8
"""First-layer filters shown per snapshot in the kernel filmstrip."""
FILM_SNAPSHOTS = 8
"""Snapshots (evenly spread, first and last included) in the filmstrips and the dead-channel view."""
TILE = 40
SERIES_COLORS = ("#4c72b0", "#dd8452")
"""Training, then validation, in the curves (loss solid, accuracy dashed)."""
CLASS_COLORS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c",
                "#ccb974", "#64b5cd"]


class TrainingTimeline(InspectorWidget):
    """A training run on a time axis: the inspector's ``snapshot`` on a slider, with Play.

    Args:
        inspector: the shared :class:`ModelInspector`, with a run attached
            (``ModelInspector(model, run=folder)``).
        x_axis: ``"epochs"`` or ``"steps"`` (global steps on a log axis).
        details: compute the views that need the network at several snapshots (filmstrips,
            layer changes, dead channels).
    """

    x_axis = control(
        traitlets.Unicode("epochs", help="The time axis of the curves: 'epochs' or 'steps' (a log axis)."),
        check=checks.among(X_AXES), attribute="x_axis_buttons",
        make=lambda w: widgets.ToggleButtons(options=X_AXES, style={"button_width": "95px"},
                                             tooltips=["epochs completed", "training steps, log scale"]))
    details = control(
        traitlets.Bool(True, help="Compute the filmstrips, the layer changes and the dead channels (they run the "
                                  "network at several snapshots, in the background)."),
        attribute="details_checkbox",
        make=lambda w: widgets.Checkbox(description="filmstrips and layer views", indent=False))

    def __init__(self, inspector: ModelInspector | None = None, **kwargs: Any) -> None:
        super().__init__(inspector, **kwargs)
        self._drawing = False
        self.snapshot_slider = widgets.IntSlider(description="snapshot", min=0, max=0,
                                                 layout=widgets.Layout(width="460px"))
        self.snapshot_slider.add_class("cnnviz-snapshot-slider")
        self.play = widgets.Play(interval=700, min=0, max=0)
        self._play_link = widgets.jslink((self.play, "value"), (self.snapshot_slider, "value"))
        self.follow_checkbox = widgets.Checkbox(description="follow the latest", indent=False,
                                                layout=widgets.Layout(width="150px"))
        self.snapshot_caption = widgets.HTML("")
        self.snapshot_caption.add_class("cnnviz-snapshot-caption")
        self.snapshot_slider.observe(self._slider_moved, "value")
        self.follow_checkbox.observe(self._follow_toggled, "value")
        self.inspector.observe(self._on_snapshot_trait, ["snapshot", "recording"])

        # curves: loss on the left axis, accuracy on the right, a marker at the snapshot shown
        self._x = bqplot.LinearScale()
        self._loss_scale = bqplot.LinearScale(min=0.0, allow_padding=False)
        self._acc_scale = bqplot.LinearScale(min=0.0, max=1.0, allow_padding=False)
        self._loss_lines = bqplot.Lines(x=[0.0, 1.0], y=[0.0, 0.0], scales={"x": self._x, "y": self._loss_scale},
                                        labels=["loss"], colors=list(SERIES_COLORS))
        self._acc_lines = bqplot.Lines(x=[0.0, 1.0], y=[0.0, 0.0], scales={"x": self._x, "y": self._acc_scale},
                                       labels=["accuracy"], line_style="dashed", colors=list(SERIES_COLORS))
        self._marker = bqplot.Lines(x=[0.0, 0.0], y=[0.0, 1.0], scales={"x": self._x, "y": self._acc_scale},
                                    colors=["#dd8452"], stroke_width=2)
        self._dots = bqplot.Scatter(x=[0.0], y=[0.0], scales={"x": self._x, "y": self._acc_scale},
                                    colors=["#555555"], default_size=40,
                                    tooltip=bqplot.Tooltip(fields=["x"], labels=["snapshot at"]))
        self._dots.on_element_click(self._dot_clicked)
        # explicit tick formats: bqplot's guess reads ".undefinedg" (a console error) while a scale is empty
        self._x_axis = bqplot.Axis(scale=self._x, label="epochs", tick_format=".3~g")
        self.curves = bqplot.Figure(
            display_toolbar=False, marks=[self._loss_lines, self._acc_lines, self._marker, self._dots],
            axes=[self._x_axis, bqplot.Axis(scale=self._loss_scale, side="left", label="loss", num_ticks=4,
                                          tick_format=".2~g"),
                  bqplot.Axis(scale=self._acc_scale, side="right", label="accuracy", tick_format=".0%",
                              num_ticks=3)],
            fig_margin={"top": 15, "bottom": 45, "left": 55, "right": 55},
            layout=widgets.Layout(width="520px", height="280px"))
        self.curves.add_class("cnnviz-training-curves")

        # the probe: its confusion matrix at the snapshot, and accuracy per class over time
        cm_scales = {"row": bqplot.OrdinalScale(reverse=True), "column": bqplot.OrdinalScale(),
                     "color": bqplot.ColorScale(scheme="Blues", min=0)}
        self._confusion = bqplot.GridHeatMap(color=np.zeros((2, 2)), row=["-", " "], column=["-", " "],
                                             scales=cm_scales, display_format=".0f")
        self.confusion_chart = bqplot.Figure(
            display_toolbar=False, marks=[self._confusion],
            axes=[bqplot.Axis(scale=cm_scales["column"], label="predicted", tick_rotate=-30),
                  bqplot.Axis(scale=cm_scales["row"], side="left", label="true")],
            fig_margin={"top": 10, "bottom": 60, "left": 80, "right": 10},
            layout=widgets.Layout(width="340px", height="300px"))
        self.confusion_chart.add_class("cnnviz-training-confusion")
        self._class_x = bqplot.LinearScale()
        class_y = bqplot.LinearScale(min=0.0, max=1.0, allow_padding=False)
        self._class_lines = bqplot.Lines(x=[0.0, 1.0], y=[0.0, 0.0], scales={"x": self._class_x, "y": class_y},
                                         labels=["-"])
        self.class_chart = bqplot.Figure(
            display_toolbar=False, marks=[self._class_lines],
            axes=[bqplot.Axis(scale=self._class_x, label="epochs", tick_format=".3~g"),
                  bqplot.Axis(scale=self._class_lines.scales["y"], side="left", tick_format=".0%", num_ticks=3)],
            fig_margin={"top": 10, "bottom": 45, "left": 50, "right": 10},
            layout=widgets.Layout(width="420px", height="260px"))

        # which layers learn when, and dead channels: layers x snapshots
        self._changes = self._layer_grid("Blues")
        self.changes_chart = self._grid_figure(self._changes, "snapshot (change from the previous)")
        self._dead = self._layer_grid("Reds", high=1.0)
        self.dead_chart = self._grid_figure(self._dead, "snapshot")
        self.curves_legend = widgets.HTML("")
        self.class_legend = widgets.HTML("")
        self.kernel_view = image_view("cnnviz-map", "cnnviz-kernel-film")
        self.cam_view = image_view("cnnviz-map", "cnnviz-cam-film")
        self.film_caption = widgets.HTML("")

        self.build_controls()
        controls = widgets.HBox([self.play, self.snapshot_slider, self.follow_checkbox, self.x_axis_buttons])
        head = widgets.HTML
        self._finish_init([
            controls, self.snapshot_caption,
            widgets.HBox([widgets.VBox([head("<b>loss and accuracy</b> <small>(click a dot to show that "
                                             "snapshot)</small>"), self.curves_legend, self.curves]),
                          widgets.VBox([head("<b>probe: confusion at this snapshot</b>"), self.confusion_chart])],
                         layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HBox([widgets.VBox([head("<b>probe: accuracy per class</b>"), self.class_legend,
                                        self.class_chart]),
                          widgets.VBox([head("<b>which layers learn when</b> <small>(relative weight change, "
                                             "|W<sub>t</sub> - W<sub>t-1</sub>| / |W<sub>t-1</sub>|)</small>"),
                                        self.changes_chart])],
                         layout=widgets.Layout(flex_flow="row wrap")),
            self.details_checkbox,
            widgets.HBox([widgets.VBox([head("<b>first-layer kernels across the run</b>"), self.kernel_view]),
                          widgets.VBox([head("<b>this image's Grad-CAM across the run</b>"), self.cam_view])],
                         layout=widgets.Layout(flex_flow="row wrap")),
            self.progress, self.film_caption,
            widgets.VBox([head("<b>dead channels per layer</b> <small>(share of channels that stay zero on every "
                               "probe image)</small>"), self.dead_chart]),
        ], progress_placed=True)
        self.add_class("cnnviz-training")

    # ------------------------------------------------------------------ building blocks
    @staticmethod
    def _layer_grid(scheme: str, high: float | None = None) -> bqplot.GridHeatMap:
        scales = {"row": bqplot.OrdinalScale(reverse=True), "column": bqplot.OrdinalScale(),
                  "color": bqplot.ColorScale(scheme=scheme, min=0.0, **({} if high is None else {"max": high}))}
        return bqplot.GridHeatMap(color=np.zeros((2, 2)), row=["-", " "], column=["-", " "], scales=scales,
                                  tooltip=bqplot.Tooltip(fields=["row", "column", "color"], formats=["", "", ".3g"],
                                                         labels=["layer", "snapshot", "value"]))

    @staticmethod
    def _grid_figure(grid: bqplot.GridHeatMap, column_label: str) -> bqplot.Figure:
        return bqplot.Figure(
            display_toolbar=False, marks=[grid],
            axes=[bqplot.Axis(scale=grid.scales["column"], label=column_label, tick_rotate=-45,
                              tick_style={"font-size": "9px"}),
                  bqplot.Axis(scale=grid.scales["row"], side="left", tick_style={"font-size": "9px"}),
                  bqplot.ColorAxis(scale=grid.scales["color"], side="right", orientation="vertical",
                                   tick_format=".2g", num_ticks=3)],
            fig_margin={"top": 10, "bottom": 70, "left": 130, "right": 80},
            layout=widgets.Layout(width="560px", height="300px"))

    @property
    def run(self) -> Any:
        """The inspector's run (None when none is attached)."""
        return self.inspector.run

    def _position(self) -> int:
        return self.run.resolve(self.inspector.snapshot)

    def _times(self) -> np.ndarray:
        """Each snapshot's place on the x axis: epochs (with fractions) or global steps + 1."""
        snapshots = self.run.snapshots
        if self.x_axis == "steps":
            return np.array([s.step + 1 for s in snapshots], float)
        return np.array([s.progress for s in snapshots], float)

    # ------------------------------------------------------------------ following the snapshot
    @guarded
    def _slider_moved(self, change: dict) -> None:
        if self._drawing or self.run is None or not len(self.run):
            return
        self.inspector.snapshot = int(change["new"])

    @guarded
    def _follow_toggled(self, change: dict) -> None:
        if self._drawing or self.run is None:
            return
        self.inspector.snapshot = -1 if change["new"] else self._position()

    def _dot_clicked(self, mark: Any, event: dict) -> None:
        index = (event.get("data") or {}).get("index")
        if index is not None:
            self.snapshot_slider.value = int(index)

    def _on_snapshot_trait(self, change: dict) -> None:
        self.refresh()

    def close(self) -> None:
        """Stop following the inspector's snapshot, then close as every widget does."""
        stop_following(self.inspector, self._on_snapshot_trait, ["snapshot", "recording"])
        super().close()

    # ------------------------------------------------------------------ rendering
    @property
    def png(self) -> bytes:
        """PNG bytes of the kernel filmstrip."""
        return self.kernel_view.value

    def _render(self) -> bool:
        run = self.run
        if run is None:
            self.errors.show("No training run is attached: cw.ModelInspector(model, run=folder), or "
                             "cw.explore(model, run=folder), with a folder recorded by cw.TrainingRecorder.")
            return False
        if not len(run):
            self.snapshot_caption.value = "<small>waiting for the run's first snapshot&hellip;</small>"
            return True
        position = self._position()
        self._drawing = True
        try:
            self.snapshot_slider.max = self.play.max = len(run) - 1
            self.snapshot_slider.value = position
            self.follow_checkbox.value = self.inspector.snapshot == -1
        finally:
            self._drawing = False
        self._render_curves(position)
        self._render_probe(position)
        self.snapshot_caption.value = self._caption(position)
        if not self.details:
            self.film_caption.value = "<small>filmstrips and layer views are off (tick the box to compute them)</small>"
            return True
        if self.inspector.recording:     # they would run the network at many snapshots, beside the training
            self.film_caption.value = ("<small>the filmstrips and layer views are drawn when training ends (they "
                                       "run the network at many snapshots, which would slow the training)</small>")
            return True
        return self._render_details(position)

    def _caption(self, position: int) -> str:
        s = self.run.snapshots[position]
        logs = ", ".join(f"{html.escape(k)} {v:.3g}" for k, v in s.logs.items())
        latest = " (the latest)" if position == len(self.run) - 1 else ""
        name = html.escape(snapshot_label(self.run, position))
        logs = f"; {logs}" if logs else ""
        return (f"<b>snapshot {position} of {len(self.run) - 1}{latest}</b>: {name}, {s.progress:g} epochs, "
                f"step {s.step}{logs}. Every view bound to this inspector shows the network as it was then.")

    def _render_curves(self, position: int) -> None:
        times = self._times()
        snapshots = self.run.snapshots
        keys = sorted({k for s in snapshots for k in s.logs})
        accuracy = [k for k in keys if "acc" in k]
        losses = [k for k in keys if "loss" in k]

        def series(names: list[str]) -> tuple[list[str], np.ndarray]:
            if not names:
                return ["-"], np.full((1, len(times)), np.nan)
            return names, np.array([[s.logs.get(k, np.nan) for s in snapshots] for k in names], float)

        with self.curves.hold_sync():
            self._x.min, self._x.max = (None, None)
            self._loss_lines.labels, loss_y = series(losses)
            self._loss_lines.x, self._loss_lines.y = times, loss_y
            self._acc_lines.labels, acc_y = series(accuracy)
            self._acc_lines.x, self._acc_lines.y = times, acc_y
            self._dots.x, self._dots.y = times, np.full(len(times), 0.02)
            self._marker.x, self._marker.y = [times[position]] * 2, [0.0, 1.0]
            self._x_axis.label = "training steps + 1 (log scale)" if self.x_axis == "steps" else "epochs"
            scale = bqplot.LogScale() if self.x_axis == "steps" else bqplot.LinearScale()
            if type(scale) is not type(self._x):
                self._x = scale
                for mark in (self._loss_lines, self._acc_lines, self._marker, self._dots):
                    mark.scales = {**mark.scales, "x": scale}
                self._x_axis.scale = scale
            self.curves_legend.value = curves_legend(self._loss_lines.labels, self._acc_lines.labels)
            finite = loss_y[np.isfinite(loss_y)]
            self._loss_scale.max = float(finite.max()) * 1.05 if finite.size and finite.max() > 0 else 1.0

    def _render_probe(self, position: int) -> None:
        names = list(self.inspector.class_names)
        matrix = probe_confusion(self.run, position, len(names))
        if matrix is None:
            self.confusion_chart.layout.display = self.class_chart.layout.display = "none"
            return
        self.confusion_chart.layout.display = self.class_chart.layout.display = None
        set_grid(self._confusion, matrix, names, names)
        by_class = self.cached("probe accuracy", str(self.run.folder), len(self.run), per="model",
                               compute=lambda: probe_accuracy_by_class(self.run, len(names)))
        times = np.array([s.progress for s in self.run.snapshots], float)
        with self.class_chart.hold_sync():
            self._class_lines.labels = names
            self._class_lines.colors = [CLASS_COLORS[i % len(CLASS_COLORS)] for i in range(len(names))]
            self.class_legend.value = "<small>" + " &nbsp; ".join(
                f'<span style="color:{c}">&#9632;</span> {html.escape(n)}'
                for n, c in zip(names, self._class_lines.colors, strict=True)) + "</small>"
            self._class_lines.x, self._class_lines.y = times, by_class.T

    # ------------------------------------------------------------------ the network across the run
    def details_key(self) -> tuple:
        """The key of the background views for the current run length, image and class."""
        return ("timeline details", str(self.run.folder), len(self.run), self.inspector.image_key[1])

    def _render_details(self, position: int) -> bool:
        found = self.inspector.results.get(self.details_key())
        if found is None:
            run, image, batch = self.run, self.inspector.image, self.inspector.batch
            self.submit(self.details_key(), lambda progress: self._compute_details(run, image, batch, progress),
                        label="the network across the run")
            self.film_caption.value = computing_caption(
                "the filmstrips", "the pictures show the run as it was when they were last computed")
            return False
        positions = found["positions"]
        labels = [snapshot_label(self.run, p) for p in positions]
        show_picture(self.kernel_view, found["kernels"])
        show_picture(self.cam_view, found["cams"])
        if found["changes"].size:
            set_grid(self._changes, found["changes"], found["layers"], [str(i) for i in range(1, len(self.run))])
        if found["dead"] is not None:
            relu = np.isfinite(found["dead"]).all(axis=1)          # layers after a ReLU only
            set_grid(self._dead, found["dead"][relu], [n for n, keep in zip(found["spatial"], relu, strict=True)
                                                       if keep], labels)
        self.dead_chart.layout.display = None if found["dead"] is not None else "none"
        self.film_caption.value = (
            f"<small>kernels: the first {FILM_FILTERS} filters of {html.escape(found['conv'])}, each scaled to its own "
            f"range. Grad-CAM for <b>{html.escape(found['class_name'])}</b> (what the last snapshot predicts), all "
            f"maps on one scale (a weak map is dim), with the class's probability at each snapshot. Snapshots "
            f"shown: {', '.join(labels)}.</small>")
        return True

    def _compute_details(self, run: Any, image: np.ndarray, batch: np.ndarray, progress: Progress) -> dict:
        """The views that need the network at several snapshots (one twin at a time, then freed)."""
        inspector = self.inspector
        positions = spread(len(run), FILM_SNAPSHOTS)
        probe = run.probe
        groups = weight_groups(inspector.model.weights)
        steps = len(positions) + 1
        twins_done = 0

        def twin_at(position: int) -> ModelInspector:
            return inspector.twin(weights=run.weights(position))

        last = twin_at(positions[-1])
        last.set_image(image)
        cls = int(np.argmax(last.probabilities))
        conv = first_conv_layer(last)
        spatial = list(last.conv_layer_names)
        kernels, cams, cam_labels, dead = [], [], [], []
        for position in positions:
            twin = last if position == positions[-1] else twin_at(position)
            twin.set_image(image)
            reads_rgb = (twin.layer(conv).kernel_shape or (0, 0, 0))[2] == 3
            kernel_tiles = (filter_weights_rgb(twin, conv) if reads_rgb else
                            filter_weights(twin, conv)[:, :, 0, :].transpose(2, 0, 1))
            kernels.append(kernel_tiles[:FILM_FILTERS])
            cams.append(heatmap(twin, batch, "grad_cam", cls, raw="unscaled")[0])
            cam_labels.append(f"{_short_label(run, position)} p={twin.probabilities[cls]:.0%}")
            if probe is not None:
                dead.append(dead_channels(twin, probe[0], spatial))
            twins_done += 1
            if progress is not None:
                progress(twins_done, steps)
        changes = relative_changes(run, groups)
        if progress is not None:
            progress(steps, steps)
        strip = np.concatenate([np.asarray(k) for k in kernels])
        if strip.ndim == 3:
            strip = colorize(strip, "gray")
        else:
            strip = (np.clip(strip, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
        n = min(FILM_FILTERS, len(kernels[0]))
        kernel_labels = [_short_label(run, p) if j == 0 else "" for p in positions for j in range(n)]
        side = max(96, min(160, 768 // len(positions)))
        unit, factor, suffix = heatmap_method("grad_cam").unit
        scale = ColorScale(0.0, max(float(max(c.max() for c in cams)), 1e-12), unit, factor, suffix,
                           "one scale for every snapshot")
        cam_tiles = np.stack([fit_side(overlay(image, scale.to01(c), 0.5, "jet"), side) for c in cams])
        return {
            "positions": positions, "conv": conv, "class_name": inspector.class_names[cls],
            "kernels": tile_grid(enlarge(strip, TILE), per_row=n, margin=3, labels=kernel_labels),
            "cams": with_colorbar(tile_grid(cam_tiles, per_row=min(4, len(positions)), margin=3, labels=cam_labels),
                                  scale, "jet"),
            "layers": [name for name, _ in groups], "changes": changes,
            "spatial": spatial, "dead": np.stack(dead, axis=1) if dead else None,
        }


def curves_legend(losses: list[str], accuracies: list[str]) -> str:
    """The legend above the curves, in HTML (bqplot's legend sits over the lines)."""
    def key(name: str) -> str:
        color = SERIES_COLORS[1] if name.startswith("val_") else SERIES_COLORS[0]
        dash = "&#9476;&#9476;" if name in accuracies else "&#9472;&#9472;"
        return f'<span style="color:{color}"><b>{dash}</b></span> {html.escape(name)}'

    return "<small>" + " &nbsp; ".join(key(n) for n in [*losses, *accuracies] if n != "-") + "</small>"


def set_grid(grid: bqplot.GridHeatMap, values: np.ndarray, rows: list[str], columns: list[str]) -> None:
    """Give a grid heat map new values and labels at once (bqplot checks their sizes against each other)."""
    with grid.hold_sync(), grid.hold_trait_notifications():
        grid.color, grid.row, grid.column = np.asarray(values, float), list(rows), list(columns)


def _short_label(run: Any, position: int) -> str:
    """A tile label of at most six characters: ``start``, ``ep 3``, ``s 16``."""
    s = run.snapshots[position]
    return "start" if s.kind == "start" else f"ep {s.epoch}" if s.kind == "epoch" else f"s {s.step}"


__all__ = ["TrainingTimeline"]
