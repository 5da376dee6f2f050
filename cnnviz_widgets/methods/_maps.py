"""Array helpers shared by the methods: fills that hide pixels, blur, upsampling, and the last
step of every map (ReLU and scaling, or the raw values)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from keras import ops

from cnnviz_widgets.errors import ArgumentError


def fill_image(x: np.ndarray, fill: float | Sequence[float] | str) -> np.ndarray:
    """What replaces hidden pixels, in the value space of ``x`` (N, H, W, C).

    ``fill`` is a number, one number per channel, ``"mean"`` (each image's channel means) or
    ``"blur"`` (a Gaussian-blurred copy, sigma = 1/20 of the image side).
    """
    if isinstance(fill, str):
        if fill == "mean":
            return np.broadcast_to(x.mean(axis=(1, 2), keepdims=True), x.shape).astype(np.float32)
        if fill == "blur":
            return gaussian_blur(x, sigma=max(x.shape[1], x.shape[2]) / 20.0)
        raise ArgumentError(f"fill must be a number, one number per channel, 'mean' or 'blur'; got {fill!r}")
    value = np.asarray(fill, np.float32)
    if value.ndim == 0 or value.shape == (x.shape[3],):
        return np.broadcast_to(value, x.shape).astype(np.float32)
    raise ArgumentError(f"fill must be a number or {x.shape[3]} numbers (one per channel); got {fill!r}")


def gaussian_blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of a batch (N, H, W, C) over H and W, reflecting at the borders."""
    radius = max(int(3 * sigma), 1)
    t = np.arange(-radius, radius + 1, dtype=np.float32)
    kernel = np.exp(-0.5 * (t / sigma) ** 2)
    kernel /= kernel.sum()
    out = np.asarray(x, np.float32)
    for axis in (1, 2):
        pad = [(0, 0)] * 4
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="reflect" if out.shape[axis] > radius else "edge")
        windows = np.lib.stride_tricks.sliding_window_view(padded, len(kernel), axis=axis)
        out = windows @ kernel
    return out.astype(np.float32)


def upsample(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of (N, h, w) maps to (N, H, W) (half-pixel centres, as tf.image.resize)."""
    maps = np.asarray(maps, np.float32)
    if maps.shape[1:] == tuple(size):
        return maps
    return ops.convert_to_numpy(resize_maps(maps, size))


def resize_maps(maps, size: tuple[int, int]):
    """Bilinear resize of (N, h, w) maps (a tensor, inside compiled functions too) to (N, H, W)."""
    return ops.image.resize(maps[..., None], size, interpolation="bilinear")[..., 0]


def normalize_maps(maps: np.ndarray) -> np.ndarray:
    """ReLU, then scale each map of (N, H, W) to [0, 1] by its peak; an all-zero map stays zero."""
    maps = np.maximum(np.asarray(maps, np.float32), 0)
    peak = maps.reshape(len(maps), -1).max(axis=1)
    scale = np.where(peak > 0, peak, 1.0).astype(np.float32)
    return maps / scale[:, None, None]


Raw = bool | Literal["unscaled"]
"""A method's ``raw`` argument: False for the [0, 1] map, True for the signed values before ReLU
and scaling, ``"unscaled"`` for the map after ReLU in the method's own units, before it is divided
by its peak (the [0, 1] map times that peak; what a colour bar with real values needs)."""


def check_raw(raw: object) -> None:
    """Refuse a ``raw`` that is not False, True or ``"unscaled"``."""
    if raw is not True and raw is not False and raw != "unscaled":
        raise ArgumentError(f"raw must be False, True or 'unscaled'; got {raw!r}")


def finish(maps: np.ndarray, raw: Raw) -> np.ndarray:
    """A method's last step: the signed float32 maps themselves when ``raw`` is True, the ReLU'd
    maps in their own units for ``"unscaled"``, else :func:`normalize_maps` (ReLU, scaled to
    [0, 1] per map)."""
    if raw is True:
        return np.asarray(maps, np.float32)
    return np.maximum(np.asarray(maps, np.float32), 0) if raw == "unscaled" else normalize_maps(maps)
