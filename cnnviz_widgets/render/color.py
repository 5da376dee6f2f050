"""Normalisation and colour: float maps to uint8 RGB through matplotlib colormaps."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from matplotlib import colormaps

from cnnviz_widgets.errors import ArgumentError

COLORMAPS: tuple[str, ...] = ("viridis", "magma", "inferno", "plasma", "cividis", "jet", "turbo", "gray", "RdBu_r")
"""Colormaps offered by the widgets (any name in ``matplotlib.colormaps`` is accepted)."""


def normalize(values: np.ndarray, *, low: float | None = None, high: float | None = None) -> np.ndarray:
    """Min-max scale ``values`` (any shape) to float32 [0, 1]; a constant array gives zeros.

    ``low``/``high`` fix the range instead of taking the array's own (values outside are clipped).
    """
    values = np.asarray(values, np.float32)
    lo = float(np.min(values)) if low is None else float(low)
    hi = float(np.max(values)) if high is None else float(high)
    if not np.isfinite(lo) or not np.isfinite(hi):
        raise ArgumentError("Cannot normalise an array holding NaN or infinite values")
    if hi <= lo:
        return np.zeros(values.shape, np.float32)
    return np.clip((values - lo) / (hi - lo), 0.0, 1.0, dtype=np.float32)


NEGLIGIBLE = 1e-6
"""A channel whose largest absolute value is below this fraction of its layer's is *near blank*:
drawn blank rather than stretched (a maximum of 1e-11 is rounding noise, not a feature)."""


def near_blank_channels(maps: np.ndarray) -> np.ndarray:
    """bool (C,): the channels of a feature map (H, W, C) whose largest absolute value is
    negligible (:data:`NEGLIGIBLE`) against the layer's; an all-zero layer is all near blank."""
    maps = np.asarray(maps, np.float32)
    peaks = np.abs(maps).max(axis=(0, 1))
    return peaks <= NEGLIGIBLE * float(peaks.max(initial=0.0))


def normalize_channels(maps: np.ndarray, mode: str = "per_channel") -> np.ndarray:
    """Scale a feature map (H, W, C) to [0, 1] channel by channel or with one shared range.

    ``"per_channel"`` follows the Keras tutorials (each channel stretched to its own range); blank
    and near-blank channels (:func:`near_blank_channels`) stay at 0 instead of being stretched.
    ``"shared"`` uses the layer's range, so weak channels look weak; ``"none"`` takes values already
    in [0, 1] (a page of a layer scaled to the whole layer's range).

    Returns:
        float32 (H, W, C) in [0, 1].
    """
    maps = np.asarray(maps, np.float32)
    if maps.ndim != 3:
        raise ArgumentError(f"Expected a feature map (H, W, C); got shape {maps.shape}")
    if mode == "shared":
        return normalize(maps)
    if mode == "none":
        return np.clip(maps, 0.0, 1.0)
    if mode != "per_channel":
        raise ArgumentError(f"normalization must be 'per_channel', 'shared' or 'none'; got {mode!r}")
    low = maps.min(axis=(0, 1), keepdims=True)
    span = maps.max(axis=(0, 1), keepdims=True) - low
    drawn = (span > 0) & ~near_blank_channels(maps)[None, None, :]
    return np.divide(maps - low, span, out=np.zeros_like(maps), where=drawn)


@lru_cache(maxsize=32)
def colormap_lut(name: str) -> np.ndarray:
    """The matplotlib colormap ``name`` as a uint8 lookup table (256, 3)."""
    try:
        cmap = colormaps[name]
    except KeyError:
        raise ArgumentError(f"Unknown colormap {name!r}; try one of {', '.join(COLORMAPS)}") from None
    lut = (cmap(np.linspace(0.0, 1.0, 256))[:, :3] * 255.0 + 0.5).astype(np.uint8)
    lut.flags.writeable = False
    return lut


def colorize(values01: np.ndarray, colormap: str = "viridis") -> np.ndarray:
    """Colour values in [0, 1] (any shape S) with a colormap: uint8 (*S, 3)."""
    index = (np.clip(np.asarray(values01, np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return colormap_lut(colormap)[index]


def _check_pair(image: np.ndarray, heat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    image = np.asarray(image)
    heat = np.asarray(heat, np.float32)
    if image.ndim != 3 or image.shape[-1] != 3 or heat.shape != image.shape[:2]:
        raise ArgumentError(f"Expected an RGB image (H, W, 3) and a heatmap (H, W) of the same size; "
                            f"got {image.shape} and {heat.shape}")
    return image.astype(np.float32), heat


def overlay(image: np.ndarray, heat01: np.ndarray, alpha: float = 0.5, colormap: str = "jet") -> np.ndarray:
    """Blend a coloured heatmap over an image: ``(1 - alpha) * image + alpha * colour(heat)``.

    Args:
        image: uint8 (H, W, 3).
        heat01: float (H, W) in [0, 1].
        alpha: weight of the heatmap, in [0, 1].

    Returns:
        uint8 (H, W, 3).
    """
    if not 0.0 <= alpha <= 1.0:
        raise ArgumentError(f"alpha must be in [0, 1]; got {alpha}")
    image, heat = _check_pair(image, heat01)
    blended = (1.0 - alpha) * image + alpha * colorize(heat, colormap).astype(np.float32)
    return (blended + 0.5).astype(np.uint8)


def mask_view(image: np.ndarray, heat01: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """The image dimmed where the heatmap is low (the mask view of occlusion tutorials): ``image * heat``.

    ``floor`` keeps a little of the hidden parts visible (0 hides them completely).
    """
    image, heat = _check_pair(image, heat01)
    weight = floor + (1.0 - floor) * np.clip(heat, 0.0, 1.0)
    return (image * weight[..., None] + 0.5).astype(np.uint8)
