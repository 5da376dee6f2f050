"""CamOverlay: the overlay shows the method's own heatmap, controls re-render from cache, rapid
changes end on the last request, and failures stay inside the widget."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import traitlets

import cnnviz_widgets as cw
from cnnviz_widgets.render import colorize, decode_png, overlay
from cnnviz_widgets.widgets import CamOverlay, cam_overlay
from cnnviz_widgets.widgets._base import fit_side, map_figure
from cnnviz_widgets.widgets._controls import traits_table
from cnnviz_widgets.widgets.cam_overlay import MAX_BATCH_SIZE

occlusion_module = importlib.import_module("cnnviz_widgets.methods.occlusion")   # the module, not the function


def peak(array: np.ndarray) -> tuple[int, int]:
    return tuple(int(v) for v in np.unravel_index(np.argmax(array), array.shape))


def test_overlay_peak_is_where_grad_cam_says(inspector, samples):
    cam = CamOverlay(inspector, alpha=1.0, colormap="gray")
    assert cam.wait(60) and not cam.errors.message
    expected = cw.grad_cam(inspector, inspector.batch)[0]
    np.testing.assert_allclose(cam.heatmap, expected, atol=1e-6)
    shown = decode_png(cam.png)[:256, :256, 0]          # the map; its colour bar is on the right
    np.testing.assert_array_equal(shown, fit_side(colorize(expected, "gray"), 256)[..., 0])
    row, col = peak(shown)                              # the brightest pixel shows the map's peak
    assert expected[int((row + 0.5) * 96 / 256), int((col + 0.5) * 96 / 256)] == expected.max()
    row, col = peak(expected)
    assert samples[0]["mask"][row, col]        # the model looked at the circle
    assert cam.layer == cam.default_layer == "block3_conv2" and "auto" in cam.layer_reason.value


def test_alpha_and_colormap_re_render_without_computing(inspector, count_calls):
    counter = count_calls(cam_overlay, "heatmap")
    cam = CamOverlay(inspector)
    cam.wait(60)
    calls, passes = counter.calls, inspector.forward_passes
    pictures = {cam.png}
    cam.alpha = 0.9
    pictures.add(cam.png)
    cam.colormap = "viridis"
    pictures.add(cam.png)
    assert len(pictures) == 3
    image = inspector.image
    np.testing.assert_array_equal(decode_png(cam.png), map_figure(overlay(image, cam.heatmap, 0.9, "viridis"),
                                                                  cam.color_scale, "viridis"))
    assert not cam.busy
    assert counter.calls == calls and inspector.forward_passes == passes


def test_class_change_from_the_chart_the_dropdown_and_the_name_box(inspector):
    cam = CamOverlay(inspector, scale="own")             # each map on its own peak: equal to the function's
    cam.wait(60)
    top = inspector.top_k(5)
    cam.classes.bars.selected = [2]                    # a click on the third bar
    assert cam.class_index == top[2].index
    cam.wait(60)
    np.testing.assert_allclose(cam.heatmap, cw.grad_cam(inspector, inspector.batch, top[2].index)[0], atol=1e-6)
    cam.classes.name_box.value = "star"
    assert cam.class_index == cw.SHAPE_CLASS_NAMES.index("star")
    cam.classes.dropdown.value = -1                    # back to "top prediction"
    assert cam.class_index is None
    assert cam.classes.bars.selected is None or list(cam.classes.bars.selected) == []
    with pytest.raises(traitlets.TraitError, match=r"class_index must be in 0\.\.5"):
        cam.class_index = 6


def test_every_method_gives_its_own_heatmap(inspector):
    cam = CamOverlay(inspector)
    for name in cw.methods.HEATMAP_METHODS:
        cam.method = name
        assert cam.wait(120), name
        expected = cw.heatmap(inspector, inspector.batch, name, layer=cam.layer)[0]
        np.testing.assert_allclose(cam.heatmap, expected, atol=1e-5, err_msg=name)
        assert cw.methods.HEATMAP_METHODS[name].label in cam.caption.value
        assert cam.layer_dropdown.disabled == (not cw.methods.HEATMAP_METHODS[name].uses_layer), name


def test_the_chosen_methods_options_get_sliders_that_reach_the_map(inspector):
    cam = CamOverlay(inspector, method="smoothgrad")
    assert cam.wait(60)
    spec = cw.methods.HEATMAP_METHODS["smoothgrad"]
    sliders = {s.description: s for s in cam.options_box.children}
    assert list(sliders) == [o.title for o in spec.options] == ["noisy copies", "noise level"]   # words, not keywords
    assert all(o.help in s.tooltip for o, s in zip(spec.options, sliders.values(), strict=True))
    samples = sliders["noisy copies"]
    assert (samples.value, samples.min, samples.max) == (20, 1, 2000)
    samples.value = 4                                  # a student moves the slider
    assert cam.options == {"smooth_samples": 4} and cam.wait(60)
    np.testing.assert_allclose(cam.heatmap, cw.heatmap(inspector, inspector.batch, "smoothgrad",
                                                       smooth_samples=4)[0], atol=1e-5)
    with pytest.raises(traitlets.TraitError, match=r"smooth_noise of SmoothGrad must be a number in 0.001..1.0"):
        cam.options = {"smooth_noise": 5.0}
    assert cam.options == {"smooth_samples": 4} and samples.value == 4     # the refused value did not stick
    cam.method = "grad_cam"                            # no options: no sliders, options back to {}
    assert cam.options == {} and cam.options_box.children == ()
    cam.method = "rise"
    assert [s.description for s in cam.options_box.children] == ["masks", "cells", "keep"]
    # the sliders are the declared control of `options`: checked before stored, in the traits table
    assert cam.controls["options"] is cam.options_box
    assert "| `options` | `{}` |" in traits_table(CamOverlay)
    cam.options_box.children[1].value = 9                # a slider reaches the trait through the binder
    assert cam.options == {"cells": 9} and cam.options_box.value == {"cells": 9}
    with pytest.raises(traitlets.TraitError, match="Grad-CAM has no option 'cells'"):
        cam.method, cam.options = "grad_cam", {"cells": 9}
    assert cam.options == {} and cam.options_box.value == {}
    cam.close()


def test_a_method_change_computes_once_with_the_new_methods_defaults(inspector):
    """SmoothGrad with 4 samples, then VarGrad (same option names): the options are reset before
    the new map is requested, so no job runs with the old method's options."""
    cam = CamOverlay(inspector, method="smoothgrad")
    cam.options = {"smooth_samples": 4}
    assert cam.wait(60)
    started = cam._runner.jobs_started
    cam.method = "vargrad"
    assert cam.wait(60) and cam.options == {}
    assert cam._runner.jobs_started == started + 1
    np.testing.assert_allclose(cam.heatmap, cw.heatmap(inspector, inspector.batch, "vargrad")[0], atol=1e-5)
    cam.close()


