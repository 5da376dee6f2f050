"""Class activation maps: Grad-CAM, Grad-CAM++, XGrad-CAM, HiResCAM, LayerCAM, EigenCAM,
(Faster) Score-CAM and Ablation-CAM, each declared once for :mod:`~cnnviz_widgets.methods.registry`.

Every function takes a Keras model or a ModelInspector and a model-ready float32 batch
``x`` (N, H, W, C), and returns float32 (N, H, W) heatmaps at the input resolution, ReLU'd
and scaled to [0, 1] per image (an all-zero map stays zero). ``layer=None`` uses
:func:`~cnnviz_widgets.methods.default_cam_layer`; ``class_index=None`` explains each
image's top class. Gradient methods start from the logit when the model ends in softmax
or sigmoid (as the Grad-CAM paper does), read from the traced graph, so the user's model
is never modified.

The gradient CAMs differ only in how they weight the channels A_k of the target layer,
given the gradient G_k = dS/dA_k of the class score S:

- Grad-CAM: w_k = mean over positions of G_k; map = ReLU(sum_k w_k A_k).
- Grad-CAM++: w_k = sum over positions of alpha_k ReLU(G_k), with
  alpha_k = G_k^2 / (2 G_k^2 + sum(A_k) G_k^3) (the closed form for an exponential score).
- XGrad-CAM: w_k = sum over positions of G_k A_k / sum(A_k).
- HiResCAM: map = ReLU(sum_k G_k A_k), the element-wise product (no averaging).
- LayerCAM: map = ReLU(sum_k ReLU(G_k) A_k), a weight per position.

EigenCAM needs no gradient (the first principal component of A); Score-CAM and Ablation-CAM
weight each channel by what the class score does when the image is masked by it, or when it
is removed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
from keras import ops

from cnnviz_widgets.backend import Spec
from cnnviz_widgets.errors import ArgumentError
from cnnviz_widgets.inspector.graph import TracedGraph
from cnnviz_widgets.methods._chunks import Progress, chunk_size, run_chunked
from cnnviz_widgets.methods._classes import ClassIndex, class_indices, split_target
from cnnviz_widgets.methods._compiled import (
    CLASSES,
    Target,
    cached,
    compile_on,
    input_spec,
    layer_activations,
    layer_gradient,
    submodel,
)
from cnnviz_widgets.methods._maps import Raw, finish, resize_maps, upsample
from cnnviz_widgets.methods._models import ModelLike, prepare, spatial_layer
from cnnviz_widgets.methods.registry import Option, declare
from cnnviz_widgets.store import stored

_GRADIENT_DISTRUST = ("the map has the target layer's resolution and is only as good as that layer; "
                      "a low class probability means it explains a guess")


def _layer_and_classes(model: ModelLike, x: np.ndarray, class_index: ClassIndex, layer: str | None, what: str, *,
                       top_in_graph: bool = False, targets: bool = False
                       ) -> tuple[TracedGraph, np.ndarray, str, np.ndarray, Target | None]:
    """The frame every CAM starts with: (graph, checked batch, target layer, class per image, callable
    target or None). ``top_in_graph``: find the top classes with the graph's own forward pass (one
    less pass when the method runs the model anyway); ``targets``: the method takes a callable target."""
    graph, x = prepare(model, x)
    layer = spatial_layer(graph, layer, what)
    target = None
    if targets:
        class_index, target = split_target(graph, class_index)
    return graph, x, layer, class_indices(graph, x, class_index, top_in_graph=top_in_graph), target


CamStep = Callable[[Any, Any], Any]
"""A gradient CAM's own step: ``step(A (N, h, w, K), G (N, h, w, K)) -> (N, h, w)``, the map at the
target layer's resolution before ReLU (G = dS/dA, the gradient of the class score)."""

