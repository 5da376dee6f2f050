"""Widget traits declared once: the trait, its check, its control, and what a change calls.

A widget declares each public trait in one statement::

    colormap = control(traitlets.Unicode("viridis", help="A matplotlib colormap name."),
                       check=checks.among(COLORMAPS), attribute="colormap_dropdown",
                       make=lambda w: widgets.Dropdown(description="colormap", options=COLORMAPS))

and :class:`~cnnviz_widgets.widgets._base.InspectorWidget` derives the rest from it:

- the check runs in traitlets' cross-validation, *before* the value is stored: a refused value
  raises a ``TraitError`` that says what was received and what is allowed, and the trait and its
  control keep their last good value;
- the control is built, kept in step with the trait both ways (a refused value coming from the
  control puts the control back and shows the message in the widget), and its options and
  bounds follow the model (``options``, ``bounds``);
- after a model change, or a change of a trait that others depend on, a value that is no
  longer allowed is replaced by the declared ``reset``;
- a change calls the declared handler (``refresh`` by default).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets
import traitlets

_ORDER = itertools.count()

Check = Callable[[Any, str, Any], Any]
"""``check(widget, trait_name, value) -> value``; raises ``TraitError`` for a refused value."""


@dataclass(frozen=True)
class ControlSpec:
    """What a widget needs to know about one of its public traits (see :func:`control`)."""

    check: Check | None
    make: Callable[[Any], widgets.DOMWidget] | None
    attribute: str | None
    value_trait: str
    css: tuple[str, ...]
    options: Callable[[Any], list] | None
    bounds: Callable[[Any], tuple[Any, Any]] | None
    reset: Callable[[Any], Any] | None
    on_change: str | None
    reset_on_model: bool
    live_options: bool
    order: int = field(default_factory=lambda: next(_ORDER))


def control(trait: traitlets.TraitType, *, check: Check | None = None,
            make: Callable[[Any], widgets.DOMWidget] | None = None, attribute: str | None = None,
            value_trait: str = "value", css: tuple[str, ...] = (), options: Callable[[Any], list] | None = None,
            bounds: Callable[[Any], tuple[Any, Any]] | None = None, reset: Callable[[Any], Any] | None = None,
            on_change: str | None = "refresh", reset_on_model: bool = False,
            live_options: bool = False) -> traitlets.TraitType:
    """Declare a widget trait with its check and its control; returns the trait, tagged.

    Args:
        trait: the traitlets trait, with its default and ``help``.
        check: ``check(widget, name, value) -> value``, run before the value is stored.
        make: builds the control for a widget instance; None for a trait without a control.
        attribute: the widget attribute that holds the control (``colormap_dropdown``).
        value_trait: the control's trait that mirrors this one (``value`` for ipywidgets controls).
        css: CSS classes added to the control (the browser tests find controls by them).
        options: ``options(widget)``, the control's options, re-read after a model change.
        bounds: ``bounds(widget) -> (min, max)`` of a slider, re-read when anything changes.
        reset: ``reset(widget)``, the value taken when the current one is no longer allowed
            (after a model change, or a change of a trait this one depends on).
        on_change: name of the widget method called after a change (None: nothing).
        reset_on_model: take ``reset(widget)`` after every model change, even when the current
            value is still allowed (a class index, the automatic CAM layer).
        live_options: re-read ``options`` after any declared trait changes, not only the model
            (the images of a chosen confusion cell).
    """
    if make is not None and attribute is None:
        raise TypeError("a control needs the attribute name that will hold it")
    spec = ControlSpec(check, make, attribute, value_trait, tuple(css), options, bounds, reset, on_change,
                       reset_on_model, live_options)
    return trait.tag(control=spec)


def declared_controls(cls: type[traitlets.HasTraits]) -> dict[str, ControlSpec]:
    """Every trait of ``cls`` declared with :func:`control`, in declaration order."""
    found = {name: trait.metadata["control"] for name, trait in cls.class_traits().items()
             if "control" in trait.metadata}
    return dict(sorted(found.items(), key=lambda item: item[1].order))


def traits_table(cls: type[traitlets.HasTraits]) -> str:
    """A Markdown table of the declared traits of ``cls``: name, default and help, in declaration
    order (the documentation's widget pages print it)."""
    rows = ["| trait | default | what it sets |", "|---|---|---|"]
    for name in declared_controls(cls):
        trait = cls.class_traits()[name]
        rows.append(f"| `{name}` | `{trait.default()!r}` | {(trait.help or '').replace('|', '/')} |")
    return "\n".join(rows)


def check_declared(widget: traitlets.HasTraits, proposal: dict) -> Any:
    """traitlets cross-validator shared by every declared trait: runs the trait's own check."""
    spec: ControlSpec = proposal["trait"].metadata["control"]
    if spec.check is None:
        return proposal["value"]
    return spec.check(widget, proposal["trait"].name, proposal["value"])


class ControlBinder:
    """Builds a widget's declared controls and keeps them and their traits in step.

    Each pair is synchronised by hand instead of with ``ipywidgets.link``, so that a value the
    widget refuses never reaches the control, and a value the control sends that the widget
    refuses puts the control back (and is reported through ``report``).
    """

    def __init__(self, owner: traitlets.HasTraits, specs: dict[str, ControlSpec],
                 report: Callable[[BaseException], None]) -> None:
        self.owner, self.specs, self.report = owner, specs, report
        self.controls: dict[str, Any] = {}
        self._pushing: set[str] = set()
        for name, spec in specs.items():
            if spec.make is None or spec.attribute is None:
                continue
            widget = spec.make(owner)
            for css in spec.css:
                widget.add_class(css)
            help_text = owner.traits()[name].help
            # every control explains itself on hover, from its declaration (a box of controls gives
            # its own parts their tooltips: the front end cannot draw one on a box)
            if help_text and not isinstance(widget, widgets.Box) and not widget.tooltip:
                widget.tooltip = help_text
            setattr(owner, spec.attribute, widget)
            self.controls[name] = widget
            widget.observe(lambda change, name=name: self._from_control(name, change["new"]), names=spec.value_trait)
        owner.observe(self._from_trait, names=list(self.controls))

    def follow_model(self) -> None:
        """Re-read options and bounds, and reset values that are no longer allowed or that follow
        the model (in declaration order)."""
        for name, spec in self.specs.items():
            self._read_options(name)
            if spec.reset_on_model:
                self._take_reset(name)
            self.fit(name)

    def _take_reset(self, name: str) -> None:
        """Set ``name`` to its declared reset value (a None reset leaves a trait that refuses None alone)."""
        reset = self.specs[name].reset
        if reset is None:
            return
        value = reset(self.owner)
        if value is not None or self.owner.traits()[name].allow_none:
            setattr(self.owner, name, value)

    def _read_options(self, name: str) -> None:
        spec, control = self.specs[name], self.controls.get(name)
        if spec.options is None or control is None:
            return
        options = spec.options(self.owner)
        if list(control.options) != list(options):
            with self._quiet(name):
                control.options = options

    def fit(self, name: str) -> None:
        """Apply the bounds (and live options) of ``name``, reset its value if it is refused now,
        and show it."""
        spec, owner = self.specs[name], self.owner
        control = self.controls.get(name)
        if spec.live_options:
            self._read_options(name)
        if spec.bounds is not None and control is not None:
            low, high = spec.bounds(owner)
            with self._quiet(name):
                control.min, control.max = low, max(low, high)
        if spec.reset is not None:
            try:
                check_declared(owner, {"trait": owner.traits()[name], "value": getattr(owner, name)})
            except (traitlets.TraitError, ValueError, LookupError):
                self._take_reset(name)
        self.show(name)

    def fit_all(self) -> None:
        for name in self.specs:
            self.fit(name)

    def show(self, name: str) -> None:
        """Put the trait's value into its control."""
        control = self.controls.get(name)
        if control is None:
            return
        value = getattr(self.owner, name)
        spec = self.specs[name]
        if getattr(control, spec.value_trait) != value:
            with self._quiet(name):
                setattr(control, spec.value_trait, value)

    def _from_trait(self, change: dict) -> None:
        self.show(change["name"])

    def _from_control(self, name: str, value: Any) -> None:
        if name in self._pushing or getattr(self.owner, name) == value:
            return
        try:
            setattr(self.owner, name, value)
        except (traitlets.TraitError, ValueError, LookupError) as exc:
            self.report(exc)
            self.show(name)   # back to the last good value

    @contextlib.contextmanager
    def _quiet(self, name: str) -> Iterator[None]:
        """While the binder itself writes to the control of ``name``, ignore what the control reports."""
        self._pushing.add(name)
        try:
            yield
        finally:
            self._pushing.discard(name)
