"""CamOverlay: where the model looked to pick a class, by any heatmap method.

The method list, the chosen method's option sliders and the comparison come from the methods'
declarations (:data:`~cnnviz_widgets.methods.HEATMAP_METHODS`). Heatmaps are computed in the
background and cached in the inspector by (image, method, layer, class, options); alpha and
colormap changes re-render from that cache with no model call. "Randomise weights" shows the
same method's map on a randomised copy of the network beside the real one (the sanity check).
"""

from __future__ import annotations

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
from cnnviz_widgets.render import colorize, enlarge, overlay, tile_grid
from cnnviz_widgets.widgets import _checks as checks
from cnnviz_widgets.widgets._base import InspectorWidget, display_png, image_view, layer_options
from cnnviz_widgets.widgets._controls import control
from cnnviz_widgets.widgets._runner import Progress
from cnnviz_widgets.widgets._shared_traits import alpha_trait, class_index_trait, colormap_trait

COMPARE_TILE = 160

METHOD_OPTIONS = [(m.label, m.name) for m in HEATMAP_METHODS.values()]
"""(label, name) of every heatmap method, for the method and compare lists."""


def _heatmap_key(image_key: tuple, method: str, layer: str, class_index: int, options: dict | None = None) -> tuple:
    """Cache key of one heatmap; the layer counts only for methods that use one, and the
    method's options with their defaults filled in."""
    chosen = heatmap_method(method)
    return (image_key, "heatmap", method, layer if chosen.uses_layer else None, class_index,
            tuple(sorted(chosen.checked_options(options).items())))


MAX_BATCH_SIZE = 4096
"""The largest ``batch_size`` the widget takes (copies of one image per compiled call)."""


def option_control(option: Option) -> widgets.Widget:
    """A slider for one declared method option (its range, default and help as tooltip)."""
    kind = widgets.IntSlider if option.integer else widgets.FloatSlider
    extra = {} if option.integer else {"step": (option.high - option.low) / 200, "readout_format": ".3g"}
    slider = kind(value=option.default, min=option.low, max=option.high, description=option.name,
                  tooltip=option.help, continuous_update=False, style={"description_width": "110px"},
                  layout=widgets.Layout(width="360px"), **extra)
    slider.add_class(f"cnnviz-option-{option.name}")
    return slider


