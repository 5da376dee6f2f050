"""Gradients to the input: saliency, Gradient x Input, SmoothGrad, VarGrad, SquareGrad,
integrated gradients, Guided Backpropagation and Guided Grad-CAM, each declared once for
:mod:`~cnnviz_widgets.methods.registry`.

All functions take a Keras model or a ModelInspector and a model-ready float32 batch ``x``
(N, H, W, C), differentiate the class score (the logit when the model ends in softmax or
sigmoid) with respect to the input, and return float32 (N, H, W) maps scaled to [0, 1]
per image: the largest absolute value over each pixel's channels (``raw=True``: the signed
(N, H, W, C) values, as Captum returns attributions). Noisy or interpolated
copies are pushed through one compiled gradient function in chunks, never one image at a
time and never all at once.

Guided Backpropagation changes how gradients pass ReLUs (only positive gradients, only where
the ReLU was active) by a gradient override inside its own compiled function; the user's model
and every other method's gradients are untouched.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from keras import ops

from cnnviz_widgets import backend
from cnnviz_widgets.backend import Spec
from cnnviz_widgets.errors import ArgumentError
from cnnviz_widgets.inspector.graph import TracedGraph
from cnnviz_widgets.methods._chunks import Progress, chunk_size, run_chunked
from cnnviz_widgets.methods._classes import ClassIndex, class_indices, split_target
from cnnviz_widgets.methods._compiled import (
    CLASSES,
    cached,
    chosen_scores,
    compile_on,
    input_gradient_fn,
    input_spec,
    submodel,
)
from cnnviz_widgets.methods._maps import Raw, finish
from cnnviz_widgets.methods._models import ModelLike, prepare
from cnnviz_widgets.methods.cams import grad_cam
from cnnviz_widgets.methods.registry import Option, declare

_NOISE_OPTIONS = (Option("smooth_samples", 20, 1, 2000, "noisy copies of the image", "noisy copies"),
                  Option("smooth_noise", 0.2, 0.001, 1.0, "noise standard deviation, as a fraction of the value range",
                         "noise level"))
_PIXEL_DISTRUST = "pixel-sharp but noisy, and it shows which pixels matter to the score, not which object"


def _mean_gradients(graph, images_of, classes: np.ndarray, n_copies: int, size: int,
                    progress: Progress, target=None) -> np.ndarray:
    """Mean input gradient over ``n_copies`` copies per image; ``images_of(i, copies)`` makes them."""
    gradient = input_gradient_fn(graph, target)
    n = len(classes)
    total, done = n * n_copies, 0
    sums: np.ndarray | None = None
    for i in range(n):
        acc: Any = None
        for start in range(0, n_copies, size):
            copies = np.arange(start, min(start + size, n_copies))
            batch = images_of(i, copies)
            grads = gradient(batch, np.full(len(batch), classes[i], np.int32)).sum(axis=0)
            acc = grads if acc is None else acc + grads
            done += len(copies)
            if progress is not None:
                progress(done, total)
        if sums is None:
            sums = np.zeros((n, *acc.shape), np.float32)
        sums[i] = acc / n_copies
    assert sums is not None   # n >= 1: prepare refuses an empty batch
    return sums


def _noisy_gradient_moments_fn(graph: TracedGraph, target=None):
    """Compiled ``f(x1, sigma, noise (k, H, W, C), classes (1,))``: the sum of the input gradients
    over the noisy copies ``x1 + sigma * noise`` of one image, and the sum of their squared
    deviations from the chunk's mean (Chan et al.'s pairwise update combines chunks without the
    cancellation of E[g^2] - E[g]^2)."""
    def build():
        model = submodel(graph, ("score",))
        h, w, c = graph.input.shape[1:]

        def noisy_gradient_moments(x1, sigma, noise, classes):
            batch = x1 + sigma * noise
            chosen = ops.repeat(classes, ops.shape(batch)[0])
            grads = backend.gradient(lambda v: ops.sum(chosen_scores(model(v, training=False), chosen, target)),
                                     batch)
            mean = ops.mean(grads, axis=0)
            return ops.sum(grads, axis=0), ops.sum(ops.square(grads - mean), axis=0)

        return compile_on(model, noisy_gradient_moments, Spec((1, h, w, c)), Spec(()), Spec((None, h, w, c)),
                          Spec((1,), "int32"))

    return cached(graph, ("noisy_gradient_moments", target), build)


def _noisy_gradient_moments(graph: TracedGraph, x: np.ndarray, classes: np.ndarray, samples: int, noise: float,
                            seed: int, size: int, progress: Progress, target=None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance (N, H, W, C) of the input gradients over ``samples`` noisy copies of
    each image, the noise's standard deviation ``noise * (max(x_i) - min(x_i))``.

    Image i's noise comes from numpy's generator seeded ``[seed, i]``, drawn in copy order, so
    a copy's noise does not depend on the chunk size or on the backend."""
    if not isinstance(samples, (int, np.integer)) or isinstance(samples, bool) or samples < 1:
        raise ArgumentError(f"smooth_samples must be a positive int; got {samples!r}")
    if not noise > 0:
        raise ArgumentError(f"smooth_noise must be > 0; got {noise!r}")
    sigma = noise * (x.max(axis=(1, 2, 3)) - x.min(axis=(1, 2, 3)))
    moments = _noisy_gradient_moments_fn(graph, target)
    means = np.zeros(x.shape, np.float64)
    variances = np.zeros(x.shape, np.float64)
    total = len(x) * samples
    for i in range(len(x)):
        count, mean, m2 = 0, np.zeros(x.shape[1:]), np.zeros(x.shape[1:])
        rng = np.random.default_rng([seed, i])
        for start in range(0, samples, size):
            stop = min(start + size, samples)
            k = stop - start
            draws = rng.standard_normal((k, *x.shape[1:]), dtype=np.float32)
            chunk_sum, chunk_m2 = moments(x[i:i + 1], sigma[i], draws, classes[i:i + 1])
            chunk_mean = chunk_sum.astype(np.float64) / k
            delta = chunk_mean - mean
            m2 += chunk_m2 + np.square(delta) * count * k / (count + k)
            mean += delta * k / (count + k)
            count += k
            if progress is not None:
                progress(i * samples + stop, total)
        means[i], variances[i] = mean, m2 / count
    return means.astype(np.float32), variances.astype(np.float32)


