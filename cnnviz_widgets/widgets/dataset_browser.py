"""DatasetBrowser: a scanned dataset, from the confusion matrix to one image explained.

A click on a cell of the confusion matrix (bqplot) shows that cell's images, most confident
first; a click on one of them (a bqplot image mark) or picking it in the list makes it the
inspector's image, so every other widget bound to the inspector (the CAM, occlusion and
feature-map views) explains it. Without a scan, ``start_scan(data)``
scans in the background with a progress bar and Cancel.
"""

from __future__ import annotations

import html
from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np
import traitlets

from cnnviz_widgets.dataset import Scan, scan
from cnnviz_widgets.dataset.sources import ImageLookup
from cnnviz_widgets.errors import ArgumentError
from cnnviz_widgets.inspector import ModelInspector
from cnnviz_widgets.inspector.images import load_rgb, resize_rgb
from cnnviz_widgets.render import draw_box, enlarge, tile_at, tile_box, tile_grid
from cnnviz_widgets.training.timeline import probe_confusion
from cnnviz_widgets.widgets import _checks as checks
from cnnviz_widgets.widgets._base import InspectorWidget, display_png, display_scale, image_view
from cnnviz_widgets.widgets._controls import control
from cnnviz_widgets.widgets._runner import Progress

THUMB = 64
MAX_THUMBS = 24
PER_ROW = 8
MARGIN = 3
CELL_SIDE = PER_ROW * (THUMB + MARGIN) + MARGIN
"""Display width of the thumbnails (pixels)."""


def _class_check(widget: Any, name: str, value: Any) -> Any:
    if widget.scan is None and value is not None:
        raise traitlets.TraitError(f"{name}: there is no scan yet; got {value!r}")
    return checks.between(0, lambda w: len(w.scan.class_names) - 1 if w.scan else 0)(widget, name, value)


def _image_check(widget: Any, name: str, value: Any) -> Any:
    if value is None:
        return value
    if widget.true_class is None or widget.predicted_class is None:
        raise traitlets.TraitError(f"{name}: choose a confusion cell first (a click, or show_cell); got {value!r}")
    allowed = widget.cell_images()
    if value not in allowed:
        raise traitlets.TraitError(f"{name} must be the index of an image of this cell ({len(allowed)} images); "
                                   f"got {value!r}")
    return value


