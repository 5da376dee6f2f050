"""Property-based tests: random sequences of valid and invalid values on every declared trait of
every widget. A refused value never sticks, the controls show the traits, and the picture is the
one a fresh widget built with the accepted values draws.
"""

from __future__ import annotations

import numpy as np
import pytest
import traitlets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnnviz_widgets as cw
from cnnviz_widgets.widgets._controls import declared_controls

# what a trait refuses and keeps is the widgets' own logic, the same on every backend (a minute
# of generated cases under JAX too)
pytestmark = pytest.mark.default_backend

WIDGETS = [cw.LayerBrowser, cw.FilterGallery, cw.CamOverlay, cw.OcclusionSweeper, cw.DatasetBrowser]

_INSPECTORS: dict[str, cw.ModelInspector] = {}

JUNK = st.one_of(st.text(max_size=6), st.just(None), st.booleans(), st.floats(allow_nan=True),
                 st.integers(-10**6, 10**6), st.lists(st.integers(), max_size=2))


def shared_inspector() -> cw.ModelInspector:
    """One inspector on the default model for all examples (widgets share it as in a notebook)."""
    if "default" not in _INSPECTORS:
        _INSPECTORS["default"] = cw.ModelInspector()
    return _INSPECTORS["default"]


def build(widget_class: type, inspector: cw.ModelInspector, **traits):
    """A widget on the shared inspector; a DatasetBrowser gets a scan of hard shapes (which has errors)."""
    if widget_class is cw.DatasetBrowser:
        if "scan" not in _INSPECTORS:
            data = cw.shapes_dataset(60, seed=3, difficulty="hard")
            _INSPECTORS["scan"] = (cw.scan(inspector, data), data)
        result, data = _INSPECTORS["scan"]
        return widget_class(inspector, result, data=data, **traits)
    return widget_class(inspector, **traits)


def value_strategy(widget_class: type, name: str, probe) -> st.SearchStrategy:
    """Values for one trait: mostly plausible ones (its control's options, numbers near its
    range), some junk. Which ones are valid is for the widget to say, not for this test."""
    trait = widget_class.class_traits()[name]
    control = probe.controls.get(name)
    options = getattr(control, "options", None)
    if isinstance(trait, traitlets.Tuple):
        names = [value for _, value in options]
        return st.one_of(st.lists(st.sampled_from(names + ["nope"]), max_size=3).map(tuple), JUNK)
    if options:
        values = [o[1] if isinstance(o, tuple) else o for o in options]
        return st.one_of(st.sampled_from(values), st.sampled_from(values).map(lambda v: f"{v}x"), JUNK)
    if isinstance(trait, traitlets.Float):
        return st.one_of(st.floats(-0.5, 1.5, allow_nan=False), JUNK)
    if isinstance(trait, traitlets.Int):
        # patch and stride at least 6 px keep a sweep of the 96 px model quick; smaller ones are still drawn
        low = 6 if name in ("patch", "stride") else -2
        return st.one_of(st.integers(low, 40), st.sampled_from([-1, 0, 1, 2, 999]), JUNK)
    return JUNK


def snapshot(widget) -> dict:
    return {name: getattr(widget, name) for name in declared_controls(type(widget))}


def controls_show_traits(widget) -> None:
    for name, control in widget.controls.items():
        spec = declared_controls(type(widget))[name]
        assert getattr(control, spec.value_trait) == getattr(widget, name), name


def run_sequence(widget_class: type, data) -> None:
    inspector = shared_inspector()
    probe = build(widget_class, inspector)
    names = list(declared_controls(widget_class))
    strategies = {name: value_strategy(widget_class, name, probe) for name in names}
    probe.close()

    widget = build(widget_class, inspector)
    if isinstance(widget, cw.FilterGallery):
        widget.steps = 2            # keep gradient-ascent patterns cheap; steps is still drawn below
    accepted = snapshot(widget)
    for _ in range(data.draw(st.integers(1, 6), label="length")):
        name = data.draw(st.sampled_from(names), label="trait")
        if name == "steps":
            value = data.draw(st.one_of(st.integers(-1, 3), JUNK), label="steps")
        else:
            value = data.draw(strategies[name], label=name)
        try:
            setattr(widget, name, value)
        except (traitlets.TraitError, cw.CnnvizError) as exc:
            assert str(exc), "a refusal must say why"
            assert snapshot(widget) == accepted, f"refused {name}={value!r} changed the widget"
        else:
            accepted = snapshot(widget)
        controls_show_traits(widget)
    assert widget.wait(120)
    assert not widget.errors.message, widget.errors.message
    fresh = build(widget_class, inspector, **accepted)
    assert fresh.wait(120)
    assert snapshot(fresh) == accepted
    assert widget.png == fresh.png, f"{widget_class.__name__} with {accepted}"
    widget.close()
    fresh.close()


@pytest.mark.parametrize("widget_class", WIDGETS, ids=lambda c: c.__name__)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_refused_values_never_stick(widget_class, data):
    run_sequence(widget_class, data)


@pytest.mark.parametrize("widget_class", WIDGETS, ids=lambda c: c.__name__)
def test_every_declared_trait_refuses_junk_and_keeps_drawing(widget_class):
    """Not random: each declared trait gets a value of the wrong type and one out of range."""
    widget = build(widget_class, shared_inspector())
    before = snapshot(widget)
    png = widget.png
    for name in declared_controls(widget_class):
        for bad in ("not a valid value", -999, 10**6):
            current = getattr(widget, name)
            if bad == current:
                continue
            try:
                setattr(widget, name, bad)
            except (traitlets.TraitError, cw.CnnvizError) as exc:
                assert repr(bad) in str(exc) or str(bad) in str(exc), (name, str(exc))
                assert getattr(widget, name) == current
            else:
                pytest.fail(f"{widget_class.__name__}.{name} accepted {bad!r}")
    assert snapshot(widget) == before
    controls_show_traits(widget)
    assert widget.wait(60) and widget.png == png and not widget.errors.message
    assert np.frombuffer(png, np.uint8).size > 100
    widget.close()


def test_a_refused_value_from_a_control_puts_the_control_back():
    sweeper = cw.OcclusionSweeper(shared_inspector(), fill="colour")
    assert sweeper.fill_color == "#ff00ff"
    sweeper.color_picker.value = "red"        # ColorPicker takes colour names; the widget wants #rrggbb
    assert sweeper.fill_color == "#ff00ff" and sweeper.color_picker.value == "#ff00ff"
    assert "fill_color must look like '#80a0ff'; got 'red'" in sweeper.errors.message
    sweeper.color_picker.value = "#00ff00"    # a good value from the control goes through
    assert sweeper.fill_color == "#00ff00"
    sweeper.close()
