"""Trait validation shared by the widgets: every bad value raises a TraitError that names the
trait, the accepted values and what was received."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import traitlets

from cnnviz_widgets.inspector import ModelInspector


def in_range(proposal: dict, low: float, high: float | None = None, *, note: str = "") -> Any:
    """The proposed value if ``low <= value <= high`` (``high`` None: no upper bound)."""
    value, name = proposal["value"], proposal["trait"].name
    if value is None and proposal["trait"].allow_none:
        return value
    if value < low or (high is not None and value > high):
        accepted = f"in {low}..{high}" if high is not None else f">= {low}"
        raise traitlets.TraitError(f"{name} must be {accepted}{note}; got {value!r}")
    return value


def one_of(proposal: dict, choices: Iterable[Any]) -> Any:
    """The proposed value if it is one of ``choices``."""
    choices = list(choices)
    if proposal["value"] not in choices:
        raise traitlets.TraitError(f"{proposal['trait'].name} must be one of {', '.join(map(str, choices))}; "
                                   f"got {proposal['value']!r}")
    return proposal["value"]


def layer_among(inspector: ModelInspector, proposal: dict, allowed: list[str], problem: str) -> str:
    """The qualified name of the proposed layer if it is in ``allowed``.

    Unknown names raise :class:`~cnnviz_widgets.LayerNotFoundError` with suggestions; known
    layers outside ``allowed`` raise a TraitError saying ``problem`` and listing the allowed ones.
    """
    resolved = inspector.graph.resolve(proposal["value"])
    if resolved not in allowed:
        raise traitlets.TraitError(f"Layer {resolved!r} {problem}; pick one of {', '.join(allowed)}")
    return resolved