def _channel_peak(values: np.ndarray, raw: Raw = False) -> np.ndarray:
    """(N, H, W, C) -> (N, H, W) in [0, 1]: each pixel's largest absolute value over its channels;
    with ``raw``, the signed (N, H, W, C) values themselves."""
    if raw is True:
        return np.asarray(values, np.float32)
    return finish(np.abs(np.asarray(values, np.float32)).max(axis=-1), raw)


@declare("smoothgrad", "SmoothGrad", family="gradient", layer=False, gradients=True,
         shows="saliency averaged over noisy copies of the image",
         distrust="less noisy than saliency, but the noise level changes the picture; it inherits saliency's "
                  "insensitivity to the top layers (see the sanity check)", options=_NOISE_OPTIONS)
@declare("saliency", "Saliency", family="gradient", layer=False, gradients=True,
         shows="the gradient of the class score with respect to each pixel", distrust=_PIXEL_DISTRUST,
         fixed={"smooth_samples": 0})
def saliency(model: ModelLike, x: np.ndarray, class_index: ClassIndex = None, *, smooth_samples: int = 0,
             smooth_noise: float = 0.2, seed: int = 0, batch_size: int | None = None,
             progress: Progress = None, raw: Raw = False) -> np.ndarray:
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
    class_index, target = split_target(graph, class_index)
    classes = class_indices(graph, x, class_index, top_in_graph=smooth_samples == 0 or target is not None)
    size = batch_size or chunk_size(graph)
    if smooth_samples == 0:
        gradient = input_gradient_fn(graph, target)
        grads = run_chunked(gradient, x, size, progress, classes)
    else:
        grads, _ = _noisy_gradient_moments(graph, x, classes, smooth_samples, smooth_noise, seed, size, progress,
                                           target)
    return _channel_peak(grads, raw)


@declare("gradient_x_input", "Gradient x Input", family="gradient", layer=False, gradients=True,
         shows="each pixel's value times its gradient: a first-order estimate of its contribution",
         distrust="a black pixel (value 0) always gets 0, however important; as noisy as saliency")
