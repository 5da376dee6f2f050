"""Dashboard: the four widgets in tabs around one image picker and the top-k predictions."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import keras

from cnnviz_widgets.dataset import load_scan
from cnnviz_widgets.dataset.checkpoint import read_manifest
from cnnviz_widgets.inspector import ModelInspector
from cnnviz_widgets.inspector.images import ImageLike
from cnnviz_widgets.widgets._base import NEAR_UNIFORM_WARNING, InspectorWidget, close_held, stop_following
from cnnviz_widgets.widgets._class_picker import ClassPicker
from cnnviz_widgets.widgets.cam_overlay import CamOverlay
from cnnviz_widgets.widgets.dataset_browser import DatasetBrowser
from cnnviz_widgets.widgets.filter_gallery import FilterGallery
from cnnviz_widgets.widgets.image_picker import ImagePicker
from cnnviz_widgets.widgets.layer_browser import LayerBrowser
from cnnviz_widgets.widgets.occlusion_sweeper import OcclusionSweeper
from cnnviz_widgets.widgets.training_timeline import TrainingTimeline

TAB_TITLES = ("Feature maps", "Filters", "Class heatmaps", "Occlusion")
DATASET_TAB = "Dataset"
TRAINING_TAB = "Training"


def dataset_browser(inspector: ModelInspector, dataset: Any = None, scan: Any = None) -> DatasetBrowser:
    """A DatasetBrowser on ``scan``, or on ``dataset``: a scan store folder (reopened at once) or
    data to scan in the background."""
    if scan is not None:
        return DatasetBrowser(inspector, scan, data=dataset, active=False)
    if isinstance(dataset, (str, os.PathLike)) and read_manifest_or_none(dataset) is not None:
        return DatasetBrowser(inspector, load_scan(dataset), active=False)
    browser = DatasetBrowser(inspector, data=dataset, active=False)
    browser.start_scan(dataset)
    return browser


def read_manifest_or_none(folder: str | os.PathLike) -> dict | None:
    path = Path(folder)
    return read_manifest(path) if path.is_dir() else None


HEAD_WORDS = {"softmax": "a classifier of {n} classes",
              "binary": "a yes/no classifier ({names})",
              "multilabel": "a tagger of {n} labels, each judged on its own",
              "score": "a model with {n} outputs (scores, not probabilities)"}
"""The dashboard header's plain words for each head (the head rule's details are in ``repr``)."""

FIT_WORDS = {"stretch": "stretched", "crop": "centre-cropped", "pad": "padded"}


def header_html(inspector: ModelInspector) -> str:
    """The dashboard's header: the model in plain words, its input, and the image shown."""
    names = ", ".join(inspector.class_names[:6]) + (", ..." if inspector.n_classes > 6 else "")
    what = HEAD_WORDS[inspector.head].format(n=inspector.n_classes, names=names)
    h, w, c = inspector.input_shape
    colour = "colour" if c == 3 else "greyscale"
    lines = [f"{what} ({html.escape(names)})" if inspector.head != "binary" else html.escape(what),
             f"looks at {colour} pictures of {w}x{h} pixels; {len(inspector.layers)} layers"]
    outputs = inspector.output_names
    if len(outputs) > 1:
        lines[0] += (f"; explains output {html.escape(repr(inspector.output_name))} "
                     f"({outputs.index(inspector.output_name) + 1} of {len(outputs)})")
    if inspector.has_image:
        shown = inspector.image_label or "an image given in code"
        lines.append(f"showing <b>{html.escape(shown)}</b> ({FIT_WORDS[inspector.fit]} to {w}x{h})")
        shown_snapshot = inspector.snapshot_shown
        if shown_snapshot is not None:
            lines.append(f"the network at <b>snapshot {shown_snapshot.index}</b> of its training run "
                         f"({shown_snapshot.progress:g} epochs, step {shown_snapshot.step})")
        if inspector.near_uniform:
            lines.append(f"<b style='color:#b00020'>&#9888; {html.escape(NEAR_UNIFORM_WARNING)}</b>")
    return (f"<h3 style='margin:4px 0'>cnnviz · {html.escape(inspector.model.name)}</h3>"
            f"<small>{'<br>'.join(lines)}</small>")


