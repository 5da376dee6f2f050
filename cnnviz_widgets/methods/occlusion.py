"""Occlusion sensitivity (Zeiler and Fergus 2014; seed 004's sweep).

A patch slides over the image; at each position the hidden pixels are replaced by a fill
and the class probability is measured. Sensitivity is the probability of the intact image
minus that of the occluded one: positive where hiding the pixels hurts the class. All
occluded copies of an image go through one compiled function in chunks (the occluded
images are built inside the graph from the image, the fill and a batch of patch masks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cnnviz_widgets.errors import ArgumentError
from cnnviz_widgets.methods._access import (
    ClassIndex,
    ModelLike,
    Progress,
    blend_probability_fn,
    chunk_size,
    class_indices,
    fill_image,
    predict_probabilities,
    prepare,
)


@dataclass(frozen=True)
class OcclusionSweep:
    """Everything an occlusion sweep measured.

    Attributes:
        heatmap: float32 (N, H, W): sensitivity per pixel, averaged over the patches covering it
            (0 where none does: a stride larger than the patch); in [-1, 1] (not rescaled).
        grid: float32 (N, rows, cols): sensitivity of each patch position (the coarse map).
        probabilities: float32 (N, rows, cols): class probability with the patch at each position.
        intact: float32 (N,): class probability of the intact image.
        rows, cols: int (rows,), (cols,): top and left edge of the patches.
        patch: (height, width) of the patch in pixels.
        classes: int32 (N,): the class explained for each image.
    """

    heatmap: np.ndarray
    grid: np.ndarray
    probabilities: np.ndarray
    intact: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    patch: tuple[int, int]
    classes: np.ndarray


def patch_positions(length: int, patch: int, stride: int) -> np.ndarray:
    """Start offsets of a patch sliding over ``length`` pixels; the last patch ends at the border."""
    if patch >= length:
        return np.zeros(1, np.int64)
    starts = list(range(0, length - patch + 1, stride))
    if starts[-1] + patch < length:
        starts.append(length - patch)
    return np.asarray(starts, np.int64)


def _pair(value: int | Sequence[int], name: str, limit: tuple[int, int]) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and v >= 1 for v in pair):
        raise ArgumentError(f"{name} must be a positive int or (height, width); got {value!r}")
    return min(int(pair[0]), limit[0]), min(int(pair[1]), limit[1])


def occlusion_sweep(model: ModelLike, x: np.ndarray, class_index: ClassIndex = None, *,
                    patch: int | Sequence[int] | None = None, stride: int | Sequence[int] | None = None,
                    fill: float | Sequence[float] | str = "mean", batch_size: int | None = None,
                    progress: Progress = None) -> OcclusionSweep:
    """Slide a patch over each image and record the class probability at every position.

    Args:
        model: a Keras model or a ModelInspector.
        x: model-ready float32 batch (N, H, W, C).
        class_index: an int, one int per image, or None for each image's top class.
        patch: patch size in pixels, an int or (height, width); default 1/8 of the image side.
        stride: step between patches; default the patch size (no overlap). A stride smaller than
            the patch makes overlapping patches, averaged in the heatmap.
        fill: what hides the pixels, in the value space of ``x``: a number, one number per
            channel, ``"mean"`` (the image's channel means) or ``"blur"`` (a blurred copy).
        batch_size: occluded images per compiled call (default: what fits in memory).
        progress: ``progress(done, total)`` after each chunk, counted in occluded images.

    Returns:
        An :class:`OcclusionSweep`.
    """
    graph, x = prepare(model, x)
    n, h, w = x.shape[:3]
    if patch is None:
        patch = max(1, round(min(h, w) / 8))
    ph, pw = _pair(patch, "patch", (h, w))
    sh, sw = _pair(stride if stride is not None else (ph, pw), "stride", (h, w))
    intact_probs = predict_probabilities(graph, x)
    classes = class_indices(graph, x, class_index, intact_probs)
    fills = fill_image(x, fill)
    rows, cols = patch_positions(h, ph, sh), patch_positions(w, pw, sw)
    positions = [(r, c) for r in rows for c in cols]
    size = batch_size or chunk_size(graph)
    blend = blend_probability_fn(graph)
    intact = intact_probs[np.arange(n), classes]

    probabilities = np.zeros((n, len(positions)), np.float32)
    total = n * len(positions)
    for i in range(n):
        for start in range(0, len(positions), size):
            part = positions[start:start + size]
            masks = np.zeros((len(part), h, w), np.float32)
            for k, (r, c) in enumerate(part):
                masks[k, r:r + ph, c:c + pw] = 1.0
            probabilities[i, start:start + len(part)] = blend(x[i:i + 1], fills[i:i + 1], masks,
                                                              classes[i:i + 1]).numpy()
            if progress is not None:
                progress(i * len(positions) + start + len(part), total)

    sensitivity = intact[:, None] - probabilities
    sums = np.zeros((n, h, w), np.float32)
    counts = np.zeros((h, w), np.float32)
    for k, (r, c) in enumerate(positions):
        sums[:, r:r + ph, c:c + pw] += sensitivity[:, k, None, None]
        counts[r:r + ph, c:c + pw] += 1
    shape = (n, len(rows), len(cols))
    return OcclusionSweep(
        # pixels that no patch covers (a stride larger than the patch) have no sensitivity: 0
        heatmap=np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0), grid=sensitivity.reshape(shape).astype(np.float32),
        probabilities=probabilities.reshape(shape), intact=intact.astype(np.float32),
        rows=rows, cols=cols, patch=(ph, pw), classes=classes,
    )


def occlusion(model: ModelLike, x: np.ndarray, class_index: ClassIndex = None, *,
              patch: int | Sequence[int] | None = None, stride: int | Sequence[int] | None = None,
              fill: float | Sequence[float] | str = "mean", batch_size: int | None = None,
              progress: Progress = None) -> np.ndarray:
    """Occlusion sensitivity map: intact class probability minus occluded, per pixel.

    Same arguments as :func:`occlusion_sweep`, which also returns the coarse grid.

    Returns:
        float32 (N, H, W) in [-1, 1], averaged where patches overlap.
    """
    return occlusion_sweep(model, x, class_index, patch=patch, stride=stride, fill=fill,
                           batch_size=batch_size, progress=progress).heatmap
