"""The render layer: exact pixels from known arrays."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib import colormaps

from cnnviz_widgets.errors import ArgumentError
from cnnviz_widgets.render import (
    channel_grid,
    colorize,
    colormap_lut,
    decode_png,
    draw_box,
    mask_view,
    normalize,
    normalize_channels,
    overlay,
    resize,
    tile_at,
    tile_grid,
    to_png,
)


def test_normalize_range_constant_and_fixed_bounds():
    values = np.array([[2.0, 4.0], [6.0, 10.0]])
    np.testing.assert_allclose(normalize(values), [[0, 0.25], [0.5, 1.0]])
    assert normalize(np.full((3, 3), 7.0)).max() == 0.0
    np.testing.assert_allclose(normalize(values, low=4.0, high=8.0), [[0, 0], [0.5, 1.0]])
    with pytest.raises(ArgumentError, match="NaN"):
        normalize(np.array([1.0, np.nan]))


def test_normalize_channels_per_channel_and_shared():
    maps = np.zeros((4, 4, 3), np.float32)
    maps[..., 0] = np.arange(16).reshape(4, 4)          # 0..15
    maps[..., 1] = np.arange(16).reshape(4, 4) * 0.1    # 0..1.5, weak
    per = normalize_channels(maps)
    assert per[..., 0].max() == 1.0 and per[..., 1].max() == pytest.approx(1.0)
    assert per[..., 2].max() == 0.0  # blank channel stays black
    shared = normalize_channels(maps, "shared")
    assert shared[..., 1].max() == pytest.approx(0.1)
    with pytest.raises(ArgumentError, match="per_channel"):
        normalize_channels(maps, "global")


def test_colormap_lut_matches_matplotlib_and_rejects_unknown_names():
    lut = colormap_lut("viridis")
    assert lut.shape == (256, 3) and lut.dtype == np.uint8
    expected = np.round(np.asarray(colormaps["viridis"](1.0)[:3]) * 255)
    np.testing.assert_array_equal(lut[255], expected)
    np.testing.assert_array_equal(colorize(np.array([0.0, 1.0]), "gray"), [[0, 0, 0], [255, 255, 255]])
    with pytest.raises(ArgumentError, match="Unknown colormap 'nope'"):
        colormap_lut("nope")


def test_overlay_blends_with_alpha_and_checks_shapes():
    image = np.full((2, 2, 3), 100, np.uint8)
    heat = np.array([[0.0, 1.0], [0.5, 1.0]], np.float32)
    np.testing.assert_array_equal(overlay(image, heat, 0.0, "gray"), image)
    np.testing.assert_array_equal(overlay(image, heat, 1.0, "gray")[0, 1], [255, 255, 255])
    np.testing.assert_array_equal(overlay(image, heat, 0.5, "gray")[0, 1], [178, 178, 178])  # (100+255)/2
    with pytest.raises(ArgumentError, match="same size"):
        overlay(image, np.zeros((3, 3)), 0.5)
    with pytest.raises(ArgumentError, match="alpha"):
        overlay(image, heat, 1.5)


def test_mask_view_keeps_important_pixels_and_hides_the_rest():
    image = np.full((2, 2, 3), 200, np.uint8)
    out = mask_view(image, np.array([[1.0, 0.0], [0.5, 0.0]]))
    assert out[0, 0, 0] == 200 and out[0, 1, 0] == 0 and out[1, 0, 0] == 100


def test_tile_grid_places_tiles_with_margins_and_labels():
    tiles = np.stack([np.full((4, 5, 3), 10 * (i + 1), np.uint8) for i in range(5)])
    grid = tile_grid(tiles, per_row=2, margin=3, background=(0, 0, 0))
    assert grid.shape == (3 * (4 + 3) + 3, 2 * (5 + 3) + 3, 3)
    np.testing.assert_array_equal(grid[3:7, 3:8], tiles[0])          # first tile after the margin
    np.testing.assert_array_equal(grid[3 + 7:7 + 7, 3 + 8:8 + 8], tiles[3])  # row 1, column 1
    assert grid[0:3].max() == 0                                       # margin is background
    labelled = tile_grid(np.zeros((2, 16, 48, 3), np.uint8), labels=["a1", "b2"], margin=2)
    assert labelled.shape[0] == 2 + 16 + 12 + 2
    under_first = labelled[2 + 16:2 + 16 + 12, 2:50]
    assert (under_first < 128).any()   # dark text on the white background
    with pytest.raises(ArgumentError, match="labels"):
        tile_grid(tiles, labels=["x"])


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 13), h=st.integers(1, 9), w=st.integers(1, 9), per_row=st.integers(1, 6),
       margin=st.integers(0, 4), data=st.data())
def test_tile_at_finds_the_tile_drawn_under_a_pixel(n, h, w, per_row, margin, data):
    """Every pixel of a tile_grid picture maps back to the tile drawn there; margins map to None."""
    tiles = np.stack([np.full((h, w, 3), i + 1, np.uint8) for i in range(n)])
    grid = tile_grid(tiles, per_row=per_row, margin=margin, background=(0, 0, 0))
    for _ in range(20):
        y = data.draw(st.integers(0, grid.shape[0] - 1))
        x = data.draw(st.integers(0, grid.shape[1] - 1))
        drawn = int(grid[y, x, 0])
        found = tile_at((x + 0.5, y + 0.5), n, (h, w), per_row=per_row, margin=margin)
        assert found == (drawn - 1 if drawn else None), (x, y)
    assert tile_at((-1, 0), n, (h, w), per_row=per_row, margin=margin) is None
    assert tile_at((grid.shape[1] + 5, margin), n, (h, w), per_row=per_row, margin=margin) is None


def test_tile_at_counts_a_label_as_its_tile():
    grid = tile_grid(np.zeros((3, 16, 20, 3), np.uint8), labels=["a", "b", "c"], per_row=2, margin=2)
    assert grid.shape[0] == 2 * (16 + 12 + 2) + 2
    assert tile_at((2 + 22 + 5, 2 + 16 + 6), 3, (16, 20), per_row=2, margin=2, labelled=True) == 1   # b's label
    assert tile_at((5, 2 + 30 + 3), 3, (16, 20), per_row=2, margin=2, labelled=True) == 2            # c, row 2
    assert tile_at((2 + 22 + 5, 2 + 30 + 3), 3, (16, 20), per_row=2, margin=2, labelled=True) is None   # no 4th
    assert tile_at((float("nan"), 3), 3, (16, 20), per_row=2, margin=2, labelled=True) is None


def test_channel_grid_downsamples_large_maps_and_keeps_small_ones():
    small = np.random.default_rng(0).random((14, 14, 512)).astype(np.float32)
    grid = channel_grid(small, per_row=16, margin=1)
    assert grid.shape == (32 * 15 + 1, 16 * 15 + 1, 3)
    large = np.random.default_rng(1).random((224, 224, 64)).astype(np.float32)
    grid = channel_grid(large, per_row=16, thumb=64, margin=1)
    assert grid.shape == (4 * 65 + 1, 16 * 65 + 1, 3)
    # a channel that is 1 on its left half shows bright on the left of its thumbnail
    maps = np.zeros((8, 8, 2), np.float32)
    maps[:, :4, 0] = 1.0
    grid = channel_grid(maps, colormap="gray", margin=0)
    assert grid[0, 0, 0] == 255 and grid[0, 7, 0] == 0 and grid[:, 8:].max() == 0


def test_png_round_trip_scaling_and_errors():
    image = np.random.default_rng(2).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    np.testing.assert_array_equal(decode_png(to_png(image)), image)
    big = decode_png(to_png(image, scale=4))
    assert big.shape == (20, 28, 3)
    np.testing.assert_array_equal(big[::4, ::4], image)  # nearest neighbour keeps crisp squares
    assert decode_png(to_png(image, scale=10, max_side=35)).shape == (25, 35, 3)
    assert resize(image, (10, 14), "nearest").shape == (10, 14, 3)
    with pytest.raises(ArgumentError, match="uint8"):
        to_png(image.astype(np.float32))


def test_draw_box_outlines_and_fills():
    image = np.zeros((10, 10, 3), np.uint8)
    fill = np.full((10, 10, 3), 50, np.uint8)
    out = draw_box(image, 2, 3, 4, 5, color=(255, 0, 0), fill=fill)
    np.testing.assert_array_equal(out[2, 3], [255, 0, 0])      # outline corner
    np.testing.assert_array_equal(out[4, 5], [50, 50, 50])     # filled inside
    np.testing.assert_array_equal(out[0, 0], [0, 0, 0])        # untouched outside
    assert image.max() == 0                                    # input not modified
