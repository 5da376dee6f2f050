"""Tiled grids: many small images (channels, filters, methods) in one picture with labels."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from cnnviz_widgets.errors import ArgumentError
from cnnviz_widgets.render.color import colormap_lut, normalize_channels
from cnnviz_widgets.render.png import resize

LABEL_HEIGHT = 12


def tile_grid(tiles: np.ndarray | Sequence[np.ndarray], *, per_row: int = 8, margin: int = 2,
              background: tuple[int, int, int] = (255, 255, 255), labels: Sequence[str] | None = None) -> np.ndarray:
    """Arrange equally sized uint8 tiles (N, h, w, 3) in rows, with margins and small labels.

    Args:
        per_row: tiles per row (the last row may be short).
        margin: pixels between tiles and around the grid (the stitched filter atlases of the tutorials use 5).
        labels: one short text per tile, drawn under it.

    Returns:
        uint8 (rows * (h + margin [+ label]) + margin, per_row * (w + margin) + margin, 3).
    """
    tiles = np.asarray(tiles)
    if tiles.ndim == 3:
        tiles = np.repeat(tiles[..., None], 3, axis=-1)
    if tiles.ndim != 4 or tiles.shape[-1] != 3 or tiles.dtype != np.uint8 or len(tiles) == 0:
        raise ArgumentError(f"Expected uint8 tiles (N, h, w, 3) with N >= 1; got {tiles.dtype} {tiles.shape}")
    if per_row < 1 or margin < 0:
        raise ArgumentError(f"per_row must be >= 1 and margin >= 0; got {per_row}, {margin}")
    if labels is not None and len(labels) != len(tiles):
        raise ArgumentError(f"Got {len(labels)} labels for {len(tiles)} tiles")
    n, h, w = tiles.shape[:3]
    cols, rows, cell_h, cell_w = _grid_cells(n, (h, w), per_row, margin, labels is not None)
    grid = np.empty((rows * cell_h + margin, cols * cell_w + margin, 3), np.uint8)
    grid[:] = background
    for i in range(n):
        r, c = divmod(i, cols)
        top, left = margin + r * cell_h, margin + c * cell_w
        grid[top:top + h, left:left + w] = tiles[i]
    if labels is not None:
        pil = Image.fromarray(grid)
        draw = ImageDraw.Draw(pil)
        font = ImageFont.load_default()
        ink = (0, 0, 0) if sum(background) > 380 else (255, 255, 255)
        for i, text in enumerate(labels):
            r, c = divmod(i, cols)
            draw.text((margin + c * cell_w + 1, margin + r * cell_h + h), str(text)[: max(1, w // 6)],
                      fill=ink, font=font)
        grid = np.asarray(pil)
    return grid


def _grid_cells(n: int, tile: tuple[int, int], per_row: int, margin: int, labelled: bool) -> tuple[int, int, int, int]:
    """(columns, rows, cell height, cell width) of :func:`tile_grid`'s layout for ``n`` tiles (h, w)."""
    cols = min(per_row, n)
    return cols, -(-n // cols), tile[0] + (LABEL_HEIGHT if labelled else 0) + margin, tile[1] + margin


def tile_box(index: int, n: int, tile: tuple[int, int], *, per_row: int = 8, margin: int = 2,
             labelled: bool = False) -> tuple[int, int, int, int]:
    """(top, left, height, width) in pixels of tile ``index`` (its label included) in a
    :func:`tile_grid` picture of ``n`` tiles of size ``tile`` = (h, w)."""
    if not 0 <= index < n:
        raise ArgumentError(f"Tile {index} is not among the {n} tiles")
    cols, _, cell_h, cell_w = _grid_cells(n, tile, per_row, margin, labelled)
    row, column = divmod(index, cols)
    return margin + row * cell_h, margin + column * cell_w, cell_h - margin, tile[1]


def tile_at(point: tuple[float, float], n: int, tile: tuple[int, int], *, per_row: int = 8, margin: int = 2,
            labelled: bool = False) -> int | None:
    """Index of the tile under ``point`` = (x, y) in pixels of a :func:`tile_grid` picture of ``n``
    tiles of size ``tile`` = (h, w) (same ``per_row``, ``margin``, labels or not), or None for a
    margin or a point outside the tiles (a tile's label counts as the tile)."""
    if n < 1:
        return None
    cols, rows, cell_h, cell_w = _grid_cells(n, tile, per_row, margin, labelled)
    x, y = float(point[0]) - margin, float(point[1]) - margin
    if not (np.isfinite(x) and np.isfinite(y)) or x < 0 or y < 0:
        return None
    column, row = int(x // cell_w), int(y // cell_h)
    inside = x - column * cell_w < tile[1] and y - row * cell_h < cell_h - margin
    index = row * cols + column
    return index if inside and column < cols and index < n else None


def enlarge(tiles: np.ndarray, side: int) -> np.ndarray:
    """Nearest-neighbour enlargement of uint8 tiles (N, h, w, 3) by the whole factor that brings
    their longest side closest to ``side`` without passing it (never shrinks)."""
    factor = max(1, side // max(tiles.shape[1:3]))
    return np.repeat(np.repeat(tiles, factor, axis=1), factor, axis=2) if factor > 1 else tiles


def channel_grid(maps: np.ndarray, *, colormap: str = "viridis", normalization: str = "per_channel",
                 per_row: int = 16, thumb: int = 64, margin: int = 1) -> np.ndarray:
    """Every channel of a feature map (H, W, C) as coloured thumbnails in one grid (the view of
    the Keras tutorial on intermediate activations).

    Thumbnails larger than ``thumb`` pixels are box-downsampled, so a 512-channel layer or a
    224x224 map stays a picture of about ``per_row * thumb`` pixels wide; smaller maps are
    shown at their own size.

    Returns:
        uint8 RGB grid on a dark background.
    """
    scaled = normalize_channels(maps, normalization)
    h, w, _ = scaled.shape
    index = np.moveaxis((scaled * 255.0 + 0.5).astype(np.uint8), -1, 0)  # (C, H, W) colour indices
    factor = min(1.0, thumb / max(h, w))
    if factor < 1.0:
        size = (max(1, round(h * factor)), max(1, round(w * factor)))
        index = np.stack([resize(channel, size, "box") for channel in index])
    tiles = colormap_lut(colormap)[index]
    return tile_grid(tiles, per_row=per_row, margin=margin, background=(32, 32, 32))
