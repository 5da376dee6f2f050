"""FilterGallery: what each filter of a conv layer looks for.

Two modes: ``"weights"`` shows the kernels (RGB for a layer reading the image), and
``"patterns"`` shows images grown by gradient ascent to excite each filter, a page at a time
in one batch, drawn live while they form (a frame every quarter second or so; Cancel keeps the
last one). Patterns do not depend on the image; they are cached per (model, layer, recipe,
steps, size, filter), so paging back is instant and never calls the model, and an inspector
with a store (``ModelInspector(store=...)``) keeps them on disk for every later kernel.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import numpy as np
import traitlets

from cnnviz_widgets.dataset import Scan
from cnnviz_widgets.inspector import ModelInspector
from cnnviz_widgets.methods import filter_patterns, filter_weights, filter_weights_rgb
from cnnviz_widgets.render import colorize, enlarge, tile_grid, to_png
from cnnviz_widgets.widgets import _checks as checks
from cnnviz_widgets.widgets._base import (
    InspectorWidget,
    computing_caption,
    display_png,
    guarded,
    image_view,
    layer_options,
)
from cnnviz_widgets.widgets._channel_examples import ChannelExamples, ScanExamplesMixin
from cnnviz_widgets.widgets._controls import control
from cnnviz_widgets.widgets._runner import Progress
from cnnviz_widgets.widgets._shared_traits import index_trait

TILE_SIDE = 64
ATLAS_MARGIN = 5  # the tutorials' stitched filter atlas
MODES = (("weights", "weights"), ("patterns", "patterns"))
RECIPES = (("robust", "robust"), ("classic", "classic"))


class FilterGallery(ScanExamplesMixin, InspectorWidget):
    """The filters of one conv layer, a page at a time, as kernels or as gradient-ascent patterns.

    Args:
        inspector: the shared :class:`ModelInspector` (None: a new one on the default model).
        layer: initial conv layer (default: the first).
        mode: ``"weights"`` or ``"patterns"``.
        page_size: filters per page (patterns of one page are computed in one batch).
    """

    layer = control(
        traitlets.Unicode(help="Qualified name of a convolution layer."),
        check=checks.layer_among(lambda w: w._conv, "is not a 2-D convolution"),
        options=lambda w: layer_options(w.inspector, w._conv, shape_of=lambda record: record.kernel_shape),
        reset=lambda w: w._conv[0] if w._conv else None, attribute="layer_dropdown",
        make=lambda w: widgets.Dropdown(description="layer", layout=widgets.Layout(width="340px")))
    mode = control(
        traitlets.Unicode("weights", help="'weights' (kernels) or 'patterns' (gradient ascent)."),
        check=checks.among(MODES), attribute="mode_buttons",
        make=lambda w: widgets.ToggleButtons(options=MODES, style={"button_width": "90px"}))
    page_size = control(traitlets.Int(16, help="Filters per page, 1..256."), check=checks.between(1, 256))
    page = index_trait("Page of filters shown, 0-based.", lambda w: w.n_pages, description="page",
                       attribute="page_slider", note=lambda w: f" for layer {w.layer!r}")
    recipe = control(
        traitlets.Unicode("robust", help="Pattern recipe: 'robust' (default) or 'classic' (the Keras book's)."),
        check=checks.among(RECIPES), attribute="recipe_buttons",
        make=lambda w: widgets.ToggleButtons(options=RECIPES, style={"button_width": "80px"}, tooltips=[
            "decorrelated Fourier image, jitter, rotation, Adam", "the Keras book's normalised gradient ascent"]))
    steps = control(traitlets.Int(None, allow_none=True,
                                  help="Gradient-ascent steps, 1..5000 (None: the recipe's default)."),
                    check=checks.between(1, 5000))
    pattern_size = control(traitlets.Int(None, allow_none=True,
                                         help="Side of the patterns in pixels, 8..512 (None: the model's input "
                                              "size); any size works on any model."),
                           check=checks.between(8, 512))
    input_channel = index_trait("Input channel of the kernels shown (layers not reading RGB).",
                                lambda w: w.n_input_channels, description="input ch.",
                                attribute="input_channel_slider", note=lambda w: f" for layer {w.layer!r}")

    example_filter = control(
        traitlets.Int(None, allow_none=True, help="Filter of the page whose dataset examples are shown "
                                                  "(with a scan attached; None: none)."),
        check=checks.among(lambda w: w._example_options()), options=lambda w: w._example_options(),
        live_options=True, reset=lambda w: None, attribute="example_dropdown",
        make=lambda w: widgets.Dropdown(description="examples", options=[("—", None)],
                                        layout=widgets.Layout(width="200px")))

    def __init__(self, inspector: ModelInspector | None = None, *, scan: Scan | None = None, data: Any = None,
                 **kwargs: Any) -> None:
        self.examples = ChannelExamples(scan, data)
        self.frames_shown = 0
        """Live frames of forming patterns shown so far."""
        super().__init__(inspector, **kwargs)
        self.previous_button = widgets.Button(icon="chevron-left", layout=widgets.Layout(width="40px"))
        self.next_button = widgets.Button(icon="chevron-right", layout=widgets.Layout(width="40px"))
        self.previous_button.on_click(lambda _: self._turn(-1))
        self.next_button.on_click(lambda _: self._turn(1))
        self.gallery_view = image_view("cnnviz-map", "cnnviz-filters")
        self.caption = widgets.HTML("")
        self.path_box = widgets.Text(value="filters_atlas.png", description="save as",
                                     layout=widgets.Layout(width="300px"))
        self.save_page_button = widgets.Button(description="Save page", icon="download")
        self.save_layer_button = widgets.Button(description="Save whole layer", icon="download",
                                                layout=widgets.Layout(width="160px"))
        self.save_page_button.on_click(lambda _: self._save_in_background(False))
        self.save_layer_button.on_click(lambda _: self._save_in_background(True))
        self.saved = widgets.HTML("")

        self._on_model_change()
        self.build_controls()
        self.observe(self._show_input_channel, names=["layer"])
        self._show_input_channel()
        self.observe(self._show_recipe, names=["mode"])
        self._show_recipe()
        controls = widgets.VBox([
            widgets.HBox([self.layer_dropdown, self.mode_buttons, self.recipe_buttons]),
            widgets.HBox([self.previous_button, self.page_slider, self.next_button, self.input_channel_slider]),
        ])
        export = widgets.HBox([self.path_box, self.save_page_button, self.save_layer_button, self.saved])
        page = widgets.VBox([self.gallery_view, self.progress, self.caption])
        self._finish_init([controls, page, self.example_dropdown, self.examples, export], progress_placed=True)

    def _example_options(self) -> list[tuple[str, int | None]]:
        if self.scan is None or not self._conv or self.layer not in self.scan.layers:
            return [("—", None)]
        return [("—", None)] + [(f"filter #{i}", i) for i in self.page_filters()]

    # ------------------------------------------------------------------ layers and pages
    def _on_model_change(self) -> None:
        self._conv = [r.name for r in self.inspector.layers if r.has_conv2d_kernel]
        if not self._conv:
            self.errors.show("This model has no 2-D convolution layer to show filters of.")

    def _show_recipe(self, *_: Any) -> None:
        """The robust/classic recipe belongs to patterns: hidden while the kernels are shown."""
        self.recipe_buttons.layout.display = None if self.mode == "patterns" else "none"

    def _show_input_channel(self, *_: Any) -> None:
        if self._conv:
            self.input_channel_slider.layout.display = "none" if self._is_rgb_layer() else None

    @property
    def n_filters(self) -> int:
        """Number of filters (output channels) of the current layer."""
        return int(self._kernel_shape()[-1]) if self._conv else 0

    @property
    def n_pages(self) -> int:
        return max(1, -(-self.n_filters // self.page_size))

    @property
    def n_input_channels(self) -> int:
        """Input channels of the current layer's kernels."""
        return int(self._kernel_shape()[2]) if self._conv else 1

    def _turn(self, delta: int) -> None:
        self.page = int(np.clip(self.page + delta, 0, self.n_pages - 1))

    def _kernel_shape(self) -> tuple[int, ...]:
        shape = self.inspector.layer(self.layer).kernel_shape
        assert shape is not None, self.layer   # layer is checked to be a convolution
        return shape

    def _is_rgb_layer(self) -> bool:
        return self._kernel_shape()[2] == 3

    def page_filters(self, page: int | None = None) -> list[int]:
        """Filter indices on ``page`` (default: the current one)."""
        page = self.page if page is None else page
        return list(range(page * self.page_size, min((page + 1) * self.page_size, self.n_filters)))

    # ------------------------------------------------------------------ tiles
    def weight_tiles(self, filters: list[int]) -> np.ndarray:
        """Kernels of ``filters`` as uint8 tiles (n, kh, kw, 3): RGB for a layer reading the image,
        else the kernel slice of ``input_channel`` in grey, normalised over the layer."""
        layer = self.layer
        if self._is_rgb_layer():
            weights = self.cached("weights_rgb", layer, per="model",
                                  compute=lambda: filter_weights_rgb(self.inspector, layer))
            return (weights[filters] * 255.0 + 0.5).astype(np.uint8)
        weights = self.cached("weights", layer, per="model", compute=lambda: filter_weights(self.inspector, layer))
        return colorize(np.moveaxis(weights[:, :, self.input_channel, filters], -1, 0), "gray")

    def _pattern_key(self, index: int) -> tuple:
        return self.result_key("pattern", self.layer, self.recipe, self.steps, self.pattern_size, index, per="model")

    def _missing_patterns(self, filters: list[int]) -> list[int]:
        return [i for i in filters if self.inspector.results.get(self._pattern_key(i)) is None]

    def _compute_patterns(self, filters: list[int], progress: Progress | None, live: bool = False) -> None:
        """Compute the patterns of ``filters`` in one batch (chunked by memory) and cache each;
        ``live``: show the page as the patterns form (the inspector's store, if any, keeps them)."""
        keys = {i: self._pattern_key(i) for i in filters}
        images = filter_patterns(self.inspector, self.layer, filters, recipe=self.recipe, steps=self.steps,
                                 size=self.pattern_size, progress=progress,
                                 frames=self._live_page(keys) if live else None)
        for i, image in zip(filters, images, strict=True):
            self.inspector.results.put(keys[i], image)

    def _live_page(self, keys: dict[int, tuple]):
        """A ``frames`` callback that shows the page with the patterns as they stand: those done
        from the cache, those forming from the frame, grey for those not started. A frame for a
        page no longer shown (another layer, page or setting) is dropped."""
        forming: dict[int, np.ndarray] = {}

        def show(indices: np.ndarray, images: np.ndarray, step: int, steps: int) -> None:
            filters = self.page_filters()
            if any(i not in filters or key != self._pattern_key(i) for i, key in keys.items()):
                return
            forming.update(zip((int(i) for i in indices), images, strict=True))
            blank = np.full_like(images[0], 128)
            tiles = [forming.get(i, self.inspector.results.get(self._pattern_key(i))) for i in filters]
            self._show_tiles(np.stack([blank if t is None else t for t in tiles]), filters,
                             f"{self.recipe} patterns forming: step {step}/{steps}")
            self.frames_shown += 1

        return show

    def _show_tiles(self, tiles: np.ndarray, filters: list[int], what: str) -> None:
        grid = tile_grid(enlarge(tiles, TILE_SIDE), per_row=8, margin=3, labels=[f"#{i}" for i in filters])
        self.gallery_view.value = display_png(grid, side=8 * (TILE_SIDE + 3) + 3)
        self.caption.value = (f"<small>{html.escape(self.layer)}: filters {filters[0]}–{filters[-1]} of "
                              f"{self.n_filters} ({what}); page {self.page + 1}/{self.n_pages}</small>")

    def pattern_tiles(self, filters: list[int], progress: Progress | None = None) -> np.ndarray:
        """Patterns of ``filters`` as uint8 (n, s, s, 3), computing the missing ones now."""
        missing = self._missing_patterns(filters)
        if missing:
            self._compute_patterns(missing, progress)
        return np.stack([self.inspector.results.get(self._pattern_key(i)) for i in filters])

    # ------------------------------------------------------------------ rendering
    @property
    def png(self) -> bytes:
        """PNG bytes of the page shown."""
        return self.gallery_view.value

    def _render(self) -> bool:
        if not self._conv:
            return False
        filters = self.page_filters()
        if self.mode == "weights":
            tiles = self.weight_tiles(filters)
            what = "RGB kernels" if self._is_rgb_layer() else f"kernels of input channel {self.input_channel}"
        else:
            missing = self._missing_patterns(filters)
            if missing:
                key = ("patterns", self.inspector.model_version, self.layer, self.recipe, self.steps,
                       self.pattern_size, tuple(missing))
                self.submit(key, lambda p: self._compute_patterns(missing, p, live=True),
                            label=f"{len(missing)} patterns")
                self.caption.value = computing_caption(f"{len(missing)} patterns of {self.layer}",
                                                       "they form above as the optimisation runs")
                return False
            tiles = self.pattern_tiles(filters)
            what = f"{self.recipe} patterns"
        self.examples.show(self.inspector, self.layer, self.example_filter, self.cached)
        self._show_tiles(tiles, filters, what)
        return True

    # ------------------------------------------------------------------ export
    def atlas(self, whole_layer: bool = False, progress: Progress | None = None) -> np.ndarray:
        """The current page (or every filter of the layer) as one uint8 picture with 5 px black
        margins, 8 per row, like the tutorials' stitched atlas. Missing patterns are computed now."""
        filters = list(range(self.n_filters)) if whole_layer else self.page_filters()
        if self.mode == "weights":
            tiles = enlarge(self.weight_tiles(filters), TILE_SIDE)
        else:
            tiles = self.pattern_tiles(filters, progress)
        return tile_grid(tiles, per_row=8, margin=ATLAS_MARGIN, background=(0, 0, 0))

    def export_atlas(self, path: str | os.PathLike, whole_layer: bool = False,
                     progress: Progress | None = None) -> Path:
        """Save :meth:`atlas` as a PNG file and return its path."""
        path = Path(path).expanduser()
        if path.suffix.lower() != ".png":
            raise traitlets.TraitError(f"The atlas is saved as PNG; give a path ending in .png, not {path.name!r}")
        data = to_png(self.atlas(whole_layer, progress), compress_level=6)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    @guarded
    def _save_in_background(self, whole_layer: bool) -> None:
        target = self.path_box.value.strip() or "filters_atlas.png"

        def work(progress: Progress) -> Path:
            return self.export_atlas(target, whole_layer, progress)

        def done(key: Any, path: Path | None) -> None:
            if path is not None:
                self.saved.value = f"<small>saved <code>{html.escape(str(path))}</code></small>"
            self.refresh()

        self.submit(("export", target, whole_layer, self.mode, self.layer, self.page), work, done, label="atlas")