class DatasetBrowser(InspectorWidget):
    """A :class:`~cnnviz_widgets.Scan` as a clickable confusion matrix, per-class accuracy and the
    images of the chosen cell.

    Args:
        inspector: the shared :class:`ModelInspector`; a picked image becomes its image.
        scan: a scan of the inspector's model, or None (then call :meth:`start_scan`).
        data: the scanned data, needed to show images that came from arrays or a tf.data.Dataset
            (images from files are read from their paths).
    """

    true_class = control(traitlets.Int(None, allow_none=True, help="True class (row) of the cell shown."),
                         check=_class_check, reset=lambda w: None)
    predicted_class = control(traitlets.Int(None, allow_none=True, help="Predicted class (column) of the cell shown."),
                              check=_class_check, reset=lambda w: None)
    image_index = control(
        traitlets.Int(None, allow_none=True, help="Scan index of the image picked (it becomes the inspector's image)."),
        check=_image_check, reset=lambda w: None, options=lambda w: w._image_options(), live_options=True,
        attribute="image_dropdown", on_change="_show_image", css=("cnnviz-image-select",),
        make=lambda w: widgets.Dropdown(description="image", options=[("—", None)],
                                        layout=widgets.Layout(width="420px")))

    def __init__(self, inspector: ModelInspector | None = None, scan: Scan | None = None, *, data: Any = None,
                 **kwargs: Any) -> None:
        self.scan: Scan | None = None
        self._lookup = ImageLookup(data)
        self.scan_listeners: list = []
        """Callables ``f(scan, lookup)`` told of every scan shown (the dashboard's LayerBrowser)."""
        super().__init__(inspector, **kwargs)
        self.summary = widgets.HTML("")
        self.cell_caption = widgets.HTML("")
        self.shown_images: list[int] = []
        """Scan indices of the thumbnails drawn, in grid order."""
        pixels = {"x": bqplot.LinearScale(min=0.0, max=1.0), "y": bqplot.LinearScale(min=0.0, max=1.0, reverse=True)}
        self.cell_mark = bqplot.Image(image=image_view(), scales=pixels)
        self.cell_mark.on_element_click(self._thumbnail_clicked)
        self.cell_chart = bqplot.Figure(display_toolbar=False, marks=[self.cell_mark],
                                        fig_margin={"top": 0, "bottom": 0, "left": 0, "right": 0},
                                        padding_x=0.0, padding_y=0.0, layout=widgets.Layout(width="0px", height="0px"))
        self.cell_chart.add_class("cnnviz-dataset-cells")
        self.skipped_view = widgets.HTML("")
        scales = {"row": bqplot.OrdinalScale(reverse=True), "column": bqplot.OrdinalScale(),
                  "color": bqplot.ColorScale(scheme="Blues", min=0)}
        self.matrix = bqplot.GridHeatMap(color=np.zeros((2, 2)), row=["-", " "], column=["-", " "], scales=scales,
                                         display_format=".0f",
                                         selected_style={"stroke": "#dd8452", "stroke-width": "3"})
        self.confusion_chart = bqplot.Figure(display_toolbar=False,
            marks=[self.matrix], title="confusion (rows: true class; click a cell)",
            axes=[bqplot.Axis(scale=scales["column"], label="predicted", tick_rotate=-30),
                  bqplot.Axis(scale=scales["row"], side="left", label="true")],
            fig_margin={"top": 30, "bottom": 60, "left": 80, "right": 10},
            layout=widgets.Layout(width="420px", height="380px"))
        self.confusion_chart.add_class("cnnviz-confusion")
        self.matrix.observe(self._cell_from_chart, "selected")
        self.matrix.on_element_click(self._cell_clicked)      # what the browser sends for a click on a cell
        bar_scales = {"x": bqplot.OrdinalScale(), "y": bqplot.LinearScale(min=0.0, max=1.0, allow_padding=False)}
        self.accuracy_bars = bqplot.Bars(x=["-"], y=[0.0], scales=bar_scales, colors=["#55a868"])
        self.accuracy_chart = bqplot.Figure(display_toolbar=False,
            marks=[self.accuracy_bars], title="accuracy per true class",
            axes=[bqplot.Axis(scale=bar_scales["x"], tick_rotate=-30),
                  bqplot.Axis(scale=bar_scales["y"], side="left", tick_format=".0%", num_ticks=3)],
            fig_margin={"top": 30, "bottom": 60, "left": 45, "right": 10},
            layout=widgets.Layout(width="360px", height="220px"))
        # with a training run attached: the probe's confusion at the snapshot shown
        probe_scales = {"row": bqplot.OrdinalScale(reverse=True), "column": bqplot.OrdinalScale(),
                        "color": bqplot.ColorScale(scheme="Blues", min=0)}
        self.probe_matrix = bqplot.GridHeatMap(color=np.zeros((2, 2)), row=["-", " "], column=["-", " "],
                                               scales=probe_scales, display_format=".0f")
        self.probe_chart = bqplot.Figure(display_toolbar=False, marks=[self.probe_matrix],
            axes=[bqplot.Axis(scale=probe_scales["column"], label="predicted", tick_rotate=-30),
                  bqplot.Axis(scale=probe_scales["row"], side="left", label="true")],
            fig_margin={"top": 10, "bottom": 60, "left": 80, "right": 10},
            layout=widgets.Layout(width="340px", height="300px"))
        self.probe_chart.add_class("cnnviz-probe-confusion")
        self.probe_caption = widgets.HTML("")
        self.probe_box = widgets.VBox([self.probe_caption, self.probe_chart], layout=widgets.Layout(display="none"))
        self.build_controls()
        if scan is not None:
            self.set_scan(scan)
        views = widgets.HBox([self.confusion_chart,
                              widgets.VBox([self.accuracy_chart, self.summary, self.skipped_view]), self.probe_box],
                             layout=widgets.Layout(flex_flow="row wrap"))
        self.add_class("cnnviz-dataset")
        self.cell_caption.add_class("cnnviz-cell-caption")
        self._finish_init([views, self.cell_caption, self.image_dropdown, self.cell_chart])

    # ------------------------------------------------------------------ scan
    def set_scan(self, result: Scan, data: Any = None) -> None:
        """Show ``result`` (a scan of the inspector's model); ``data`` as in the constructor."""
        if not isinstance(result, Scan):
            raise ArgumentError(f"Expected a Scan (from cw.scan or cw.load_scan); got {type(result).__name__}")
        result = self._as_inspector_scan(result)
        if data is not None:
            self._lookup = ImageLookup(data)
        with self.hold_trait_notifications():
            self.true_class = self.predicted_class = self.image_index = None
        self.scan = result
        for listener in self.scan_listeners:
            listener(result, self.lookup)
        self._drawn.clear()
        self.binder.follow_model()
        self.refresh()

    def _as_inspector_scan(self, result: Scan) -> Scan:
        """``result`` read with the inspector's class names: a scan of this model (same fingerprint)
        and class count is shown with the inspector's names, whatever names it was made with."""
        inspector = self.inspector
        if result.fingerprint != inspector.fingerprint:
            raise ArgumentError(
                f"The scan is of another model ({result.model_name!r}, fingerprint {result.fingerprint[:10]}); "
                f"the inspector shows {inspector.model.name!r} ({inspector.fingerprint[:10]}): scan this model")
        if len(result.class_names) != inspector.n_classes:
            raise ArgumentError(f"The scan has {len(result.class_names)} classes; the inspector reads the model "
                                f"as {inspector.n_classes} ({inspector.output_description}): scan it so")
        return result if result.class_names == inspector.class_names else result.renamed(inspector.class_names)

    @property
    def lookup(self) -> ImageLookup:
        """Finds the image behind each of the scan's sources."""
        return self._lookup

    def start_scan(self, data: Any, **options: Any) -> None:
        """Scan ``data`` in the background (progress bar, Cancel); ``options`` go to :func:`cw.scan`."""
        self._lookup = ImageLookup(data)

        def work(progress: Progress) -> Scan:
            return scan(self.inspector, data, progress=progress, **options)

        def done(key: Any, result: Scan | None) -> None:
            if result is not None:
                self.set_scan(result)

        self.submit(("scan", id(data), tuple(sorted(options.items(), key=str))), work, done, label="scanning")

    # ------------------------------------------------------------------ cells
    def cell_images(self) -> list[int]:
        """Scan indices of the images of the chosen cell (most confident first), or of the whole scan."""
        if self.scan is None:
            return []
        if self.true_class is None or self.predicted_class is None:
            return list(range(len(self.scan)))
        return self.scan.images_in_cell(self.true_class, self.predicted_class)

    def _image_options(self) -> list[tuple[str, int | None]]:
        options: list[tuple[str, int | None]] = [("—", None)]
        if self.scan is None or self.true_class is None or self.predicted_class is None:
            return options
        s = self.scan
        for i in self.cell_images():
            p = float(s.probabilities[i, s.predictions[i]])
            name = s.sources[i].rsplit("/", 1)[-1]
            label = f"#{i} {name}: {s.class_names[s.labels[i]]} -> {s.class_names[s.predictions[i]]} ({p:.0%})"
            options.append((label, i))
        return options

    def _cell_from_chart(self, change: dict) -> None:
        selected = change["new"]
        if selected is None or len(selected) == 0 or self.scan is None:
            return
        row, column = (int(v) for v in np.asarray(selected)[-1])
        with self.hold_trait_notifications():
            self.true_class, self.predicted_class = row, column

    def _cell_clicked(self, _mark: Any, event: dict) -> None:
        data = event.get("data", {}) if isinstance(event, dict) else {}
        if "rowNum" in data and "columnNum" in data and self.scan is not None:
            self.matrix.selected = [[int(data["rowNum"]), int(data["columnNum"])]]

    def show_cell(self, true_class: int, predicted_class: int) -> list[int]:
        """Choose a cell (as a click does) and return its images."""
        with self.hold_trait_notifications():
            self.true_class, self.predicted_class = true_class, predicted_class
        return self.cell_images()

    def click_thumbnail(self, x: float, y: float) -> int | None:
        """What a click at pixel (x, y) of the thumbnail picture does: the image under it becomes the
        inspector's image (its confusion cell is chosen first when none is). Returns its scan
        index, or None for a click between thumbnails."""
        k = tile_at((x, y), len(self.shown_images), (THUMB, THUMB), per_row=PER_ROW, margin=MARGIN, labelled=True)
        if k is None or self.scan is None:
            return None
        index = self.shown_images[k]
        if self.true_class is None or self.predicted_class is None:
            self.show_cell(int(self.scan.labels[index]), int(self.scan.predictions[index]))
        self.image_index = index
        return index

    def _thumbnail_clicked(self, _mark: Any, event: dict) -> None:
        data = event.get("data", {}) if isinstance(event, dict) else {}
        if "click_x" in data and "click_y" in data:
            self.click_thumbnail(data["click_x"], data["click_y"])

    def image(self, index: int) -> np.ndarray:
        """The scanned image ``index`` as uint8 (H, W, 3) at its own size."""
        if self.scan is None:
            raise ArgumentError("No scan yet: set_scan() or start_scan() first")
        return load_rgb(self._lookup(self.scan.sources[index]))

    def _show_image(self) -> None:
        if self.image_index is not None and self.scan is not None:
            s, i = self.scan, self.image_index
            predicted = int(s.predictions[i])
            label = (f"dataset image #{i}: true {s.class_names[int(s.labels[i])]}, predicted "
                     f"{s.class_names[predicted]} (p = {float(s.probabilities[i, predicted]):.0%})")
            self.inspector.set_image(self.image(i), label=label)
        self.refresh()

    # ------------------------------------------------------------------ rendering
    @property
    def png(self) -> bytes:
        """PNG bytes of the chosen cell's images."""
        return self.cell_mark.image.value

    def _draw_thumbnails(self, picture: np.ndarray) -> None:
        """Show ``picture`` in the clickable chart, its scales in the picture's pixels."""
        height, width = picture.shape[:2]
        factor = display_scale(picture.shape, CELL_SIDE)
        with self.cell_mark.hold_sync():
            self.cell_mark.scales["x"].max, self.cell_mark.scales["y"].max = float(width), float(height)
            self.cell_mark.x, self.cell_mark.y = (0.0, float(width)), (float(height), 0.0)
        self.cell_chart.layout.width = f"{round(width * factor)}px"
        self.cell_chart.layout.height = f"{round(height * factor)}px"
        # the mark redraws when given another Image widget, not when its Image's value changes
        view = image_view("cnnviz-dataset-cell")
        view.value = display_png(picture, side=CELL_SIDE)
        old, self.cell_mark.image = self.cell_mark.image, view
        old.close()

    @property
    def probe_confusion(self) -> np.ndarray | None:
        """The training run's probe confusion matrix (true class, predicted class) at the inspector's
        snapshot; None without a run, a snapshot or a probe."""
        run, shown = self.inspector.run, self.inspector.snapshot_shown
        if run is None or shown is None:
            return None
        return probe_confusion(run, run.resolve(self.inspector.snapshot), self.inspector.n_classes)

    def _draw_probe(self) -> None:
        matrix = self.probe_confusion
        self.probe_box.layout.display = "none" if matrix is None else "flex"
        if matrix is None:
            return
        shown = self.inspector.snapshot_shown
        names = list(self.inspector.class_names)
        with self.probe_matrix.hold_sync(), self.probe_matrix.hold_trait_notifications():
            self.probe_matrix.color = matrix.astype(float)
            self.probe_matrix.row, self.probe_matrix.column = names, names
        accuracy = np.trace(matrix) / max(int(matrix.sum()), 1)
        self.probe_caption.value = (f"<b>training probe at snapshot {shown.index}</b> <small>(epoch "
                                    f"{shown.progress:.2f}; {int(matrix.sum())} images, accuracy {accuracy:.0%}; "
                                    "it follows the snapshot slider)</small>")

    def _render(self) -> bool:
        self._draw_probe()
        s = self.scan
        if s is None:
            self.summary.value = "<small>No scan yet: <code>start_scan(data)</code> or pass scan=...</small>"
            return True
        if self._needs_drawing("charts", id(s)):
            names = list(s.class_names)
            with self.matrix.hold_sync(), self.matrix.hold_trait_notifications():   # checked together
                self.matrix.color = s.confusion.astype(float)
                self.matrix.row, self.matrix.column = names, names
            accuracy = s.class_accuracy
            self.accuracy_bars.x, self.accuracy_bars.y = names, np.nan_to_num(accuracy).tolist()
            self.summary.value = (f"<small>{len(s)} images, accuracy <b>{s.accuracy:.1%}</b>, "
                                  f"{len(s.skipped)} skipped{'' if s.complete else ' (interrupted scan)'}</small>")
            if s.skipped:
                items = "".join(f"<li>{html.escape(src)}: {html.escape(why)}</li>" for src, why in s.skipped[:5])
                self.skipped_view.value = f"<small>skipped:<ul>{items}</ul></small>"
        if self.true_class is None or self.predicted_class is None:
            errors = [i for i, *_ in s.confident_errors(MAX_THUMBS)]
            cell: list[int] = errors or list(range(min(len(s), MAX_THUMBS)))
            self.cell_caption.value = ("<small>Click a cell of the confusion matrix to see its images. Until then: "
                                       + ("the most confident mistakes." if errors else "the first images.")
                                       + "</small>")
        else:
            cell = self.cell_images()
            t, p = s.class_names[self.true_class], s.class_names[self.predicted_class]
            verdict = "right" if self.true_class == self.predicted_class else "wrong"
            self.cell_caption.value = (f"<small>true <b>{html.escape(t)}</b>, predicted <b>{html.escape(p)}</b> "
                                       f"({verdict}): {len(cell)} images, most confident first</small>")
        if self._needs_drawing("cell", (id(s), self.true_class, self.predicted_class, self.image_index)):
            self.shown_images = shown = cell[:MAX_THUMBS]
            if shown:
                tiles = enlarge(np.stack([resize_rgb(self.image(i), (THUMB, THUMB)) for i in shown]), THUMB)
                labels = [f"#{i} {s.probabilities[i, s.predictions[i]]:.0%}" for i in shown]
                picture = tile_grid(tiles, per_row=PER_ROW, margin=MARGIN, labels=labels)
                if self.image_index in shown:   # the picked image, shown in the other tabs, is outlined
                    top, left, height, width = tile_box(shown.index(self.image_index), len(shown), (THUMB, THUMB),
                                                        per_row=PER_ROW, margin=MARGIN, labelled=True)
                    picture = draw_box(picture, top - 2, left - 2, height + 3, width + 4, color=(221, 132, 82),
                                       line=2)
            else:
                picture = np.full((THUMB, THUMB, 3), 255, np.uint8)
            self._draw_thumbnails(picture)
        return True
