"""Compiled functions of a traced graph, each built once and kept in ``graph.derived``: forward
passes to the probabilities or to a layer, blends of two images, gradients to the input or to
a layer. They take a batch of any length (an open batch axis in the signature), so chunks of
different sizes never retrace on TensorFlow (JAX compiles once per chunk size). Compilation
and gradients go through :mod:`cnnviz_widgets.backend`; everything here is ``keras.ops``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
from keras import ops

from cnnviz_widgets import backend
from cnnviz_widgets.backend import Spec
from cnnviz_widgets.inspector.graph import TracedGraph, split_graph
from cnnviz_widgets.methods._chunks import chunk_size, run_chunked
from cnnviz_widgets.methods._models import ModelLike, keras_model

Target = Callable[[Any], Any]
"""A callable on the head's scores (the logits, a (N, K) tensor) returning one score per image
(N,): a margin ``lambda s: s[:, 3] - s[:, 5]``, a multi-label sum ``lambda s: s[:, 1] + s[:, 4]``,
as pytorch-grad-cam's targets. The gradient methods explain it instead of one class's score."""
def cached(graph: TracedGraph, key: tuple, build: Callable[[], Any]) -> Any:
    """``graph.derived[key]``, built on first use."""
    return graph.derived.get_or_compute(key, build)


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


CLASSES = Spec((None,), "int32")
"""A batch of class indices (N,)."""


def input_spec(graph: TracedGraph) -> Spec:
    """A batch of any length at the graph's input size."""
    return Spec((None, *graph.input.shape[1:]))


def compile_on(model: keras.Model | None, fn: Callable, *signature: Spec) -> Callable:
    """``fn`` compiled for the active backend (:func:`cnnviz_widgets.backend.compiled`) over
    ``model``'s variables (None: it reads none); the compiled function takes and returns numpy
    arrays (or tuples of them)."""
    call = backend.compiled(fn, signature, model.variables if model is not None else ())

    def to_numpy(*args):
        return keras.tree.map_structure(backend.to_numpy, call(*args))

    return to_numpy


def score_tensor(graph: TracedGraph) -> Any:
    """Per-class scores (N, K) that gradients start from: the head's logits (see ``inspector.heads``)."""
    return graph.score


def probability_tensor(graph: TracedGraph) -> Any:
    """Per-class probabilities (N, K) for the graph's head."""
    return graph.probability


def predict_fn(graph: TracedGraph) -> Callable:
    """Compiled ``f(x) -> class probabilities (N, K)``."""
    def build():
        model = submodel(graph, ("probability",))
        return compile_on(model, lambda x: model(x, training=False), input_spec(graph))

    return cached(graph, ("predict",), build)


def predict_probabilities(graph: TracedGraph, x: np.ndarray) -> np.ndarray:
    """Class probabilities (N, K) of a batch, in chunks through the compiled forward."""
    return run_chunked(lambda chunk: predict_fn(graph)(chunk), x, chunk_size(graph))


def blend_probability_fn(graph: TracedGraph) -> Callable:
    """Compiled ``f(a, b, masks, classes) -> (M,)``: class probability of ``a*(1-m) + b*m``.

    ``a`` and ``b`` are single images (1, H, W, C), ``masks`` (M, H, W) in [0, 1], ``classes``
    (1,) int32. Occlusion, Score-CAM and the deletion/insertion metrics are all this blend.
    """
    def build():
        model = submodel(graph, ("probability",))
        h, w, c = graph.input.shape[1:]
        single = Spec((1, h, w, c))

        def blend(a, b, masks, classes):
            probs = model(a + (b - a) * masks[..., None], training=False)  # = a (1 - m) + b m
            return ops.take(probs, classes[0], axis=1)

        return compile_on(model, blend, single, single, Spec((None, h, w)), Spec((1,), "int32"))

    return cached(graph, ("blend",), build)


def activation_fn(graph: TracedGraph, layer: str) -> Callable:
    """Compiled ``f(x) -> activations of layer`` for a batch."""
    def build():
        model = submodel(graph, (layer,))
        return compile_on(model, lambda x: model(x, training=False), input_spec(graph))

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
    return run_chunked(lambda chunk: activation_fn(graph, layer)(chunk), x, size or chunk_size(graph))


def chosen_scores(scores: Any, classes: Any, target: Target | None = None) -> Any:
    """(N,) score of each image's class (:data:`TOP_CLASS`: the image's highest score), or
    ``target(scores)`` when a target is given."""
    if target is not None:
        return ops.reshape(ops.cast(target(scores), "float32"), (-1,))
    top = ops.cast(ops.argmax(scores, axis=1), "int32")
    chosen = ops.where(classes < 0, top, ops.cast(classes, "int32"))
    return ops.take_along_axis(scores, chosen[:, None], axis=1)[:, 0]


def input_gradient_fn(graph: TracedGraph, target: Target | None = None) -> Callable:
    """Compiled ``f(x, classes) -> d score[class] / d x`` (or of ``target(scores)``), (N, H, W, C)."""
    def build():
        model = submodel(graph, ("score",))

        def gradient(x, classes):
            return backend.gradient(
                lambda v: ops.sum(chosen_scores(model(v, training=False), classes, target)), x)

        return compile_on(model, gradient, input_spec(graph), CLASSES)

    return cached(graph, ("input_gradient", target), build)


def layer_gradient(graph: TracedGraph, layer: str, target: Target | None = None) -> tuple[keras.Model, Callable]:
    """``(model, f)``: ``f(x, classes) -> (A, dS/dA)``, uncompiled, for compiled functions that
    go on from the gradient (the CAMs), and the model whose variables it reads.

    The gradient is taken with respect to the zero input that :func:`split_graph` adds at the
    layer: only the part of the network above the layer is differentiated, which is
    Grad-CAM's bound (a forward pass and the backward pass from the score to the layer).
    """
    def build():
        split = split_graph(graph, layer)
        name = split.resolve(layer)
        model = keras.Model([split.input, split.delta], [split.tensors[name], split.score])

        def gradient(x, classes):
            def score_and_features(delta):
                features, scores = model([x, delta], training=False)
                return ops.sum(chosen_scores(scores, classes, target)), features

            zeros = ops.zeros((ops.shape(x)[0], *split.delta.shape[1:]), dtype=split.delta.dtype)
            return backend.value_and_gradient(score_and_features, zeros)

        return model, gradient

    return cached(graph, ("layer_gradient_model", layer, target), build)

