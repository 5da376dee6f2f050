"""Reaching every layer output of any Keras 3 model: the only module that fights Keras.

Keras 3 cannot build ``keras.Model(m.inputs, [layer.output ...])`` for nested models
(a base network used as a layer), for subclassed models, and ``m.output`` is undefined
for Sequential models built without an ``Input``. So the inspector never asks layers for
their ``.output``. Instead :func:`trace_model` re-calls the model's layers, in graph
order, on one fresh ``keras.Input``:

- a ``Sequential`` model is walked layer by layer;
- a functional model is walked node by node with Keras's own graph runner
  (``Function._run_through_graph`` with a ``call_fn``, private API pinned by a test),
  so residual DAGs keep their structure;
- a nested model (any of the above used as a layer) is flattened recursively, its inner
  layers named ``outer/inner`` (``vgg16/block5_conv3``); the nested model's own output is
  recorded under its name as well;
- a subclassed model is traced symbolically by calling its ``call`` on the fresh input
  while ``Layer.__call__`` is briefly routed through the tracer, so that each sub-layer
  it calls is recorded. Code that only runs eagerly (raw TensorFlow ops on symbolic
  tensors) cannot be traced, and the error says so.

Every recorded tensor belongs to one graph, so one multi-output model
(:attr:`TracedGraph.feature_model`) yields every activation and the prediction in a
single forward pass. Re-calling a layer adds a node to that layer's call history but does
not change its weights, configuration or the user's model graph.
"""

from __future__ import annotations

import gc
import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from cnnviz_widgets import backend
from cnnviz_widgets.errors import (
    ArgumentError,
    ChannelCountError,
    LayerNotFoundError,
    NotAnImageModelError,
    UnsupportedModelError,
)
from cnnviz_widgets.inspector.cache import ByteLRUCache, entry_cache
from cnnviz_widgets.inspector.heads import class_count, head_tensors, resolve_head

log = logging.getLogger("cnnviz_widgets")

DEFAULT_SPATIAL_SIZE = 224
"""Input size used for models that leave their spatial size open (``include_top=False``)."""

OUTPUT_KEY = "__output__"
LOGITS_KEY = "__logits__"
SCORE_KEY = "__score__"
PROBABILITY_KEY = "__probability__"

_SOFT_ACTIVATIONS = ("softmax", "sigmoid")

MAX_DERIVED = 64
"""Compiled functions and sub-models kept per traced graph."""

MAX_TRACES_PER_MODEL = 8
"""Traces (input size, output, head) kept per model; the least recently used go first."""


@dataclass(frozen=True)
class LayerRecord:
    """One reachable layer output.

    Attributes:
        name: qualified name, ``outer/inner`` for layers inside nested models.
        kind: one of ``conv``, ``pool``, ``dense``, ``activation``, ``normalization``, ``other``.
        output_shape: output shape without the batch axis.
        kernel_shape: the kernel shape for convolution layers, else None.
        class_name: the Keras class name (``Conv2D``...).
    """

    name: str
    kind: str
    output_shape: tuple[int, ...]
    kernel_shape: tuple[int, ...] | None
    class_name: str

    @property
    def is_spatial(self) -> bool:
        """True for 4-D outputs (H, W, C without the batch axis)."""
        return len(self.output_shape) == 3

    @property
    def has_conv2d_kernel(self) -> bool:
        """True for layers with a 2-D convolution kernel (kh, kw, c_in, c_out): filters to show."""
        return self.kernel_shape is not None and len(self.kernel_shape) == 4


