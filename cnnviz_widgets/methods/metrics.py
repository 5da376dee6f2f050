"""Faithfulness metrics for heatmaps."""

from __future__ import annotations

import numpy as np

from cnnviz_widgets.errors import ArgumentError


def pointing_game(heatmaps: np.ndarray, masks: np.ndarray, *, tolerance: int = 0) -> np.ndarray:
    """Whether each heatmap's peak falls on its object.

    Args:
        heatmaps: float (N, H, W).
        masks: bool (N, H, W), True on the object.
        tolerance: a hit also counts when the peak lies within this many pixels of the mask.

    Returns:
        bool (N,): True where the argmax of the heatmap is inside (or near) the mask.
    """
    heatmaps = np.asarray(heatmaps)
    masks = np.asarray(masks, bool)
    if heatmaps.shape != masks.shape or heatmaps.ndim != 3:
        raise ArgumentError(f"heatmaps and masks must both be (N, H, W); got {heatmaps.shape} and {masks.shape}")
    n, h, w = heatmaps.shape
    flat = heatmaps.reshape(n, -1).argmax(axis=1)
    rows, cols = np.divmod(flat, w)
    hits = np.empty(n, bool)
    for i, (r, c) in enumerate(zip(rows, cols)):
        window = masks[i, max(r - tolerance, 0): r + tolerance + 1, max(c - tolerance, 0): c + tolerance + 1]
        hits[i] = window.any()
    return hits
