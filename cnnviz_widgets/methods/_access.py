"""What every method needs from a model: its traced graph, a checked batch, class indices,
chunk sizes, and compiled functions cached per graph.

Methods accept a ``keras.Model`` or a :class:`~cnnviz_widgets.ModelInspector`. Both lead to
the same :class:`~cnnviz_widgets.inspector.graph.TracedGraph` (traced once per model and
input size by :func:`~cnnviz_widgets.inspector.graph.cached_trace`), so nested models,
Sequential models without an ``Input`` and subclassed models work everywhere, and a
compiled function built once (kept in ``graph.derived``) serves every later call.

Compiled functions take a batch of any length (``input_signature`` with an open batch
axis), so chunks of different sizes never retrace.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Union

import keras
import numpy as np
import tensorflow as tf

from cnnviz_widgets.errors import ArgumentError, ChannelCountError, UnsupportedModelError
from cnnviz_widgets.inspector.graph import TracedGraph, cached_trace, model_input_shape, resolve_input_shape

if TYPE_CHECKING:
    from cnnviz_widgets.inspector.model_inspector import ModelInspector

ModelLike = Union[keras.Model, "ModelInspector"]
ClassIndex = int | Sequence[int] | np.ndarray | Callable[[Any], Any] | None
"""What a method explains: one class for all images, one class per image, None (each image's
top class), or, for the gradient methods, a callable target (see :data:`Target`)."""
Target = Callable[[tf.Tensor], tf.Tensor]
"""A callable on the head's scores (the logits, a (N, K) tensor) returning one score per image
(N,): a margin ``lambda s: s[:, 3] - s[:, 5]``, a multi-label sum ``lambda s: s[:, 1] + s[:, 4]``,
as pytorch-grad-cam's targets. The gradient methods explain it instead of one class's score."""
Progress = Callable[[int, int], Any] | None
"""A callback ``progress(done, total)``; raising from it aborts the computation."""

_CHUNK_BUDGET_BYTES = 768 * 2**20
_MAX_CHUNK = 64


def keras_model(model: ModelLike) -> keras.Model:
    """The Keras model behind ``model`` (a Keras model or a ModelInspector)."""
    if isinstance(model, keras.Model):
        return model
    inner = getattr(model, "model", None)
    if isinstance(inner, keras.Model) and hasattr(model, "graph"):
        return inner
    raise UnsupportedModelError(
        f"Expected a keras.Model or a ModelInspector; got {type(model).__name__}")


def graph_for(model: ModelLike, input_shape: tuple[int, int, int] | None = None) -> TracedGraph:
    """The traced graph of ``model`` at ``input_shape`` (H, W, C), or at its own input shape.

    An inspector's own graph is reused when the shape matches.
    """
    net = keras_model(model)
    if net is not model:
        own = model.graph
        if input_shape is None or tuple(input_shape) == tuple(model.input_shape):
            return own
        return cached_trace(net, resolve_input_shape(net, tuple(input_shape)), own.output_name, own.head)
    return cached_trace(net, resolve_input_shape(net, None if input_shape is None else tuple(input_shape)))


def default_preprocess(model: ModelLike) -> Callable[[np.ndarray], np.ndarray]:
    """The pixel-to-model-input function: the inspector's, or the automatic choice for a model."""
    if not isinstance(model, keras.Model) and hasattr(model, "preprocess"):
        return model.preprocess
    from cnnviz_widgets.inspector.preprocessing import resolve_preprocessing

    return resolve_preprocessing("auto", model)[1]