_FRAME_DOC = """

    Args:
        model: a Keras model or a ModelInspector.
        x: model-ready float32 batch (N, H, W, C).
        class_index: an int, one int per image, None for each image's top class, or a callable
            target on the scores (see :data:`~cnnviz_widgets.methods._compiled.Target`).
        layer: qualified name of a layer with a spatial output; None picks the default CAM layer.
        batch_size: images per compiled call (default: what fits in memory).
        raw: return the signed map before ReLU and scaling (as Captum returns attributions).

    Returns:
        float32 (N, H, W) in [0, 1]; signed and unscaled with ``raw=True``.

    The method's own step is ``.step``; the rest (checks, target layer, classes, one compiled call
    per chunk, ReLU, upsampling and scaling) is shared by every gradient CAM.
"""


def gradient_cam(name: str, label: str, *, shows: str, distrust: str) -> Callable[[CamStep], Callable[..., np.ndarray]]:
    """Declare a gradient CAM by its own step alone (as pytorch-grad-cam's ``get_cam_weights``)::

        @gradient_cam("my_cam", "My-CAM", shows="...", distrust="...")
        def my_cam(features, grads):
            \"\"\"My-CAM (someone 2026): what it computes.\"\"\"
            return ops.sum(ops.relu(grads) * features, axis=-1)

    The decorator returns the method, ``my_cam(model, x, class_index=None, layer=None, *,
    batch_size=None, raw=False) -> (N, H, W)``, registered like every other (:func:`declare`), with
    the step as ``my_cam.step``.
    """
    def make(step: CamStep) -> Callable[..., np.ndarray]:
        def method(model: ModelLike, x: np.ndarray, class_index: ClassIndex = None, layer: str | None = None, *,
                   batch_size: int | None = None, raw: Raw = False) -> np.ndarray:
            graph, x, layer, classes, target = _layer_and_classes(
                model, x, class_index, layer, "A class activation map", top_in_graph=True, targets=True)
            cams = _cam_fn(graph, layer, step, target, signed=raw is True)
            maps = run_chunked(lambda chunk, cls: cams(chunk, cls), x, batch_size or chunk_size(graph), None,
                               classes)
            return finish(maps, raw)

        method.__name__ = method.__qualname__ = step.__name__
        method.__module__ = step.__module__
        method.__doc__ = (step.__doc__ or label) + _FRAME_DOC
        method.step = step   # type: ignore[attr-defined]
        return declare(name, label, family="cam", layer=True, gradients=True, shows=shows,
                       distrust=distrust)(method)

    return make


def _cam_fn(graph: TracedGraph, layer: str, step: CamStep, target=None, signed: bool = False):
    """Compiled ``f(x, classes) -> (N, H, W)`` un-normalised CAMs (ReLU'd unless ``signed``),
    upsampled inside the graph."""
    def build():
        model, gradient = layer_gradient(graph, layer, target)
        size = tuple(graph.input.shape[1:3])

        def cams(x, classes):
            small = step(*gradient(x, classes))
            small = small if signed else ops.relu(small)
            return resize_maps(small, size)

        return compile_on(model, cams, input_spec(graph), CLASSES)

    return cached(graph, ("cam", layer, step, target, signed), build)


@gradient_cam("grad_cam", "Grad-CAM", shows="the target layer's channels weighted by their mean gradient",
              distrust=_GRADIENT_DISTRUST)
def grad_cam(features: Any, grads: Any) -> Any:
    """Grad-CAM (Selvaraju et al. 2017): channels weighted by their mean gradient, w_k = mean(G_k)."""
    weights = ops.mean(grads, axis=(1, 2), keepdims=True)
    return ops.sum(weights * features, axis=-1)


@gradient_cam("grad_cam_plus_plus", "Grad-CAM++",
              shows="positive gradients weighted per position; separates several objects of one class",
              distrust=_GRADIENT_DISTRUST)
