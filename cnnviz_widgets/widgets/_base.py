"""What every cnnviz widget shares: the bound inspector, an error area, a progress bar with
cancel, background jobs that keep only the latest request, and helpers for images.

Lifecycle of a widget: controls are linked to public traits; any trait change or a new image
or model on the inspector calls ``refresh()``. ``refresh`` renders from caches when it can
(no model call) and otherwise submits a job that fills the cache and calls ``refresh`` again.
Rendering always reads the *current* traits, so a late result can never overwrite a newer
picture. Widgets that are not visible (``active = False``, e.g. a hidden dashboard tab) defer
their work until they are shown.
"""

from __future__ import annotations

import functools
import html
import logging
import os
import threading
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import numpy as np
import traitlets

from cnnviz_widgets.errors import ArgumentError, CnnvizError
from cnnviz_widgets.inspector import ModelInspector
from cnnviz_widgets.render import ColorScale, resize, to_png, with_colorbar
from cnnviz_widgets.widgets._controls import ControlBinder, check_declared, declared_controls
from cnnviz_widgets.widgets._runner import LatestOnlyRunner, Progress
from cnnviz_widgets.widgets._saving import SaveArea, default_png_path, widget_stem, write_png

log = logging.getLogger("cnnviz_widgets")

DISPLAY_SIDE = 256
"""Target side in pixels of the main image views (small maps are enlarged, crisp)."""

_EMPTY_PNG = to_png(np.full((1, 1, 3), 255, np.uint8))


NEAR_UNIFORM_WARNING = ("The model's predictions are nearly uniform (untrained or broken?): the maps show the "
                        "network's structure, not evidence for a class.")
"""What every class view says when :attr:`ModelInspector.near_uniform` is true."""


def caption_style(html_format: bool) -> tuple[Callable[[str], str], Callable[[str], str], str]:
    """(escape, bold, line separator) for a caption written as widget HTML or as a saved PNG's plain text."""
    if html_format:
        return html.escape, lambda text: f"<b>{text}</b>", "<br>"
    return (lambda text: text), (lambda text: text), "\n"


def computing_caption(what: str, shown: str = "the picture above is the previous one") -> str:
    """The caption of a view whose new result is being computed: what is computing, and what the
    picture shows meanwhile (the progress bar and Cancel sit next to it)."""
    return f"<small>&#8987; <b>computing {html.escape(what)}</b>&hellip; {shown} (Cancel stops)</small>"


def display_png(array: np.ndarray, side: int = DISPLAY_SIDE) -> bytes:
    """PNG of a uint8 image enlarged by a whole factor towards ``side`` (nearest neighbour),
    or shrunk to ``side`` when larger."""
    longest = max(array.shape[:2])
    if longest > side:
        return to_png(array, max_side=side)
    return to_png(array, scale=display_scale(array.shape, side))