@dataclass
class TracedGraph:
    """The result of :func:`trace_model`: one graph holding every layer's output."""

    input: Any
    output: Any
    tensors: dict[str, Any]
    layer_objects: dict[str, keras.layers.Layer]
    records: list[LayerRecord]
    output_activation: str
    logits: Any | None
    feature_model: keras.Model = field(repr=False)
    head: str = "softmax"
    """How the output is read as classes (see :mod:`cnnviz_widgets.inspector.heads`)."""
    head_reason: str = ""
    score: Any = None
    """Per-class scores (N, K) that gradients start from (the head's logits)."""
    probability: Any = None
    """Per-class probabilities (N, K) for the head (the raw output for ``head="score"``)."""
    output_name: str = ""
    """Name of the explained output."""
    output_names: tuple[str, ...] = ()
    """Names of all the model's outputs (one for single-output models)."""
    parents: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    """For each recorded layer, the recorded layers whose outputs it was called on."""
    delta: Any = None
    """For a graph split at a layer (:func:`split_graph`): the second input, added to that layer's output."""
    source: Any = field(default=None, repr=False, compare=False)
    """A weak reference to the traced Keras model."""
    derived: ByteLRUCache = field(default_factory=lambda: entry_cache(MAX_DERIVED), repr=False, compare=False)
    """Per-graph cache of sub-models and compiled functions built by the methods (at most
    :data:`MAX_DERIVED`, least recently used dropped first); it lives as long as the graph."""

    def __post_init__(self) -> None:
        self._by_name = {r.name: r for r in self.records}

    @property
    def n_classes(self) -> int:
        """Number of classes the head shows (2 for a one-unit binary output)."""
        return class_count(self.head, int(self.output.shape[-1]))

    def record(self, name: str) -> LayerRecord:
        """The record of layer ``name`` (qualified, or an unambiguous last path component)."""
        return self._by_name[self.resolve(name)]

    def resolve(self, name: str) -> str:
        """Return the qualified name for ``name``; raise :class:`LayerNotFoundError` if unknown."""
        by_name = self._by_name
        if name in by_name:
            return name
        tails = [n for n in by_name if n.rsplit("/", 1)[-1] == name]
        if len(tails) == 1:
            return tails[0]
        raise LayerNotFoundError(name, by_name)


def layer_kind(layer: keras.layers.Layer) -> str:
    """Classify a layer as conv, pool, dense, activation, normalization or other."""
    names = [cls.__name__ for cls in type(layer).__mro__]
    if any("Conv" in n for n in names):
        return "conv"
    if any("Pooling" in n for n in names):
        return "pool"
    if any(n in ("Dense", "EinsumDense") for n in names):
        return "dense"
    if any(n in ("Activation", "ReLU", "Softmax", "LeakyReLU", "PReLU", "ELU") for n in names):
        return "activation"
    if any("Normalization" in n for n in names):
        return "normalization"
    return "other"


def _kernel_shape(layer: keras.layers.Layer) -> tuple[int, ...] | None:
    for attr in ("kernel", "depthwise_kernel"):
        try:
            kernel = getattr(layer, attr, None)
        except Exception:  # noqa: BLE001 - some layers raise from properties before build
            kernel = None
        if kernel is not None:
            return tuple(int(d) for d in kernel.shape)
    return None


def _activation_name(layer: keras.layers.Layer) -> str | None:
    """The name of the softmax/sigmoid a layer applies last, or None."""
    if type(layer).__name__ == "Softmax":
        return "softmax"
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", None)
    return name if name in _SOFT_ACTIVATIONS else None