def test_randomise_weights_shows_the_map_of_a_randomised_copy(inspector):
    before = [w.copy() for w in inspector.model.get_weights()]
    cam = CamOverlay(inspector, method="grad_cam")
    cam.randomise_toggle.value = True
    assert cam.randomised and cam.wait(60)
    random_map = cam.randomised_heatmap
    assert random_map is not None and random_map.shape == cam.heatmap.shape
    expected = cw.heatmap(cam.random_twin(), inspector.batch, "grad_cam", cam.classes.resolved(), cam.layer,
                          raw="unscaled")[0]
    np.testing.assert_allclose(random_map, expected, atol=1e-5)
    assert not np.allclose(random_map / random_map.max(), cam.heatmap, atol=0.05)
    assert "rank correlation with the trained map" in cam.random_caption.value
    assert decode_png(cam.random_view.value).shape == decode_png(cam.overlay_view.value).shape
    assert cam.random_box.layout.display is None
    for kept, now in zip(before, inspector.model.get_weights(), strict=True):
        np.testing.assert_array_equal(kept, now)        # the inspector's model is untouched
    cam.randomised = False
    assert cam.wait(30) and cam.random_box.layout.display == "none"
    cam.close()


def test_fifty_rapid_changes_end_on_the_last_request(inspector):
    cam = CamOverlay(inspector, method="smoothgrad", scale="own")   # ~0.3 s a map: changes outrun the work
    cam.wait(60)
    started = cam._runner.jobs_started
    for i in range(50):
        cam.class_index = i % 6
    assert cam.wait(120)
    assert cam._runner.jobs_started - started < 10     # no backlog of 50 computations
    last = 49 % 6
    expected = cw.saliency(inspector, inspector.batch, last, smooth_samples=20)[0]
    np.testing.assert_allclose(cam.heatmap, expected, atol=1e-5)
    np.testing.assert_array_equal(decode_png(cam.png),
                                  map_figure(overlay(inspector.image, expected, 0.5, "jet"), cam.color_scale, "jet"))


