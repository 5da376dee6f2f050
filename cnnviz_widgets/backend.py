"""The one module that knows which Keras backend runs: TensorFlow, JAX or PyTorch.

Everything else in the package is written on ``keras.ops`` and calls this module for what
Keras 3 has no backend-neutral form of:

- **compilation** (:func:`compiled`): ``tf.function`` with an input signature, ``jax.jit`` over
  a stateless call (the weights are passed in as arguments, so a change of weights never
  retraces and never bakes the weights into the program), or plain eager calls on PyTorch;
- **gradients** (:func:`value_and_gradient`): ``tf.GradientTape``, ``jax.value_and_grad`` or
  ``torch.autograd.grad``. The gradient at an inner layer is taken with respect to a zero
  input added at that layer (see :func:`cnnviz_widgets.inspector.graph.split_graph`);
- **custom gradients** (:func:`guided_relus`): guided backpropagation's ReLU;
- **hashing of weights** (:func:`weight_bytes_digest`).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

NAME: str = keras.backend.backend()
"""The active Keras backend: ``"tensorflow"``, ``"jax"`` or ``"torch"``."""


@dataclass(frozen=True)
class Spec:
    """The shape (None for an open axis) and dtype of one argument of a compiled function."""

    shape: tuple[int | None, ...]
    dtype: str = "float32"


def to_numpy(x: Any) -> np.ndarray:
    """A backend tensor (or an array) as a numpy array."""
    return np.asarray(keras.ops.convert_to_numpy(x))


def compiled(fn: Callable, signature: Sequence[Spec], variables: Sequence[Any] = ()) -> Callable:
    """``fn`` compiled for the active backend; it takes numpy arrays and returns backend tensors.

    Args:
        fn: a function of ``len(signature)`` tensors written on ``keras.ops`` and Keras layers.
        signature: each argument's shape and dtype. An open axis (None) never retraces on
            TensorFlow; JAX compiles once per concrete shape, as ``jax.jit`` does.
        variables: the Keras variables ``fn`` reads (``model.variables``). Under JAX they are
            passed as arguments to the compiled program, read at every call.
    """
    if NAME == "tensorflow":
        import tensorflow as tf

        # autograph=False: the functions have no Python control flow on tensors to convert
        return tf.function(fn, input_signature=[tf.TensorSpec(s.shape, s.dtype) for s in signature],
                           autograph=False)
    if NAME == "jax":
        import jax

        variables = list(variables)

        def stateless(values, *args):
            with keras.StatelessScope(state_mapping=list(zip(variables, values, strict=True))):
                return fn(*args)

        jitted = jax.jit(stateless)

        def call(*args):
            return jitted([v.value for v in variables],
                          *(np.asarray(a, dtype=s.dtype) for a, s in zip(args, signature, strict=True)))

        return call

    def eager(*args):
        import torch

        with torch.no_grad() if not _needs_grad.active else contextlib.nullcontext():
            return fn(*(keras.ops.convert_to_tensor(np.asarray(a, dtype=s.dtype))
                        for a, s in zip(args, signature, strict=True)))

    return eager


class _GradFlag(threading.local):
    active = False


_needs_grad = _GradFlag()


def has_kernel_cache() -> bool:
    """Whether the backend keeps compiled kernels of freed models in a process-wide cache
    (TensorFlow does; see :func:`cnnviz_widgets.inspector.graph.release_freed_kernels`)."""
    return NAME == "tensorflow"


def clear_kernel_cache() -> None:
    """Drop TensorFlow's cached op kernels: the call ``keras.utils.clear_session(free_memory=True)``
    makes, without resetting Keras's names. Nothing to do on the other backends."""
    if NAME == "tensorflow":
        from tensorflow.python.eager import context

        context.context().clear_kernel_cache()


_TENSOR_MODULES = {"tensorflow": "tensorflow", "jax": "jax", "jaxlib": "jax", "torch": "torch", "numpy": "numpy"}


def tensor_backend(value: Any) -> str | None:
    """The backend a tensor belongs to, from its type's module (``"tensorflow"``, ``"jax"``,
    ``"torch"``, ``"numpy"``), or None when unknown."""
    root = type(value).__module__.split(".", 1)[0]
    return _TENSOR_MODULES.get(root)