class _Tracer:
    """Re-calls a model's layers on a new input and records each output under a qualified name."""

    _patch_lock = threading.RLock()

    def __init__(self, split_at: str | None = None) -> None:
        self.split_at = split_at
        self.delta: Any = None
        """With ``split_at``: a ``keras.Input`` added to that layer's output (see :func:`split_graph`)."""
        self.tensors: dict[str, Any] = {}
        self.layer_objects: dict[str, keras.layers.Layer] = {}
        self.parents: dict[str, tuple[str, ...]] = {}
        self.calls: dict[str, tuple] = {}
        """For each recorded name, the positional arguments the layer was called on."""
        self._in_leaf = 0
        self._name_of: dict[int, str] = {}

    # -- recording --------------------------------------------------------
    def _record(self, name: str, layer: keras.layers.Layer, output: Any, args: tuple) -> Any:
        """Record ``output`` under a unique name; returns it (plus the delta input at the split layer)."""
        key, k = name, 2
        while key in self.tensors:  # a shared layer called twice: name, name#2, ...
            key, k = f"{name}#{k}", k + 1
        if key == self.split_at and hasattr(output, "shape"):
            self.delta = keras.Input(shape=tuple(output.shape[1:]), name="cnnviz_delta", dtype=output.dtype)
            output = keras.layers.Add(name="cnnviz_split")([output, self.delta])
        self.tensors[key] = output
        self.layer_objects[key] = layer
        self.calls[key] = args
        flat_args = keras.tree.flatten(args)
        self.parents[key] = tuple(self._name_of[id(t)] for t in flat_args if id(t) in self._name_of)
        self._name_of.setdefault(id(output), key)  # a nested model's output keeps its inner layer's name
        return output

    # -- walking ----------------------------------------------------------
    def call(self, layer: Any, args: tuple, kwargs: dict, prefix: str) -> Any:
        """Call ``layer`` (or a plain operation) on symbolic ``args``, flattening nested models."""
        if not isinstance(layer, keras.layers.Layer):
            return layer(*args, **kwargs)  # a functional op such as keras.ops.add
        if isinstance(layer, keras.Model):
            output = self.run_model(layer, args, kwargs, prefix + layer.name + "/")
        else:
            self._in_leaf += 1
            try:
                output = _ORIGINAL_CALL(layer, *args, **kwargs)
            finally:
                self._in_leaf -= 1
        return self._record(prefix + layer.name, layer, output, args)

    def run_model(self, model: keras.Model, args: tuple, kwargs: dict, prefix: str) -> Any:
        """Run the body of ``model`` layer by layer, recording inner layers under ``prefix``."""
        if isinstance(model, keras.Sequential):
            x = args[0]
            for sub in model.layers:
                x = self.call(sub, (x,), {}, prefix)
            return x
        if hasattr(model, "_run_through_graph") and hasattr(model, "_nodes_by_depth"):
            outputs = model._run_through_graph(
                list(args) if len(args) > 1 else args[0],
                operation_fn=lambda op: op,
                call_fn=lambda op, *a, **k: self.call(op, a, k, prefix),
            )
            return outputs[0] if isinstance(outputs, (list, tuple)) and len(outputs) == 1 else outputs
        return self._run_subclassed(model, args, kwargs, prefix)

    def _run_subclassed(self, model: keras.Model, args: tuple, kwargs: dict, prefix: str) -> Any:
        tracer = self
        owner = threading.get_ident()

        def routed_call(layer, *a, **k):
            # only this thread's calls are traced: a widget's worker calling a layer meanwhile
            # runs the layer as usual and is not recorded
            if tracer._in_leaf or threading.get_ident() != owner:
                return _ORIGINAL_CALL(layer, *a, **k)
            return tracer.call(layer, a, k, prefix)

        with self._patch_lock:
            keras.layers.Layer.__call__ = routed_call
            try:
                return model.call(*args, **kwargs)
            except Exception as exc:
                raise UnsupportedModelError(
                    f"The subclassed model {model.name!r} could not be traced symbolically: its "
                    f"`call` failed on a symbolic keras.Input ({type(exc).__name__}: {exc}). Layer "
                    "outputs of a subclassed model can only be reached when `call` uses Keras layers "
                    "and keras.ops (not raw TensorFlow ops or Python control flow on tensor values). "
                    "Rebuild it as a functional model to inspect it."
                ) from exc
            finally:
                keras.layers.Layer.__call__ = _ORIGINAL_CALL


_ORIGINAL_CALL: Callable = keras.layers.Layer.__call__


