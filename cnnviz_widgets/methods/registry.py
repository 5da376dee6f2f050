"""Every heatmap method, declared once next to its code, and picked by name.

A family file declares each method with :func:`declare` on its function: name, title, family,
whether it needs a target layer and gradients, its options (defaults and ranges) and two
sentences, what the map shows and when to distrust it. :data:`HEATMAP_METHODS` collects them in
declaration order; :func:`heatmap` calls any of them by name, the widgets build their method
lists and option controls from it, and the README and notebook tables are printed from it.

``heatmap(model, x, "grad_cam", class_index=3)`` is the one-line call;
``heatmap(model, x, "smoothgrad", samples=50, noise=0.1)`` passes a method's own options.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cnnviz_widgets.errors import ArgumentError, did_you_mean
from cnnviz_widgets.methods._chunks import Progress
from cnnviz_widgets.methods._classes import ClassIndex
from cnnviz_widgets.methods._maps import Raw, check_raw
from cnnviz_widgets.methods._models import ModelLike

FAMILIES = {"cam": "class activation maps (a target layer)", "gradient": "gradients to the input pixels",
            "perturbation": "hide parts of the image and measure the probability"}
"""The method families, each in its own file (``cams``, ``saliency``, ``occlusion``)."""

FAMILY_UNITS = {"cam": ("map value (class score units)", 1.0, ""),
                "gradient": ("attribution per pixel (class score units)", 1.0, ""),
                "perturbation": ("probability seen minus hidden", 100.0, " pp")}
"""What a family's unscaled map (``raw="unscaled"``) is measured in, as a colour bar says it: (words, factor
from the value to the number written, suffix); probabilities are written in percentage points."""



@dataclass(frozen=True)
class Option:
    """One numeric option of a method: its keyword, default, inclusive range, help line and the
    label its slider shows (default: the keyword in words)."""

    name: str
    default: int | float
    low: int | float
    high: int | float
    help: str
    label: str = ""

    @property
    def title(self) -> str:
        """The slider's label: ``label``, or the keyword with spaces."""
        return self.label or self.name.replace("_", " ")

    @property
    def integer(self) -> bool:
        """Whether the option takes whole numbers (its default is an int)."""
        return isinstance(self.default, int)

    def check(self, value: Any, method: str) -> int | float:
        """``value`` if it is a number of the right kind within the range, else ArgumentError."""
        kind = "an int" if self.integer else "a number"
        ok_type = (isinstance(value, (int, np.integer)) if self.integer
                   else isinstance(value, (int, float, np.integer, np.floating)))
        if isinstance(value, bool) or not ok_type or not (math.isfinite(float(value))
                                                          and self.low <= value <= self.high):
            raise ArgumentError(f"{self.name} of {method} must be {kind} in {self.low}..{self.high}; got {value!r}")
        return int(value) if self.integer else float(value)


@dataclass(frozen=True)
class HeatmapMethod:
    """A declared heatmap method; :meth:`compute` returns float32 (N, H, W) in [0, 1]."""

    name: str
    label: str
    family: str
    uses_layer: bool
    uses_gradients: bool
    shows: str
    """What the map shows (one sentence)."""
    distrust: str
    """When to distrust it (one sentence)."""
    function: Callable[..., np.ndarray] = field(repr=False)
    options: tuple[Option, ...] = ()
    fixed: Mapping[str, Any] = field(default_factory=dict)
    """Keywords always passed to ``function`` (a variant such as Faster Score-CAM)."""
    @property
    def unit(self) -> tuple[str, float, str]:
        """What the ``raw="unscaled"`` map is measured in: (words, display factor, suffix), for its colour bar."""
        return FAMILY_UNITS[self.family]

    @functools.cached_property
    def keywords(self) -> frozenset[str]:
        """The parameter names of ``function`` (read once)."""
        return frozenset(inspect.signature(self.function).parameters)

    @property
    def batches(self) -> bool:
        """Whether the method runs copies of an image in batches (it takes ``batch_size``)."""
        return "batch_size" in self.keywords

    @property
    def description(self) -> str:
        """The short line shown under a map: what it shows."""
        return self.shows

    @property
    def defaults(self) -> dict[str, int | float]:
        """Each option's default value."""
        return {o.name: o.default for o in self.options}

    def checked_options(self, options: Mapping[str, Any] | None) -> dict[str, int | float]:
        """The defaults updated with ``options``, each checked (ArgumentError names what is wrong)."""
        known = {o.name: o for o in self.options}
        unknown = sorted(set(options or {}) - set(known))
        if unknown:
            offered = ", ".join(known) or "none"
            raise ArgumentError(f"{self.label} has no option {unknown[0]!r}; its options: {offered}")
        merged = self.defaults
        for key, value in (options or {}).items():
            merged[key] = known[key].check(value, self.label)
        return merged

    def compute(self, model: ModelLike, x: np.ndarray, class_index: ClassIndex = None, layer: str | None = None,
                progress: Progress = None, batch_size: int | None = None, raw: Raw = False,
                **options: Any) -> np.ndarray:
        """The method's maps, float32 (N, H, W) in [0, 1]; ``layer`` is ignored unless it uses one,
        ``batch_size`` (images per compiled call, None: what fits in memory) unless it batches.
        ``raw=True``: the signed values before ReLU and scaling, (N, H, W) for the maps made at a
        layer or from masks, (N, H, W, C) for the input-space methods. ``raw="unscaled"``: the
        (N, H, W) map after ReLU in the method's own units (:attr:`unit`), before its division by
        the peak."""
        check_raw(raw)
        keywords = {**self.fixed, **self.checked_options(options)}
        if raw is not False:
            keywords["raw"] = raw
        accepted = self.keywords
        if self.uses_layer:
            keywords["layer"] = layer
        if "progress" in accepted:
            keywords["progress"] = progress
        if batch_size is not None:
            if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
                raise ArgumentError(f"batch_size must be a positive int or None; got {batch_size!r}")
            if "batch_size" in accepted:
                keywords["batch_size"] = int(batch_size)
        return self.function(model, x, class_index, **keywords)


