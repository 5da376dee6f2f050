"""CamOverlay: where the model looked to pick a class, by any heatmap method.

The method list, the chosen method's option sliders and the comparison come from the methods'
declarations (:data:`~cnnviz_widgets.methods.HEATMAP_METHODS`). Heatmaps are computed in the
background and cached in the inspector by (image, method, layer, class, options); alpha and
colormap changes re-render from that cache with no model call. "Randomise weights" shows the
same method's map on a randomised copy of the network beside the real one (the sanity check).
"""

from __future__ import annotations

import dataclasses
import functools
import html
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
import traitlets

from cnnviz_widgets.errors import CnnvizError
from cnnviz_widgets.inspector import ModelInspector
from cnnviz_widgets.methods import (
    HEATMAP_METHODS,
    Option,
    default_cam_layer,
    deletion_auc,
    heatmap,
    heatmap_method,
    insertion_auc,
)
from cnnviz_widgets.methods.sanity import randomise, spearman, weighted_layers
from cnnviz_widgets.render import ColorScale, caption_strip, class_scale, colorize, overlay, tile_grid, to_png
from cnnviz_widgets.widgets import _checks as checks
from cnnviz_widgets.widgets._base import (
    DISPLAY_SIDE,
    NEAR_UNIFORM_WARNING,
    InspectorWidget,
    caption_style,
    computing_caption,
    fit_side,
    image_view,
    layer_options,
    map_figure,
    show_picture,
)
from cnnviz_widgets.widgets._controls import control
from cnnviz_widgets.widgets._runner import Progress
from cnnviz_widgets.widgets._shared_traits import alpha_trait, class_index_trait, colormap_trait

COMPARE_TILE = 160

SCALES = (("same as top class", "top_class"), ("own peak", "own"))
"""The colour scales of a class's map: the top class's (default), or its own peak."""

SLIDE_SIDE = 512
"""Side in pixels of the map in a saved PNG (a picture for a slide)."""

METHOD_OPTIONS = [(m.label, m.name) for m in HEATMAP_METHODS.values()]
"""(label, name) of every heatmap method, for the method and compare lists."""


def _heatmap_key(image_key: tuple, method: str, layer: str, class_index: int, options: dict | None = None) -> tuple:
    """Cache key of one map in the method's own units (``raw="unscaled"``); the layer counts only
    for methods that use one, and the method's options with their defaults filled in."""
    chosen = heatmap_method(method)
    return (image_key, "units map", method, layer if chosen.uses_layer else None, class_index,
            tuple(sorted(chosen.checked_options(options).items())))


def units_map(model: Any, batch: np.ndarray, method: str, class_index: int, layer: str, *,
              progress: Progress | None = None, batch_size: int | None = None, **options: Any) -> np.ndarray:
    """One image's map in the method's own units, float32 (H, W) >= 0: its ``raw="unscaled"``
    values (the [0, 1] map times its peak)."""
    return heatmap(model, batch[:1], method, class_index, layer, progress=progress, batch_size=batch_size,
                   raw="unscaled", **options)[0]


MAX_BATCH_SIZE = 4096
"""The largest ``batch_size`` the widget takes (copies of one image per compiled call)."""


def option_control(option: Option) -> widgets.Widget:
    """A slider for one declared method option (its range, default and help as tooltip)."""
    kind = widgets.IntSlider if option.integer else widgets.FloatSlider
    extra = {} if option.integer else {"step": (option.high - option.low) / 200, "readout_format": ".3g"}
    slider = kind(value=option.default, min=option.low, max=option.high, description=option.title,
                  tooltip=f"{option.help} ({option.name})", continuous_update=False,
                  style={"description_width": "110px"},
                  layout=widgets.Layout(width="360px"), **extra)
    slider.add_class(f"cnnviz-option-{option.name}")
    return slider