class Dashboard(widgets.VBox):
    """Everything in one view, bound to one :class:`ModelInspector`.

    Only the visible tab computes; the others catch up when opened. The class picked on
    the top-k chart is the class of the heatmap and occlusion tabs.

    Attributes:
        picker: the shared :class:`ImagePicker`.
        classes: the shared :class:`ClassPicker`.
        layers: the :class:`LayerBrowser` tab.
        filters: the :class:`FilterGallery` tab.
        cams: the :class:`CamOverlay` tab.
        occlusion: the :class:`OcclusionSweeper` tab.
    """

    def __init__(self, inspector: ModelInspector | None = None, *, dataset: Any = None, scan: Any = None,
                 **kwargs: Any) -> None:
        self.inspector = inspector if inspector is not None else ModelInspector()
        self.picker = ImagePicker(self.inspector)
        self.classes = ClassPicker(self.inspector, chart=True)
        self.layers = LayerBrowser(self.inspector)
        self.filters = FilterGallery(self.inspector, active=False)
        self.cams = CamOverlay(self.inspector, chart=False, active=False)
        self.occlusion = OcclusionSweeper(self.inspector, active=False)
        for widget in (self.cams, self.occlusion):
            widgets.link((self.classes, "class_index"), (widget, "class_index"))
            widget.classes.layout.display = "none"   # the header's picker serves every tab
        self.dataset: DatasetBrowser | None = None
        """The Dataset tab's browser, when the dashboard was given a dataset or a scan."""
        if dataset is not None or scan is not None:
            self.dataset = dataset_browser(self.inspector, dataset, scan)
            self.dataset.scan_listeners.append(self._share_scan)
            if self.dataset.scan is not None:
                self._share_scan(self.dataset.scan, self.dataset.lookup)
        self.training: TrainingTimeline | None = None
        """The Training tab's timeline, when the inspector has a training run attached."""
        if self.inspector.has_run:
            self.training = TrainingTimeline(self.inspector, active=False)
        self.tabs = widgets.Tab(children=list(self.widgets), titles=self.tab_titles)
        self.tabs.observe(self._on_tab, "selected_index")
        self.title = widgets.HTML("")
        self._show_title()
        self.inspector.observe(self._show_title, names=["model_version", "image_version"])
        # wraps instead of pushing the chart off the right edge when the picker shows a long error
        self.picker.errors.layout.max_width = "480px"
        header = widgets.HBox([widgets.VBox([self.title, self.picker], layout=widgets.Layout(max_width="520px")),
                               self.classes], layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__([header, self.tabs], **kwargs)
        self.add_class("cnnviz-dashboard")

    def _show_title(self, *_: Any) -> None:
        self.title.value = header_html(self.inspector)

    def _share_scan(self, scan: Any, lookup: Any) -> None:
        """A scan shown in the Dataset tab also gives the feature-map tab its channel examples."""
        self.layers.attach_scan(scan, lookup=lookup)
        self.filters.attach_scan(scan, lookup=lookup)

    @property
    def widgets(self) -> tuple:
        """(LayerBrowser, FilterGallery, CamOverlay, OcclusionSweeper[, DatasetBrowser][, TrainingTimeline])
        in tab order."""
        extra = tuple(w for w in (self.dataset, self.training) if w is not None)
        return (self.layers, self.filters, self.cams, self.occlusion, *extra)

    @property
    def tab_titles(self) -> tuple[str, ...]:
        """The titles of the tabs, in order."""
        extra = tuple(t for t, w in ((DATASET_TAB, self.dataset), (TRAINING_TAB, self.training)) if w is not None)
        return (*TAB_TITLES, *extra)

    def _on_tab(self, change: dict) -> None:
        for i, widget in enumerate(self.widgets):
            widget.active = i == change["new"]

    def show(self, tab: int | str) -> None:
        """Open a tab by index or title (``"Occlusion"``)."""
        self.tabs.selected_index = self.tab_titles.index(tab) if isinstance(tab, str) else int(tab)

    @property
    def open_widget(self) -> InspectorWidget:
        """The widget of the open tab."""
        return self.widgets[self.tabs.selected_index or 0]

    @property
    def png(self) -> bytes:
        """PNG bytes of the main image of the open tab."""
        return self.open_widget.png

    def save_png(self, path: str | os.PathLike | None = None) -> Path:
        """Save the main image of the open tab to ``path`` (None: the first free
        ``cnnviz_<widget>_NNN.png`` in the working directory); returns the path written."""
        return self.open_widget.save_png(path)

    def wait(self, timeout: float | None = 300) -> bool:
        """Block until every widget's background work is done."""
        return all(w.wait(timeout) for w in self.widgets)

    def close(self) -> None:
        stop_following(self.inspector, self._show_title, ["model_version", "image_version"])
        close_held(self)   # the picker, the class chart, every tab's widget and their parts
        super().close()


def explore(model: keras.Model | str | os.PathLike | None = None, image: ImageLike | None = None, *,
            dataset: Any = None, **inspector_options: Any) -> Dashboard:
    """One call to see a model: a :class:`Dashboard` on ``model`` (None: the embedded default
    model with its first sample image) showing ``image``.

    ``dataset`` adds a Dataset tab: data to scan in the background (anything :func:`cw.scan`
    takes) or a scan store folder, reopened at once. ``run=`` (a run folder, a
    :class:`~cnnviz_widgets.Run`, or a :class:`~cnnviz_widgets.TrainingRecorder` to follow live)
    adds a Training tab, and every tab follows its snapshot slider. ``inspector_options`` go to
    :class:`ModelInspector` (``preprocess``, ``class_names``, ``head``, ``store``: a folder where
    slow results are kept for every later kernel...).
    """
    inspector = ModelInspector(model, **inspector_options)
    if image is not None:
        inspector.set_image(image)
    elif not inspector.has_image:
        from cnnviz_widgets.embedded.default_model import sample_images

        first = sample_images()[0]
        inspector.set_image(first["image"], label=f"sample {first['name']}")
    return Dashboard(inspector, dataset=dataset)
