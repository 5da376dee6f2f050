"""Channel examples from a scan: the input patches that excite a channel most and least (each
cropped to the receptive field of the unit at its maximum, as OpenAI Microscope shows them), and
the channel's mean activation per true class."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np

from cnnviz_widgets.dataset import Scan
from cnnviz_widgets.dataset.sources import ImageLookup
from cnnviz_widgets.inspector import ModelInspector
from cnnviz_widgets.inspector.images import load_rgb, resize_rgb
from cnnviz_widgets.methods import crop_field, receptive_field
from cnnviz_widgets.render import tile_grid
from cnnviz_widgets.widgets._base import display_png

PATCH = 48


def example_patches(inspector: ModelInspector, result: Scan, lookup: Callable[[str], Any], layer: str,
                    channel: int, side: str = "top") -> tuple[np.ndarray, list[str]]:
    """uint8 (k, PATCH, PATCH, 3) patches of a channel's top (or bottom) examples, and their labels."""
    field = receptive_field(inspector, layer)
    examples = result.top_examples(layer, channel) if side == "top" else result.bottom_examples(layer, channel)
    tiles, labels = [], []
    for index, value, (y, x) in examples:
        image = resize_rgb(load_rgb(lookup(result.sources[index])), inspector.input_size)
        patch = crop_field(image, field, y, x)
        tiles.append(resize_rgb(np.ascontiguousarray(patch), (PATCH, PATCH)))
        labels.append(f"#{index} {value:.2g}")
    return np.stack(tiles) if tiles else np.zeros((0, PATCH, PATCH, 3), np.uint8), labels


class ChannelExamples(widgets.VBox):
    """Top and bottom patches and class selectivity of one channel of ``scan``; hidden without a scan.

    ``data`` is the scanned data, needed for images that came from arrays or a tf.data.Dataset.
    """

    def __init__(self, scan: Scan | None = None, data: Any = None) -> None:
        self.scan, self.lookup = scan, ImageLookup(data)
        self.top_view = widgets.Image(format="png")
        self.top_view.add_class("cnnviz-channel-examples")
        self.bottom_view = widgets.Image(format="png")
        self.caption = widgets.HTML("")
        scales = {"x": bqplot.OrdinalScale(), "y": bqplot.LinearScale(allow_padding=False)}
        self.selectivity_bars = bqplot.Bars(x=["-"], y=[0.0], scales=scales, colors=["#c44e52"])
        self.selectivity_chart = bqplot.Figure(display_toolbar=False,
            marks=[self.selectivity_bars], title="mean activation per true class",
            axes=[bqplot.Axis(scale=scales["x"], tick_rotate=-30), bqplot.Axis(scale=scales["y"], side="left",
                                                                               num_ticks=3)],
            fig_margin={"top": 30, "bottom": 55, "left": 50, "right": 10},
            layout=widgets.Layout(width="360px", height="200px"))
        super().__init__([self.caption, widgets.HTML("<b>excite it most</b>"), self.top_view,
                          widgets.HTML("<b>excite it least</b>"), self.bottom_view, self.selectivity_chart],
                         layout=widgets.Layout(display="none"))

    def attach(self, scan: Scan | None, data: Any = None, *, lookup: ImageLookup | None = None) -> None:
        """Use ``scan`` (None: none) and the images of ``data`` (or an existing ``lookup``)."""
        self.scan, self.lookup = scan, lookup or ImageLookup(data)

    def show(self, inspector: ModelInspector, layer: str, channel: int | None, cached: Callable[..., Any]) -> None:
        """Draw ``channel`` of ``layer`` (hidden without a scan or a channel, or when the scan skipped the layer)."""
        result, lookup = self.scan, self.lookup
        if result is None or channel is None or layer not in result.layers:
            self.layout.display = "none"
            return
        for side, view in (("top", self.top_view), ("bottom", self.bottom_view)):
            tiles, labels = cached("channel_examples", id(result), layer, channel, side, per="model",
                                   compute=lambda side=side: example_patches(inspector, result, lookup, layer,
                                                                             channel, side))
            if len(tiles):
                view.value = display_png(tile_grid(tiles, per_row=9, margin=2, labels=labels),
                                         side=9 * (PATCH + 2) + 2)
        selectivity = result.class_selectivity(layer, channel)
        with self.selectivity_bars.hold_sync():
            self.selectivity_bars.x = list(result.class_names)
            self.selectivity_bars.y = np.nan_to_num(selectivity).tolist()
        field = receptive_field(inspector, layer)
        self.caption.value = (f"<small>channel {channel} over {len(result)} scanned images; patches are the "
                              f"{field.size[0]}x{field.size[1]} px receptive field of the unit at each "
                              f"maximum</small>")
        self.layout.display = None


class ScanExamplesMixin:
    """For a widget with a :class:`ChannelExamples` in ``self.examples``: the scan it shows."""

    examples: ChannelExamples
    binder: Any          # from InspectorWidget
    refresh: Callable[[], Any]

    @property
    def scan(self) -> Scan | None:
        """The attached scan, or None."""
        return self.examples.scan

    def attach_scan(self, scan: Scan | None, data: Any = None, *, lookup: ImageLookup | None = None) -> None:
        """Show dataset examples from ``scan`` (None: hide them); ``data`` is the scanned data, needed
        for images that came from arrays or a tf.data.Dataset."""
        self.examples.attach(scan, data, lookup=lookup)
        self.binder.follow_model()      # controls whose options depend on the scan
        self.refresh()