class AutoIntBox(widgets.HBox):
    """A whole-number box where 0 means "auto": a box for the number and a word beside it that
    says what the number means now ("auto: what fits in memory", or "copies per call")."""

    value = traitlets.Int(0, help="The number; 0 for auto.")

    def __init__(self, description: str, maximum: int) -> None:
        self.box = widgets.BoundedIntText(description=description, min=0, max=maximum,
                                          tooltip="copies of the image per compiled call; 0: auto, what fits in memory",
                                          style={"description_width": "110px"}, layout=widgets.Layout(width="190px"))
        self.meaning = widgets.HTML("")
        super().__init__([self.box, self.meaning])
        self.box.observe(lambda change: setattr(self, "value", change["new"]), "value")
        self.observe(self._show, "value")
        self._show()

    def _show(self, *_: Any) -> None:
        self.box.value = self.value
        self.meaning.value = ("<small><b>auto</b>: what fits in memory</small>" if self.value == 0 else
                              "<small>copies per compiled call (0: auto)</small>")


class OptionSliders(widgets.VBox):
    """The control of CamOverlay's ``options``: one slider per declared option of a method
    (:func:`option_control`), and ``value``, the options set by a slider or from the widget (the
    others show their defaults)."""

    value = traitlets.Dict(help="The options set ({name: value}); missing ones show their defaults.")

    def __init__(self) -> None:
        super().__init__([])
        self.add_class("cnnviz-method-options")
        self._method = "grad_cam"
        self._sliders: dict[str, widgets.Widget] = {}
        self.observe(self._show_value, "value")

    def show_method(self, method: str) -> None:
        """Sliders for ``method``'s options (the old method's are closed first: nothing syncs into them)."""
        old, self._sliders = self._sliders, {}
        self.children = ()
        for slider in old.values():
            slider.close()
        self._method = method
        for option in heatmap_method(method).options:
            slider = option_control(option)
            slider.observe(functools.partial(self._slid, option.name), "value")
            self._sliders[option.name] = slider
        self.children = tuple(self._sliders.values())
        self._show_value()

    def _slid(self, name: str, change: dict) -> None:
        if self.value.get(name, heatmap_method(self._method).defaults[name]) != change["new"]:   # not our own sync
            self.value = {**self.value, name: change["new"]}

    def _show_value(self, *_: Any) -> None:
        defaults = heatmap_method(self._method).defaults
        for name, slider in self._sliders.items():
            wanted = self.value.get(name, defaults[name])
            if slider.value != wanted:
                slider.value = wanted


def _check_options(widget: Any, name: str, value: Any) -> dict:
    """The chosen method's options: known names, values in their declared ranges."""
    if not isinstance(value, dict):
        raise traitlets.TraitError(f"options must be a dict of the method's options; got {value!r}")
    try:
        heatmap_method(widget.method).checked_options(value)
    except CnnvizError as exc:  # an unknown or out-of-range option: refused, the old value stays
        raise traitlets.TraitError(str(exc)) from None
    return dict(value)