def model_input_shape(model: keras.Model) -> tuple[int | None, ...]:
    """Input shape of a single-input image model, without the batch axis.

    Raises:
        NotAnImageModelError: several inputs, or an input that is not (H, W, C).
        UnsupportedModelError: a subclassed model never built or called.
    """
    shape = None
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if inputs:
        if len(inputs) != 1:
            raise NotAnImageModelError(
                f"The model {model.name!r} has {len(inputs)} inputs; cnnviz-widgets needs one image input.")
        shape = tuple(inputs[0].shape[1:])
    else:
        build_shapes = getattr(model, "_build_shapes_dict", None) or {}
        if len(build_shapes) == 1:
            shape = tuple(next(iter(build_shapes.values())))[1:]
    if shape is None:
        raise UnsupportedModelError(
            f"The model {model.name!r} has no known input shape: it was never built or called (a Sequential "
            "model without an Input, or a subclassed model). Call `model.build((None, H, W, C))` first, or pass "
            "input_shape=(H, W, C).")
    if len(shape) != 3:
        raise NotAnImageModelError(
            f"The model {model.name!r} takes inputs of shape {shape}; expected an image input (H, W, C).")
    return shape


def _named_outputs(model: keras.Model, output: Any) -> list[tuple[str, Any]]:
    """The model's outputs as (name, tensor) pairs, in the model's order."""
    if isinstance(output, dict):
        return [(str(k), v) for k, v in output.items()]
    if not isinstance(output, (list, tuple)):
        output = [output]
    try:
        names = list(getattr(model, "output_names", None) or [])
    except Exception:  # noqa: BLE001 - subclassed models may not know their output names
        names = []
    if len(names) != len(output) or len(set(names)) != len(names):
        names = [f"output_{i}" for i in range(len(output))] if len(output) > 1 else [model.name]
    return list(zip(names, output, strict=True))


def _choose_output(named: list[tuple[str, Any]], output: int | str | None) -> tuple[str, Any]:
    names = [n for n, _ in named]
    if output is None:
        return named[0]
    if isinstance(output, str):
        if output not in names:
            raise ArgumentError(f"output={output!r} is not an output of this model; its outputs are {names}")
        return named[names.index(output)]
    if isinstance(output, (int, np.integer)) and not isinstance(output, bool):
        if not -len(named) <= output < len(named):
            raise ArgumentError(f"output={output} is out of range: the model has {len(named)} output(s) {names}")
        return named[int(output)]
    raise ArgumentError(f"output must be an output index (int) or name (str); got {output!r}")


