"""Faithfulness metrics: does a heatmap point at the object, and does the model depend on it?

``pointing_game`` checks heatmaps against ground-truth masks. ``deletion_auc`` and
``insertion_auc`` need no ground truth: they hide or reveal pixels in the heatmap's order
and watch the class probability (all perturbed images of an image go through one compiled
function in chunks).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cnnviz_widgets.errors import ArgumentError
from cnnviz_widgets.methods._chunks import Progress, chunk_size
from cnnviz_widgets.methods._classes import ClassIndex, class_indices
from cnnviz_widgets.methods._compiled import blend_probability_fn
from cnnviz_widgets.methods._maps import fill_image
from cnnviz_widgets.methods._models import ModelLike, prepare


def pointing_game(heatmaps: np.ndarray, masks: np.ndarray, *, tolerance: int = 0) -> np.ndarray:
    """Whether each heatmap's peak falls on its object (Zhang et al. 2016).

    When the peak is a plateau (blocky maps such as occlusion grids), the point is the
    plateau pixel nearest to the plateau's centroid, not its top-left corner.

    Args:
        heatmaps: float (N, H, W).
        masks: bool (N, H, W), True on the object.
        tolerance: a hit also counts when the peak lies within this many pixels of the mask.

    Returns:
        bool (N,): True where the peak of the heatmap is inside (or near) the mask.
    """
    heatmaps = np.asarray(heatmaps)
    masks = np.asarray(masks, bool)
    if heatmaps.shape != masks.shape or heatmaps.ndim != 3:
        raise ArgumentError(f"heatmaps and masks must both be (N, H, W); got {heatmaps.shape} and {masks.shape}")
    hits = np.empty(len(heatmaps), bool)
    for i, heat in enumerate(heatmaps):
        rows, cols = np.nonzero(heat == heat.max())
        nearest = np.argmin((rows - rows.mean()) ** 2 + (cols - cols.mean()) ** 2)
        r, c = rows[nearest], cols[nearest]
        window = masks[i, max(r - tolerance, 0): r + tolerance + 1, max(c - tolerance, 0): c + tolerance + 1]
        hits[i] = window.any()
    return hits


def perturbation_curve(model: ModelLike, x: np.ndarray, heatmaps: np.ndarray, class_index: ClassIndex = None, *,
                       mode: str = "deletion", steps: int = 32, baseline: float | Sequence[float] | str | None = None,
                       batch_size: int | None = None, progress: Progress = None) -> np.ndarray:
    """Class probability as pixels are removed (deletion) or revealed (insertion) in heatmap order.

    The RISE protocol (Petsiuk et al. 2018). Deletion starts from the image and replaces its
    most salient pixels first by the baseline; insertion starts from the baseline and puts
    the most salient pixels back first. Ties in the heatmap keep raster order.

    Args:
        model: a Keras model or a ModelInspector.
        x: model-ready float32 batch (N, H, W, C).
        heatmaps: (N, H, W), higher = more important.
        class_index: an int, one int per image, or None for each image's top class.
        mode: ``"deletion"`` or ``"insertion"``.
        steps: number of equal steps from 0 to all pixels.
        baseline: the fill of removed pixels, in the value space of ``x``: a number, one per
            channel, ``"mean"`` or ``"blur"``. Default: 0 for deletion, ``"blur"`` for insertion
            (as in RISE).
        batch_size: perturbed images per compiled call.
        progress: ``progress(done, total)`` after each chunk.

    Returns:
        float32 (N, steps + 1): the class probability after 0, 1/steps, ..., all pixels.
    """
    if mode not in ("deletion", "insertion"):
        raise ArgumentError(f"mode must be 'deletion' or 'insertion'; got {mode!r}")
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ArgumentError(f"steps must be a positive int; got {steps!r}")
    graph, x = prepare(model, x)
    heatmaps = np.asarray(heatmaps, np.float32)
    if heatmaps.shape != x.shape[:3]:
        raise ArgumentError(f"heatmaps must have shape {x.shape[:3]} (N, H, W) to match x; got {heatmaps.shape}")
    classes = class_indices(graph, x, class_index)
    if baseline is None:
        baseline = 0.0 if mode == "deletion" else "blur"
    base = fill_image(x, baseline)
    n, h, w = x.shape[:3]
    counts = np.round(np.linspace(0, h * w, steps + 1)).astype(np.int64)
    size = batch_size or chunk_size(graph)
    blend = blend_probability_fn(graph)
    curves = np.zeros((n, steps + 1), np.float32)
    for i in range(n):
        rank = np.empty(h * w, np.int64)
        rank[np.argsort(-heatmaps[i].ravel(), kind="stable")] = np.arange(h * w)
        rank = rank.reshape(h, w)
        start_img, end_img = (x[i:i + 1], base[i:i + 1]) if mode == "deletion" else (base[i:i + 1], x[i:i + 1])
        for start in range(0, steps + 1, size):
            part = counts[start:start + size]
            masks = (rank[None] < part[:, None, None]).astype(np.float32)
            curves[i, start:start + len(part)] = blend(start_img, end_img, masks, classes[i:i + 1])
            if progress is not None:
                progress(i * (steps + 1) + start + len(part), n * (steps + 1))
    return curves


def _auc(curves: np.ndarray) -> np.ndarray:
    """Normalised area under curves sampled at equal steps over [0, 1]: float32 (N,) in [0, 1]."""
    return np.trapezoid(curves, dx=1.0 / (curves.shape[1] - 1), axis=1).astype(np.float32)


def deletion_auc(model: ModelLike, x: np.ndarray, heatmaps: np.ndarray, class_index: ClassIndex = None, *,
                 steps: int = 32, baseline: float | Sequence[float] | str = 0.0, batch_size: int | None = None,
                 progress: Progress = None) -> np.ndarray:
    """Area under the deletion curve: lower means the heatmap found what the class depends on.

    Arguments as :func:`perturbation_curve`. Returns float32 (N,) in [0, 1].
    """
    return _auc(perturbation_curve(model, x, heatmaps, class_index, mode="deletion", steps=steps, baseline=baseline,
                                   batch_size=batch_size, progress=progress))


def insertion_auc(model: ModelLike, x: np.ndarray, heatmaps: np.ndarray, class_index: ClassIndex = None, *,
                  steps: int = 32, baseline: float | Sequence[float] | str = "blur", batch_size: int | None = None,
                  progress: Progress = None) -> np.ndarray:
    """Area under the insertion curve: higher means the heatmap's top pixels suffice for the class.

    Arguments as :func:`perturbation_curve`. Returns float32 (N,) in [0, 1].
    """
    return _auc(perturbation_curve(model, x, heatmaps, class_index, mode="insertion", steps=steps, baseline=baseline,
                                   batch_size=batch_size, progress=progress))