class CamOverlay(InspectorWidget):
    """A class heatmap blended over the image, with a top-k chart to pick the class.

    Args:
        inspector: the shared :class:`ModelInspector` (None: a new one on the default model).
        method: a key of :data:`~cnnviz_widgets.methods.HEATMAP_METHODS`.
        chart: show the top-k bar chart (the dashboard has its own).
    """

    method = control(
        traitlets.Unicode("grad_cam", help="Heatmap method (a key of HEATMAP_METHODS)."),
        check=checks.among(HEATMAP_METHODS), attribute="method_dropdown",
        make=lambda w: widgets.Dropdown(description="method", options=METHOD_OPTIONS,
                                        layout=widgets.Layout(width="260px")))
    layer = control(
        traitlets.Unicode(help="Target layer of the CAM methods (preset to the automatic choice)."),
        check=checks.layer_among(lambda w: w._spatial, "has no spatial output for a CAM"),
        options=lambda w: layer_options(w.inspector, w._spatial), reset=lambda w: w.default_layer,
        reset_on_model=True, attribute="layer_dropdown",
        make=lambda w: widgets.Dropdown(description="layer", layout=widgets.Layout(width="300px")))
    class_index = class_index_trait()
    alpha = alpha_trait()
    colormap = colormap_trait("jet")
    scale = control(
        traitlets.Unicode("top_class", help="Colour scale of the map: 'top_class' draws a class's map on the scale of "
                                            "the top class's map (a class the model does not see renders dim); "
                                            "'own' stretches each map to its own peak."),
        check=checks.among(SCALES), attribute="scale_toggle", css=("cnnviz-scale",),
        make=lambda w: widgets.ToggleButtons(options=SCALES, description="scale",
                                             tooltips=["a class's map on the top class's colour scale",
                                                       "each map stretched to its own peak"],
                                             style={"button_width": "150px", "description_width": "50px"}))
    randomised = control(
        traitlets.Bool(False, help="Also show the map of the same network with all its weights re-initialised "
                                   "(the sanity check of Adebayo et al. 2018), beside the real one."),
        attribute="randomise_toggle", css=("cnnviz-randomise",),
        make=lambda w: widgets.ToggleButton(description="randomise weights", icon="random",
                                            tooltip="a map that looks the same for a random network explains "
                                                    "the image, not the model", layout=widgets.Layout(width="220px")))
    options = control(
        traitlets.Dict(help="The chosen method's own options (e.g. {'smooth_samples': 50}), each within its declared "
                            "range; missing ones take their defaults. Reset when the method changes."),
        check=_check_options, attribute="options_box", make=lambda w: OptionSliders())
    batch_size = control(
        traitlets.Int(0, help="Copies of the image per compiled call of the batching methods (SmoothGrad's noisy "
                              "copies, Score-CAM's masks, RISE's masks...); 0: what fits in memory. It changes "
                              "speed and memory, not the map."),
        check=checks.between(0, MAX_BATCH_SIZE), attribute="batch_size_input", css=("cnnviz-batch-size",),
        on_change=None,
        make=lambda w: AutoIntBox("batch size", MAX_BATCH_SIZE))
    compare = control(
        traitlets.Tuple(help="Methods shown side by side (empty: no comparison)."),
        check=checks.each_among(HEATMAP_METHODS), attribute="compare_select",
        make=lambda w: widgets.SelectMultiple(options=METHOD_OPTIONS, rows=min(len(METHOD_OPTIONS), 10),
                                              description="compare", layout=widgets.Layout(width="260px")))

    def __init__(self, inspector: ModelInspector | None = None, *, chart: bool = True, **kwargs: Any) -> None:
        self._chart = chart
        super().__init__(inspector, **kwargs)
        self.layer_reason = widgets.HTML("")
        self.faithfulness_button = widgets.Button(description="Deletion / insertion AUC", icon="check",
                                                  layout=widgets.Layout(width="220px"))
        self.faithfulness_button.on_click(lambda _: self.request_faithfulness())
        self.faithfulness = widgets.HTML("")
        self.faithfulness.add_class("cnnviz-faithfulness")
        self.overlay_view = image_view("cnnviz-map", "cnnviz-cam")
        self.heatmap_view = image_view("cnnviz-heatmap")
        self.compare_view = image_view("cnnviz-compare")
        self.compare_view.layout.display = "none"
        self.random_view = image_view("cnnviz-randomised")
        self.random_caption = widgets.HTML("")
        self.random_box = widgets.VBox([widgets.HTML("<b>weights randomised</b>"), self.random_view,
                                        self.random_caption],
                                       layout=widgets.Layout(display="none", width=f"{DISPLAY_SIDE + 110}px"))
        self._random_twins: dict[int, Any] = {}
        self.caption = widgets.HTML("")
        self.caption.add_class("cnnviz-caption")

        self._on_model_change()
        # before build_controls: a new method's options are reset before its map is requested
        self.observe(self._on_method_pick, "method")
        self.build_controls()
        self._show_method_options()
        controls = widgets.VBox([self.method_dropdown, self.options_box, self.batch_size_input,
                                 widgets.HBox([self.layer_dropdown, self.layer_reason]),
                                 self.alpha_slider, self.colormap_dropdown, self.scale_toggle])
        views = widgets.HBox([
            widgets.VBox([self.overlay_view, self.progress, self.caption],
                         layout=widgets.Layout(width=f"{DISPLAY_SIDE + 110}px")),
            self.random_box,
            widgets.VBox([widgets.HTML("<b>heatmap</b>"), self.heatmap_view]),
            self.classes,
        ], layout=widgets.Layout(flex_flow="row wrap"))
        compare_hint = widgets.HTML("<small>compare: pick several methods (Ctrl- or Shift-click) to see their maps "
                                    "side by side</small>")
        extras = widgets.HBox([widgets.VBox([self.compare_select, compare_hint]),
                               widgets.VBox([self.faithfulness_button, self.faithfulness, self.randomise_toggle])])
        self._finish_init([controls, views, extras, self.compare_view], progress_placed=True)

    # ------------------------------------------------------------------ layers
    def _on_model_change(self) -> None:
        self._spatial = [r.name for r in self.inspector.layers if r.is_spatial]
        name, reason = default_cam_layer(self.inspector)
        self.default_layer = name
        """The automatic CAM layer of the current model."""
        self.layer_reason.value = f"<small>auto: <b>{html.escape(name)}</b> ({html.escape(reason)})</small>"

    # ------------------------------------------------------------------ method options
    def _show_method_options(self) -> None:
        """The chosen method's sliders (``options_box``), and the batch size box where it batches."""
        self.options_box.show_method(self.method)
        self.batch_size_input.layout.display = None if heatmap_method(self.method).batches else "none"

    def _on_method_pick(self, _change: dict) -> None:
        if self._binder is None:
            return                           # the constructor's own method: the sliders follow build_controls
        self._show_method_options()          # the old method's sliders are closed: nothing syncs into them
        self.options = {}                    # refreshes with the new method's defaults

    # ------------------------------------------------------------------ computing
    def method_options(self, method: str) -> dict:
        """The options a method runs with here: the widget's ``options`` for the chosen method,
        the declared defaults for the others (the comparison)."""
        if method != self.method:
            return {}
        known = {o.name for o in heatmap_method(method).options}
        return {k: v for k, v in self.options.items() if k in known}   # in case of a refresh before the reset

    def heatmap_key(self, method: str | None = None, class_index: int | None = None) -> tuple:
        """Cache key of a map in real units for the current image, layer and options (and class)."""
        method = method or self.method
        cls = self.classes.resolved() if class_index is None else class_index
        return _heatmap_key(self.inspector.image_key, method, self.layer, cls, self.method_options(method))

    def _top_class(self) -> int:
        return self.inspector.top_k(1)[0].index

    def _compute(self, pairs: Sequence[tuple[str, int]], progress: Progress, batch: np.ndarray, layer: str,
                 image_key: tuple) -> dict[tuple[str, int], np.ndarray]:
        maps = {}
        for i, (name, cls) in enumerate(pairs):
            options = self.method_options(name)
            key = _heatmap_key(image_key, name, layer, cls, options)

            def step(done: int, total: int, i: int = i) -> None:
                progress(round(1000 * (i + done / max(total, 1)) / len(pairs)), 1000)

            maps[(name, cls)] = self.inspector.results.get_or_compute(
                key, functools.partial(units_map, self.inspector, batch, name, cls, layer, progress=step,
                                       batch_size=self.batch_size or None, **options))
            progress(round(1000 * (i + 1) / len(pairs)), 1000)
        return maps

    def _request(self, pairs: Sequence[tuple[str, int]], label: str) -> dict[tuple[str, int], np.ndarray] | None:
        found = self._found(pairs)
        if found is not None:
            return found
        keys = [self.heatmap_key(m, c) for m, c in pairs]
        args = (self.inspector.batch, self.layer, self.inspector.image_key)
        # _compute caches each map itself, so the job's own result is not stored again
        self.submit(("heatmaps", *keys), lambda p: self._compute(pairs, p, *args), self._refresh_after, label)
        return None

    def _pairs(self, method: str) -> list[tuple[str, int]]:
        """The (method, class) maps a view of ``method`` needs: the class's, and the top class's for its scale."""
        cls, top = self.classes.resolved(), self._top_class()
        return [(method, cls)] if self.scale == "own" or cls == top else [(method, cls), (method, top)]

    def map_scale(self, maps: dict[tuple[str, int], np.ndarray], method: str | None = None) -> ColorScale:
        """The colour scale of the current class's map of ``method`` (real units; see :attr:`scale`)."""
        method = method or self.method
        cls, top = self.classes.resolved(), self._top_class()
        unit, factor, suffix = heatmap_method(method).unit
        peak = float(maps[(method, cls)].max())
        top_peak = None if self.scale == "own" else float(maps[(method, top)].max())
        scale = class_scale(peak, top_peak, unit, factor=factor, suffix=suffix)
        randomised = self.randomised_heatmap if self.randomised and method == self.method else None
        if randomised is None:
            return scale
        # the trained and the randomised map side by side on one scale, so that their brightness compares
        return dataclasses.replace(scale, high=max(scale.high, float(randomised.max())),
                                   note=f"{scale.note}; one scale for the trained and the randomised map"
                                   if scale.note else "one scale for the trained and the randomised map")

    @property
    def color_scale(self) -> ColorScale | None:
        """The colour scale of the map shown now (its values and units, as its colour bar says), or None."""
        if not self.inspector.has_image:
            return None
        maps = self._found(self._pairs(self.method))
        return None if maps is None else self.map_scale(maps)

    @property
    def units(self) -> np.ndarray | None:
        """The current map in the method's own units, float32 (H, W) >= 0 (the [0, 1] map times
        its peak), or None while it is computed."""
        return self.inspector.results.get(self.heatmap_key())

    @property
    def heatmap(self) -> np.ndarray | None:
        """The map shown now, float32 (H, W) in [0, 1] on the chosen colour scale (:attr:`scale`),
        or None while it is computed."""
        maps = self._found(self._pairs(self.method))
        if maps is None:
            return None
        return self.map_scale(maps).to01(maps[(self.method, self.classes.resolved())])

    def _found(self, pairs: Sequence[tuple[str, int]]) -> dict[tuple[str, int], np.ndarray] | None:
        found = {pair: self.inspector.results.get(self.heatmap_key(*pair)) for pair in pairs}
        return None if any(v is None for v in found.values()) else found

    def compute(self) -> np.ndarray:
        """Compute (or fetch) the current map now, in the caller's thread: (H, W) in [0, 1] on the
        chosen colour scale."""
        self._compute(self._pairs(self.method), lambda d, t: None, self.inspector.batch, self.layer,
                      self.inspector.image_key)
        self.refresh()
        heat = self.heatmap
        assert heat is not None
        return heat

    # ------------------------------------------------------------------ faithfulness
    def faithfulness_key(self) -> tuple:
        return (*self.heatmap_key(), "faithfulness")

    def evaluate(self, steps: int = 32) -> dict[str, float]:
        """Deletion and insertion AUC of the current heatmap, now (also shown in the widget).

        Deletion (lower is better) removes the most important pixels first; insertion (higher
        is better) reveals them first on a blurred image.
        """
        return self._evaluate(lambda d, t: None, steps)

    def _evaluate(self, progress: Progress, steps: int = 32) -> dict[str, float]:
        def compute() -> dict[str, float]:
            heat = self.heatmap if self.heatmap is not None else self.compute()
            batch, cls = self.inspector.batch, self.classes.resolved()
            deletion = float(deletion_auc(self.inspector, batch, heat[None], cls, steps=steps,
                                          progress=lambda d, t: progress(d, 2 * t))[0])
            insertion = float(insertion_auc(self.inspector, batch, heat[None], cls, steps=steps,
                                            progress=lambda d, t: progress(t + d, 2 * t))[0])
            return {"deletion_auc": deletion, "insertion_auc": insertion}

        found = self.inspector.results.get_or_compute(self.faithfulness_key(), compute)
        self._render_faithfulness(found)
        return found

    def request_faithfulness(self) -> None:
        """Compute the deletion/insertion AUC in the background (the button)."""
        self.submit(self.faithfulness_key(), self._evaluate, self._refresh_after, "deletion / insertion")

    def _render_faithfulness(self, found: dict[str, float] | None) -> None:
        if found is None:
            self.faithfulness.value = ("<small>Deletion AUC: lower is better; insertion AUC: higher is better. "
                                       "Click to measure this heatmap.</small>")
        else:
            self.faithfulness.value = (f"<small>deletion AUC <b>{found['deletion_auc']:.3f}</b> (lower is better)"
                                       f"<br>insertion AUC <b>{found['insertion_auc']:.3f}</b> (higher is better)"
                                       "</small>")

    # ------------------------------------------------------------------ rendering
    @property
    def png(self) -> bytes:
        """PNG bytes of the overlay shown now."""
        return self.overlay_view.value

    @property
    def compare_png(self) -> bytes:
        """PNG bytes of the side-by-side comparison (empty picture when ``compare`` is empty)."""
        return self.compare_view.value

    def _render(self) -> bool:
        if not self.inspector.has_image:
            return True
        chosen = heatmap_method(self.method)
        self.layer_dropdown.disabled = not chosen.uses_layer
        maps = self._request(self._pairs(self.method), chosen.label)
        if maps is None:   # the old picture stays until the new one is ready: say that it is stale
            self.caption.value = computing_caption(chosen.label, "the picture above is the previous map")
            return False
        image = self.inspector.image
        units = maps[(self.method, self.classes.resolved())]
        scale = self.map_scale(maps)
        heat = scale.to01(units)
        show_picture(self.overlay_view, map_figure(overlay(image, heat, self.alpha, self.colormap), scale,
                                                   self.colormap))
        show_picture(self.heatmap_view, map_figure(colorize(heat, self.colormap), scale, self.colormap, side=160))
        self.caption.value = f"<small>{self._caption_text(chosen, units, scale, html_format=True)}</small>"
        self._render_faithfulness(self.inspector.results.get(self.faithfulness_key()))
        if not self._render_randomised(units, scale):
            return False
        if not self.compare:
            self.compare_view.layout.display = "none"
            return True
        return self._render_compare()

    def _caption_text(self, chosen: Any, units: np.ndarray, scale: ColorScale, *, html_format: bool) -> str:
        """What the map shows, for the caption under it (HTML) or in a saved PNG (plain text)."""
        esc, bold, separator = caption_style(html_format)
        where = f" on {self.layer}" if chosen.uses_layer else ""
        lines = [f"{bold(esc(chosen.label))}{esc(where)} for {esc(self.classes.describe())}",
                 esc(chosen.description),
                 f"colour scale: {esc(scale.describe())}; negative values are not drawn"]
        if self.inspector.near_uniform:
            lines.insert(0, ("&#9888; " if html_format else "! ") + bold(NEAR_UNIFORM_WARNING))
        return separator.join(lines)

    @property
    def saved_png(self) -> bytes:
        """The map as shown, for a slide: the overlay at 512 px with its colour bar and a caption
        (method, layer, class, probability, scale)."""
        if not self.inspector.has_image:
            return self.png
        maps = self._found(self._pairs(self.method))
        if maps is None:
            return self.png
        chosen = heatmap_method(self.method)
        units = maps[(self.method, self.classes.resolved())]
        scale = self.map_scale(maps)
        picture = overlay(self.inspector.image, scale.to01(units), self.alpha, self.colormap)
        caption = self._caption_text(chosen, units, scale, html_format=False)
        return to_png(map_figure(picture, scale, self.colormap, side=SLIDE_SIDE, caption=caption, font_size=16))

    # ------------------------------------------------------------------ randomised weights
    def random_twin(self) -> Any:
        """An inspector on a copy of the inspector's model with every weighted layer
        re-initialised (seeded), made once per model; the inspector's model is untouched."""
        version = self.inspector.model_version
        if version not in self._random_twins:
            twin = self.inspector.twin()        # a copy, read like the inspector: its head, output and classes
            for depth, (_, layer) in enumerate(reversed(weighted_layers(twin))):
                randomise(layer, depth)
            self._random_twins = {version: twin}
        return self._random_twins[version]

    def randomised_key(self) -> tuple:
        return (*self.heatmap_key(), "randomised weights")

    @property
    def randomised_heatmap(self) -> np.ndarray | None:
        """The current method's map on the randomised copy, in real units (H, W), or None."""
        return self.inspector.results.get(self.randomised_key())

    def _render_randomised(self, units: np.ndarray, scale: ColorScale) -> bool:
        """The randomised copy's map beside the trained one, at its size and on its scale (which
        :meth:`map_scale` widens to cover both); False while it is computed."""
        if not self.randomised:
            self.random_box.layout.display = "none"
            return True
        found = self.randomised_heatmap
        if found is None:
            key = self.randomised_key()
            batch, method, layer = self.inspector.batch, self.method, self.layer
            cls, options = self.classes.resolved(), self.method_options(self.method)

            def work(progress: Progress) -> np.ndarray:
                return self.inspector.results.get_or_compute(key, lambda: units_map(
                    self.random_twin(), batch, method, cls, layer, progress=progress, **options))

            self.submit(("randomised", *key), work, self._refresh_after, "randomised weights")
            self.random_caption.value = "<small>&#8987; computing the map with randomised weights&hellip;</small>"
            return False
        show_picture(self.random_view, map_figure(overlay(self.inspector.image, scale.to01(found), self.alpha,
                                                          self.colormap), scale, self.colormap))
        rho = spearman(units, found)
        verdict = ("it barely depends on what the network learned: distrust it" if rho > 0.5 else
                   "it changes with the weights, as an explanation of the model should")
        self.random_caption.value = (f"<small>the same method on a copy whose weights are random; rank correlation "
                                     f"with the trained map: <b>{rho:.2f}</b>; {verdict} "
                                     f"(<code>cw.sanity_check</code> for the layer-by-layer test)</small>")
        self.random_box.layout.display = None
        return True

    def _render_compare(self) -> bool:
        methods = list(self.compare)
        cls = self.classes.resolved()
        maps = self._request([(m, cls) for m in methods], "comparison")
        if maps is None:
            return False
        image = self.inspector.image
        tiles = np.stack([fit_side(overlay(image, class_scale(float(maps[(m, cls)].max()), None, "").to01(
            maps[(m, cls)]), self.alpha, self.colormap), COMPARE_TILE) for m in methods])
        labels = [HEATMAP_METHODS[m].label for m in methods]
        grid = tile_grid(tiles, per_row=4, margin=4, labels=labels)
        caption = "each map stretched to its own peak: the methods measure different things"
        show_picture(self.compare_view, np.concatenate([grid, caption_strip(caption, grid.shape[1])]))
        self.compare_view.layout.display = None
        return True
