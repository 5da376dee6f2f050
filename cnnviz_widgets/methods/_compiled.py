"""Compiled functions of a traced graph, each built once and kept in ``graph.derived``: forward
passes to the probabilities or to a layer, blends of two images, gradients to the input or to
a layer. They take a batch of any length (an open batch axis in ``input_signature``), so
chunks of different sizes never retrace.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from cnnviz_widgets.inspector.graph import TracedGraph
from cnnviz_widgets.methods._chunks import chunk_size, run_chunked
from cnnviz_widgets.methods._models import ModelLike, keras_model

Target = Callable[[tf.Tensor], tf.Tensor]
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


def input_spec(graph: TracedGraph) -> tf.TensorSpec:
    """TensorSpec of a batch of any length at the graph's input size."""
    return tf.TensorSpec((None, *graph.input.shape[1:]), tf.float32)


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
        return tf.function(lambda x: model(x, training=False), input_signature=[input_spec(graph)])

    return cached(graph, ("predict",), build)


def predict_probabilities(graph: TracedGraph, x: np.ndarray) -> np.ndarray:
    """Class probabilities (N, K) of a batch, in chunks through the compiled forward."""
    return run_chunked(lambda chunk: predict_fn(graph)(chunk).numpy(), x, chunk_size(graph))


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
