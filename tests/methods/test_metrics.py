"""Pointing game and map normalisation on hand-made arrays."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz_widgets import ArgumentError
from cnnviz_widgets.methods import normalize_maps, pointing_game


def test_pointing_game_hits_and_misses():
    maps = np.zeros((3, 5, 5))
    masks = np.zeros((3, 5, 5), bool)
    maps[0, 1, 1] = 1
    masks[0, 1, 1] = True  # hit
    maps[1, 4, 4] = 1
    masks[1, 0, 0] = True  # miss
    maps[2, 2, 2] = 1
    masks[2, 2, 3] = True  # miss, but within 1 px
    assert pointing_game(maps, masks).tolist() == [True, False, False]
    assert pointing_game(maps, masks, tolerance=1).tolist() == [True, False, True]
    with pytest.raises(ArgumentError, match=r"\(N, H, W\)"):
        pointing_game(maps[0], masks[0])


def test_normalize_maps_relu_scale_and_zero_maps():
    maps = np.array([[[-1.0, 2.0], [4.0, 0.0]], [[-3.0, -1.0], [0.0, 0.0]]])
    with np.errstate(all="raise"):
        out = normalize_maps(maps)
    np.testing.assert_allclose(out[0], [[0, 0.5], [1, 0]])
    np.testing.assert_array_equal(out[1], 0)
    assert out.dtype == np.float32


def test_perturbation_curves_run_from_the_image_to_the_baseline():
    from cnnviz_widgets.methods import perturbation_curve
    from tests.conftest import tiny_functional
    from tests.methods.tiny_models import images

    model = tiny_functional()
    x = images(2, 32, seed=1)
    heat = np.random.default_rng(0).random((2, 32, 32)).astype(np.float32)
    probs = np.array(model(x))[:, 1]
    baseline = np.array(model(np.zeros_like(x)))[:, 1]
    deletion = perturbation_curve(model, x, heat, 1, mode="deletion", steps=8, batch_size=3)
    insertion = perturbation_curve(model, x, heat, 1, mode="insertion", steps=8, baseline=0.0)
    assert deletion.shape == insertion.shape == (2, 9)
    np.testing.assert_allclose(deletion[:, 0], probs, rtol=1e-5)
    np.testing.assert_allclose(deletion[:, -1], baseline, rtol=1e-5)
    np.testing.assert_allclose(insertion[:, 0], baseline, rtol=1e-5)
    np.testing.assert_allclose(insertion[:, -1], probs, rtol=1e-5)
    # step 3 of 8: the 3/8 most salient pixels are hidden
    hidden = x.copy()
    order = np.argsort(-heat[0].ravel(), kind="stable")[:384]
    hidden[0].reshape(-1, 3)[order] = 0
    np.testing.assert_allclose(deletion[0, 3], np.array(model(hidden[:1]))[0, 1], rtol=1e-5)


def test_auc_is_the_normalised_trapezoid_of_the_curve():
    from cnnviz_widgets.methods import deletion_auc, insertion_auc, perturbation_curve
    from tests.conftest import tiny_functional
    from tests.methods.tiny_models import images

    model = tiny_functional()
    x = images(1, 32, seed=2)
    heat = np.random.default_rng(1).random((1, 32, 32))
    curve = perturbation_curve(model, x, heat, 0, mode="deletion", steps=4)[0]
    expected = (curve[0] / 2 + curve[1:-1].sum() + curve[-1] / 2) / 4
    np.testing.assert_allclose(deletion_auc(model, x, heat, 0, steps=4), [expected], rtol=1e-5)
    curve = perturbation_curve(model, x, heat, 0, mode="insertion", steps=4)[0]
    expected = (curve[0] / 2 + curve[1:-1].sum() + curve[-1] / 2) / 4
    np.testing.assert_allclose(insertion_auc(model, x, heat, 0, steps=4), [expected], rtol=1e-5)
    with pytest.raises(ArgumentError, match=r"heatmaps must have shape \(1, 32, 32\)"):
        deletion_auc(model, x, heat[0], 0)
    with pytest.raises(ArgumentError, match="mode"):
        perturbation_curve(model, x, heat, 0, mode="both")


def test_pointing_game_points_at_the_centre_of_a_plateau():
    heat = np.zeros((1, 8, 8))
    heat[0, 2:6, 2:6] = 1  # a 4x4 plateau: its top-left corner is off the object, its centre on it
    mask = np.zeros((1, 8, 8), bool)
    mask[0, 3:5, 3:5] = True
    assert pointing_game(heat, mask).tolist() == [True]