def check_model(model: Any) -> None:
    """Refuse a model whose weights belong to another backend than the active one (a model built
    before the backend was switched, or a ``tf.keras`` model under JAX).

    Raises:
        BackendError: naming both backends.
    """
    from cnnviz_widgets.errors import BackendError

    for weight in getattr(model, "weights", [])[:1]:
        owner = tensor_backend(getattr(weight, "value", weight))
        if owner is not None and owner != NAME and owner != "numpy":
            raise BackendError(
                f"The model {getattr(model, 'name', '?')!r} holds {owner} tensors: it was built under the {owner!r} "
                f"backend, but Keras's backend here is {NAME!r}. Build or load the model again in this process "
                f"(keras.saving.load_model reads a .keras file under any backend), or run with "
                f"KERAS_BACKEND={owner}.")


def value_and_gradient(f: Callable[[Any], tuple[Any, Any]], x: Any) -> tuple[Any, Any]:
    """Call ``f(x) -> (scalar, aux)`` and return ``(aux, d scalar / d x)``.

    Used inside :func:`compiled` functions. ``scalar`` is a sum over the batch, so each
    image's gradient is that of its own score.
    """
    if NAME == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(x)
            value, aux = f(x)
        return aux, tape.gradient(value, x)
    if NAME == "jax":
        import jax

        (_, aux), grad = jax.value_and_grad(f, has_aux=True)(x)
        return aux, grad
    import torch

    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        value, aux = f(x)
        (grad,) = torch.autograd.grad(value, x)
    return (keras.tree.map_structure(lambda t: t.detach(), aux) if aux is not None else None), grad


def gradient(f: Callable[[Any], Any], x: Any) -> Any:
    """``d f(x) / d x`` for a scalar ``f`` (see :func:`value_and_gradient`)."""
    return value_and_gradient(lambda v: (f(v), None), x)[1]


def _guided(forward: Callable, top: float | None = None) -> Callable:
    """``forward`` (a ReLU, or a ReLU capped at ``top``) whose gradient passes only positive
    gradients, and only where the unit passed its input (0 < output, and output < ``top``)."""

    @keras.ops.custom_gradient
    def guided(x):
        y = forward(x)

        def grad(*args, upstream=None):
            if upstream is None:   # TensorFlow passes it by position; JAX by name; torch by name,
                upstream = args[0]  # after the forward's inputs by position
            passed = (y > 0) & (upstream > 0)
            if top is not None:
                passed = passed & (y < top)
            return keras.ops.where(passed, upstream, keras.ops.zeros_like(upstream))

        return y, grad

    return guided


_GUIDED_LOCK = threading.RLock()


@contextlib.contextmanager
def guided_relus() -> Iterator[None]:
    """Within the block, every ReLU and ReLU6 that Keras computes has guided backpropagation's gradient.

    Keras's layers and activations all reach ``keras.src.backend.nn.relu``/``relu6`` at call
    time; both are swapped for versions with a custom gradient while functions are traced. The
    same code serves every backend (TensorFlow's ``gradient_override_map`` does not reach
    ``GradientTape``, and JAX has no override at all). Holds a lock: one trace at a time.
    """
    from keras.src.backend import nn as backend_nn

    with _GUIDED_LOCK:
        saved = backend_nn.relu, backend_nn.relu6
        backend_nn.relu, backend_nn.relu6 = _guided(saved[0]), _guided(saved[1], top=6.0)
        try:
            yield
        finally:
            backend_nn.relu, backend_nn.relu6 = saved


def weight_bytes_digest(value: Any) -> bytes:
    """A digest of one weight's bytes (a Keras variable's value or an array), for fingerprints.

    TensorFlow's ``tf.fingerprint`` (FarmHash64 of each row, stable across platforms) hashes
    the bytes where they lie: 0.03 s for VGG16's 528 MB, against 1.5 s to copy them to numpy
    and hash them, so that backend keeps it. The others hash the bytes with blake2b. The two
    digests differ, so a result store is shared only by processes on the same backend.
    """
    if NAME == "tensorflow":
        import tensorflow as tf

        tensor = tf.convert_to_tensor(value)
        rows = tf.reshape(tensor, (int(tensor.shape[0]), -1) if tensor.shape.rank >= 2 else (1, -1))
        return tf.fingerprint(rows).numpy().tobytes()
    array = np.ascontiguousarray(to_numpy(value))
    return hashlib.blake2b(array.reshape(-1).view(np.uint8).data, digest_size=16).digest()