class OptionSliders(widgets.VBox):
    """The control of CamOverlay's ``options``: one slider per declared option of a method
    (:func:`option_control`), and ``value``, the options set by a slider or from the widget (the
    others show their defaults)."""

    value = traitlets.Dict(help="The options set ({name: value}); missing ones show their defaults.")

    def __init__(self) -> None:
        super().__init__([])
        self.add_class("cnnviz-method-options")
        self._method = "grad_cam"
        self._sliders: list[widgets.Widget] = []
        self.observe(self._show_value, "value")

    def show_method(self, method: str) -> None:
        """Sliders for ``method``'s options (the old method's are closed first: nothing syncs into them)."""
        old, self._sliders = self._sliders, []
        self.children = ()
        for slider in old:
            slider.close()
        self._method = method
        for option in heatmap_method(method).options:
            slider = option_control(option)
            slider.observe(functools.partial(self._slid, option.name), "value")
            self._sliders.append(slider)
        self.children = tuple(self._sliders)
        self._show_value()

    def _slid(self, name: str, change: dict) -> None:
        if self.value.get(name, heatmap_method(self._method).defaults[name]) != change["new"]:   # not our own sync
            self.value = {**self.value, name: change["new"]}

    def _show_value(self, *_: Any) -> None:
        defaults = heatmap_method(self._method).defaults
        for slider in self._sliders:
            wanted = self.value.get(slider.description, defaults[slider.description])
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
        make=lambda w: widgets.BoundedIntText(description="batch size", min=0, max=MAX_BATCH_SIZE,
                                              tooltip="0: what fits in memory", style={"description_width": "110px"},
                                              layout=widgets.Layout(width="220px")))
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
        self.random_box = widgets.VBox([self.random_view, self.random_caption], layout=widgets.Layout(display="none"))
        self._random_twins: dict[int, Any] = {}
        self.caption = widgets.HTML("")

        self._on_model_change()
        # before build_controls: a new method's options are reset before its map is requested
        self.observe(self._on_method_pick, "method")
        self.build_controls()
        self._show_method_options()
        controls = widgets.VBox([self.method_dropdown, self.options_box, self.batch_size_input,
                                 widgets.HBox([self.layer_dropdown, self.layer_reason]),
                                 self.alpha_slider, self.colormap_dropdown])
        views = widgets.HBox([
            widgets.VBox([self.overlay_view, self.caption]),
            widgets.VBox([widgets.HTML("<b>heatmap</b>"), self.heatmap_view]),
            self.classes,
        ])
        extras = widgets.HBox([self.compare_select, widgets.VBox([self.faithfulness_button, self.faithfulness,
                                                                  self.randomise_toggle])])
        self._finish_init([controls, views, extras, self.random_box, self.compare_view])

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

    def heatmap_key(self, method: str | None = None) -> tuple:
        """Cache key of a heatmap for the current image, class, layer and options."""
        method = method or self.method
        return _heatmap_key(self.inspector.image_key, method, self.layer, self.classes.resolved(),
                            self.method_options(method))

    def _compute(self, methods: Sequence[str], progress: Progress, batch: np.ndarray, layer: str,
                 class_index: int, image_key: tuple) -> dict[str, np.ndarray]:
        maps = {}
        for i, name in enumerate(methods):
            options = self.method_options(name)
            key = _heatmap_key(image_key, name, layer, class_index, options)

            def step(done: int, total: int, i: int = i) -> None:
                progress(round(1000 * (i + done / max(total, 1)) / len(methods)), 1000)

            maps[name] = self.inspector.results.get_or_compute(
                key, functools.partial(self._one_map, batch, name, class_index, layer, step, options))
            progress(round(1000 * (i + 1) / len(methods)), 1000)
        return maps

    def _one_map(self, batch: np.ndarray, name: str, class_index: int, layer: str, progress: Progress,
                 options: dict) -> np.ndarray:
        return heatmap(self.inspector, batch, name, class_index, layer, progress=progress,
                       batch_size=self.batch_size or None, **options)[0]

    def _request(self, methods: Sequence[str], label: str) -> dict[str, np.ndarray] | None:
        keys = [self.heatmap_key(m) for m in methods]
        found = [self.inspector.results.get(k) for k in keys]
        if all(f is not None for f in found):
            return dict(zip(methods, found, strict=True))
        args = (self.inspector.batch, self.layer, self.classes.resolved(), self.inspector.image_key)
        # _compute caches each map itself, so the job's own result is not stored again
        self.submit(("heatmaps", *keys), lambda p: self._compute(methods, p, *args), self._refresh_after, label)
        return None

    @property
    def heatmap(self) -> np.ndarray | None:
        """The heatmap shown now, float32 (H, W) in [0, 1], or None while it is computed."""
        return self.inspector.results.get(self.heatmap_key())

    def compute(self) -> np.ndarray:
        """Compute (or fetch) the current heatmap now, in the caller's thread: (H, W) in [0, 1]."""
        maps = self._compute([self.method], lambda d, t: None, self.inspector.batch, self.layer,
                             self.classes.resolved(), self.inspector.image_key)
        self.refresh()
        return maps[self.method]

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
        maps = self._request([self.method], chosen.label)
        image = self.inspector.image
        if maps is not None:
            heat = maps[self.method]
            self.overlay_view.value = display_png(overlay(image, heat, self.alpha, self.colormap))
            self.heatmap_view.value = display_png(colorize(heat, self.colormap), 160)
            where = f" on {self.layer}" if chosen.uses_layer else ""
            self.caption.value = (f"<small><b>{chosen.label}</b>{html.escape(where)} for "
                                  f"{html.escape(self.classes.describe())}<br>{chosen.description}</small>")
            self._render_faithfulness(self.inspector.results.get(self.faithfulness_key()))
            if not self._render_randomised(heat):
                return False
            if not self.compare:
                self.compare_view.layout.display = "none"
                return True
            return self._render_compare()
        return False

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
        """The current method's map on the randomised copy (H, W) in [0, 1], or None."""
        return self.inspector.results.get(self.randomised_key())

    def _render_randomised(self, heat: np.ndarray) -> bool:
        if not self.randomised:
            self.random_box.layout.display = "none"
            return True
        found = self.randomised_heatmap
        if found is None:
            key = self.randomised_key()
            batch, method, layer = self.inspector.batch, self.method, self.layer
            cls, options = self.classes.resolved(), self.method_options(self.method)

            def work(progress: Progress) -> np.ndarray:
                return self.inspector.results.get_or_compute(key, lambda: heatmap(
                    self.random_twin(), batch, method, cls, layer, progress=progress, **options)[0])

            self.submit(("randomised", *key), work, self._refresh_after, "randomised weights")
            return False
        image = self.inspector.image
        tiles = enlarge(np.stack([overlay(image, heat, self.alpha, self.colormap),
                                  overlay(image, found, self.alpha, self.colormap)]), COMPARE_TILE)
        grid = tile_grid(tiles, per_row=2, margin=4, labels=["trained", "weights randomised"])
        self.random_view.value = display_png(grid, side=2 * (COMPARE_TILE + 8))
        rho = spearman(heat, found)
        verdict = ("it barely depends on what the network learned: distrust it" if rho > 0.5 else
                   "it changes with the weights, as an explanation of the model should")
        self.random_caption.value = (f"<small>rank correlation with the trained map: <b>{rho:.2f}</b>; "
                                     f"{verdict} (<code>cw.sanity_check</code> for the layer-by-layer test)</small>")
        self.random_box.layout.display = None
        return True

    def _render_compare(self) -> bool:
        methods = list(self.compare)
        maps = self._request(methods, "comparison")
        if maps is None:
            return False
        image = self.inspector.image
        tiles = enlarge(np.stack([overlay(image, maps[m], self.alpha, self.colormap) for m in methods]),
                        COMPARE_TILE)
        labels = [HEATMAP_METHODS[m].label for m in methods]
        grid = tile_grid(tiles, per_row=4, margin=4, labels=labels)
        self.compare_view.value = display_png(grid, side=4 * (COMPARE_TILE + 8))
        self.compare_view.layout.display = None
        return True
