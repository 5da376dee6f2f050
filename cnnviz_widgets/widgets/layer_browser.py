"""LayerBrowser: every feature map of a layer for the current image.

Everything it shows comes from the inspector's one cached forward pass: changing the layer,
the channel, the colormap or the normalisation never calls the model.
"""

from __future__ import annotations

import html
from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np
import traitlets

from cnnviz_widgets.dataset import Scan
from cnnviz_widgets.inspector import ModelInspector
from cnnviz_widgets.methods import ChannelStatistics, channel_statistics
from cnnviz_widgets.render import ColorScale, channel_grid, colorize, near_blank_channels, to_png
from cnnviz_widgets.widgets import _checks as checks
from cnnviz_widgets.widgets._base import (
    InspectorWidget,
    display_png,
    guarded,
    image_view,
    layer_options,
    map_figure,
    show_picture,
)
from cnnviz_widgets.widgets._channel_examples import ChannelExamples, ScanExamplesMixin
from cnnviz_widgets.widgets._controls import control
from cnnviz_widgets.widgets._shared_traits import colormap_trait, index_trait

NORMALIZATIONS = (("per channel", "per_channel"), ("shared scale", "shared"))

GRID_ROWS = 8
"""Rows of channels on one page of the grid (a 1,280-channel layer is paged, not one tall picture)."""

BAR_PIXELS = 12
"""Width per layer of the sparsity chart, which scrolls sideways on networks of many layers."""


