"""Class activation maps: Grad-CAM, Grad-CAM++, LayerCAM and (Faster) Score-CAM.

Every function takes a Keras model or a ModelInspector and a model-ready float32 batch
``x`` (N, H, W, C), and returns float32 (N, H, W) heatmaps at the input resolution, ReLU'd
and scaled to [0, 1] per image (an all-zero map stays zero). ``layer=None`` uses
:func:`~cnnviz_widgets.methods.default_cam_layer`; ``class_index=None`` explains each
image's top class. Gradient methods start from the logit when the model ends in softmax
or sigmoid (as the Grad-CAM paper does), read from the traced graph, so the user's model
is never modified.

The three gradient CAMs differ only in how they weight the channels A_k of the target
layer, given the gradient G_k = dS/dA_k of the class score S:

- Grad-CAM: w_k = mean over positions of G_k; map = ReLU(sum_k w_k A_k).
- Grad-CAM++: w_k = sum over positions of alpha_k ReLU(G_k), with
  alpha_k = G_k^2 / (2 G_k^2 + sum(A_k) G_k^3) (the closed form for an exponential score).
- LayerCAM: map = ReLU(sum_k ReLU(G_k) A_k), a weight per position.
"""

from __future__ import annotations

import numpy as np

from cnnviz_widgets.errors import ArgumentError
from cnnviz_widgets.methods._access import (
    ClassIndex,
    ModelLike,
    Progress,
    activation_fn,
    blend_probability_fn,
    chunk_size,
    class_indices,
    layer_gradient_fn,
    normalize_maps,
    prepare,
    run_chunked,
    spatial_layer,
    upsample,
)


def _gradient_cam(model: ModelLike, x: np.ndarray, class_index: ClassIndex, layer: str | None,
                  combine, batch_size: int | None) -> np.ndarray:
    graph, x = prepare(model, x)
    layer = spatial_layer(graph, layer, "A class activation map")
    classes = class_indices(graph, x, class_index)
    gradient = layer_gradient_fn(graph, layer)
    size = batch_size or chunk_size(graph)
    maps = []
    for start in range(0, len(x), size):
        features, grads = gradient(x[start:start + size], classes[start:start + size])
        maps.append(combine(features.numpy(), grads.numpy()))
    return normalize_maps(upsample(np.concatenate(maps), x.shape[1:3]))


def _grad_cam_map(features: np.ndarray, grads: np.ndarray) -> np.ndarray:
    weights = grads.mean(axis=(1, 2), keepdims=True)
    return np.maximum((weights * features).sum(axis=-1), 0)


def _grad_cam_plus_plus_map(features: np.ndarray, grads: np.ndarray) -> np.ndarray:
    g2 = grads**2
    denominator = 2 * g2 + features.sum(axis=(1, 2), keepdims=True) * grads**3
    alpha = g2 / np.where(denominator != 0, denominator, 1.0)
    weights = (alpha * np.maximum(grads, 0)).sum(axis=(1, 2), keepdims=True)
    return np.maximum((weights * features).sum(axis=-1), 0)


def _layer_cam_map(features: np.ndarray, grads: np.ndarray) -> np.ndarray:
    return np.maximum((np.maximum(grads, 0) * features).sum(axis=-1), 0)


def grad_cam(model: ModelLike, x: np.ndarray, class_index: ClassIndex = None, layer: str | None = None, *,
             batch_size: int | None = None) -> np.ndarray:
    """Grad-CAM (Selvaraju et al. 2017): channels weighted by their mean gradient.

    Args:
        model: a Keras model or a ModelInspector.
        x: model-ready float32 batch (N, H, W, C).
        class_index: an int, one int per image, or None for each image's top class.
        layer: qualified name of a layer with a spatial output; None picks the default CAM layer.
        batch_size: images per compiled call (default: what fits in memory).

    Returns:
        float32 (N, H, W) in [0, 1].
    """
    return _gradient_cam(model, x, class_index, layer, _grad_cam_map, batch_size)