def display_scale(shape: tuple[int, ...], side: int = DISPLAY_SIDE) -> float:
    """Factor by which :func:`display_png` enlarges (> 1, whole) or shrinks (< 1) a picture of ``shape``."""
    longest = max(shape[:2])
    return side / longest if longest > side else float(max(1, side // longest))


def fit_side(picture: np.ndarray, side: int = DISPLAY_SIDE) -> np.ndarray:
    """A uint8 picture resized so that its longest side is exactly ``side`` (nearest neighbour when
    enlarging, so each map cell stays a crisp square; box filter when shrinking): every map view
    keeps one size, whatever the method or the model's input size."""
    longest = max(picture.shape[:2])
    size = (max(1, round(picture.shape[0] * side / longest)), max(1, round(picture.shape[1] * side / longest)))
    return resize(picture, size, "nearest" if side >= longest else "box")


def map_figure(picture: np.ndarray, scale: ColorScale, colormap: str, *, side: int = DISPLAY_SIDE,
               caption: str | None = None, font_size: int = 11) -> np.ndarray:
    """A map picture at ``side`` pixels with its colour bar (and ``caption`` below): uint8 RGB."""
    return with_colorbar(fit_side(picture, side), scale, colormap, caption=caption, font_size=font_size)


def show_picture(view: widgets.Image, picture: np.ndarray) -> None:
    """Put a uint8 picture into an Image view at its own pixel size (no browser rescaling)."""
    view.value = to_png(picture)
    view.layout.width = f"{picture.shape[1]}px"


def layer_options(inspector: ModelInspector, names: list[str],
                  shape_of: Callable[[Any], tuple] = lambda record: record.output_shape) -> list[tuple[str, str]]:
    """Dropdown options ``("name  HxWxC", name)`` for the layers ``names`` (``shape_of`` picks the
    shape shown: the output shape by default, a kernel shape for filters)."""
    return [(f"{name}  {'x'.join(map(str, shape_of(inspector.layer(name))))}", name) for name in names]


def image_view(*css_classes: str) -> widgets.Image:
    """An empty ``ipywidgets.Image`` with the given CSS classes."""
    view = widgets.Image(value=_EMPTY_PNG, format="png", layout=widgets.Layout(max_width="100%", height="auto"))
    for css in css_classes:
        view.add_class(css)
    return view


def error_line(exc: BaseException) -> str:
    """One line for a user: the exception's first line, prefixed by its type for unexpected ones."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, (CnnvizError, traitlets.TraitError)):
        return text
    return f"{type(exc).__name__}: {text}"


class ErrorArea(widgets.HTML):
    """A visible one-line message inside the widget; empty and hidden when all is well."""

    def __init__(self) -> None:
        super().__init__(value="", layout=widgets.Layout(display="none"))
        self.add_class("cnnviz-error")
        self.message = ""

    def show(self, exc: BaseException | str) -> None:
        self.message = exc if isinstance(exc, str) else error_line(exc)
        self.value = (f'<div style="color:#b00020;background:#fdecea;padding:4px 8px;border-radius:3px">'
                      f"&#9888; {html.escape(self.message)}</div>")
        self.layout.display = None

    def clear(self) -> None:
        if self.message:
            self.message = ""
            self.value = ""
            self.layout.display = "none"


class ProgressArea(widgets.HBox):
    """An ``IntProgress`` with a label and a Cancel button, shown only while work runs."""

    def __init__(self, on_cancel: Callable[[], None]) -> None:
        self.bar = widgets.IntProgress(min=0, max=100, value=0, layout=widgets.Layout(width="200px"))
        self.label = widgets.Label("")
        self.cancel_button = widgets.Button(description="Cancel", icon="stop", button_style="warning",
                                            layout=widgets.Layout(width="90px"))
        self.cancel_button.on_click(lambda _: on_cancel())
        super().__init__([self.bar, self.label, self.cancel_button], layout=widgets.Layout(display="none"))
        self.add_class("cnnviz-progress")

    def update(self, label: str, done: int, total: int) -> None:
        if total <= 0:
            self.layout.display = "none"
            return
        self.bar.value = int(100 * min(done, total) / total)
        self.label.value = f"{label} {self.bar.value}%" if total > 1 else f"{label}…"
        self.layout.display = None


def stop_following(source: traitlets.HasTraits, handler: Callable, names: list[str]) -> None:
    """``source.unobserve(handler, names)`` that may be called again: ``close()`` runs twice when a
    widget is closed by hand and then garbage collected, or at interpreter exit."""
    for name in names:
        try:
            source.unobserve(handler, names=name)
        except ValueError:  # already removed
            pass


def held_widgets(root: widgets.Widget) -> list[widgets.Widget]:
    """Every widget that ``root`` holds, directly or through other held widgets: its children, its
    controls (also those not shown), chart marks, scales and axes, layouts and styles. Found through
    the traits and attributes of each widget, and through lists, tuples and dicts of them."""
    found: dict[int, widgets.Widget] = {}
    stack: list[Any] = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, widgets.Widget):
            if id(item) in found:
                continue
            found[id(item)] = item
            stack.extend(vars(item).values())   # the traits live in _trait_values, a dict
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    found.pop(id(root))
    return list(found.values())


def close_held(root: widgets.Widget) -> None:
    """Close every widget ``root`` holds (see :func:`held_widgets`); ``root`` itself is left to its caller.

    ipywidgets keeps each widget in its registry until it is closed, and a control's callbacks hold
    the widget that made them: a widget closed alone would keep its parts, and through them its
    inspector and model, alive for the rest of the kernel.
    """
    for part in held_widgets(root):
        part.close()


def guarded(method: Callable) -> Callable:
    """Run a widget method, showing any exception in its error area instead of raising."""

    @functools.wraps(method)
    def wrapper(self: InspectorWidget, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            log.debug("cnnviz: %s failed", method.__name__, exc_info=True)
            self.errors.show(exc)
            return None

    return wrapper


class InspectorWidget(widgets.VBox):
    """Base of the four widgets: binds to a :class:`ModelInspector` and follows it.

    Subclasses implement ``_render()`` (called under a lock, may raise; returns True when the
    view shows the current request complete) and use :meth:`cached_or_submit` for expensive
    results.
    """

    active = traitlets.Bool(True, help="False defers all work until the widget is shown again.")
    first_result_timeout: float = 5.0
    """Seconds a new widget waits for its first background result, so that the cell that creates
    it shows a picture (and a saved notebook holds one); longer work goes on in the background."""

    def __init__(self, inspector: ModelInspector | None = None, **kwargs: Any) -> None:
        self.inspector = inspector if inspector is not None else ModelInspector()
        self.errors = ErrorArea()
        self._runner = LatestOnlyRunner(self._report_progress, self._report_error, name=type(self).__name__)
        self.progress = ProgressArea(self.cancel)
        self.save_area = SaveArea(self.save_png, self.errors.show)
        self._render_lock = threading.RLock()
        self._failed: Hashable | None = None
        self._stale = True
        self._building = True
        self._drawn: dict[str, Hashable] = {}
        # the widget's own traits (channel=3, patch=16...) are set once its controls and layer
        # lists exist, so that their checks can see them; the rest go to the VBox
        own = set(self.class_trait_names()) - set(widgets.VBox.class_trait_names())
        order = list(declared_controls(type(self)))
        given = {name: kwargs.pop(name) for name in list(kwargs) if name in own}
        # declaration order: a layer is set before its channel, a patch before the step
        self._initial_traits = dict(sorted(given.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order
                                           else len(order)))
        self._binder: ControlBinder | None = None
        self._fitting = False
        super().__init__(**kwargs)
        self.add_class("cnnviz-widget")
        self.inspector.observe(self._on_inspector_change, names=["image_version", "model_version"])

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names = sorted({name for klass in cls.__mro__ for name, value in vars(klass).items()
                        if isinstance(value, traitlets.TraitType) and "control" in value.metadata})
        cls._declared_names = frozenset(names)
        if names:  # one traitlets validator for every declared trait: checks run before a value is stored
            cls._check_declared_traits = traitlets.validate(*names)(check_declared)

    _declared_names: frozenset[str] = frozenset()

    def __setattr__(self, name: str, value: Any) -> None:
        """A refused value of a declared trait raises its own message, without the frames of
        traitlets' validation or a chained context (a teacher reads one line, not 70)."""
        if name not in self._declared_names:
            super().__setattr__(name, value)
            return
        try:
            super().__setattr__(name, value)
        except (traitlets.TraitError, CnnvizError) as exc:
            raise exc.with_traceback(None) from None

    # ------------------------------------------------------------------ lifecycle
    def build_controls(self) -> None:
        """Build the declared controls (see :mod:`~cnnviz_widgets.widgets._controls`), bind them to
        their traits, and fit options, bounds and defaults to the model. Subclasses call it once,
        when the state the checks read (layer lists...) exists and before laying out the controls."""
        specs = declared_controls(type(self))
        self._binder = ControlBinder(self, specs, self.errors.show)
        self.observe(self._on_declared_change, names=list(specs))
        self._fitting = True
        try:
            self._binder.follow_model()
        finally:
            self._fitting = False

    @property
    def binder(self) -> ControlBinder:
        """What keeps the declared traits and their controls in step (built by ``build_controls``)."""
        if self._binder is None:
            raise RuntimeError(f"{type(self).__name__}.build_controls() has not run yet")
        return self._binder

    @property
    def controls(self) -> dict[str, widgets.Widget]:
        """The control of each declared trait that has one, by trait name."""
        return dict(self._binder.controls) if self._binder else {}

    def _on_declared_change(self, change: dict) -> None:
        if self._fitting:
            return  # a value fitted to another's change; the outer change redraws
        self._fitting = True
        try:
            self.binder.fit_all()   # dependents: a channel within the new layer, a step within the sweep
        except Exception as exc:  # noqa: BLE001 - the value itself was valid; show what went wrong after it
            self.errors.show(exc)
        finally:
            self._fitting = False
        handler = self.binder.specs[change["name"]].on_change
        if handler is not None:
            guarded(getattr(type(self), handler))(self)

    def cached(self, kind: str, *params: Hashable, compute: Callable[[], Any], per: str = "image") -> Any:
        """A result from the inspector's shared results cache, computed now when missing.

        The key is (the current image key, or the model version for ``per="model"``, ``kind``,
        ``*params``), so results never outlive the image or model they were computed for.
        """
        return self.inspector.results.get_or_compute(self.result_key(kind, *params, per=per), compute)

    def result_key(self, kind: str, *params: Hashable, per: str = "image") -> tuple:
        """The results-cache key of ``kind`` with ``params`` for the current image (or model)."""
        if per not in ("image", "model"):
            raise ArgumentError(f"per must be 'image' or 'model'; got {per!r}")
        scope = self.inspector.image_key if per == "image" else self.inspector.model_version
        return (scope, kind, *params)

    def _finish_init(self, children: list[widgets.Widget], *, progress_placed: bool = False) -> None:
        """Set the traits given to the constructor, lay out ``children`` with the save button, the
        progress bar (unless ``progress_placed``: the widget put it next to its picture) and the
        error area, and draw."""
        for name, value in self._initial_traits.items():
            if value is None and not self.traits()[name].allow_none:
                continue  # layer=None and the like: keep the automatic choice
            setattr(self, name, value)
        self.children = [*children, self.save_area, *([] if progress_placed else [self.progress]), self.errors]
        self._building = False
        self.refresh()
        if self.active and self.first_result_timeout > 0:
            self._runner.wait(self.first_result_timeout)

    @guarded
    def _on_inspector_change(self, change: dict) -> None:
        if change["name"] == "model_version":
            self._failed = None
            self._fitting = True
            try:
                self._on_model_change()
                if self._binder is not None:
                    self._binder.follow_model()
            finally:
                self._fitting = False
        self.refresh()

    def _on_model_change(self) -> None:
        """Subclasses update what their checks read (layer lists...) here; the declared controls
        then follow the new model, and the view is refreshed."""

    @traitlets.observe("active")
    def _on_active(self, change: dict) -> None:
        if change["new"] and self._stale:
            self.refresh()

    def refresh(self, *_: Any) -> None:
        """Bring the view up to date with the traits and the inspector (from cache when possible)."""
        if self._building:
            return
        if not self.active:
            self._stale = True
            return
        self._stale = False
        with self._render_lock:
            try:
                if self.inspector.has_image:
                    self.inspector.check_output()   # NaN or infinite outputs: say so, draw nothing
                complete = self._render()
            except Exception as exc:
                log.debug("cnnviz: render failed", exc_info=True)
                self._drawn.clear()  # a part may have been left half drawn: draw everything next time
                self.errors.show(exc)
            else:
                if complete:
                    self.errors.clear()

    def _render(self) -> bool:
        raise NotImplementedError

    def _needs_drawing(self, part: str, key: Hashable) -> bool:
        """True when ``part`` of the view was last drawn for another ``key`` (and remember this one),
        so that a slider move redraws only the parts that depend on it."""
        if self._drawn.get(part) == key:
            return False
        self._drawn[part] = key
        return True

    # ------------------------------------------------------------------ jobs
    def cached_or_submit(self, key: Hashable, work: Callable[[Progress], Any], label: str) -> Any | None:
        """The result cached under ``key`` in the inspector's results, or None after submitting
        ``work(progress)`` to compute it in the background (a later ``refresh`` shows it)."""
        result = self.inspector.results.get(key)
        if result is not None:
            return result
        self.submit(key, work, self._job_done, label)
        return None

    def submit(self, key: Hashable, work: Callable[[Progress], Any],
               on_done: Callable[[Hashable, Any], None] | None = None, label: str = "") -> None:
        """Run ``work(progress)`` in the background as the latest request (unless it just failed)."""
        if key == self._failed:
            return
        self.errors.clear()
        self._runner.submit(key, work, on_done or self._job_done, label=label)

    def _job_done(self, key: Hashable, result: Any) -> None:
        """Cache a job's result under its key, then show it if it is still wanted."""
        if result is not None:
            self.inspector.results.put(key, result)
        self._refresh_after(key)

    def _refresh_after(self, key: Hashable, result: Any = None) -> None:
        """Refresh after the job ``key`` finished, unless a newer request is already running."""
        if self._runner.is_current(key) or not self._runner.busy:
            self.refresh()

    def _report_progress(self, label: str, done: int, total: int) -> None:
        self.progress.update(label, done, total)

    def _report_error(self, key: Hashable, exc: BaseException) -> None:
        self._failed = key  # not retried until something changes the request
        self.errors.show(exc)

    def cancel(self) -> None:
        """Stop the running computation and drop the waiting one (the Cancel button)."""
        self._runner.cancel()

    def wait(self, timeout: float | None = 300) -> bool:
        """Block until background work is done and the view shows the current traits.

        Returns False when ``timeout`` seconds passed first. Useful in scripts, tests and
        notebooks that read :attr:`png` right after changing a trait.
        """
        return self._runner.wait(timeout)

    @property
    def png(self) -> bytes:
        """PNG bytes of the widget's main image."""
        raise NotImplementedError

    @property
    def saved_png(self) -> bytes:
        """What :meth:`save_png` writes: the main image as shown (widgets with a map add its colour
        bar and a caption, at a size for a slide)."""
        return self.png

    def save_png(self, path: str | os.PathLike | None = None) -> Path:
        """Save what the widget shows (its main image, as :attr:`png`) to ``path``, a .png file.

        ``None`` picks the first free ``cnnviz_<widget>_NNN.png`` in the working directory (next
        to the notebook). Call :meth:`wait` first in a script, so that the picture is current.
        Returns the path written.
        """
        png = self.saved_png
        if png == _EMPTY_PNG:
            raise ArgumentError("Nothing to save yet: the widget has not drawn its picture (give it an image)")
        return write_png(png, path if path is not None else default_png_path(widget_stem(self)))

    @property
    def busy(self) -> bool:
        """True while a computation runs or waits."""
        return self._runner.busy

    def close(self) -> None:
        """Stop following the inspector, stop the background worker, and close the widget and
        every widget it holds, so that nothing keeps the inspector (and its model) alive."""
        stop_following(self.inspector, self._on_inspector_change, ["image_version", "model_version"])
        self._runner.close()
        close_held(self)
        super().close()


__all__ = ["NEAR_UNIFORM_WARNING", "ErrorArea", "InspectorWidget", "ProgressArea", "caption_style", "close_held",
           "computing_caption",
           "display_png", "error_line", "fit_side", "guarded", "held_widgets", "image_view", "layer_options",
           "map_figure", "show_picture", "stop_following"]