class LayerBrowser(ScanExamplesMixin, InspectorWidget):
    """Feature maps of one layer: a grid of all channels, one channel large with its statistics,
    the input image, and how many channels are blank in each layer.

    Args:
        inspector: the shared :class:`ModelInspector` (None: a new one on the default model).
        layer: initial layer (default: the last spatial layer).
        images_per_row: channels per row of the grid (16, as in the Keras tutorial).
    """

    layer = control(
        traitlets.Unicode(help="Qualified name of the layer shown (spatial layers only)."),
        check=checks.layer_among(lambda w: w._spatial, "has no spatial output"),
        options=lambda w: layer_options(w.inspector, w._spatial),
        reset=lambda w: w._spatial[-1],
        attribute="layer_dropdown", css=("cnnviz-layer-select",),
        make=lambda w: widgets.Dropdown(description="layer", layout=widgets.Layout(width="340px")))
    channel = index_trait("Channel shown large, 0-based.", lambda w: w.n_channels, description="channel",
                          attribute="channel_slider", note=lambda w: f" for layer {w.layer!r}",
                          css=("cnnviz-channel-slider",), continuous_update=True,
                          layout={"width": "520px"})   # a dict: each slider gets its own Layout
    colormap = colormap_trait("viridis")
    normalization = control(
        traitlets.Unicode("per_channel", help="'per_channel' (each channel scaled to its own range, as the Keras "
                                              "tutorial) or 'shared' (the layer's range)."),
        check=checks.among(NORMALIZATIONS), attribute="normalization_buttons",
        make=lambda w: widgets.ToggleButtons(options=NORMALIZATIONS, style={"button_width": "105px"},
                                             tooltips=["each channel stretched to its own range",
                                                       "one range for the whole layer"]))
    images_per_row = control(traitlets.Int(16, help="Channels per row of the grid, 1..256."),
                             check=checks.between(1, 256))
    grid_page = index_trait("Page of the channel grid shown, 0-based (GRID_ROWS rows of images_per_row "
                            "channels per page).", lambda w: w.n_pages, description="grid page",
                            attribute="page_slider", note=lambda w: f" ({w.n_pages} pages for layer {w.layer!r})",
                            css=("cnnviz-grid-page",))

    def __init__(self, inspector: ModelInspector | None = None, *, scan: Scan | None = None, data: Any = None,
                 **kwargs: Any) -> None:
        self._rendering = False  # True while the view is redrawn (chart selections are then ours, not a click)
        self.examples = ChannelExamples(scan, data)
        super().__init__(inspector, **kwargs)
        self.input_view = image_view("cnnviz-input")
        self.channel_view = image_view("cnnviz-map", "cnnviz-channel")
        self.grid_view = image_view("cnnviz-grid")
        self.stats = widgets.HTML("")
        self.stats.add_class("cnnviz-stats")
        scales = {"x": bqplot.OrdinalScale(), "y": bqplot.LinearScale(min=0.0, max=1.0, allow_padding=False)}
        self._sparsity_bars = bqplot.Bars(x=[""], y=[[0.0], [0.0]], scales=scales,
                                          type="grouped", colors=["#8172b3", "#c4ad66"],
                                          labels=["blank channels", "zero activations"],
                                          tooltip=bqplot.Tooltip(fields=["x", "y"], formats=["", ".0%"]),
                                          interactions={"click": "select"}, selected_style={"stroke": "#dd8452",
                                                                                           "stroke-width": "2"})
        self.sparsity_chart = bqplot.Figure(display_toolbar=False,
            marks=[self._sparsity_bars], title="",
            axes=[bqplot.Axis(scale=self._sparsity_bars.scales["x"], tick_rotate=-60, tick_style={"font-size": "9px"},
                              label="layer", label_offset="80px"),
                  bqplot.Axis(scale=self._sparsity_bars.scales["y"], side="left", tick_format=".0%",
                              num_ticks=3, label="share", label_offset="36px")],
            fig_margin={"top": 10, "bottom": 95, "left": 50, "right": 10},
            layout=widgets.Layout(width="420px", height="260px"))
        self.sparsity_chart.add_class("cnnviz-sparsity")
        # the title and the legend sit above the chart (in bqplot they overlap the bars); the chart
        # scrolls sideways when the network has more layers than fit
        self.sparsity_box = widgets.VBox([
            widgets.HTML('<b>sparsity per layer</b> <small>(click a layer to open it)<br>'
                         '<span style="color:#8172b3">&#9632;</span> blank channels &nbsp; '
                         '<span style="color:#c4ad66">&#9632;</span> zero activations</small>'),
            widgets.Box([self.sparsity_chart], layout=widgets.Layout(width="440px", overflow="auto hidden")),
        ])
        self._sparsity_bars.observe(self._layer_from_chart, "selected")

        self._on_model_change()
        self.build_controls()
        views = widgets.HBox([
            widgets.VBox([widgets.HTML("<b>input</b>"), self.input_view]),
            widgets.VBox([widgets.HTML("<b>channel</b>"), self.channel_view, self.stats]),
            self.sparsity_box,
        ], layout=widgets.Layout(flex_flow="row wrap"))
        controls = widgets.HBox([self.layer_dropdown, self.colormap_dropdown, self.normalization_buttons])
        self._finish_init([controls, self.channel_slider, views, self.examples, widgets.HTML("<b>all channels</b>"),
                           self.page_slider, self.grid_view])

    # ------------------------------------------------------------------ layers
    def _on_model_change(self) -> None:
        self._spatial = [r.name for r in self.inspector.layers if r.is_spatial]

    @property
    def n_channels(self) -> int:
        """Channels of the layer shown."""
        return int(self.inspector.layer(self.layer).output_shape[-1]) if self.layer else 1

    @property
    def per_page(self) -> int:
        """Channels on one page of the grid."""
        return GRID_ROWS * self.images_per_row

    @property
    def n_pages(self) -> int:
        """Pages of the channel grid for the layer shown."""
        return max(1, -(-self.n_channels // self.per_page))

    @guarded
    def _layer_from_chart(self, change: dict) -> None:
        selected = change["new"]
        if selected is not None and len(selected) and not self._rendering:
            self.layer = self._spatial[int(selected[-1])]

    # ------------------------------------------------------------------ statistics
    def statistics(self, layer: str | None = None) -> ChannelStatistics:
        """Channel statistics of ``layer`` (default: the current one) for the current image."""
        name = self.inspector.graph.resolve(layer or self.layer)
        return self.cached("channel_statistics", name,
                           compute=lambda: channel_statistics(self.inspector.activations(name)))

    def blank_fractions(self) -> dict[str, float]:
        """Fraction of blank (all-zero) channels in every spatial layer, for the current image."""
        return {name: self.statistics(name).blank_fraction for name in self._spatial}

    def zero_fractions(self) -> dict[str, float]:
        """Mean fraction of zero activations in every spatial layer, for the current image."""
        return {name: float(self.statistics(name).sparsity.mean()) for name in self._spatial}

    # ------------------------------------------------------------------ rendering
    @property
    def png(self) -> bytes:
        """PNG bytes of the large channel view."""
        return self.channel_view.value

    @property
    def grid_png(self) -> bytes:
        """PNG bytes of the grid of all channels."""
        return self.grid_view.value

    def _grid_png(self) -> bytes:
        start = self.grid_page * self.per_page

        def compute() -> np.ndarray:
            maps = self.inspector.activations(self.layer)
            if self.normalization == "shared":   # the page on the whole layer's range, not its own
                low, high = float(maps.min()), float(maps.max())
                maps = (maps - low) / (high - low) if high > low else np.zeros_like(maps)
            page = maps[..., start:start + self.per_page]
            grid = channel_grid(page, colormap=self.colormap, per_row=self.images_per_row,
                                normalization="none" if self.normalization == "shared" else "per_channel")
            return np.frombuffer(to_png(grid, scale=max(1, 512 // grid.shape[1])), np.uint8)

        return self.cached("channel_grid_png", self.layer, self.colormap, self.normalization, self.images_per_row,
                           start, compute=compute).tobytes()

    def channel_scale(self) -> ColorScale:
        """The colour scale of the large channel view: the channel's own range or the layer's,
        in activation units."""
        maps = self.inspector.activations(self.layer)
        values = maps[..., self.channel] if self.normalization == "per_channel" else maps
        note = "this channel's own range" if self.normalization == "per_channel" else "the whole layer's range"
        return ColorScale(float(values.min()), float(values.max()), "activation", note=note)

    def _render(self) -> bool:
        if not self.inspector.has_image:
            return True
        self._rendering = True
        try:
            maps = self.inspector.activations(self.layer)
            if self._needs_drawing("input", self.inspector.image_key):
                self.input_view.value = display_png(self.inspector.image, 192)
            one = maps[..., self.channel]
            scale = self.channel_scale()
            blank = bool(near_blank_channels(maps)[self.channel])
            scaled = np.zeros_like(one) if blank and self.normalization == "per_channel" else scale.to01(one)
            show_picture(self.channel_view, map_figure(colorize(scaled, self.colormap), scale, self.colormap))
            self.grid_view.value = self._grid_png()
            self._render_statistics()
            self.examples.show(self.inspector, self.layer, self.channel, self.cached)
            return True
        finally:
            self._rendering = False

    def _render_statistics(self) -> None:
        stats = self.statistics()
        c = self.channel
        rank = int(np.nonzero(stats.ranking == c)[0][0]) + 1
        maps = self.inspector.activations(self.layer)
        h, w, channels = maps.shape
        near_blank = near_blank_channels(maps)
        warning = ""
        if near_blank[c]:
            warning = (f"<br><b>&#9888; channel {c} is blank</b>: its largest value, {np.abs(maps[..., c]).max():.3g}, "
                       f"is negligible against the layer's {np.abs(maps).max():.3g}, so it is drawn empty")
        self.stats.value = (
            f"<small>{html.escape(self.layer)}: {h}x{w}, {channels} channels; "
            f"<b>{stats.blank_fraction:.0%}</b> blank, {int(near_blank.sum())} blank or near blank<br>"
            f"channel {c}: mean {stats.mean[c]:.3g}, max {stats.max[c]:.3g}, "
            f"zero at {stats.sparsity[c]:.0%} of positions, rank {rank}/{channels} by mean{warning}</small>")
        if not self._needs_drawing("sparsity", (self.inspector.image_key, self.layer)):
            return
        blank, zero = self.blank_fractions(), self.zero_fractions()
        self.sparsity_chart.layout.width = f"{max(420, BAR_PIXELS * len(blank) + 60)}px"
        with self._sparsity_bars.hold_sync():
            self._sparsity_bars.x = list(blank)
            self._sparsity_bars.y = [list(blank.values()), list(zero.values())]
            self._sparsity_bars.selected = [self._spatial.index(self.layer)]