def gradient_x_input(model: ModelLike, x: np.ndarray, class_index: ClassIndex = None, *,
                     batch_size: int | None = None, progress: Progress = None, raw: Raw = False) -> np.ndarray:
    """Gradient x Input (Shrikumar et al. 2016): ``x * d score / d x``, the largest absolute value
    over each pixel's channels, scaled to [0, 1]. Same arguments as :func:`saliency`."""
    graph, x = prepare(model, x)
    class_index, target = split_target(graph, class_index)
    classes = class_indices(graph, x, class_index, top_in_graph=True)
    gradient = input_gradient_fn(graph, target)
    grads = run_chunked(gradient, x, batch_size or chunk_size(graph), progress, classes)
    return _channel_peak(x * grads, raw)


def _noise_statistic(model: ModelLike, x: np.ndarray, class_index: ClassIndex, samples: int, noise: float,
                     seed: int, batch_size: int | None, progress: Progress, statistic: str,
                     raw: Raw = False) -> np.ndarray:
    graph, x = prepare(model, x)
    class_index, target = split_target(graph, class_index)
    classes = class_indices(graph, x, class_index, top_in_graph=target is not None)
    mean, variance = _noisy_gradient_moments(graph, x, classes, samples, noise, seed,
                                             batch_size or chunk_size(graph), progress, target)
    return _channel_peak(variance + np.square(mean) if statistic == "square" else variance, raw)


@declare("vargrad", "VarGrad", family="gradient", layer=False, gradients=True,
         shows="the variance of the gradient over noisy copies: where the score is most sensitive to noise",
         distrust="it is largely independent of the model's top layers and of the class (see the sanity check)",
         options=_NOISE_OPTIONS)
def vargrad(model: ModelLike, x: np.ndarray, class_index: ClassIndex = None, *, smooth_samples: int = 20,
            smooth_noise: float = 0.2, seed: int = 0, batch_size: int | None = None,
            progress: Progress = None, raw: Raw = False) -> np.ndarray:
    """VarGrad (Adebayo et al. 2018): the variance over ``smooth_samples`` noisy copies of each
    input gradient value, the largest over each pixel's channels, scaled to [0, 1].

    Same arguments as :func:`saliency` with SmoothGrad's noise.
    """
    return _noise_statistic(model, x, class_index, smooth_samples, smooth_noise, seed, batch_size, progress, "var",
                            raw)


@declare("squaregrad", "SquareGrad", family="gradient", layer=False, gradients=True,
         shows="the mean squared gradient over noisy copies: SmoothGrad without cancelling signs",
         distrust="squaring stresses the few largest gradients; as for SmoothGrad, the noise level matters",
         options=_NOISE_OPTIONS)
def squaregrad(model: ModelLike, x: np.ndarray, class_index: ClassIndex = None, *, smooth_samples: int = 20,
               smooth_noise: float = 0.2, seed: int = 0, batch_size: int | None = None,
               progress: Progress = None, raw: Raw = False) -> np.ndarray:
    """SquareGrad (Hooker et al. 2019): the mean over ``smooth_samples`` noisy copies of each
    squared input gradient, the largest over each pixel's channels, scaled to [0, 1].

    Same arguments as :func:`saliency` with SmoothGrad's noise.
    """
    return _noise_statistic(model, x, class_index, smooth_samples, smooth_noise, seed, batch_size, progress,
                            "square", raw)


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
    class_index, target = split_target(graph, class_index)
    classes = class_indices(graph, x, class_index, top_in_graph=target is not None)
    alphas = ((np.arange(steps) + 0.5) / steps).astype(np.float32)

    def path(i, copies):
        return base + alphas[copies, None, None, None] * (x[i] - base)

    grads = _mean_gradients(graph, path, classes, steps, batch_size or chunk_size(graph), progress, target)
    return ((x - base) * grads).astype(np.float32)


@declare("integrated_gradients", "Integrated gradients", family="gradient", layer=False, gradients=True,
         shows="gradients summed along a straight path from a black image to this one",
         distrust="the map depends on the baseline (black here): dark objects get little",
         options=(Option("steps", 32, 1, 1024, "points on the path from the baseline"),))