HEATMAP_METHODS: dict[str, HeatmapMethod] = {}
"""Every declared method by name, in declaration order (CAMs, gradients, perturbations)."""


def declare(name: str, label: str, *, family: str, layer: bool, gradients: bool, shows: str, distrust: str,
            options: tuple[Option, ...] = (), fixed: Mapping[str, Any] | None = None) -> Callable:
    """Decorator that registers the function below it as the heatmap method ``name``.

    The function is called as ``function(model, x, class_index, [layer=...], [progress=...],
    [raw=True], **options, **fixed)``; ``options`` and ``raw`` must be keywords of it. Stack several to declare
    variants of one function (``fixed`` holds what differs).
    """
    if family not in FAMILIES:
        raise ArgumentError(f"family must be one of {', '.join(FAMILIES)}; got {family!r}")

    def register(function: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
        if name in HEATMAP_METHODS:
            raise ArgumentError(f"A heatmap method called {name!r} is declared twice")
        accepted = inspect.signature(function).parameters
        for keyword in [o.name for o in options] + list(fixed or {}) + (["layer"] if layer else []) + ["raw"]:
            if keyword not in accepted:
                raise ArgumentError(f"{function.__name__} has no keyword {keyword!r} declared for {name!r}")
        HEATMAP_METHODS[name] = HeatmapMethod(name, label, family, layer, gradients, shows, distrust, function,
                                              tuple(options), dict(fixed or {}))
        ordered = sorted(HEATMAP_METHODS.values(), key=lambda m: list(FAMILIES).index(m.family))   # stable
        HEATMAP_METHODS.clear()
        HEATMAP_METHODS.update((m.name, m) for m in ordered)
        return function

    return register


def heatmap_method(name: str) -> HeatmapMethod:
    """The :class:`HeatmapMethod` called ``name`` (a key of :data:`HEATMAP_METHODS`)."""
    try:
        return HEATMAP_METHODS[name]
    except (KeyError, TypeError):
        raise ArgumentError(f"Unknown method {name!r}.{did_you_mean(str(name), HEATMAP_METHODS)} "
                            f"Choose one of {', '.join(HEATMAP_METHODS)}") from None


def heatmap(model: ModelLike, x: np.ndarray, method: str = "grad_cam", class_index: ClassIndex = None,
            layer: str | None = None, *, progress: Progress = None, batch_size: int | None = None,
            raw: Raw = False, **options: Any) -> np.ndarray:
    """Any heatmap method by name: float32 (N, H, W) in [0, 1].

    Args:
        method: a key of :data:`HEATMAP_METHODS` (``"grad_cam"``, ``"smoothgrad"``...).
        layer: target layer of the CAM methods (None: the automatic choice); ignored by the others.
        progress: ``progress(done, total)`` for the long methods; raising from it aborts.
        batch_size: images per compiled call (None: what fits in memory).
        raw: True for the signed values before ReLU and scaling, ``"unscaled"`` for the map in the
            method's own units before scaling (see :meth:`HeatmapMethod.compute`).
        options: the method's own options (``HEATMAP_METHODS[method].options``), e.g.
            ``samples=50`` for SmoothGrad; an unknown or out-of-range one is refused.
    """
    return heatmap_method(method).compute(model, x, class_index, layer, progress, batch_size, raw, **options)


def methods_table() -> str:
    """A Markdown table of every declared method: name, title, family, needs, options, text."""
    rows = ["| name | method | family | needs | options (default, range) | shows | distrust it when |",
            "|---|---|---|---|---|---|---|"]
    for m in HEATMAP_METHODS.values():
        needs = ", ".join(n for n, used in (("a layer", m.uses_layer), ("gradients", m.uses_gradients)) if used)
        options = "; ".join(f"`{o.name}`={o.default} ({o.low}..{o.high})" for o in m.options) or "-"
        rows.append(f"| `{m.name}` | {m.label} | {m.family} | {needs or 'forward passes only'} | {options} | "
                    f"{m.shows} | {m.distrust} |")
    return "\n".join(rows)
