"""Activation maximization: images that excite a filter (filter patterns) or a class.

Many filters are optimised at once, one batch element per filter, by a compiled step
(``tf.function`` or ``jax.jit``, see :mod:`cnnviz_widgets.backend`) called from a short Python
loop (fusing the loop into the graph is no faster on CPU). Only the part of the network up to
the target layer runs. The image is optimised in pixel space [0, 1] and mapped to the model's
input space inside the graph by the model's preprocessing, which must be affine (every named
preprocessing is); this keeps the patterns in true RGB even for BGR, mean-subtracted models
such as VGG16.

Two recipes:

- :class:`ClassicRecipe` (the Keras book's recipe): start from a grey image with a little noise, take
  steps along the gradient normalised to unit RMS, then "deprocess": centre, scale to a
  standard deviation of 0.1, shift to 0.5 and clip.
- :class:`RobustRecipe` (the default, in the spirit of Lucid, Olah et al. 2017): the image
  is parametrised in a decorrelated colour space and a 1/f-scaled Fourier basis and squashed
  through a sigmoid; every step sees it padded, jittered, zoomed and rotated at random inside
  the graph (the random draws are numpy's, seeded per step), so that the pattern must be
  robust to small transformations; Adam updates; small total-variation and L2 penalties.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
from keras import ops

from cnnviz_widgets import backend
from cnnviz_widgets.backend import Spec
from cnnviz_widgets.errors import ArgumentError
from cnnviz_widgets.inspector.graph import TracedGraph, cached_trace
from cnnviz_widgets.methods._chunks import Progress, chunk_size
from cnnviz_widgets.methods._compiled import cached, compile_on, submodel
from cnnviz_widgets.methods._models import ModelLike, default_preprocess, graph_for, keras_model, layer_name

# Lucid's square root of the ImageNet colour correlation (per-channel SVD), normalised below.
_COLOR_CORRELATION_SQRT = np.array(
    [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], np.float32)
_COLOR_MIX = _COLOR_CORRELATION_SQRT / np.max(np.linalg.norm(_COLOR_CORRELATION_SQRT, axis=0))


@dataclass(frozen=True)
class ClassicRecipe:
    """Normalised-gradient ascent from a grey noisy image (the Keras book's recipe).

    Attributes:
        steps: gradient steps.
        step_size: step per pixel (RMS) in pixel units of [0, 1].
        noise: half-width of the uniform noise around grey 0.5 at the start.
        std: standard deviation of the deprocessed image around 0.5 (the Keras book uses 0.1; some tutorials 0.15).
        crop: fraction of the side cut from each border at the end (about 0.14 trims the borders, as some tutorials do).
    """

    steps: int = 40
    step_size: float = 0.01
    noise: float = 0.04
    std: float = 0.1
    crop: float = 0.0


@dataclass(frozen=True)
class RobustRecipe:
    """Decorrelated Fourier parametrisation with transformation robustness (Lucid-like).

    Attributes:
        steps: Adam steps.
        learning_rate: Adam learning rate on the Fourier coefficients.
        pad: pixels of grey padding added before the random transformations.
        jitter: largest random shift in pixels (applied twice, before and after scaling).
        scale: largest relative random scaling (0.05 = between 0.95x and 1.05x).
        rotation: largest random rotation in degrees.
        tv_weight: weight of the total-variation penalty (mean absolute neighbour difference).
        l2_weight: weight of the penalty on the squared distance from grey.
        decay: exponent of the 1/f scaling of the Fourier coefficients.
        crop: fraction of the side cut from each border at the end.
    """

    steps: int = 96
    learning_rate: float = 0.05
    pad: int = 8
    jitter: int = 6
    scale: float = 0.05
    rotation: float = 8.0
    tv_weight: float = 0.05
    l2_weight: float = 0.0
    decay: float = 1.0
    crop: float = 0.0


Recipe = ClassicRecipe | RobustRecipe


def _recipe(recipe: str | Recipe, steps: int | None) -> Recipe:
    if isinstance(recipe, str):
        table: dict[str, Recipe] = {"classic": ClassicRecipe(), "robust": RobustRecipe()}
        if recipe not in table:
            raise ArgumentError(f"recipe must be 'classic', 'robust' or a recipe object; got {recipe!r}")
        recipe = table[recipe]
    if not isinstance(recipe, (ClassicRecipe, RobustRecipe)):
        raise ArgumentError(f"recipe must be 'classic', 'robust' or a recipe object; got {type(recipe).__name__}")
    if steps is not None:
        if not isinstance(steps, (int, np.integer)) or steps < 1:
            raise ArgumentError(f"steps must be a positive int; got {steps!r}")
        recipe = dataclasses.replace(recipe, steps=int(steps))
    return recipe


def pixel_to_input(preprocess: Callable[[np.ndarray], np.ndarray], channels: int) -> tuple[np.ndarray, np.ndarray]:
    """The preprocessing as an affine map on pixels in [0, 1]: ``input = pixels @ matrix + offset``.

    Found by probing ``preprocess`` (which takes pixels in [0, 255]) with one-hot colours.

    Returns:
        (matrix (C, C), offset (C,)), float32.

    Raises:
        ArgumentError: the preprocessing is not affine, so it cannot run inside the graph.
    """
    def apply(pixels01: np.ndarray) -> np.ndarray:
        return np.asarray(preprocess(np.array(pixels01 * 255.0, np.float32)), np.float32).reshape(-1, channels)

    offset = apply(np.zeros((1, 1, 1, channels), np.float32))[0]
    matrix = np.stack([apply(np.eye(channels, dtype=np.float32)[c].reshape(1, 1, 1, channels))[0] - offset
                       for c in range(channels)])
    probe = np.random.default_rng(0).random((1, 4, 4, channels)).astype(np.float32)
    expected = probe.reshape(-1, channels) @ matrix + offset
    if not np.allclose(apply(probe), expected, rtol=1e-4, atol=1e-3 * (1 + np.abs(expected).max())):
        raise ArgumentError("Activation maximization needs an affine preprocessing (scaling, mean subtraction, "
                            "channel reordering); the given preprocessing is not affine")
    return matrix.astype(np.float32), offset.astype(np.float32)


def _objective_model(graph: TracedGraph, target: str):
    """(model from input to the target tensor, whether the target is spatial)."""
    model = submodel(graph, (target,))
    return model, len(model.output.shape) == 4


def _reduce(outputs: Any, indices: Any, spatial: bool) -> Any:
    """Mean of each element's own channel, borders excluded (they excite every filter): (B,)."""
    if spatial:
        h, w = outputs.shape[1], outputs.shape[2]
        if h is not None and w is not None and h > 4 and w > 4:
            outputs = outputs[:, 2:-2, 2:-2, :]
        chosen = ops.take_along_axis(outputs, indices[:, None, None, None], axis=3)[..., 0]
        return ops.mean(chosen, axis=(1, 2))
    return ops.take_along_axis(outputs, indices[:, None], axis=1)[:, 0]


def _classic_step(graph: TracedGraph, target: str, matrix: np.ndarray, offset: np.ndarray):
    def build():
        model, spatial = _objective_model(graph, target)
        h, w, c = graph.input.shape[1:]

        colour, shift = ops.convert_to_tensor(matrix), ops.convert_to_tensor(offset)   # not numpy: torch's
        # tensors that need a gradient cannot meet a numpy array in an operator

        def step(pixels, indices, step_size):
            def total(p):
                objective = _reduce(model(ops.tensordot(p, colour, 1) + shift, training=False), indices, spatial)
                return ops.sum(objective), objective

            objective, grads = backend.value_and_gradient(total, pixels)
            rms = ops.sqrt(ops.mean(ops.square(grads), axis=(1, 2, 3), keepdims=True))
            return pixels + step_size * grads / (rms + 1e-5), objective

        return compile_on(model, step, Spec((None, h, w, c)), Spec((None,), "int32"), Spec(()))

    return cached(graph, ("classic_step", target, matrix.tobytes(), offset.tobytes()), build)


def _fourier_scale(h: int, w: int, decay: float) -> np.ndarray:
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    freqs = np.sqrt(fx**2 + fy**2)
    return (np.sqrt(h * w) / np.maximum(freqs, 1.0 / max(h, w)) ** decay).astype(np.float32)


def _inverse_dft(h: int, w: int) -> tuple[np.ndarray, ...]:
    """The matrices of a 2-D inverse real DFT of size (h, w): (cos, sin) (h, h) along the rows,
    then (cos, sin) (w//2+1, w) along the columns, each column's weight (1 for the constant and
    the Nyquist terms, else 2) and 1/(h w) folded in."""
    y = np.arange(h)
    rows = 2 * np.pi * np.outer(y, y) / h
    kx, x = np.arange(w // 2 + 1), np.arange(w)
    cols = 2 * np.pi * np.outer(kx, x) / w
    weight = np.where((kx == 0) | ((w % 2 == 0) & (kx == w // 2)), 1.0, 2.0)[:, None] / (h * w)
    return tuple(m.astype(np.float32) for m in (np.cos(rows), np.sin(rows), weight * np.cos(cols),
                                                weight * np.sin(cols)))


def _irfft2(real: Any, imag: Any, h: int, w: int) -> Any:
    """The inverse real 2-D Fourier transform of (..., h, w//2+1) coefficients: (..., h, w), as
    ``numpy.fft.irfft2``. Written as two small matrix products (the images are small), which
    every backend differentiates alike."""
    cos_y, sin_y, cos_x, sin_x = _inverse_dft(h, w)
    rows_real = ops.einsum("yk,...kx->...yx", cos_y, real) - ops.einsum("yk,...kx->...yx", sin_y, imag)
    rows_imag = ops.einsum("yk,...kx->...yx", sin_y, real) + ops.einsum("yk,...kx->...yx", cos_y, imag)
    return ops.einsum("...yk,kx->...yx", rows_real, cos_x) - ops.einsum("...yk,kx->...yx", rows_imag, sin_x)


def _to_pixels(spectrum: Any, scale: Any, h: int, w: int, channels: int) -> Any:
    """(B, C, h, w//2+1, 2) Fourier coefficients -> (B, h, w, C) pixels in [0, 1]."""
    image = _irfft2(spectrum[..., 0] * scale, spectrum[..., 1] * scale, h, w)   # (B, C, h, w)
    image = ops.transpose(image, (0, 2, 3, 1)) / 4.0
    if channels == 3:
        image = ops.tensordot(image, _COLOR_MIX.T.astype(np.float32), 1)
    return ops.sigmoid(image)


def _zoom_and_rotate(images: Any, factor: Any, radians: Any) -> Any:
    """Each image zoomed by ``factor`` and rotated by ``radians`` about its centre, at the same
    size; the border reflects."""
    h, w = images.shape[1], images.shape[2]
    cos, sin = ops.cos(radians) / factor, ops.sin(radians) / factor
    cx, cy = (w - 1) / 2, (h - 1) / 2
    zero = ops.zeros_like(cos)
    transform = ops.stack([cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy, zero, zero])
    return ops.image.affine_transform(images, ops.tile(transform[None], (ops.shape(images)[0], 1)),
                                      interpolation="bilinear", fill_mode="reflect", fill_value=0.5)


def _jitter(images: Any, amount: int, offsets: Any) -> Any:
    """``images`` cropped by ``amount`` pixels at ``offsets`` (2,) in [0, amount]."""
    if amount <= 0:
        return images
    b, h, w, c = images.shape
    zero = ops.zeros((), "int32")
    return ops.slice(images, ops.stack([zero, offsets[0], offsets[1], zero]), (ops.shape(images)[0], h - amount,
                                                                             w - amount, c))


def _robust_draws(recipe: RobustRecipe, seed: int, step: int) -> tuple[np.ndarray, np.ndarray]:
    """One step's random transformation: jitter offsets (4,) int32 (two crops) and (zoom factor,
    angle in radians) float32, from numpy's generator seeded ``[seed, step]``."""
    rng = np.random.default_rng([seed, step])
    offsets = np.concatenate([rng.integers(0, recipe.jitter + 1, 2), rng.integers(0, recipe.jitter // 2 + 1, 2)])
    factor = rng.uniform(1 - recipe.scale, 1 + recipe.scale)
    angle = rng.uniform(-recipe.rotation, recipe.rotation) * np.pi / 180
    return offsets.astype(np.int32), np.array([factor, angle], np.float32)


def _robust_step(graph: TracedGraph, target: str, matrix: np.ndarray, offset: np.ndarray, recipe: RobustRecipe):
    def build():
        model, spatial = _objective_model(graph, target)
        h, w, c = graph.input.shape[1:]
        scale = ops.convert_to_tensor(_fourier_scale(h, w, recipe.decay))   # tensors, as in _classic_step
        colour, shift = ops.convert_to_tensor(matrix), ops.convert_to_tensor(offset)
        spec = Spec((None, c, h, w // 2 + 1, 2))
        beta1, beta2, eps = 0.9, 0.999, 1e-8

        def loss_of(params, indices, offsets, zoom_angle):
            pixels = _to_pixels(params, scale, h, w, c)
            view = pixels
            if recipe.pad:
                view = ops.pad(view, [[0, 0], [recipe.pad] * 2, [recipe.pad] * 2, [0, 0]], constant_values=0.5)
            view = _jitter(view, recipe.jitter, offsets[:2])
            if recipe.scale or recipe.rotation:
                view = _zoom_and_rotate(view, zoom_angle[0], zoom_angle[1])
            view = _jitter(view, recipe.jitter // 2, offsets[2:])
            view = ops.image.resize(view, (h, w), interpolation="bilinear")
            objective = _reduce(model(ops.tensordot(view, colour, 1) + shift, training=False), indices, spatial)
            tv = (ops.mean(ops.abs(pixels[:, 1:] - pixels[:, :-1]), axis=(1, 2, 3))
                  + ops.mean(ops.abs(pixels[:, :, 1:] - pixels[:, :, :-1]), axis=(1, 2, 3)))
            l2 = ops.mean(ops.square(pixels - 0.5), axis=(1, 2, 3))
            return ops.sum(-objective + recipe.tv_weight * tv + recipe.l2_weight * l2), objective

        def step(params, m, v, indices, offsets, zoom_angle, t):
            objective, grads = backend.value_and_gradient(
                lambda p: loss_of(p, indices, offsets, zoom_angle), params)
            m = beta1 * m + (1 - beta1) * grads
            v = beta2 * v + (1 - beta2) * ops.square(grads)
            lr = recipe.learning_rate * ops.sqrt(1 - beta2**t) / (1 - beta1**t)
            return params - lr * m / (ops.sqrt(v) + eps), m, v, objective

        compiled_step = compile_on(model, step, spec, spec, spec, Spec((None,), "int32"), Spec((4,), "int32"),
                                   Spec((2,)), Spec(()))
        render = compile_on(None, lambda params: _to_pixels(params, scale, h, w, c), spec)
        return compiled_step, render

    key = ("robust_step", target, matrix.tobytes(), offset.tobytes(), recipe)
    return cached(graph, key, build)


def _to_uint8(pixels: np.ndarray, crop: float) -> np.ndarray:
    """(B, h, w, C) in [0, 1] -> uint8 (B, h', w', 3), cropped by ``crop`` of the side per border."""
    if crop:
        ch, cw = int(pixels.shape[1] * crop), int(pixels.shape[2] * crop)
        pixels = pixels[:, ch:pixels.shape[1] - ch, cw:pixels.shape[2] - cw]
    if pixels.shape[-1] == 1:
        pixels = np.repeat(pixels, 3, axis=-1)
    return np.clip(np.round(pixels * 255.0), 0, 255).astype(np.uint8)


Frames = Callable[[np.ndarray, np.ndarray, int, int], None] | None
"""``frames(indices, images, step, steps)``: uint8 images (n, h, w, 3) of the patterns of
``indices`` as they stand after ``step`` of ``steps`` (0: the starting image)."""

FRAME_SECONDS = 0.25
"""Least time between two live frames (rendering one costs a pass of the image parametrisation)."""


def _classic_image(pixels: np.ndarray, std: float) -> np.ndarray:
    """The classic recipe's "deprocess": centre, scale to ``std``, shift to 0.5 (clipped later)."""
    centred = pixels - pixels.mean(axis=(1, 2, 3), keepdims=True)
    return 0.5 + std * centred / (centred.std(axis=(1, 2, 3), keepdims=True) + 1e-5)


def _maximize(graph: TracedGraph, target: str, indices: np.ndarray, recipe: Recipe, seed: int,
              preprocess: Callable, batch_size: int | None, progress: Progress, frames: Frames = None,
              chunk_done: Callable[[np.ndarray, np.ndarray], None] | None = None) -> np.ndarray:
    """Optimise one image per index in chunks; ``frames`` gets live frames at most every
    :data:`FRAME_SECONDS` (and the start of each chunk), ``chunk_done(indices, images)`` each
    finished chunk (so a cancelled job keeps the chunks it finished)."""
    h, w, c = graph.input.shape[1:]
    matrix, offset = pixel_to_input(preprocess, c)
    size = batch_size or chunk_size(graph)
    total = len(indices) * recipe.steps
    results = []
    for start in range(0, len(indices), size):
        part = indices[start:start + size].astype(np.int32)
        rngs = [np.random.default_rng([seed, int(k)]) for k in part]
        last_frame = -np.inf

        def frame(k: int, snapshot: Callable[[], np.ndarray], part: np.ndarray = part) -> None:
            nonlocal last_frame
            if frames is not None and (k == 0 or time.perf_counter() - last_frame >= FRAME_SECONDS):
                frames(part, _to_uint8(snapshot(), recipe.crop), k, recipe.steps)
                last_frame = time.perf_counter()

        if isinstance(recipe, ClassicRecipe):
            step = _classic_step(graph, target, matrix, offset)
            pixels: Any = np.stack([0.5 + recipe.noise * (2 * r.random((h, w, c), np.float32) - 1) for r in rngs])
            frame(0, functools.partial(_classic_image, np.asarray(pixels), recipe.std))
            for k in range(recipe.steps):
                pixels, _ = step(pixels, part, recipe.step_size)
                if progress is not None:
                    progress(start * recipe.steps + len(part) * (k + 1), total)
                frame(k + 1, functools.partial(_classic_image, pixels, recipe.std))
            pixels = _classic_image(pixels, recipe.std)
        else:
            step, render = _robust_step(graph, target, matrix, offset, recipe)
            params = np.stack([0.01 * r.standard_normal((c, h, w // 2 + 1, 2), np.float32) for r in rngs])
            m, v = np.zeros_like(params), np.zeros_like(params)
            frame(0, functools.partial(render, params))
            for k in range(recipe.steps):
                params, m, v, _ = step(params, m, v, part, *_robust_draws(recipe, seed, k), float(k + 1))
                if progress is not None:
                    progress(start * recipe.steps + len(part) * (k + 1), total)
                frame(k + 1, functools.partial(render, params))
            pixels = render(params)
        images = _to_uint8(pixels, recipe.crop)
        if chunk_done is not None:
            chunk_done(part, images)
        results.append(images)
    return np.concatenate(results)


def _stored_maximize(model: ModelLike, graph: TracedGraph, kind: str, target: str, indices: np.ndarray,
                     recipe: Recipe, seed: int, preprocess: Callable, batch_size: int | None, progress: Progress,
                     frames: Frames, label: str) -> np.ndarray:
    """:func:`_maximize`, reading each image from the inspector's store when it is there and
    writing each new one as soon as its chunk is done. The key holds the model, the target's
    ``label`` (its name in the whole model's graph), the index, the image size, the recipe, the
    seed and the preprocessing (as the affine map the optimisation uses)."""
    store = getattr(model, "store", None)
    if store is None:
        return _maximize(graph, target, indices, recipe, seed, preprocess, batch_size, progress, frames)
    matrix, offset = pixel_to_input(preprocess, graph.input.shape[3])
    common = {"target": label, "size": list(graph.input.shape[1:]), "recipe": recipe, "seed": int(seed),
              "pixels_to_input": [matrix.tolist(), offset.tolist()]}
    keys = {int(k): model.store_key(kind, index=int(k), **common) for k in indices}
    images: dict[int, np.ndarray] = {}
    for k, key in keys.items():
        found = store.get(key)
        if found is not None:
            images[k] = found["result"]
    missing = np.array([k for k in keys if k not in images], np.int64)
    if len(missing):
        def keep(part: np.ndarray, done: np.ndarray) -> None:
            for k, image in zip(part, done, strict=True):
                images[int(k)] = image
                store.put(keys[int(k)], {"result": image}, kind=kind)

        _maximize(graph, target, missing, recipe, seed, preprocess, batch_size, progress, frames, keep)
    elif progress is not None:
        progress(1, 1)
    return np.stack([images[int(k)] for k in indices])


def _pattern_graph(model: ModelLike, size: int | None, layer: str) -> tuple[TracedGraph, str, str]:
    """(graph at ``size`` x ``size``, the target's name in it, its qualified name in the whole
    model's graph) for a filter of ``layer``.

    A model that cannot run whole at that size (a fixed-size head: VGG16 with its top) is cut
    after the target layer, and only that prefix is traced at the new size: a pattern needs no
    later layer.
    """
    graph = graph_for(model)
    name = layer_name(graph, layer)
    if size is None or (size, size) == tuple(graph.input.shape[1:3]):
        return graph, name, name
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 8:
        raise ArgumentError(f"size must be an int >= 8 or None (the model's input size); got {size!r}")
    shape = (int(size), int(size), graph.input.shape[3])
    try:
        return graph_for(model, shape), name, name
    except (ValueError, TypeError):
        pass                                     # a fixed-size head: trace the prefix alone
    prefix = cached(graph, ("prefix", name), lambda: keras.Model(graph.input, graph.tensors[name],
                                                                 name=f"cnnviz_prefix_{keras_model(model).name}"))
    try:
        traced = cached_trace(prefix, shape)
    except (ValueError, TypeError) as exc:
        raise ArgumentError(f"The layers up to {name!r} take only {graph.input.shape[1]}x{graph.input.shape[2]} "
                            f"images (a layer before it fixes the size), so size={size} is not possible; "
                            f"use size=None") from exc
    target = graph.layer_objects[name]
    found = [n for n, layer_object in traced.layer_objects.items() if layer_object is target]
    return traced, found[-1], name


def filter_patterns(model: ModelLike, layer: str, filters: int | Sequence[int] | None = None, *,
                    size: int | None = None, steps: int | None = None, recipe: str | Recipe = "robust",
                    seed: int = 0, preprocess: Callable | None = None, batch_size: int | None = None,
                    progress: Progress = None, frames: Frames = None) -> np.ndarray:
    """Images that maximise the mean activation of filters of ``layer`` (borders excluded).

    Args:
        model: a Keras model or a ModelInspector (whose preprocessing is used).
        layer: qualified name of the layer (a conv layer, or any layer with channels).
        filters: a filter index, a sequence of them, or None for the first 64.
        size: side of the square images; None uses the model's input size. Any size works on
            any model: one whose head fixes its input size is cut after ``layer``.
        steps: overrides the recipe's number of steps.
        recipe: ``"robust"`` (default), ``"classic"``, or a :class:`RobustRecipe`/:class:`ClassicRecipe`.
        seed: the same seed gives the same images; each filter's start depends only on
            (seed, filter index), not on which other filters share its batch.
        preprocess: pixel-to-input function (pixels in [0, 255]); default the inspector's or
            the automatic choice for the model.
        batch_size: filters optimised together (default: what fits in memory).
        progress: ``progress(done, total)`` after every step, counted in filter-steps.
        frames: ``frames(indices, images, step, steps)`` with the patterns as they form, at
            most every :data:`FRAME_SECONDS` (see :data:`Frames`).

    On an inspector with a store (``ModelInspector(store=...)``) each pattern is read from it
    when there and written as soon as its batch is done.

    Returns:
        uint8 (n, size, size, 3) (smaller by the recipe's crop).
    """
    graph, name, qualified = _pattern_graph(model, size, layer)
    channels = int(graph.record(name).output_shape[-1])
    if filters is None:
        filters = range(min(64, channels))
    indices = np.atleast_1d(np.asarray(filters))
    if indices.ndim != 1 or not np.issubdtype(indices.dtype, np.integer) or len(indices) == 0:
        raise ArgumentError(f"filters must be an int, a non-empty sequence of ints, or None; got {filters!r}")
    if indices.min() < 0 or indices.max() >= channels:
        raise ArgumentError(f"filter index {int(indices.max() if indices.max() >= channels else indices.min())} is "
                            f"out of range: layer {name!r} has {channels} filters")
    return _stored_maximize(model, graph, "filter_pattern", name, indices, _recipe(recipe, steps), seed,
                            preprocess or default_preprocess(model), batch_size, progress, frames,
                            label=qualified)


def class_pattern(model: ModelLike, class_index: int | Sequence[int], *, steps: int | None = None,
                  recipe: str | Recipe = "robust", seed: int = 0, preprocess: Callable | None = None,
                  batch_size: int | None = None, progress: Progress = None, frames: Frames = None) -> np.ndarray:
    """Images that maximise class scores (the logits when the model ends in softmax/sigmoid).

    As tf-keras-vis's ActivationMaximization on the model output; arguments as
    :func:`filter_patterns`, at the model's input size.

    Returns:
        uint8 (n, H, W, 3), one image per class.
    """
    graph = graph_for(model)
    n_classes = graph.n_classes
    indices = np.atleast_1d(np.asarray(class_index))
    if indices.ndim != 1 or not np.issubdtype(indices.dtype, np.integer) or len(indices) == 0:
        raise ArgumentError(f"class_index must be an int or a non-empty sequence of ints; got {class_index!r}")
    if indices.min() < 0 or indices.max() >= n_classes:
        raise ArgumentError(f"class_index out of range: the model {keras_model(model).name!r} has {n_classes} classes")
    return _stored_maximize(model, graph, "class_pattern", "score", indices, _recipe(recipe, steps), seed,
                            preprocess or default_preprocess(model), batch_size, progress, frames, label="score")