def integrated_gradients(model: ModelLike, x: np.ndarray, class_index: ClassIndex = None, *, steps: int = 32,
                         baseline: float | np.ndarray = 0.0, batch_size: int | None = None,
                         progress: Progress = None, raw: Raw = False) -> np.ndarray:
    """Integrated gradients as a heatmap: the absolute value of the attributions summed over channels, scaled to [0, 1].

    Same arguments as :func:`integrated_gradients_attributions`; ``raw=True`` returns those
    signed attributions (N, H, W, C).

    Returns:
        float32 (N, H, W) in [0, 1].
    """
    attributions = integrated_gradients_attributions(model, x, class_index, steps=steps, baseline=baseline,
                                                     batch_size=batch_size, progress=progress)
    return attributions if raw is True else finish(np.abs(attributions.sum(axis=-1)), raw)


def _guided_gradient_fn(graph: TracedGraph, target=None):
    """Compiled ``f(x, classes) -> guided d score / d x`` (N, H, W, C): traced with every ReLU's
    gradient replaced (:func:`cnnviz_widgets.backend.guided_relus`)."""
    def build():
        model = submodel(graph, ("score",))

        def guided(x, classes):
            with backend.guided_relus():
                return backend.gradient(lambda v: ops.sum(chosen_scores(model(v, training=False), classes, target)),
                                        x)

        return compile_on(model, guided, input_spec(graph), CLASSES)

    return cached(graph, ("guided_gradient", target), build)


def guided_gradients(model: ModelLike, x: np.ndarray, class_index: ClassIndex = None, *,
                     batch_size: int | None = None, progress: Progress = None) -> np.ndarray:
    """Guided Backpropagation's raw gradients, float32 (N, H, W, C), signed."""
    graph, x = prepare(model, x)
    class_index, target = split_target(graph, class_index)
    classes = class_indices(graph, x, class_index, top_in_graph=True)
    guided = _guided_gradient_fn(graph, target)
    return run_chunked(guided, x, batch_size or chunk_size(graph), progress, classes)


@declare("guided_backprop", "Guided Backprop", family="gradient", layer=False, gradients=True,
         shows="the input gradient with only positive gradients let through the ReLUs: sharp edges",
         distrust="it reconstructs the image's edges almost regardless of the class and of the top layers' "
                  "weights (the sanity check shows it)")
def guided_backprop(model: ModelLike, x: np.ndarray, class_index: ClassIndex = None, *,
                    batch_size: int | None = None, progress: Progress = None, raw: Raw = False) -> np.ndarray:
    """Guided Backpropagation (Springenberg et al. 2015): the class score's input gradient where
    every ReLU passes only positive gradients and only where it was active; the largest absolute
    value over each pixel's channels, scaled to [0, 1]. Same arguments as :func:`saliency`."""
    return _channel_peak(guided_gradients(model, x, class_index, batch_size=batch_size, progress=progress), raw)


@declare("guided_grad_cam", "Guided Grad-CAM", family="gradient", layer=True, gradients=True,
         shows="Guided Backprop's edges masked by Grad-CAM: fine-grained and class-specific",
         distrust="its detail comes from Guided Backprop, which ignores the top layers; its class comes from "
                  "Grad-CAM's coarse map")
def guided_grad_cam(model: ModelLike, x: np.ndarray, class_index: ClassIndex = None, layer: str | None = None, *,
                    batch_size: int | None = None, progress: Progress = None, raw: Raw = False) -> np.ndarray:
    """Guided Grad-CAM (Selvaraju et al. 2017): Guided Backprop's gradients times the Grad-CAM map
    (upsampled), the largest absolute value over each pixel's channels, scaled to [0, 1].

    Args:
        model, x, class_index, layer, batch_size: as in :func:`~cnnviz_widgets.methods.grad_cam`.
        progress: ``progress(done, total)`` of the guided gradients, in images.
    """
    graph, x = prepare(model, x)
    explained = class_index if callable(class_index) else class_indices(graph, x, class_index)   # one for both
    coarse = grad_cam(model, x, explained, layer, batch_size=batch_size)
    fine = guided_gradients(model, x, explained, batch_size=batch_size, progress=progress)
    return _channel_peak(fine * coarse[..., None], raw)