def test_side_by_side_comparison_and_faithfulness(inspector):
    cam = CamOverlay(inspector)
    cam.compare = ("grad_cam", "layer_cam", "saliency")
    assert cam.wait(120)
    grid = decode_png(cam.compare_png)
    assert cam.compare_view.layout.display is None
    assert grid.shape[1] >= 3 * 160 and grid.shape[0] < 2 * 160   # three tiles in one row
    scores = cam.evaluate(steps=16)
    heat = cw.grad_cam(inspector, inspector.batch)[0]
    direct = cw.deletion_auc(inspector, inspector.batch, heat[None], steps=16)[0]
    assert scores["deletion_auc"] == pytest.approx(float(direct), abs=1e-5)
    assert scores["deletion_auc"] < scores["insertion_auc"]   # a good map on a clear image
    assert f"{scores['deletion_auc']:.3f}" in cam.faithfulness.value


def test_a_failing_method_shows_an_error_and_the_widget_stays_usable(inspector, monkeypatch):
    cam = CamOverlay(inspector)
    cam.wait(60)
    original = cam_overlay.heatmap

    def broken(model, x, method, *args, **kwargs):
        if method == "layer_cam":
            raise RuntimeError("out of memory on this layer")
        return original(model, x, method, *args, **kwargs)

    monkeypatch.setattr(cam_overlay, "heatmap", broken)
    cam.method = "layer_cam"
    cam.wait(60)
    assert cam.errors.message == "RuntimeError: out of memory on this layer"
    assert cam.errors.layout.display is None           # visible
    cam.method = "grad_cam_plus_plus"
    cam.wait(60)
    assert cam.heatmap is not None and not cam.errors.message


def test_a_refused_randomised_value_does_not_stick(inspector):
    cam = CamOverlay(inspector)
    with pytest.raises(traitlets.TraitError):
        cam.randomised = "yes"
    assert cam.randomised is False and cam.randomise_toggle.value is False
    cam.close()


def test_batch_size_reaches_the_method_and_leaves_the_map_as_it_was(inspector, monkeypatch):
    """RISE with 40 masks in calls of 16: three compiled calls (16, 16, 8) instead of one, the same map."""
    cam = CamOverlay(inspector, method="rise")
    cam.options = {"masks": 40}
    assert cam.wait(60) and cam.batch_size == 0
    automatic = cam.heatmap.copy()
    sizes = []
    rise_fn = occlusion_module._rise_fn

    def spy(graph, cells):
        inner = rise_fn(graph, cells)
        return lambda x1, fill1, grids, *rest: sizes.append(len(grids)) or inner(x1, fill1, grids, *rest)

    monkeypatch.setattr(occlusion_module, "_rise_fn", spy)
    cam.batch_size_input.value = 16                   # typed in the box
    assert cam.batch_size == 16 and cam.heatmap is not None   # no recompute: the cached map is the same map
    cam.inspector.results.clear()
    cam.compute()
    assert sizes == [16, 16, 8]
    np.testing.assert_allclose(cam.heatmap, automatic, atol=1e-5)
    for refused in (-1, MAX_BATCH_SIZE + 1, "8", 2.5):
        with pytest.raises(traitlets.TraitError, match="batch_size"):
            cam.batch_size = refused
        assert cam.batch_size == 16 and cam.batch_size_input.value == 16
    cam.close()
