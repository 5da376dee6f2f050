"""Gradient saliency: vanilla gradients, SmoothGrad and integrated gradients.

All functions take a Keras model or a ModelInspector and a model-ready float32 batch ``x``
(N, H, W, C), differentiate the class score (the logit when the model ends in softmax or
sigmoid) with respect to the input, and return float32 (N, H, W) maps scaled to [0, 1]
per image. Noisy or interpolated copies are pushed through one compiled gradient function
in chunks, never one image at a time and never all at once.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from cnnviz_widgets.errors import ArgumentError
from cnnviz_widgets.inspector.graph import TracedGraph
from cnnviz_widgets.methods._access import (
    ClassIndex,
    ModelLike,
    Progress,
    cached,
    chunk_size,
    class_indices,
    input_gradient_fn,
    normalize_maps,
    prepare,
    run_chunked,
    submodel,
)


def _mean_gradients(graph, images_of, classes: np.ndarray, n_copies: int, size: int,
                    progress: Progress) -> np.ndarray:
    """Mean input gradient over ``n_copies`` copies per image; ``images_of(i, copies)`` makes them."""
    gradient = input_gradient_fn(graph)
    n = len(classes)
    total, done = n * n_copies, 0
    sums = None
    for i in range(n):
        acc = None
        for start in range(0, n_copies, size):
            copies = np.arange(start, min(start + size, n_copies))
            batch = images_of(i, copies)
            grads = gradient(batch, np.full(len(batch), classes[i], np.int32)).numpy().sum(axis=0)
            acc = grads if acc is None else acc + grads
            done += len(copies)
            if progress is not None:
                progress(done, total)
        if sums is None:
            sums = np.zeros((n, *acc.shape), np.float32)
        sums[i] = acc / n_copies
    return sums


def _noisy_gradient_sum_fn(graph: TracedGraph):
    """Compiled sum of the input gradients of noisy copies ``start:stop`` of one image.

    The noise of all ``n`` copies is drawn from one stateless seed and sliced, so a copy's
    noise does not depend on how the copies are chunked.
    """
    def build():
        model = submodel(graph, ("score",))
        h, w, c = graph.input.shape[1:]
        scalar = tf.TensorSpec((), tf.int32)

        @tf.function(input_signature=[tf.TensorSpec((1, h, w, c), tf.float32), tf.TensorSpec((), tf.float32),
                                      tf.TensorSpec((2,), tf.int32), scalar, scalar, scalar,
                                      tf.TensorSpec((1,), tf.int32)])
        def noisy_gradient_sum(x1, sigma, seed, n, start, stop, classes):
            noise = tf.random.stateless_normal((n, h, w, c), seed)[start:stop]
            batch = x1 + sigma * noise
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(batch)
                score = tf.reduce_sum(tf.gather(model(batch, training=False), classes[0], axis=1))
            return tf.reduce_sum(tape.gradient(score, batch), axis=0)

        return noisy_gradient_sum

    return cached(graph, ("noisy_gradient_sum",), build)


def saliency(model: ModelLike, x: np.ndarray, class_index: ClassIndex = None, *, smooth_samples: int = 0,
             smooth_noise: float = 0.2, seed: int = 0, batch_size: int | None = None,
             progress: Progress = None) -> np.ndarray:
    """Vanilla gradient saliency (Simonyan et al. 2014), or SmoothGrad (Smilkov et al. 2017).

    The map is the largest absolute gradient over the channels of each pixel. With
    ``smooth_samples > 0`` the gradient is averaged over that many copies of the image with
    Gaussian noise of standard deviation ``smooth_noise * (max(x_i) - min(x_i))`` first, as
    tf-keras-vis does.

    Args:
        model: a Keras model or a ModelInspector.
        x: model-ready float32 batch (N, H, W, C).
        class_index: an int, one int per image, or None for each image's top class.
        smooth_samples: number of noisy copies for SmoothGrad; 0 for the vanilla gradient.
        smooth_noise: noise level as a fraction of each image's value range.
        seed: seed of the noise; the same seed gives the same maps.
        batch_size: images per compiled call (default: what fits in memory).
        progress: ``progress(done, total)`` after each chunk, counted in gradient images.

    Returns:
        float32 (N, H, W) in [0, 1].
    """
    graph, x = prepare(model, x)
    if not isinstance(smooth_samples, (int, np.integer)) or smooth_samples < 0:
        raise ArgumentError(f"smooth_samples must be an int >= 0; got {smooth_samples!r}")
    if smooth_samples and not smooth_noise > 0:
        raise ArgumentError(f"smooth_noise must be > 0 for SmoothGrad; got {smooth_noise!r}")
    # SmoothGrad explains the clean image's class in every noisy copy, so it needs it up front.
    classes = class_indices(graph, x, class_index, top_in_graph=smooth_samples == 0)
    size = batch_size or chunk_size(graph)
    if smooth_samples == 0:
        gradient = input_gradient_fn(graph)
        grads = run_chunked(lambda chunk, cls: gradient(chunk, cls).numpy(), x, size, progress, classes)
    else:
        sigma = smooth_noise * (x.max(axis=(1, 2, 3)) - x.min(axis=(1, 2, 3)))
        noisy_sum = _noisy_gradient_sum_fn(graph)
        grads = np.zeros_like(x)
        total = len(x) * smooth_samples
        for i in range(len(x)):
            for start in range(0, smooth_samples, size):
                stop = min(start + size, smooth_samples)
                grads[i] += noisy_sum(x[i:i + 1], sigma[i], np.array([seed, i], np.int32), smooth_samples, start,
                                      stop, classes[i:i + 1]).numpy()
                if progress is not None:
                    progress(i * smooth_samples + stop, total)
        grads /= smooth_samples
    return normalize_maps(np.abs(grads).max(axis=-1))


def integrated_gradients_attributions(model: ModelLike, x: np.ndarray, class_index: ClassIndex = None, *,
                                      steps: int = 32, baseline: float | np.ndarray = 0.0,
                                      batch_size: int | None = None, progress: Progress = None) -> np.ndarray:
    """Integrated gradients (Sundararajan et al. 2017) per input value, before any display scaling.

    ``(x - baseline) * mean_k grad(baseline + a_k (x - baseline))`` with ``a_k`` the midpoints of
    ``steps`` equal intervals of [0, 1]. Their sum approximates ``score(x) - score(baseline)``.

    Args:
        baseline: a number, or an array broadcastable to one image (H, W, C), in the value
            space of ``x`` (0 is black for inputs scaled to [0, 1]).

    Returns:
        float32 (N, H, W, C) signed attributions.
    """
    graph, x = prepare(model, x)
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ArgumentError(f"steps must be a positive int; got {steps!r}")
    try:
        base = np.broadcast_to(np.asarray(baseline, np.float32), x.shape[1:]).copy()
    except ValueError as exc:
        raise ArgumentError(f"baseline must be a number or broadcastable to {x.shape[1:]}; got shape "
                            f"{np.shape(baseline)}") from exc
    classes = class_indices(graph, x, class_index)
    alphas = ((np.arange(steps) + 0.5) / steps).astype(np.float32)

    def path(i, copies):
        return base + alphas[copies, None, None, None] * (x[i] - base)

    grads = _mean_gradients(graph, path, classes, steps, batch_size or chunk_size(graph), progress)
    return ((x - base) * grads).astype(np.float32)


def integrated_gradients(model: ModelLike, x: np.ndarray, class_index: ClassIndex = None, *, steps: int = 32,
                         baseline: float | np.ndarray = 0.0, batch_size: int | None = None,
                         progress: Progress = None) -> np.ndarray:
    """Integrated gradients as a heatmap: |sum over channels of the attributions|, scaled to [0, 1].

    Same arguments as :func:`integrated_gradients_attributions`.

    Returns:
        float32 (N, H, W) in [0, 1].
    """
    attributions = integrated_gradients_attributions(model, x, class_index, steps=steps, baseline=baseline,
                                                     batch_size=batch_size, progress=progress)
    return normalize_maps(np.abs(attributions.sum(axis=-1)))