def trace_model(model: keras.Model, input_shape: tuple[int, int, int], output: int | str | None = None,
                head: str = "auto", split_at: str | None = None) -> TracedGraph:
    """Trace ``model`` on a fresh ``keras.Input(input_shape)`` and build its feature model.

    Args:
        model: any single-input Keras model (functional, Sequential, nested, subclassed).
        input_shape: (H, W, C) with concrete sizes.
        output: which output a multi-output model is explained by: an index or an output
            name; None takes the first.
        head: how that output is read as classes: ``"auto"`` or a key of
            :data:`~cnnviz_widgets.inspector.heads.HEADS`.
        split_at: a qualified layer name: a second input (:attr:`TracedGraph.delta`, zeros
            in use) is added to that layer's output, so that a gradient with respect to it is
            the gradient at the layer (see :func:`split_graph`).

    Returns:
        A :class:`TracedGraph` whose ``feature_model`` maps a batch (N, H, W, C) to a dict
        of every layer output plus ``__output__`` (the chosen output), ``__score__`` and
        ``__probability__`` (N, K classes, from the head) and, when the model ends in softmax
        or sigmoid, ``__logits__`` (the pre-activation values).

    Raises:
        ArgumentError: an unknown output or head.
    """
    tracer = _Tracer(split_at)
    inp = keras.Input(shape=tuple(input_shape), name="cnnviz_input", dtype="float32")
    named = _named_outputs(model, tracer.run_model(model, (inp,), {}, prefix=""))
    output_name, output_tensor = _choose_output(named, output)
    feature_output = len(output_tensor.shape) == 4
    if feature_output:  # a feature extractor (include_top=False): each channel's spatial mean is a score
        output_tensor = keras.ops.mean(output_tensor, axis=(1, 2))
        head = "score" if head == "auto" else head
    elif len(output_tensor.shape) != 2:
        raise NotAnImageModelError(
            f"The output {output_name!r} of {model.name!r} has shape {tuple(output_tensor.shape[1:])} per image; "
            "cnnviz-widgets explains a vector of class scores (N, K) or a feature map (N, H, W, C)")

    output_activation, logits = _find_logits(tracer, output_tensor)
    head_name, head_reason = resolve_head(head, int(output_tensor.shape[-1]), output_activation)
    if feature_output:
        head_reason = "the output is a feature map: each channel's spatial mean is explained as a score"
    score, probability = head_tensors(head_name, output_tensor, logits, output_activation)
    records = []
    for name, tensor in tracer.tensors.items():
        if not hasattr(tensor, "shape"):
            continue  # a layer returning several tensors: not shown
        layer = tracer.layer_objects[name]
        kind = layer_kind(layer)
        records.append(LayerRecord(
            name=name,
            kind=kind,
            output_shape=tuple(tensor.shape[1:]),
            kernel_shape=_kernel_shape(layer) if kind == "conv" else None,
            class_name=type(layer).__name__,
        ))
    if not any(r.is_spatial for r in records):
        raise NotAnImageModelError(
            f"The model {model.name!r} has no layer with a spatial (4-D) output; it does not look like "
            "a convolutional image model.")
    outputs = {r.name: tracer.tensors[r.name] for r in records}
    outputs[OUTPUT_KEY] = output_tensor
    outputs[SCORE_KEY] = score
    outputs[PROBABILITY_KEY] = probability
    if logits is not None:
        outputs[LOGITS_KEY] = logits
    if split_at is not None and tracer.delta is None:
        raise LayerNotFoundError(split_at, tracer.tensors)
    inputs = inp if tracer.delta is None else [inp, tracer.delta]
    feature_model = keras.Model(inputs, outputs, name=f"cnnviz_features_{model.name}")
    return TracedGraph(
        input=inp, output=output_tensor, tensors=dict(tracer.tensors), layer_objects=dict(tracer.layer_objects),
        records=records, output_activation=output_activation, logits=logits, feature_model=feature_model,
        parents=dict(tracer.parents), head=head_name, head_reason=head_reason, score=score,
        probability=probability, output_name=output_name, output_names=tuple(n for n, _ in named),
        delta=tracer.delta, source=weakref.ref(model),
    )


def split_graph(graph: TracedGraph, layer: str) -> TracedGraph:
    """The model of ``graph`` traced again with a zero input added at ``layer``'s output.

    Keras 3 has no backend-neutral gradient with respect to an inner tensor, and a residual
    network cannot be cut in two at a layer. Adding a second input ``delta`` to the layer's
    output (fed zeros) makes the gradient of the class score with respect to ``delta`` equal
    to the gradient at the layer, on any backend; nothing below the layer is differentiated.
    Kept in ``graph.derived``, so it is traced once per layer and lives as long as the graph.
    """
    name = graph.resolve(layer)

    def build() -> TracedGraph:
        model = graph.source() if graph.source is not None else None
        if model is None:
            raise UnsupportedModelError("The traced model has been garbage collected")
        return trace_model(model, tuple(graph.input.shape[1:]), graph.output_name, graph.head, split_at=name)

    return graph.derived.get_or_compute(("split", name), build)


_TRACES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_TRACES_LOCK = threading.Lock()
_MODEL_FREED = threading.Event()


def release_freed_kernels() -> bool:
    """Drop TensorFlow's cached op kernels once a traced model has been garbage collected; True if it did.

    TensorFlow keeps every kernel its compiled functions instantiated (with their buffers) in a
    process-wide cache that outlives the model: exploring models one after another grew a kernel
    by about 250 MB per VGG16 after each model was freed. ``keras.utils.clear_session`` clears the
    same cache, but also resets Keras's names, which a notebook should not see. It runs in the
    caller's thread, at the next trace, never inside the garbage collector; kernels of live models
    are rebuilt on their next call (a few milliseconds).
    """
    if not _MODEL_FREED.is_set() or not backend.has_kernel_cache():
        return False
    _MODEL_FREED.clear()
    backend.clear_kernel_cache()
    gc.collect()   # the cleared kernels leave Python objects in cycles; without this VGG16 rounds still grew 300 MB
    return True