def grad_cam_plus_plus(features: Any, grads: Any) -> Any:
    """Grad-CAM++ (Chattopadhyay et al. 2018): positive gradients weighted per position,
    w_k = sum(alpha_k ReLU(G_k)) with alpha_k = G_k^2 / (2 G_k^2 + sum(A_k) G_k^3)."""
    g2 = ops.square(grads)
    denominator = 2 * g2 + ops.sum(features, axis=(1, 2), keepdims=True) * g2 * grads
    alpha = g2 / ops.where(denominator != 0, denominator, ops.ones_like(denominator))
    weights = ops.sum(alpha * ops.relu(grads), axis=(1, 2), keepdims=True)
    return ops.sum(weights * features, axis=-1)


@gradient_cam("xgrad_cam", "XGrad-CAM",
              shows="channels weighted by their gradient averaged with the activation as weight",
              distrust=_GRADIENT_DISTRUST)
def xgrad_cam(features: Any, grads: Any) -> Any:
    """XGrad-CAM (Fu et al. 2020): w_k = sum(G_k A_k) / sum(A_k), the axiom-derived weights."""
    total = ops.sum(features, axis=(1, 2), keepdims=True)
    weights = ops.sum(grads * features, axis=(1, 2), keepdims=True) / ops.where(total != 0, total,
                                                                                ops.ones_like(total))
    return ops.sum(weights * features, axis=-1)


@gradient_cam("hires_cam", "HiResCAM",
              shows="gradient times activation at every position, summed over channels (no averaging)",
              distrust="sharper than Grad-CAM but noisier; still at the target layer's resolution")
def hires_cam(features: Any, grads: Any) -> Any:
    """HiResCAM (Draelos & Carin 2020): ReLU(sum_k G_k * A_k), element-wise; provably shows the
    locations the score uses when the layers after the target end in global average pooling and a
    dense layer."""
    return ops.sum(grads * features, axis=-1)


@gradient_cam("layer_cam", "LayerCAM",
              shows="each position weighted by its own positive gradient; works on early layers too",
              distrust="on early layers it shows edges of everything, not only of the class")
def layer_cam(features: Any, grads: Any) -> Any:
    """LayerCAM (Jiang et al. 2021): each activation weighted by its own positive gradient; also
    meaningful on early layers."""
    return ops.sum(ops.relu(grads) * features, axis=-1)


def _eigen_cam_fn(graph: TracedGraph, layer: str, signed: bool = False):
    """Compiled ``f(x) -> (N, H, W)``: each image's activations, centred per channel, projected on
    their first principal direction (as pytorch-grad-cam's ``get_2d_projection``), signed so that the
    direction points where the channels are active on average (the uncentred projection sums to
    >= 0), ReLU'd and upsampled.

    Only the first component is needed, so instead of an SVD of the (h*w, K) activations this takes
    the top eigenvector of the smaller of their two Gram matrices, (K, K) or (h*w, h*w)."""
    def build():
        model = submodel(graph, (layer,))
        size = tuple(graph.input.shape[1:3])
        h, w, k = (int(d) for d in graph.tensors[layer].shape[1:])

        def eigen_cam(x):
            features = model(x, training=False)
            flat = ops.reshape(features, (-1, h * w, k))                       # (N, P, K)
            mean = ops.mean(flat, axis=1, keepdims=True)                       # (N, 1, K)
            centred = flat - mean
            if k <= h * w:   # top eigenvector v of the covariance (K, K); projection = centred v
                _, vectors = ops.eigh(ops.einsum("npk,npl->nkl", centred, centred))
                v = vectors[:, :, -1]                                          # (N, K)
                projection = ops.einsum("npk,nk->np", centred, v)              # (N, P)
                along_mean = ops.sum(mean[:, 0] * v, axis=1, keepdims=True)
            else:            # top eigenvector u of (P, P), eigenvalue l; projection = sqrt(l) u
                values, vectors = ops.eigh(ops.einsum("npk,nqk->npq", centred, centred))
                u = vectors[:, :, -1]                                          # (N, P)
                projection = ops.sqrt(ops.maximum(values[:, -1:], 0.0)) * u
                along_mean = ops.sum(ops.einsum("npk,nk->np", centred, mean[:, 0]) * u, axis=1, keepdims=True)
            sign = ops.where(along_mean < 0, -1.0, 1.0)
            small = ops.reshape(sign * projection, (-1, h, w))
            small = small if signed else ops.relu(small)
            return resize_maps(small, size)

        return compile_on(model, eigen_cam, input_spec(graph))

    return cached(graph, ("eigen_cam", layer, signed), build)


