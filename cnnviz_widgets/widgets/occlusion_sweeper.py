"""OcclusionSweeper: hide one part of the image at a time and watch the class probability
(Zeiler and Fergus 2014), with a step-through of the sweep for teaching.

The sweep runs in the background, batched, cached by (image, class, patch, stride, fill);
stepping through it, the alpha and the colormap re-render from that cache.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np
import traitlets
from PIL import Image, ImageFilter

from cnnviz_widgets.inspector import ModelInspector
from cnnviz_widgets.methods import OcclusionSweep, occlusion_sweep, patch_positions
from cnnviz_widgets.render import ColorScale, draw_box, floor_scale, mask_view, overlay, to_png
from cnnviz_widgets.widgets import _checks as checks
from cnnviz_widgets.widgets._base import (
    DISPLAY_SIDE,
    NEAR_UNIFORM_WARNING,
    InspectorWidget,
    caption_style,
    computing_caption,
    fit_side,
    image_view,
    map_figure,
    show_picture,
)
from cnnviz_widgets.widgets._controls import control
from cnnviz_widgets.widgets._runner import Progress
from cnnviz_widgets.widgets._shared_traits import alpha_trait, class_index_trait, colormap_trait, index_trait

FILLS = (("mean colour", "mean"), ("grey", "grey"), ("blur", "blur"), ("colour", "colour"))

STEP_SIDE = 192
"""Side in pixels of the mask view and the step-through picture (smaller than the map they explain)."""

DROP_FLOOR = 0.01
"""The smallest top of the sensitivity's colour scale: a drop in probability of 1 percentage point.
A class whose largest drop is below it draws no hot colour (hiding any part changes nothing)."""


def _hex_to_rgb(color: str) -> tuple[int, int, int]:
    value = color.lstrip("#")
    if len(value) != 6:
        raise traitlets.TraitError(f"fill_color must look like '#80a0ff'; got {color!r}")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


class OcclusionSweeper(InspectorWidget):
    """Occlusion sensitivity: the probability drop when each patch is hidden, as an overlay and
    as occlusion tutorials' mask view, plus a step-through with the probability at every step.

    Args:
        inspector: the shared :class:`ModelInspector` (None: a new one on the default model).
        patch, stride: in pixels of the model input (default 1/8 of the side, stride = patch).
        fill: ``"mean"`` (the image's mean colour), ``"grey"``, ``"blur"`` or ``"colour"``
            (``fill_color``).
    """

    patch = control(
        traitlets.Int(help="Side of the square patch, in input pixels."),
        check=checks.between(1, lambda w: w.side, note=" pixels"), bounds=lambda w: (1, w.side),
        reset=lambda w: max(2, round(w.side / 8)), attribute="patch_slider", css=("cnnviz-patch-slider",),
        make=lambda w: widgets.IntSlider(description="patch", min=1, max=2, continuous_update=False))
    stride = control(
        traitlets.Int(help="Step between patches, in input pixels."),
        check=checks.between(1, lambda w: w.side, note=" pixels"), bounds=lambda w: (1, w.side),
        reset=lambda w: min(w.patch, w.side) or 1, attribute="stride_slider",
        make=lambda w: widgets.IntSlider(description="stride", min=1, max=2, continuous_update=False))
    fill = control(
        traitlets.Unicode("mean", help="'mean', 'grey', 'blur' or 'colour'."),
        check=checks.among(FILLS), attribute="fill_dropdown",
        make=lambda w: widgets.Dropdown(description="fill", options=FILLS, layout=widgets.Layout(width="220px")))
    fill_color = control(
        traitlets.Unicode("#ff00ff", help="Colour used when fill == 'colour'."),
        check=checks.hex_color, attribute="color_picker",
        make=lambda w: widgets.ColorPicker(concise=True, layout=widgets.Layout(width="40px")))
    class_index = class_index_trait()
    step = index_trait("Position shown by the step-through, 0-based in raster order.", lambda w: w.n_steps,
                       description="step", attribute="step_slider", note=lambda w: f" ({w.n_steps} patch positions)",
                       css=("cnnviz-step-slider",))
    alpha = alpha_trait()
    colormap = colormap_trait("jet")

    def __init__(self, inspector: ModelInspector | None = None, *, chart: bool = False, **kwargs: Any) -> None:
        self._chart = chart
        super().__init__(inspector, **kwargs)
        self.play = widgets.Play(interval=300, min=0, max=0)
        self.overlay_view = image_view("cnnviz-map", "cnnviz-occlusion")
        self.mask_view = image_view("cnnviz-mask")
        self.step_view = image_view("cnnviz-step")
        self.caption = widgets.HTML("")
        x_scale, y_scale = bqplot.LinearScale(), bqplot.LinearScale(min=0.0, max=1.0, allow_padding=False)
        self._line = bqplot.Lines(x=[0], y=[0.0], scales={"x": x_scale, "y": y_scale}, colors=["#4c72b0"])
        self._intact = bqplot.Lines(x=[0, 1], y=[1.0, 1.0], scales={"x": x_scale, "y": y_scale},
                                    colors=["#999999"], line_style="dashed")
        self._marker = bqplot.Scatter(x=[0], y=[0.0], scales={"x": x_scale, "y": y_scale}, colors=["#dd8452"])
        self.curve = bqplot.Figure(display_toolbar=False,
            marks=[self._intact, self._line, self._marker], title="class probability at each step",
            axes=[bqplot.Axis(scale=x_scale, label="step"),
                  bqplot.Axis(scale=y_scale, side="left", tick_format=".0%", num_ticks=3)],
            fig_margin={"top": 45, "bottom": 40, "left": 50, "right": 10}, title_style={"font-size": "13px"},
            layout=widgets.Layout(width="420px", height="220px"))
        self.curve.add_class("cnnviz-occlusion-curve")

        self.build_controls()
        self._play_link = widgets.jslink((self.play, "value"), (self.step_slider, "value"))   # closed with the widget
        self.observe(self._fit_play, names=["patch", "stride"])
        self._fit_play()
        controls = widgets.VBox([widgets.HBox([self.patch_slider, self.stride_slider]),
                                 widgets.HBox([self.fill_dropdown, self.color_picker, self.alpha_slider,
                                               self.colormap_dropdown])])
        views = widgets.HBox([
            widgets.VBox([widgets.HTML("<b>sensitivity</b>"), self.overlay_view, self.progress, self.caption],
                         layout=widgets.Layout(width=f"{DISPLAY_SIDE + 110}px")),
            widgets.VBox([widgets.HTML("<b>mask view</b>"), self.mask_view]),
            self.classes,
        ])
        stepper = widgets.HBox([widgets.VBox([widgets.HTML("<b>step through the sweep</b>"),
                                              widgets.HBox([self.play, self.step_slider]), self.step_view]),
                                self.curve])
        self._finish_init([controls, views, stepper], progress_placed=True)

    # ------------------------------------------------------------------ geometry
    @property
    def side(self) -> int:
        """The shorter side of the model input, in pixels (the largest patch)."""
        return int(min(self.inspector.input_size))

    @property
    def n_steps(self) -> int:
        """Patch positions of the sweep for the current patch and stride, in raster order."""
        if self.patch < 1 or self.stride < 1:
            return 1
        h, w = self.inspector.input_size
        return len(patch_positions(h, self.patch, self.stride)) * len(patch_positions(w, self.patch, self.stride))

    def _fit_play(self, *_: Any) -> None:
        self.play.max = max(0, self.n_steps - 1)

    # ------------------------------------------------------------------ computing
    def _fill_value(self) -> str | np.ndarray:
        """The fill in the model's value space (occlusion_sweep works on preprocessed inputs)."""
        if self.fill in ("mean", "blur"):
            return self.fill
        rgb = (127.5, 127.5, 127.5) if self.fill == "grey" else _hex_to_rgb(self.fill_color)
        pixel = np.asarray(rgb, np.float32).reshape(1, 1, 1, 3)
        if self.inspector.input_shape[-1] == 1:
            pixel = pixel.mean(axis=-1, keepdims=True)
        return self.inspector.preprocess(pixel).reshape(-1)

    def sweep_key(self) -> tuple:
        fill = self.fill_color if self.fill == "colour" else self.fill
        return self.result_key("occlusion", self.classes.resolved(), self.patch, self.stride, fill)

    @property
    def sweep(self) -> OcclusionSweep | None:
        """The sweep behind the current view (None while it is computed)."""
        return self.inspector.results.get(self.sweep_key())

    def compute(self) -> OcclusionSweep:
        """Run (or fetch) the current sweep now, in the caller's thread."""
        job = self._sweep_job()
        found = self.inspector.results.get_or_compute(self.sweep_key(), lambda: job(lambda done, total: None))
        self.refresh()
        return found

    def _sweep_job(self) -> Callable[[Progress], OcclusionSweep]:
        """The current sweep as a job: its inputs are read now, so later changes cannot leak in."""
        batch, class_index = self.inspector.batch, self.classes.resolved()
        patch, stride, fill = self.patch, self.stride, self._fill_value()
        return lambda progress: occlusion_sweep(self.inspector, batch, class_index, patch=patch, stride=stride,
                                                fill=fill, progress=progress)

    # ------------------------------------------------------------------ rendering
    @property
    def png(self) -> bytes:
        """PNG bytes of the sensitivity overlay."""
        return self.overlay_view.value

    @property
    def heatmap(self) -> np.ndarray | None:
        """The sensitivity shown, float32 (H, W) in [0, 1] on :meth:`drop_scale` (drops below zero
        clipped), or None."""
        sweep = self.sweep
        if sweep is None:
            return None
        return self.drop_scale(sweep).to01(sweep.heatmap[0])

    def drop_scale(self, sweep: OcclusionSweep) -> ColorScale:
        """The colour scale of a sweep: the drop in probability from 0 to its largest drop, in
        percentage points, never topped below :data:`DROP_FLOOR`."""
        return floor_scale(float(sweep.heatmap[0].max()), DROP_FLOOR, "drop in probability", factor=100.0,
                           suffix=" pp")

    @property
    def saved_png(self) -> bytes:
        """The sensitivity as shown, for a slide: the overlay at 512 px, its colour bar and a caption."""
        if not self.inspector.has_image:
            return self.png
        sweep, heat = self.sweep, self.heatmap
        if sweep is None or heat is None:
            return self.png
        picture = overlay(self.inspector.image, heat, self.alpha, self.colormap)
        return to_png(map_figure(picture, self.drop_scale(sweep), self.colormap, side=512, font_size=16,
                                 caption=self._caption_text(sweep, html_format=False)))

    def _caption_text(self, sweep: OcclusionSweep, *, html_format: bool) -> str:
        esc, bold, separator = caption_style(html_format)
        drop = float(sweep.intact[0] - sweep.probabilities[0].min())
        scale = self.drop_scale(sweep)
        lines = [f"Occlusion for {esc(self.classes.describe())}",
                 f"{sweep.probabilities[0].size} patches of {sweep.patch[0]}x{sweep.patch[1]} px; the largest drop "
                 f"in probability is {bold(f'{100 * drop:.1f} percentage points')}",
                 f"colour scale: {esc(scale.describe())}"]
        if drop < DROP_FLOOR:
            lines.append(bold(f"No patch changes the probability by {100 * DROP_FLOOR:g} point or more: "
                              "nothing here is evidence for this class."))
        if self.inspector.near_uniform:
            lines.insert(0, bold(NEAR_UNIFORM_WARNING))
        return separator.join(lines)

    def _render(self) -> bool:
        if not self.inspector.has_image:
            return True
        sweep = self.cached_or_submit(self.sweep_key(), self._sweep_job(), "occlusion sweep")
        if sweep is None:   # the old pictures stay until the new sweep is ready: say that they are stale
            self.caption.value = computing_caption(
                f"the occlusion sweep ({self.n_steps} patches)",
                "the pictures show the previous sweep" if self._drawn.get("maps") else "the map appears here")
            return False
        image = self.inspector.image
        if self._needs_drawing("maps", (self.sweep_key(), self.alpha, self.colormap)):
            heat = self.heatmap
            assert heat is not None   # the sweep is there: _render returned above otherwise
            show_picture(self.overlay_view, map_figure(overlay(image, heat, self.alpha, self.colormap),
                                                       self.drop_scale(sweep), self.colormap))
            show_picture(self.mask_view, fit_side(mask_view(image, heat), STEP_SIDE))
        self._render_step(sweep, image)
        self.caption.value = f"<small>{self._caption_text(sweep, html_format=True)}</small>"
        return True

    def _render_step(self, sweep: OcclusionSweep, image: np.ndarray) -> None:
        row, col = divmod(self.step, len(sweep.cols))
        top, left = int(sweep.rows[row]), int(sweep.cols[col])
        ph, pw = sweep.patch
        show_picture(self.step_view, fit_side(draw_box(image, top, left, ph, pw, color=(255, 255, 0),
                                                       fill=self._display_fill(image)), STEP_SIDE))
        probabilities = sweep.probabilities[0].reshape(-1)
        with self.curve.hold_sync():
            if self._needs_drawing("curve", self.sweep_key()):
                self._line.x, self._line.y = np.arange(probabilities.size), probabilities
                self._intact.x = [0, max(1, probabilities.size - 1)]
                self._intact.y = [float(sweep.intact[0])] * 2
            self._marker.x, self._marker.y = [self.step], [float(probabilities[self.step])]
            self.curve.title = f"class probability at step {self.step}: {probabilities[self.step]:.1%}"

    def _display_fill(self, image: np.ndarray) -> np.ndarray:
        """What the hidden pixels look like, in display colours (for the step-through picture)."""
        if self.fill == "mean":
            return np.broadcast_to(image.reshape(-1, 3).mean(axis=0).astype(np.uint8), image.shape)
        if self.fill == "blur":
            radius = max(2, image.shape[0] // 16)
            return np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(radius=radius)))
        rgb = (128, 128, 128) if self.fill == "grey" else _hex_to_rgb(self.fill_color)
        return np.broadcast_to(np.asarray(rgb, np.uint8), image.shape)
