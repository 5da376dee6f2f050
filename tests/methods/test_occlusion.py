"""Occlusion against a naive one-patch-at-a-time loop."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz_widgets import ArgumentError
from cnnviz_widgets.methods import occlusion, occlusion_sweep, patch_positions
from cnnviz_widgets.methods._maps import gaussian_blur
from tests.conftest import tiny_functional, tutorial_sequential
from tests.methods.tiny_models import images, nested_transfer_model


def naive_occlusion(model, x, classes, patch, stride, fill_of):
    """Seed 004's loop, one model call per patch, overlapping patches averaged by hand."""
    n, h, w, _ = x.shape
    out = np.zeros((n, h, w))
    for i in range(n):
        intact = np.array(model(x[i:i + 1]))[0, classes[i]]
        fill = fill_of(x[i:i + 1])[0]
        total, count = np.zeros((h, w)), np.zeros((h, w))
        rows = sorted(set(list(range(0, h - patch + 1, stride)) + [h - patch]))
        cols = sorted(set(list(range(0, w - patch + 1, stride)) + [w - patch]))
        for r in rows:
            for c in cols:
                hidden = x[i].copy()
                hidden[r:r + patch, c:c + patch] = fill[r:r + patch, c:c + patch]
                drop = intact - np.array(model(hidden[None]))[0, classes[i]]
                total[r:r + patch, c:c + patch] += drop
                count[r:r + patch, c:c + patch] += 1
        out[i] = total / count
    return out


FILLS = {
    "constant": (0.5, lambda im: np.full_like(im, 0.5)),
    "per_channel": ((0.9, 0.5, 0.1), lambda im: np.broadcast_to(np.array([0.9, 0.5, 0.1], np.float32), im.shape)),
    "mean": ("mean", lambda im: np.broadcast_to(im.mean(axis=(1, 2), keepdims=True), im.shape)),
    "blur": ("blur", lambda im: gaussian_blur(im, sigma=im.shape[1] / 20)),
}


@pytest.mark.parametrize("fill", list(FILLS))
@pytest.mark.parametrize("patch,stride", [(8, 8), (10, 4)])
def test_occlusion_equals_the_naive_loop(fill, patch, stride):
    model = tiny_functional()
    x, classes = images(2, 32, seed=1), np.array([0, 2])
    value, fill_of = FILLS[fill]
    expected = naive_occlusion(model, x, classes, patch, stride, fill_of)
    got = occlusion(model, x, classes, patch=patch, stride=stride, fill=value, batch_size=5)
    np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("factory,size", [(nested_transfer_model, 32), (tutorial_sequential, 48)],
                         ids=["nested", "sequential_without_input"])
def test_occlusion_on_nested_and_input_less_models(factory, size):
    model = factory()
    x = images(1, size, seed=2)
    classes = np.array(model(x)).argmax(1)
    expected = naive_occlusion(model, x, classes, 12, 12, lambda im: np.zeros_like(im))
    np.testing.assert_allclose(occlusion(model, x, None, patch=12, fill=0.0), expected, atol=1e-5)


def test_the_sweep_keeps_the_coarse_grid_and_each_steps_probability():
    model = tiny_functional()
    x = images(1, 32, seed=3)
    steps = []
    sweep = occlusion_sweep(model, x, 1, patch=8, stride=8, fill=0.0, batch_size=6,
                            progress=lambda done, total: steps.append((done, total)))
    assert sweep.grid.shape == sweep.probabilities.shape == (1, 4, 4)
    assert sweep.rows.tolist() == sweep.cols.tolist() == [0, 8, 16, 24]
    intact = np.array(model(x))[0, 1]
    np.testing.assert_allclose(sweep.intact, [intact], rtol=1e-6)
    np.testing.assert_allclose(sweep.grid, intact - sweep.probabilities, atol=1e-7)
    # without overlap, the heatmap is the grid blown up to patch blocks
    np.testing.assert_allclose(sweep.heatmap[0], np.kron(sweep.grid[0], np.ones((8, 8))), atol=1e-7)
    hidden = x.copy()
    hidden[0, 8:16, 16:24] = 0
    np.testing.assert_allclose(sweep.probabilities[0, 1, 2], np.array(model(hidden))[0, 1], atol=1e-6)
    assert steps == [(6, 16), (12, 16), (16, 16)]


def test_patch_positions_reach_the_far_border():
    assert patch_positions(32, 8, 8).tolist() == [0, 8, 16, 24]
    assert patch_positions(30, 8, 8).tolist() == [0, 8, 16, 22]
    assert patch_positions(10, 4, 3).tolist() == [0, 3, 6]
    assert patch_positions(8, 20, 4).tolist() == [0]


def test_occlusion_arguments_are_checked():
    model = tiny_functional()
    x = images(1, 32)
    with pytest.raises(ArgumentError, match="patch must be a positive int"):
        occlusion(model, x, patch=0)
    with pytest.raises(ArgumentError, match="fill must be"):
        occlusion(model, x, fill="grey")
    with pytest.raises(ArgumentError, match="3 numbers"):
        occlusion(model, x, fill=(1.0, 2.0))