@declare("eigen_cam", "EigenCAM", family="cam", layer=True, gradients=False,
         shows="the first principal component of the target layer's activations (centred per channel); no gradients, "
               "no class",
         distrust="it is the same for every class: it shows what the layer responds to most, not the evidence "
                  "for the class asked")
def eigen_cam(model: ModelLike, x: np.ndarray, class_index: ClassIndex = None, layer: str | None = None, *,
              batch_size: int | None = None, raw: Raw = False) -> np.ndarray:
    """EigenCAM (Muhammad & Yeasin 2020): the activations (h*w, K) of the target layer, centred per
    channel, projected on their first principal direction: one forward pass to the layer and one
    small eigendecomposition per image.

    ``class_index`` is checked but does not change the map (the method is class-agnostic).
    Same other arguments and output as :func:`grad_cam`.
    """
    graph, x, layer, _, _ = _layer_and_classes(model, x, class_index, layer, "EigenCAM",
                                               top_in_graph=True)   # refuses a bad class like the others
    maps = run_chunked(lambda chunk: _eigen_cam_fn(graph, layer, raw is True)(chunk), x,
                       batch_size or chunk_size(graph))
    return finish(maps, raw)


def _tail_model(graph: TracedGraph, layer: str):
    """A model from ``layer``'s output to the class scores (the layers after the target only)."""
    def build():

        try:
            return keras.Model(graph.tensors[layer], graph.score)
        except ValueError as exc:
            raise ArgumentError(f"Ablation-CAM runs the layers after {layer!r} alone, but the output also depends "
                                f"on earlier layers by another path (a skip connection); choose a layer that every "
                                f"path passes through, such as the automatic one (layer=None)") from exc

    return cached(graph, ("tail", layer), build)


