"""Filter weights: the kernels of a convolution layer, ready to display."""

from __future__ import annotations

import numpy as np

from cnnviz_widgets.errors import ArgumentError
from cnnviz_widgets.methods._models import ModelLike, default_preprocess, graph_for, layer_name


def _kernel(model: ModelLike, layer: str) -> tuple[str, np.ndarray]:
    graph = graph_for(model)
    name = layer_name(graph, layer)
    obj = graph.layer_objects[name]
    for attr in ("kernel", "depthwise_kernel"):
        kernel = getattr(obj, attr, None)
        if kernel is not None:
            kernel = np.asarray(kernel, np.float32)
            if kernel.ndim == 4:
                return name, kernel
    raise ArgumentError(f"Layer {name!r} ({type(obj).__name__}) has no 2-D convolution kernel; "
                        f"pick a Conv2D or DepthwiseConv2D layer")


def filter_weights(model: ModelLike, layer: str) -> np.ndarray:
    """The kernel of a convolution layer, min-max normalised over the whole layer (as tutorials plot them).

    Args:
        model: a Keras model or a ModelInspector.
        layer: qualified name of a Conv2D (or DepthwiseConv2D) layer.

    Returns:
        float32 (kh, kw, c_in, c_out) in [0, 1]; a constant kernel gives all 0.5.
    """
    _, kernel = _kernel(model, layer)
    low, high = kernel.min(), kernel.max()
    if high == low:
        return np.full_like(kernel, 0.5)
    return ((kernel - low) / (high - low)).astype(np.float32)


def first_conv_layer(model: ModelLike) -> str:
    """Qualified name of the first layer that has a 2-D convolution kernel."""
    graph = graph_for(model)
    for record in graph.records:
        if record.has_conv2d_kernel:
            return record.name
    raise ArgumentError("The model has no 2-D convolution layer")


def filter_weights_rgb(model: ModelLike, layer: str | None = None) -> np.ndarray:
    """Kernels of a layer that reads the RGB image, one colour tile per filter.

    Each filter is min-max normalised on its own, so that its colour pattern shows even when
    its weights are small. Models whose preprocessing reorders channels to BGR (VGG16,
    ResNet50) have their kernels flipped back to RGB.

    Args:
        model: a Keras model or a ModelInspector.
        layer: a conv layer with 3 input channels; None takes the first conv layer.

    Returns:
        float32 (c_out, kh, kw, 3) in [0, 1].
    """
    name, kernel = _kernel(model, layer if layer is not None else first_conv_layer(model))
    if kernel.shape[2] != 3:
        raise ArgumentError(f"Layer {name!r} has {kernel.shape[2]} input channels; RGB tiles need 3 "
                            f"(use filter_weights for one channel at a time)")
    if _swaps_red_and_blue(model):
        kernel = kernel[:, :, ::-1, :]
    tiles = np.moveaxis(kernel, -1, 0)
    low = tiles.min(axis=(1, 2, 3), keepdims=True)
    span = tiles.max(axis=(1, 2, 3), keepdims=True) - low
    return ((tiles - low) / np.where(span > 0, span, 1.0)).astype(np.float32)


def _swaps_red_and_blue(model: ModelLike) -> bool:
    """True when the model's preprocessing feeds channel 0 from the blue pixel values."""
    probe = np.zeros((1, 1, 1, 3), np.float32)
    probe[..., 0] = 255.0
    zero = np.zeros_like(probe)
    preprocess = default_preprocess(model)
    change = preprocess(probe) - preprocess(zero)
    return bool(abs(change[0, 0, 0, 2]) > abs(change[0, 0, 0, 0]))