def grad_cam_plus_plus(model: ModelLike, x: np.ndarray, class_index: ClassIndex = None, layer: str | None = None,
                       *, batch_size: int | None = None) -> np.ndarray:
    """Grad-CAM++ (Chattopadhyay et al. 2018): positive gradients weighted per position.

    Same arguments and output as :func:`grad_cam`.
    """
    return _gradient_cam(model, x, class_index, layer, _grad_cam_plus_plus_map, batch_size)


def layer_cam(model: ModelLike, x: np.ndarray, class_index: ClassIndex = None, layer: str | None = None, *,
              batch_size: int | None = None) -> np.ndarray:
    """LayerCAM (Jiang et al. 2021): each activation weighted by its own positive gradient.

    Same arguments and output as :func:`grad_cam`; also meaningful on early layers.
    """
    return _gradient_cam(model, x, class_index, layer, _layer_cam_map, batch_size)


def score_cam(model: ModelLike, x: np.ndarray, class_index: ClassIndex = None, layer: str | None = None, *,
              max_channels: int | None = None, batch_size: int | None = None,
              progress: Progress = None) -> np.ndarray:
    """Score-CAM (Wang et al. 2020): each channel weighted by the class probability of the image
    masked by that channel.

    Each channel's activation map is upsampled to the input size, scaled to [0, 1] and
    multiplied into the image; the class probabilities of those masked images weight the
    channels. Masks are made and pushed through the model in chunks of ``batch_size``, so the
    C masked copies of an image never exist at once. Channels that are constant over the
    image (typically all zero after a ReLU) carry no mask and contribute nothing; they are
    skipped.

    Args:
        model, x, class_index, layer: as in :func:`grad_cam`.
        max_channels: Faster Score-CAM: keep only this many channels, those whose
            activation varies most over the image. None uses every channel.
        batch_size: masked images per compiled call (default: what fits in memory).
        progress: ``progress(done, total)`` after each chunk, counted in masked images.

    Returns:
        float32 (N, H, W) in [0, 1].
    """
    graph, x = prepare(model, x)
    layer = spatial_layer(graph, layer, "Score-CAM")
    if max_channels is not None and (not isinstance(max_channels, (int, np.integer)) or max_channels < 1):
        raise ArgumentError(f"max_channels must be a positive int or None; got {max_channels!r}")
    classes = class_indices(graph, x, class_index)
    size = batch_size or chunk_size(graph)
    acts = run_chunked(lambda chunk: activation_fn(graph, layer)(chunk).numpy(), x, size)  # (N, h, w, K)
    blend = blend_probability_fn(graph)

    kept = []
    for a in acts:
        flat = a.reshape(-1, a.shape[-1])
        varying = np.flatnonzero(flat.max(axis=0) > flat.min(axis=0))
        if max_channels is not None and len(varying) > max_channels:
            variance = flat[:, varying].var(axis=0)
            varying = varying[np.sort(np.argsort(-variance, kind="stable")[:max_channels])]
        kept.append(varying)
    total, done = sum(len(k) for k in kept), 0

    maps = np.zeros(acts.shape[:3], np.float32)
    blank = np.zeros((1, *x.shape[1:]), np.float32)
    for i, channels in enumerate(kept):
        weights = np.zeros(len(channels), np.float32)
        for start in range(0, len(channels), size):
            part = channels[start:start + size]
            masks = upsample(np.moveaxis(acts[i][..., part], -1, 0), x.shape[1:3])
            low = masks.min(axis=(1, 2), keepdims=True)
            span = masks.max(axis=(1, 2), keepdims=True) - low
            masks = (masks - low) / np.where(span > 0, span, 1.0)
            weights[start:start + len(part)] = blend(blank, x[i:i + 1], masks, classes[i:i + 1]).numpy()
            done += len(part)
            if progress is not None:
                progress(done, total)
        maps[i] = np.maximum(acts[i][..., channels] @ weights, 0)
    return normalize_maps(upsample(maps, x.shape[1:3]))