def _tail_chunk(graph: TracedGraph, layer: str, budget_bytes: int = 768 * 2**20, most: int = 1024) -> int:
    """Ablated copies per call: what the layers after the target need for one copy (float32, with
    room for their temporaries) fits ``budget_bytes`` times, at most ``most``. These layers are
    small next to a whole network, so far more copies fit than whole images. Counted once per
    graph and layer."""
    def build():
        tail = _tail_model(graph, layer)
        per_copy = sum(int(np.prod([d or 1 for d in part.output.shape[1:]])) for part in tail.layers)
        return int(np.clip(budget_bytes // (8 * max(per_copy, 1)), 1, most))

    return cached(graph, ("tail_chunk", layer, budget_bytes, most), build)


def _ablation_fn(graph: TracedGraph, layer: str):
    """Compiled ``f(a1 (1, h, w, K), channels (M,), classes (1,)) -> (M,)``: the class score with
    each of ``channels`` set to zero in the layer's activations."""
    def build():
        tail = _tail_model(graph, layer)
        shape = tuple(graph.tensors[layer].shape[1:])

        def ablated_scores(a1, channels, classes):
            keep = 1.0 - ops.one_hot(channels, shape[-1], dtype="float32")    # (M, K); channel -1 keeps all
            return ops.take(tail(a1 * keep[:, None, None, :], training=False), classes[0], axis=1)

        return compile_on(tail, ablated_scores, Spec((1, *shape)), CLASSES, Spec((1,), "int32"))

    return cached(graph, ("ablation", layer), build)


def _ablation_map_fn(graph: TracedGraph, layer: str):
    """Compiled ``f(a1 (1, h, w, K), channels (M,), classes (1,), relu ()) -> (H, W)``: the whole
    of Ablation-CAM for one image whose ablated copies fit one call (the intact copy included):
    scores, weights, weighted sum, optional ReLU and the upsampling, in one graph."""
    def build():
        tail = _tail_model(graph, layer)
        shape = tuple(graph.tensors[layer].shape[1:])
        size = tuple(graph.input.shape[1:3])

        def ablation_map(a1, channels, classes, relu):
            order = ops.concatenate([ops.convert_to_tensor([-1], "int32"), channels], axis=0)
            keep = 1.0 - ops.one_hot(order, shape[-1], dtype="float32")     # channel -1 keeps all
            scores = ops.take(tail(a1 * keep[:, None, None, :], training=False), classes[0], axis=1)
            weights = (scores[0] - scores[1:]) / ops.maximum(ops.abs(scores[0]), 1e-12)
            combined = ops.tensordot(ops.take(a1[0], channels, axis=-1), weights, axes=1)
            combined = ops.where(relu, ops.maximum(combined, 0.0), combined)  # ReLU before upsampling, as the paper
            return resize_maps(combined[None], size)[0]

        return compile_on(tail, ablation_map, Spec((1, *shape)), CLASSES, Spec((1,), "int32"), Spec((), "bool"))

    return cached(graph, ("ablation_map", layer), build)


@declare("ablation_cam", "Ablation-CAM", family="cam", layer=True, gradients=False,
         shows="channels weighted by how much the class score drops when each one is removed; no gradients",
         distrust="one pass of the later layers per channel (512 on VGG16); channels that only matter together "
                  "each look unimportant alone")
@stored()
def ablation_cam(model: ModelLike, x: np.ndarray, class_index: ClassIndex = None, layer: str | None = None, *,
                 batch_size: int | None = None, progress: Progress = None, raw: Raw = False) -> np.ndarray:
    """Ablation-CAM (Desai & Ramaswamy 2020): ``w_k = (S - S_k) / |S|``, with S_k the class score when
    channel k of the target layer is zero; map = ReLU(sum_k w_k A_k).

    Only the layers after the target run for the ablated copies, in chunks of ``batch_size``
    channels (never all K copies at once). Channels that are zero everywhere are skipped (their
    ablation changes nothing). The layer must cut the network: every path from the input to
    the output passes through it (true of the automatic CAM layer of the usual architectures).

    Args:
        model, x, class_index, layer: as in :func:`grad_cam`.
        batch_size: ablated copies per compiled call (default: what fits in memory).
        progress: ``progress(done, total)`` after each chunk, counted in ablated channels.

    Returns:
        float32 (N, H, W) in [0, 1].
    """
    graph, x, layer, classes, _ = _layer_and_classes(model, x, class_index, layer, "Ablation-CAM")
    _tail_model(graph, layer)          # refuses a layer that does not cut the network, before any work
    copies = batch_size or _tail_chunk(graph, layer)
    acts = layer_activations(model, graph, x, layer, batch_size)   # (N, h, w, K)
    active = [np.flatnonzero(np.abs(a).reshape(-1, a.shape[-1]).max(axis=0) > 0) for a in acts]
    total, done = sum(len(c) for c in active), 0
    ablated = _ablation_fn(graph, layer)
    if all(len(channels) < copies for channels in active):   # each image in one call, upsampled there too
        whole = _ablation_map_fn(graph, layer)
        maps = np.stack([whole(acts[i:i + 1], channels.astype(np.int32), classes[i:i + 1], raw is not True)
                         for i, channels in enumerate(active)])
        if progress is not None:
            progress(total, total)
        return finish(maps, raw)
    maps = np.zeros(acts.shape[:3], np.float32)
    for i, channels in enumerate(active):
        # channel -1 ablates nothing: the first call also gives the intact score S
        order = np.concatenate([[-1], channels]).astype(np.int32)
        scores = np.zeros(len(order), np.float32)
        for start in range(0, len(order), copies):
            part = order[start:start + copies]
            scores[start:start + len(part)] = ablated(acts[i:i + 1], part, classes[i:i + 1])
            done += len(part) - (start == 0)
            if progress is not None:
                progress(done, total)
        weights = (scores[0] - scores[1:]) / max(abs(float(scores[0])), 1e-12)
        combined = np.einsum("hwk,k->hw", acts[i][..., channels], weights)   # no BLAS call beside the backend's
        maps[i] = combined if raw is True else np.maximum(combined, 0)   # ReLU before upsampling, as the paper
    return finish(upsample(maps, x.shape[1:3]), raw)


def _score_cam_fn(graph: TracedGraph):
    """Compiled ``f(x1, acts (M, h, w), classes (1,)) -> (M,)``: class probability of ``x1``
    masked by each activation map, upsampled to the input and scaled to [0, 1]."""
    def build():
        model = submodel(graph, ("probability",))
        h, w, c = graph.input.shape[1:]

        def masked_probabilities(x1, acts, classes):
            masks = resize_maps(acts, (h, w))[..., None]
            low = ops.min(masks, axis=(1, 2, 3), keepdims=True)
            span = ops.max(masks, axis=(1, 2, 3), keepdims=True) - low
            masks = (masks - low) / ops.where(span > 0, span, ops.ones_like(span))
            return ops.take(model(x1 * masks, training=False), classes[0], axis=1)

        return compile_on(model, masked_probabilities, Spec((1, h, w, c)), Spec((None, None, None)),
                          Spec((1,), "int32"))

    return cached(graph, ("score_cam",), build)


@declare("faster_score_cam", "Faster Score-CAM", family="cam", layer=True, gradients=False,
         shows="Score-CAM on the most varied channels only",
         distrust="channels left out may hold the evidence; raise max_channels when maps differ from Score-CAM",
         options=(Option("max_channels", 16, 1, 4096, "channels kept, those that vary most over the image"),))
@declare("score_cam", "Score-CAM", family="cam", layer=True, gradients=False,
         shows="channels weighted by the class probability of the image masked by each; no gradients",
         distrust="one forward pass per channel (512 on VGG16: minutes on a CPU); masks of a coarse layer blur "
                  "small objects")
@stored()
def score_cam(model: ModelLike, x: np.ndarray, class_index: ClassIndex = None, layer: str | None = None, *,
              max_channels: int | None = None, batch_size: int | None = None,
              progress: Progress = None, raw: Raw = False) -> np.ndarray:
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
    if max_channels is not None and (not isinstance(max_channels, (int, np.integer)) or max_channels < 1):
        raise ArgumentError(f"max_channels must be a positive int or None; got {max_channels!r}")
    graph, x, layer, classes, _ = _layer_and_classes(model, x, class_index, layer, "Score-CAM")
    size = batch_size or chunk_size(graph)
    acts = layer_activations(model, graph, x, layer, batch_size)   # (N, h, w, K)

    kept = []
    for a in acts:
        flat = a.reshape(-1, a.shape[-1])
        varying = np.flatnonzero(flat.max(axis=0) > flat.min(axis=0))
        if max_channels is not None and len(varying) > max_channels:
            variance = flat[:, varying].var(axis=0)
            varying = varying[np.sort(np.argsort(-variance, kind="stable")[:max_channels])]
        kept.append(varying)
    total, done = sum(len(k) for k in kept), 0

    masked = _score_cam_fn(graph)
    maps = np.zeros(acts.shape[:3], np.float32)
    for i, channels in enumerate(kept):
        weights = np.zeros(len(channels), np.float32)
        for start in range(0, len(channels), size):
            part = channels[start:start + size]
            weights[start:start + len(part)] = masked(x[i:i + 1], np.moveaxis(acts[i][..., part], -1, 0),
                                                      classes[i:i + 1])
            done += len(part)
            if progress is not None:
                progress(done, total)
        combined = acts[i][..., channels] @ weights
        maps[i] = combined if raw is True else np.maximum(combined, 0)   # ReLU before upsampling, as the paper
    return finish(upsample(maps, x.shape[1:3]), raw)