def prepare(model: ModelLike, x: np.ndarray) -> tuple[TracedGraph, np.ndarray]:
    """Check a model-ready batch and return (graph traced at its size, float32 batch).

    Raises:
        ArgumentError: ``x`` is not a 4-D (N, H, W, C) batch, or has a size a fixed-size model
            cannot take.
        ChannelCountError: the channel count differs from the model's.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 4:
        hint = " (a single image: pass x[None])" if x.ndim == 3 else ""
        raise ArgumentError(f"Expected a batch of shape (N, H, W, C); got an array of shape {x.shape}{hint}")
    if len(x) == 0:
        raise ArgumentError("The batch x is empty (N = 0)")
    if not np.isfinite(x).all():
        raise ArgumentError("The batch x contains NaN or infinite values")
    net = keras_model(model)
    own = model_input_shape(net)
    if own[2] is not None and x.shape[3] != own[2]:
        raise ChannelCountError(f"The model {net.name!r} takes {own[2]} channels; x has {x.shape[3]} (shape {x.shape})")
    try:
        graph = graph_for(model, x.shape[1:])
    except (ValueError, TypeError) as exc:
        raise ArgumentError(
            f"The model {net.name!r} cannot take images of size {x.shape[1]}x{x.shape[2]} (its input is "
            f"{own}); resize the images first, e.g. with ModelInspector.set_image. ({exc})") from exc
    return graph, x


def predict_probabilities(graph: TracedGraph, x: np.ndarray) -> np.ndarray:
    """Class probabilities (N, K) of a batch, in chunks through the compiled forward."""
    return run_chunked(lambda chunk: predict_fn(graph)(chunk).numpy(), x, chunk_size(graph))


TOP_CLASS = -1
"""Class index understood by the compiled gradient functions as "this image's top class"."""


def class_indices(graph: TracedGraph, x: np.ndarray, class_index: ClassIndex,
                  probs: np.ndarray | None = None, *, top_in_graph: bool = False) -> np.ndarray:
    """Turn ``class_index`` into one int32 class per image; None picks each image's top class.

    ``probs`` (N, K), when the caller has them already, spares the forward pass for None;
    ``top_in_graph=True`` returns :data:`TOP_CLASS` for None instead, for the compiled
    gradient functions, which then pick the top class in their own forward pass.

    Raises:
        ArgumentError: a wrong count of classes or a class out of range.
    """
    n = len(x)
    n_classes = graph.n_classes
    if callable(class_index):
        raise ArgumentError("A callable target (scores -> one score per image) works with the gradient methods; "
                            "this method measures class probabilities: pass a class index")
    if class_index is None and top_in_graph:
        return np.full(n, TOP_CLASS, np.int32)
    if class_index is None:
        probs = predict_probabilities(graph, x) if probs is None else probs
        return probs.argmax(axis=1).astype(np.int32)
    if isinstance(class_index, (int, np.integer)):
        classes = np.full(n, int(class_index), np.int32)
    else:
        classes = np.asarray(class_index)
        if classes.ndim != 1 or len(classes) != n or not np.issubdtype(classes.dtype, np.integer):
            raise ArgumentError(
                f"class_index must be an int, one int per image ({n}), or None; got {class_index!r}")
        classes = classes.astype(np.int32)
    bad = classes[(classes < 0) | (classes >= n_classes)]
    if len(bad):
        raise ArgumentError(f"class_index {int(bad[0])} is out of range: the model has {n_classes} classes")
    return classes


def split_target(graph: TracedGraph, class_index: ClassIndex) -> tuple[ClassIndex, Target | None]:
    """``(class_index, None)``, or ``(None, target)`` for a callable target, checked on a dummy
    batch of scores: it must return one finite score per image."""
    if not callable(class_index):
        return class_index, None
    try:
        out = class_index(tf.zeros((2, int(graph.score.shape[-1])), tf.float32))
        shape = tuple(tf.convert_to_tensor(out).shape)
    except Exception as exc:
        raise ArgumentError(f"The target {class_index!r} failed on a (2, K) batch of scores: {exc}") from exc
    if shape != (2,):
        raise ArgumentError(f"A target must return one score per image: (N,) from scores (N, K); it returned a "
                            f"tensor of shape {shape} for N = 2")
    return None, class_index


def chunk_size(graph: TracedGraph, budget_bytes: int = _CHUNK_BUDGET_BYTES, *, backward: bool = True) -> int:
    """How many images to push through the model at once: what its activations fit in the budget.

    Counts every recorded layer output of one image (float32), doubled for the backward pass;
    a forward-only method (``backward=False``: RISE's masked copies) gets twice as many, up to
    eight times the usual cap, since a larger batch is faster on a CPU.
    """
    per_image = 0
    for record in graph.records:
        per_image += int(np.prod([d or 1 for d in record.output_shape]))
    per_image = (2 if backward else 1) * 4 * max(per_image, 1)
    return int(np.clip(budget_bytes // per_image, 1, _MAX_CHUNK if backward else 8 * _MAX_CHUNK))


def run_chunked(fn: Callable[[np.ndarray], np.ndarray], items: np.ndarray, size: int,
                progress: Progress = None, *extra: np.ndarray) -> np.ndarray:
    """Apply ``fn`` to ``items`` (and matching ``extra`` arrays) in chunks; concatenate the results."""
    out = []
    total = len(items)
    for start in range(0, total, size):
        stop = min(start + size, total)
        out.append(np.asarray(fn(items[start:stop], *(e[start:stop] for e in extra))))
        if progress is not None:
            progress(stop, total)
    return np.concatenate(out)


def score_tensor(graph: TracedGraph) -> Any:
    """Per-class scores (N, K) that gradients start from: the head's logits (see ``inspector.heads``)."""
    return graph.score


def probability_tensor(graph: TracedGraph) -> Any:
    """Per-class probabilities (N, K) for the graph's head."""
    return graph.probability


def cached(graph: TracedGraph, key: tuple, build: Callable[[], Any]) -> Any:
    """``graph.derived[key]``, built on first use."""
    value = graph.derived.get(key)
    if value is None:
        value = build()
        graph.derived.put(key, value)
    return value


def submodel(graph: TracedGraph, outputs: tuple[str, ...]) -> keras.Model:
    """A model from the graph input to the named tensors (layer names or ``"score"``/``"probability"``)."""
    def build():
        tensors = []
        for name in outputs:
            if name == "score":
                tensors.append(score_tensor(graph))
            elif name == "probability":
                tensors.append(probability_tensor(graph))
            else:
                tensors.append(graph.tensors[name])
        return keras.Model(graph.input, tensors[0] if len(tensors) == 1 else tensors)

    return cached(graph, ("submodel", outputs), build)


def input_spec(graph: TracedGraph) -> tf.TensorSpec:
    """TensorSpec of a batch of any length at the graph's input size."""
    return tf.TensorSpec((None, *graph.input.shape[1:]), tf.float32)


def predict_fn(graph: TracedGraph) -> Callable:
    """Compiled ``f(x) -> class probabilities (N, K)``."""
    def build():
        model = submodel(graph, ("probability",))
        return tf.function(lambda x: model(x, training=False), input_signature=[input_spec(graph)])

    return cached(graph, ("predict",), build)


def blend_probability_fn(graph: TracedGraph) -> Callable:
    """Compiled ``f(a, b, masks, classes) -> (M,)``: class probability of ``a*(1-m) + b*m``.

    ``a`` and ``b`` are single images (1, H, W, C), ``masks`` (M, H, W) in [0, 1], ``classes``
    (1,) int32. Occlusion, Score-CAM and the deletion/insertion metrics are all this blend.
    """
    def build():
        model = submodel(graph, ("probability",))
        h, w, c = graph.input.shape[1:]
        single = tf.TensorSpec((1, h, w, c), tf.float32)

        @tf.function(input_signature=[single, single, tf.TensorSpec((None, h, w), tf.float32),
                                      tf.TensorSpec((1,), tf.int32)])
        def blend(a, b, masks, classes):
            probs = model(a + (b - a) * masks[..., None], training=False)  # = a (1 - m) + b m
            return tf.gather(probs, classes[0], axis=1)

        return blend

    return cached(graph, ("blend",), build)


def activation_fn(graph: TracedGraph, layer: str) -> Callable:
    """Compiled ``f(x) -> activations of layer`` for a batch."""
    def build():
        model = submodel(graph, (layer,))
        return tf.function(lambda x: model(x, training=False), input_signature=[input_spec(graph)])

    return cached(graph, ("activations", layer), build)


def layer_activations(model: ModelLike, graph: TracedGraph, x: np.ndarray, layer: str,
                      size: int | None = None) -> np.ndarray:
    """Activations (N, h, w, K) of ``layer`` for the batch ``x``.

    An inspector whose current image is ``x`` already holds them from its one forward pass, so
    they are read from its cache; otherwise they are computed in chunks of ``size`` images.
    """
    if (keras_model(model) is not model and graph is model.graph and model.has_image
            and model.batch.shape == x.shape and np.array_equal(model.batch, x)):
        return np.asarray(model.activations(layer))[None]
    return run_chunked(lambda chunk: activation_fn(graph, layer)(chunk).numpy(), x, size or chunk_size(graph))


def chosen_scores(scores: tf.Tensor, classes: tf.Tensor, target: Target | None = None) -> tf.Tensor:
    """(N,) score of each image's class (:data:`TOP_CLASS`: the image's highest score), or
    ``target(scores)`` when a target is given."""
    if target is not None:
        return tf.reshape(tf.cast(target(scores), tf.float32), (-1,))
    top = tf.argmax(scores, axis=1, output_type=tf.int32)
    return tf.gather(scores, tf.where(classes < 0, top, classes), axis=1, batch_dims=1)


def input_gradient_fn(graph: TracedGraph, target: Target | None = None) -> Callable:
    """Compiled ``f(x, classes) -> d score[class] / d x`` (or of ``target(scores)``), (N, H, W, C)."""
    def build():
        model = submodel(graph, ("score",))

        @tf.function(input_signature=[input_spec(graph), tf.TensorSpec((None,), tf.int32)])
        def gradient(x, classes):
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(x)
                score = chosen_scores(model(x, training=False), classes, target)
            return tape.gradient(score, x)

        return gradient

    return cached(graph, ("input_gradient", target), build)


def layer_gradient_fn(graph: TracedGraph, layer: str, target: Target | None = None) -> Callable:
    """Compiled ``f(x, classes) -> (A, dS/dA)``: a layer's activations and the gradient of the
    class score (or of ``target(scores)``)."""
    def build():
        model = submodel(graph, (layer, "score"))

        @tf.function(input_signature=[input_spec(graph), tf.TensorSpec((None,), tf.int32)])
        def gradient(x, classes):
            # tf.gradients (graph mode) back-propagates only from the score to the layer:
            # nothing below the layer is differentiated, which is Grad-CAM's physical bound.
            features, scores = model(x, training=False)
            return features, tf.gradients(chosen_scores(scores, classes, target), features)[0]

        return gradient

    return cached(graph, ("layer_gradient", layer, target), build)


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
    return tf.image.resize(maps[..., None], size, method="bilinear").numpy()[..., 0]


def normalize_maps(maps: np.ndarray) -> np.ndarray:
    """ReLU, then scale each map of (N, H, W) to [0, 1] by its peak; an all-zero map stays zero."""
    maps = np.maximum(np.asarray(maps, np.float32), 0)
    peak = maps.reshape(len(maps), -1).max(axis=1)
    scale = np.where(peak > 0, peak, 1.0).astype(np.float32)
    return maps / scale[:, None, None]


def finish(maps: np.ndarray, raw: bool) -> np.ndarray:
    """A method's last step: the signed float32 maps themselves when ``raw``, else
    :func:`normalize_maps` (ReLU, scaled to [0, 1] per map)."""
    return np.asarray(maps, np.float32) if raw else normalize_maps(maps)


def layer_name(graph: TracedGraph, layer: str) -> str:
    """The qualified name of ``layer`` (LayerNotFoundError with suggestions if unknown)."""
    if not isinstance(layer, str):
        raise ArgumentError(f"layer must be a layer name (str); got {type(layer).__name__}")
    return graph.resolve(layer)


def spatial_layer(graph: TracedGraph, layer: str | None, what: str) -> str:
    """Resolve a layer argument that must have a spatial (H, W, C) output; None picks the CAM layer."""
    if layer is None:
        from cnnviz_widgets.methods.target_layer import default_cam_layer

        return default_cam_layer(graph)[0]
    name = layer_name(graph, layer)
    record = graph.record(name)
    if not record.is_spatial:
        raise ArgumentError(
            f"{what} needs a layer with a spatial (H, W, C) output; {name!r} outputs {record.output_shape}")
    return name
