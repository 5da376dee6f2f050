"""Perturbation methods: occlusion sensitivity (Zeiler and Fergus 2014) and
RISE (Petsiuk et al. 2018), declared for :mod:`~cnnviz_widgets.methods.registry`.

A patch slides over the image; at each position the hidden pixels are replaced by a fill
and the class probability is measured. Sensitivity is the probability of the intact image
minus that of the occluded one: positive where hiding the pixels hurts the class. All
occluded copies of an image go through one compiled function in chunks (the occluded
images are built inside the graph from the image, the fill and a batch of patch masks).

RISE hides random smooth masks instead of one patch and keeps the same convention: a pixel's
value is the mean class probability of the copies in which it is visible minus that of the
copies in which it is hidden (both weighted by how much of it is visible or hidden).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from keras import ops

from cnnviz_widgets.backend import Spec
from cnnviz_widgets.errors import ArgumentError
from cnnviz_widgets.methods._chunks import Progress, chunk_size
from cnnviz_widgets.methods._classes import ClassIndex, class_indices
from cnnviz_widgets.methods._compiled import blend_probability_fn, cached, compile_on, predict_probabilities, submodel
from cnnviz_widgets.methods._maps import Raw, fill_image, finish
from cnnviz_widgets.methods._models import ModelLike, prepare
from cnnviz_widgets.methods.registry import Option, declare
from cnnviz_widgets.store import stored


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


def _sweep_arrays(sweep: OcclusionSweep) -> dict[str, np.ndarray]:
    return {f.name: np.asarray(getattr(sweep, f.name)) for f in fields(sweep)}


def _sweep_from(arrays: dict[str, np.ndarray]) -> OcclusionSweep:
    ph, pw = (int(v) for v in arrays["patch"])
    return OcclusionSweep(heatmap=arrays["heatmap"], grid=arrays["grid"], probabilities=arrays["probabilities"],
                          intact=arrays["intact"], rows=arrays["rows"], cols=arrays["cols"], patch=(ph, pw),
                          classes=arrays["classes"])


@stored(_sweep_arrays, _sweep_from)
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
                                                              classes[i:i + 1])
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
        heatmap=np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0),
        grid=sensitivity.reshape(shape).astype(np.float32),
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


def rise_masks(count: int, size: tuple[int, int], *, cells: int = 7, keep: float = 0.5, seed: int = 0,
               start: int = 0) -> np.ndarray:
    """Masks ``start:start + count`` of RISE's seeded sequence: float32 (count, H, W) in [0, 1],
    1 where the image is visible.

    Each is a random ``cells`` x ``cells`` grid of cells kept with probability ``keep``,
    upsampled bilinearly to (cells + 1) cell sizes and cropped at a random shift (Petsiuk et
    al.'s recipe). Mask ``k`` depends only on (seed, k), not on how the sequence is chunked:
    the grids and the shifts come from two seeded streams read from their start.
    """
    grids, shifts = _rise_draws(start + count, size, cells, keep, seed)
    return _rise_upsample(grids[start:], shifts[start:], size, cells)


def _rise_draws(count: int, size: tuple[int, int], cells: int, keep: float,
                seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``count`` grids (count, cells, cells) and shifts (count, 2) of the sequence."""
    h, w = size
    grids = (np.random.default_rng([seed, 0]).random((count, cells, cells)) < keep).astype(np.float32)
    shifts = np.random.default_rng([seed, 1]).integers(0, (-(-h // cells), -(-w // cells)), size=(count, 2))
    return grids, shifts


def _rise_upsample(grids: np.ndarray, shifts: np.ndarray, size: tuple[int, int], cells: int) -> np.ndarray:
    """Masks (count, H, W) from their grids and shifts, by the compiled :func:`_rise_visible`."""
    return ops.convert_to_numpy(_rise_visible(ops.convert_to_tensor(grids, "float32"),
                                              ops.convert_to_tensor(shifts, "int32"), size, cells))


def _tent_weights(first: Any, step: float, count: int, cells: int) -> Any:
    """Bilinear weights (M, count, cells + 2) of the padded grid's rows for ``count`` output pixels
    sampled at ``first + k * step`` (M,) grid rows: 1 - distance, clipped at 0."""
    where = first[:, None] + step * ops.arange(count, dtype="float32")[None, :]       # (M, count)
    rows = ops.arange(cells + 2, dtype="float32")
    return ops.relu(1.0 - ops.abs(where[:, :, None] - rows[None, None, :]))


def _rise_visible(grids: Any, shifts: Any, size: tuple[int, int], cells: int) -> Any:
    """Grids (M, cells, cells) upsampled bilinearly to (cells + 1) cell sizes, each cropped to
    (H, W) at its shift (M, 2): the visible fraction of every pixel, (M, H, W).

    Each mask's crop is sampled straight from its grid, at the coordinates a half-pixel-centre
    resize of the whole grid would use; the grid is padded with its edge values, which gives that
    resize's clamping at the borders. Bilinear sampling is separable, so the crop is two small
    matrix products per mask, (H, cells + 2) and (W, cells + 2), in one einsum.
    """
    h, w = size
    ch, cw = -(-h // cells), -(-w // cells)
    step_y, step_x = cells / ((cells + 1) * ch), cells / ((cells + 1) * cw)     # grid cells per output pixel
    padded = ops.pad(grids, [[0, 0], [1, 1], [1, 1]], mode="symmetric")
    start = ops.cast(shifts, "float32") + 0.5
    top, left = start[:, 0] * step_y + 0.5, start[:, 1] * step_x + 0.5       # - 0.5 (half pixel) + 1 (the pad)
    rows, cols = _tent_weights(top, step_y, h, cells), _tent_weights(left, step_x, w, cells)
    return ops.einsum("myr,mrc,mxc->myx", rows, padded, cols)


def _rise_fn(graph, cells: int):
    """Compiled ``f(x1, fill1, grids (M, c, c), shifts (M, 2), classes (1,)) -> (sum of P_i,
    sum of P_i M_i (H, W), sum of M_i (H, W))``: the masks made from their grids, the class
    probability of each masked copy and the masks weighted by it, all inside the graph (numpy
    work here would compete with the backend's threads for the cores)."""
    def build():
        model = submodel(graph, ("probability",))
        h, w, c = graph.input.shape[1:]
        single = Spec((1, h, w, c))

        def weighted(x1, fill1, grids, shifts, classes):
            visible = _rise_visible(grids, shifts, (h, w), cells)
            probs = model(x1 + (fill1 - x1) * (1.0 - visible)[..., None], training=False)
            p = ops.take(probs, classes[0], axis=1)
            return ops.sum(p), ops.tensordot(p, visible, axes=1), ops.sum(visible, axis=0)

        return compile_on(model, weighted, single, single, Spec((None, cells, cells)), Spec((None, 2), "int32"),
                          Spec((1,), "int32"))

    return cached(graph, ("rise", cells), build)


@declare("rise", "RISE", family="perturbation", layer=False, gradients=False,
         shows="the class probability when each pixel is visible minus when it is hidden, over random masks",
         distrust="a sampled estimate: with too few masks it is blotchy, and a different seed gives a different "
                  "map; thousands of forward passes",
         options=(Option("masks", 1000, 8, 20000, "random masks (forward passes per image)"),
                  Option("cells", 7, 2, 32, "grid cells per side of a mask"),
                  Option("keep", 0.5, 0.05, 0.95, "probability that a cell is visible")))
@stored()
def rise(model: ModelLike, x: np.ndarray, class_index: ClassIndex = None, *, masks: int = 1000, cells: int = 7,
         keep: float = 0.5, fill: float | Sequence[float] | str = "mean", seed: int = 0,
         batch_size: int | None = None, progress: Progress = None, raw: Raw = False) -> np.ndarray:
    """RISE (Petsiuk et al. 2018): randomised input sampling, with occlusion's convention.

    ``masks`` seeded random masks (:func:`rise_masks`) hide parts of each image (the hidden
    pixels get ``fill``, as in :func:`occlusion_sweep`); every masked copy's class probability
    P_i is measured in chunks of ``batch_size``. With M_i the visible fraction of a pixel, its
    value is ``sum P_i M_i / sum M_i - sum P_i (1 - M_i) / sum (1 - M_i)``: positive where
    seeing the pixel raises the probability. The masks are made once per chunk and serve every
    image of the batch.

    Args:
        model, x, class_index: as in :func:`occlusion_sweep`.
        masks, cells, keep, seed: the mask sequence (see :func:`rise_masks`).
        fill: what hides the pixels, as in :func:`occlusion_sweep`.
        progress: ``progress(done, total)`` after each chunk, counted in masked images.
        raw: return the signed probability differences instead of the [0, 1] map.

    Returns:
        float32 (N, H, W) in [0, 1] (ReLU and scaled by the peak), or signed in [-1, 1] if ``raw``.
    """
    graph, x = prepare(model, x)
    for name, value, low in (("masks", masks, 1), ("cells", cells, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ArgumentError(f"{name} must be an int >= {low}; got {value!r}")
    if not 0 < keep < 1:
        raise ArgumentError(f"keep must be in (0, 1); got {keep!r}")
    n, h, w = x.shape[:3]
    classes = class_indices(graph, x, class_index)
    fills = fill_image(x, fill)
    size = batch_size or chunk_size(graph, backward=False)
    if batch_size is None and masks <= size * 5 // 4:   # one call rather than a full chunk and a small one
        size = masks
    weighted_sum = _rise_fn(graph, cells)
    seen, hidden = np.zeros((n, h, w), np.float64), np.zeros((n, h, w), np.float64)
    visible_total = np.zeros((h, w), np.float64)
    done = 0
    grids, shifts = _rise_draws(masks, (h, w), cells, keep, seed)
    for start in range(0, masks, size):
        chunk = (grids[start:start + size], shifts[start:start + size].astype(np.int32))
        for i in range(n):
            total_p, weighted, visible = weighted_sum(x[i:i + 1], fills[i:i + 1], *chunk, classes[i:i + 1])
            weighted = weighted.astype(np.float64)
            seen[i] += weighted
            hidden[i] += float(total_p) - weighted
            done += len(chunk[0])
            if progress is not None:
                progress(done, n * masks)
        visible_total += visible
    hidden_total = masks - visible_total
    difference = (np.divide(seen, visible_total, out=np.zeros_like(seen), where=visible_total > 0)
                  - np.divide(hidden, hidden_total, out=np.zeros_like(hidden), where=hidden_total > 0))
    return finish(difference, raw)
