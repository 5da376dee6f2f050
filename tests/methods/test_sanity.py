"""The model-randomisation sanity check: its statistics, the copy it works on, and the paper's
finding reproduced on the embedded model."""

from __future__ import annotations

import numpy as np
import pytest

import cnnviz_widgets as cw
from cnnviz_widgets import ArgumentError
from cnnviz_widgets.inspector.settings import copy_model
from cnnviz_widgets.methods.sanity import randomise, spearman, ssim, weighted_layers
from cnnviz_widgets.render import decode_png
from tests.conftest import tiny_functional, weights_snapshot
from tests.methods.tiny_models import images, nested_transfer_model


def test_spearman_uses_mean_ranks_for_ties_and_ssim_is_one_for_equal_maps():
    assert spearman(np.array([1.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0])) == pytest.approx(np.sqrt(3) / 2)
    assert spearman(np.array([3.0, 1.0, 2.0]), np.array([30.0, 10.0, 20.0])) == pytest.approx(1.0)
    assert spearman(np.array([3.0, 1.0, 2.0]), -np.array([3.0, 1.0, 2.0])) == pytest.approx(-1.0)
    assert spearman(np.zeros(5), np.arange(5.0)) == 0.0               # a constant map has no ranking
    heat = np.random.default_rng(0).random((32, 32)).astype(np.float32)
    assert ssim(heat, heat) == pytest.approx(1.0, abs=1e-5) and ssim(heat, 1 - heat) < 0.2


def test_the_copy_is_independent_and_randomising_it_is_seeded():
    model = nested_transfer_model()
    twin = copy_model(model)
    assert [w.shape for w in twin.get_weights()] == [w.shape for w in model.get_weights()]
    names = [name for name, _ in weighted_layers(twin)]
    assert names == ["base/b_conv1", "base/b_conv2", "head"]             # inside the nested base model
    before = weights_snapshot(model)
    first_layer = weighted_layers(twin)[0][1]
    randomise(first_layer, seed=3)
    first = twin.get_weights()[0].copy()
    assert not np.allclose(first, before[0])
    randomise(first_layer, seed=3)
    np.testing.assert_array_equal(twin.get_weights()[0], first)        # same seed, same weights
    for kept, now in zip(before, weights_snapshot(model), strict=True):
        np.testing.assert_array_equal(kept, now)                       # the original is untouched


def test_modes_layers_and_errors():
    model = tiny_functional()
    x = images(2, 32, seed=4)
    before = weights_snapshot(model)
    report = cw.sanity_check(model, x, ["grad_cam", "saliency"], mode="independent", layers=["head", "conv1"])
    assert report.layers == ("head", "conv1") and report.mode == "independent"
    assert report.correlations["grad_cam"].shape == (2, 2)
    assert [name for name, _ in report.spearman("saliency")] == ["head", "conv1"]
    assert "randomised down to" in report.table() and "Grad-CAM" in report.table("ssim")
    lines = report.table().splitlines()                  # a header and one row per layer, columns aligned
    assert lines[0].split() == ["randomised", "down", "to", "Grad-CAM", "Saliency"]
    assert len({len(line) for line in lines}) == 1 and len(lines) == 3
    rho = report.spearman("saliency")[1][1]
    assert lines[2].startswith("conv1") and lines[2].endswith(f"{rho:.2f}")
    for kept, now in zip(before, weights_snapshot(model), strict=True):
        np.testing.assert_array_equal(kept, now)
    with pytest.raises(ArgumentError, match="mode must be one of cascading, independent; got 'top'"):
        cw.sanity_check(model, x, mode="top")
    with pytest.raises(ArgumentError, match="No weighted layer 'conv9'"):
        cw.sanity_check(model, x, ["grad_cam"], layers=["conv9"])
    with pytest.raises(ArgumentError, match="Unknown method"):
        cw.sanity_check(model, x, ["gradcam"])


@pytest.fixture(scope="module")
def embedded_report():
    inspector = cw.ModelInspector()
    batch = cw.generate_shapes(8, size=96, seed=5)
    x = inspector.preprocess(batch.images.astype(np.float32))
    return cw.sanity_check(inspector, x, ["grad_cam", "guided_backprop"], seed=0)


def test_the_papers_finding_on_the_embedded_model(embedded_report):
    """Grad-CAM decorrelates once the top layer is randomised; Guided Backprop stays similar
    until the first layers are (Adebayo et al. 2018, figure 2)."""
    report = embedded_report
    grad_cam = dict(report.spearman("grad_cam"))
    guided = [rho for _, rho in report.spearman("guided_backprop")]
    top = report.layers[0]
    print("\n" + report.table())
    assert grad_cam[top] < 0.3                                         # the head alone destroys Grad-CAM
    assert all(rho > 0.45 for rho in guided[:-1])                      # Guided Backprop: still similar...
    assert guided[-1] < guided[0] - 0.3                                # ...until the first layer goes
    assert all(abs(rho) < 0.3 for _, rho in report.spearman("grad_cam"))


def test_the_report_draws_the_papers_figure(embedded_report):
    picture = decode_png(embedded_report.to_png())
    columns, rows = len(embedded_report.layers) + 1, len(embedded_report.methods)   # the maps, and the curve
    assert picture.shape[:2] == (round(110 * (1.3 * rows + 0.6)), round(110 * (1.3 * columns + 4)))
    assert picture.std() > 10
    assert (picture[..., :3].max(axis=2) - picture[..., :3].min(axis=2) > 60).mean() > 0.002   # coloured curves


def test_an_inspectors_chosen_output_is_kept_on_the_copy():
    """On a two-output model the copy reads the inspector's output (5 classes), not the first (2)."""
    import keras

    keras.utils.set_random_seed(9)
    inp = keras.Input((16, 16, 3))
    features = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inp)
    pooled = keras.layers.GlobalAveragePooling2D()(features)
    two = keras.layers.Dense(2, activation="softmax", name="two")(pooled)
    five = keras.layers.Dense(5, activation="softmax", name="five")(pooled)
    inspector = cw.ModelInspector(keras.Model(inp, [two, five]), output="five", preprocess="none")
    x = images(2, 16, seed=3)
    report = cw.sanity_check(inspector, x, ["grad_cam"], class_index=4)
    assert report.layers == ("five", "conv")
    np.testing.assert_allclose(report.original["grad_cam"], cw.heatmap(inspector, x, "grad_cam", 4), atol=1e-6)


def test_each_row_of_maps_is_drawn_on_one_scale_in_the_methods_units(embedded_report):
    """The trained map and its randomised versions share one colour scale (as the randomise toggle
    draws them): a randomised map with a smaller peak looks dimmer instead of stretched."""
    report = embedded_report
    for method in report.methods:
        top = report.shared_scale(method)
        peaks = np.concatenate([report.original_peaks[method][:1], report.randomised_peaks[method]])
        assert top == pytest.approx(float(peaks.max())) and top > 0
        shown = report.on_shared_scale(method)
        np.testing.assert_allclose(shown.reshape(len(shown), -1).max(axis=1), peaks / top, atol=1e-6)
        assert shown.max() == pytest.approx(1.0)
        weakest = int(np.argmin(peaks))
        assert shown[weakest].max() < 1.0 or peaks.min() == peaks.max()
    # the [0, 1] maps are unchanged: the function's own maps
    assert report.original["grad_cam"].reshape(8, -1).max(axis=1) == pytest.approx(1.0)
