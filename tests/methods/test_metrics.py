"""Pointing game and map normalisation on hand-made arrays."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz_widgets import ArgumentError
from cnnviz_widgets.methods import pointing_game
from cnnviz_widgets.methods.cams import normalize_maps


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
