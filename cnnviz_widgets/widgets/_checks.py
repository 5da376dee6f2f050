"""Checks for widget traits: each refused value raises a TraitError that names the trait, what
is allowed and what was received.

The factories return ``check(widget, name, value) -> value`` functions for
:func:`~cnnviz_widgets.widgets._controls.control`; a bound given as a callable is read from the
widget at the moment of the check (a channel count depends on the layer shown).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Iterable
from typing import Any

import traitlets

from cnnviz_widgets.errors import did_you_mean
from cnnviz_widgets.widgets._controls import Check

Bound = float | int | Callable[[Any], float | int] | None


def _read(bound: Any, widget: Any) -> Any:
    """``bound(widget)`` for a callable, else ``bound`` itself."""
    return bound(widget) if callable(bound) else bound


def _values(choices: Iterable[Any]) -> list[Any]:
    """Option values: ``(label, value)`` pairs give their value."""
    return [c[1] if isinstance(c, tuple) and len(c) == 2 else c for c in choices]


def require_in_range(name: str, value: Any, low: Any, high: Any = None, *, allow_none: bool = False,
                     note: str = "") -> Any:
    """``value`` if it is a real number with ``low <= value <= high`` (``high`` None: no upper bound)."""
    if value is None and allow_none:
        return value
    accepted = f"in {low}..{high}" if high is not None else f">= {low}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise traitlets.TraitError(f"{name} must be a number {accepted}{note}; got {value!r}")
    if not math.isfinite(value) or value < low or (high is not None and value > high):
        raise traitlets.TraitError(f"{name} must be {accepted}{note}; got {value!r}")
    return value


def between(low: Bound, high: Bound = None, *, note: str | Callable[[Any], str] = "") -> Check:
    """A number in ``low..high`` (inclusive; ``high`` None: no upper bound). None passes when the
    trait allows it."""
    def check(widget: Any, name: str, value: Any) -> Any:
        trait = widget.traits()[name]
        return require_in_range(name, value, _read(low, widget), _read(high, widget), allow_none=trait.allow_none,
                                note=_read(note, widget) if callable(note) else note)

    return check


def among(choices: Iterable[Any] | Callable[[Any], Iterable[Any]]) -> Check:
    """One of ``choices`` (values, or the values of ``(label, value)`` pairs)."""
    def check(widget: Any, name: str, value: Any) -> Any:
        allowed = _values(_read(choices, widget) if callable(choices) else choices)
        if value not in allowed:
            hint = did_you_mean(value, map(str, allowed)) if isinstance(value, str) else ""
            raise traitlets.TraitError(f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r}.{hint}")
        return value

    return check


def each_among(choices: Iterable[Any]) -> Check:
    """A sequence whose items are all among ``choices``; stored as a tuple."""
    one = among(choices)

    def check(widget: Any, name: str, value: Any) -> tuple:
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise traitlets.TraitError(f"{name} must be a sequence of names; got {value!r}")
        for item in value:
            one(widget, name, item)
        return tuple(value)

    return check


def layer_among(allowed: Callable[[Any], list[str]], problem: str) -> Check:
    """The qualified name of a layer in ``allowed(widget)``; an unknown name raises
    :class:`~cnnviz_widgets.LayerNotFoundError` with suggestions."""
    def check(widget: Any, name: str, value: Any) -> str:
        if not isinstance(value, str):
            raise traitlets.TraitError(f"{name} must be a layer name (str); got {value!r}")
        resolved = widget.inspector.graph.resolve(value)
        names = allowed(widget)
        if resolved not in names:
            raise traitlets.TraitError(f"Layer {resolved!r} {problem}; pick one of {', '.join(names)}")
        return resolved

    return check


_HEX = re.compile(r"#[0-9a-fA-F]{6}")


def hex_color(widget: Any, name: str, value: Any) -> str:
    """A colour written ``#rrggbb``."""
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise traitlets.TraitError(f"{name} must look like '#80a0ff'; got {value!r}")
    return value