def cached_trace(model: keras.Model, input_shape: tuple[int, int, int], output: int | str | None = None,
                 head: str = "auto") -> TracedGraph:
    """:func:`trace_model`, memoised per (model, input shape, output, head) for as long as the model lives.

    The inspector and every method share these traces, so a model is traced once per input
    size and compiled functions kept in :attr:`TracedGraph.derived` are reused. The traces
    are held weakly by the model: when the model is garbage collected, they go too.
    """
    key = ((int(input_shape[0]), int(input_shape[1]), int(input_shape[2])), output, head)
    release_freed_kernels()
    backend.check_model(model)
    with _TRACES_LOCK:
        per_model = _TRACES.get(model)
        if per_model is None:
            per_model = _TRACES[model] = entry_cache(MAX_TRACES_PER_MODEL)
            weakref.finalize(model, _MODEL_FREED.set)
        graph = per_model.get(key)
        if graph is None:
            graph = trace_model(model, key[0], output, head)
            per_model.put(key, graph)
    return graph


def trace_count() -> int:
    """Number of traces held now, over all live models (for leak checks)."""
    with _TRACES_LOCK:
        return sum(len(v) for v in _TRACES.values())


def resolve_input_shape(model: keras.Model, given: tuple[int, int, int] | None = None) -> tuple[int, int, int]:
    """The concrete (H, W, C) to trace ``model`` at: ``given``, or the model's own input shape.

    Open spatial sizes become :data:`DEFAULT_SPATIAL_SIZE`.

    Raises:
        NotAnImageModelError: a malformed ``given`` or an open channel count.
        ChannelCountError: neither 1 nor 3 channels.
    """
    if given is not None:
        if len(given) != 3 or any(not isinstance(d, (int, np.integer)) or d <= 0 for d in given):
            raise NotAnImageModelError(f"input_shape must be (H, W, C) with positive sizes; got {given!r}")
        h, w, c = (int(d) for d in given)
    else:
        h, w, c = model_input_shape(model)   # type: ignore[assignment]  # None: open, filled below
        if c is None:
            raise NotAnImageModelError(
                f"The model {model.name!r} leaves its channel count open; pass input_shape=(H, W, C)")
        if h is None or w is None:
            log.info("cnnviz: model %r leaves its input size open; using %d x %d", model.name,
                     DEFAULT_SPATIAL_SIZE, DEFAULT_SPATIAL_SIZE)
            h, w = h or DEFAULT_SPATIAL_SIZE, w or DEFAULT_SPATIAL_SIZE
    shape = (int(h), int(w), int(c))
    if shape[2] not in (1, 3):
        raise ChannelCountError(
            f"The model {model.name!r} expects {shape[2]} input channels; "
            f"cnnviz-widgets supports 1 (grayscale) or 3 (RGB)")
    return shape


def _find_logits(tracer: _Tracer, output: Any) -> tuple[str, Any | None]:
    """Find the pre-softmax/sigmoid values of ``output``, without touching the user's layers.

    A separate Activation/Softmax layer: its input is the logits. A Dense or Conv layer with
    a built-in softmax/sigmoid: a linear twin of it, holding a copy of its weights, is called on
    the same input. Returns (activation name or ``"none"``, logits or None).
    """
    key = tracer._name_of.get(id(output))
    if key is None:
        return "none", None
    layer, args = tracer.layer_objects[key], tracer.calls.get(key, ())
    name = _activation_name(layer)
    if name is None or not args:
        return "none", None
    if layer_kind(layer) == "activation":
        return name, args[0]
    config = layer.get_config()
    config.update(activation="linear", name=layer.name + "_cnnviz_logits")
    twin = type(layer).from_config(config)
    logits = twin(args[0])
    twin.set_weights(layer.get_weights())
    return name, logits
