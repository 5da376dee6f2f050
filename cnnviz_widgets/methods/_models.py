"""From what a method is given to what it computes on: the Keras model behind a model or an
inspector, its traced graph at the batch's size (traced once per model and size by
:func:`~cnnviz_widgets.inspector.graph.cached_trace`), a checked batch, and layer names.

Methods accept a ``keras.Model`` or a :class:`~cnnviz_widgets.ModelInspector`; both lead to the
same :class:`~cnnviz_widgets.inspector.graph.TracedGraph`, so nested models, Sequential models
without an ``Input`` and subclassed models work everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Union

import keras
import numpy as np

from cnnviz_widgets.errors import ArgumentError, ChannelCountError, UnsupportedModelError
from cnnviz_widgets.inspector.graph import TracedGraph, cached_trace, model_input_shape, resolve_input_shape

if TYPE_CHECKING:
    from cnnviz_widgets.inspector.model_inspector import ModelInspector

ModelLike = Union[keras.Model, "ModelInspector"]
def keras_model(model: ModelLike) -> keras.Model:
    """The Keras model behind ``model`` (a Keras model or a ModelInspector)."""
    if isinstance(model, keras.Model):
        return model
    inner = getattr(model, "model", None)
    if isinstance(inner, keras.Model) and hasattr(model, "graph"):
        return inner
    raise UnsupportedModelError(
        f"Expected a keras.Model or a ModelInspector; got {type(model).__name__}")


def declared_input_shape(model: ModelLike) -> tuple[int | None, ...]:
    """(H, W, C) of ``model``'s input as far as it is known (None: an open size): an inspector's
    own resolved shape (what it was given or found, never asked of the model again), else the
    Keras model's (UnsupportedModelError when it has none)."""
    net = keras_model(model)
    return tuple(model.input_shape) if net is not model else model_input_shape(net)


def graph_for(model: ModelLike, input_shape: tuple[int, int, int] | None = None) -> TracedGraph:
    """The traced graph of ``model`` at ``input_shape`` (H, W, C), or at its own input shape.

    An inspector's own graph is reused when the shape matches.
    """
    net = keras_model(model)
    if net is not model:
        own = model.graph
        if input_shape is None or tuple(input_shape) == tuple(model.input_shape):
            return own
        return cached_trace(net, resolve_input_shape(net, input_shape), own.output_name, own.head)
    return cached_trace(net, resolve_input_shape(net, input_shape))


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
    own = declared_input_shape(model)
    if own[2] is not None and x.shape[3] != own[2]:
        raise ChannelCountError(f"The model {net.name!r} takes {own[2]} channels; x has {x.shape[3]} (shape {x.shape})")
    try:
        graph = graph_for(model, x.shape[1:])
    except (ValueError, TypeError) as exc:
        raise ArgumentError(
            f"The model {net.name!r} cannot take images of size {x.shape[1]}x{x.shape[2]} (its input is "
            f"{own}); resize the images first, e.g. with ModelInspector.set_image. ({exc})") from exc
    return graph, x


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
