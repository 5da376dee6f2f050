"""The model-randomisation sanity check (Adebayo et al. 2018, "Sanity Checks for Saliency Maps").

A map that explains the model should change when the model's weights are destroyed. The check
re-initialises the layers of a *copy* of the model from the top down (``"cascading"``: every
layer from the output down to this one; ``"independent"``: this layer alone), recomputes every
method's maps for the same images and classes, and measures how similar they stay to the maps
of the trained model: the Spearman rank correlation and the SSIM, averaged over the images.
The user's model is never touched.

The paper's finding: Grad-CAM decorrelates as soon as the top layers are randomised, while
Guided Backpropagation keeps showing the image's edges until the first layers are.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import keras
import numpy as np

from cnnviz_widgets.errors import ArgumentError
from cnnviz_widgets.inspector.settings import copy_model
from cnnviz_widgets.methods._chunks import Progress
from cnnviz_widgets.methods._classes import ClassIndex, class_indices
from cnnviz_widgets.methods._models import ModelLike, graph_for, keras_model, prepare
from cnnviz_widgets.methods.registry import HEATMAP_METHODS, heatmap, heatmap_method
from cnnviz_widgets.methods.target_layer import default_cam_layer

MODES = ("cascading", "independent")


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two maps (any shape, same size); ties get their mean rank.
    A constant map has no ranking: 0 against anything."""
    ra, rb = _ranks(np.ravel(a)), _ranks(np.ravel(b))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    scale = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    return float((ra * rb).sum() / scale) if scale > 0 else 0.0


def _ranks(values: np.ndarray) -> np.ndarray:
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - (counts - 1) / 2.0)[inverse]).astype(np.float64)   # the mean 1-based rank of each tie group


def _gaussian_valid(image: np.ndarray, size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """``image`` (H, W) filtered by a normalised size x size Gaussian, only where it fits (VALID)."""
    t = np.arange(size) - (size - 1) / 2
    kernel = np.exp(-0.5 * (t / sigma) ** 2)
    kernel /= kernel.sum()
    rows = np.lib.stride_tricks.sliding_window_view(image, size, axis=0) @ kernel
    return np.lib.stride_tricks.sliding_window_view(rows, size, axis=1) @ kernel


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Structural similarity of two maps (H, W) in [0, 1]: the 11x11 Gaussian SSIM of Wang et al.
    2004 as ``tf.image.ssim`` computes it (sigma 1.5, k1 0.01, k2 0.03, valid windows only)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    mean_a, mean_b = _gaussian_valid(a), _gaussian_valid(b)
    luminance = (2 * mean_a * mean_b + c1) / (mean_a ** 2 + mean_b ** 2 + c1)
    cross = 2 * _gaussian_valid(a * b) - 2 * mean_a * mean_b
    spread = _gaussian_valid(a * a + b * b) - mean_a ** 2 - mean_b ** 2
    return float(np.mean(luminance * (cross + c2) / (spread + c2)))


def copy_like(model: ModelLike) -> ModelLike:
    """A copy of ``model``'s network (:func:`~cnnviz_widgets.inspector.settings.copy_model`); for a
    ModelInspector, its :meth:`~cnnviz_widgets.ModelInspector.twin` on a copy, which reads it the same
    way (preprocessing, classes, head, output, input shape)."""
    net = keras_model(model)
    return model.twin() if net is not model else copy_model(net)


def weighted_layers(model: ModelLike) -> list[tuple[str, keras.layers.Layer]]:
    """(qualified name, layer) of every layer that owns trainable weights and that the explained
    output depends on, innermost (a nested model's layers, not the nested model), in forward order."""
    graph = graph_for(model)
    upstream = _upstream(graph)
    found = []
    for record in graph.records:
        layer = graph.layer_objects.get(record.name)
        if (layer is not None and layer.trainable_weights and not isinstance(layer, keras.Model)
                and (upstream is None or record.name in upstream)):
            found.append((record.name, layer))
    return found


def _upstream(graph) -> set[str] | None:
    """The recorded layers that the explained output depends on (None: unknown, take all)."""
    if graph.output_name not in graph.parents:
        return None
    seen, todo = set(), [graph.output_name]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(graph.parents.get(name, ()))
    return seen


def randomise(layer: keras.layers.Layer, seed: int) -> None:
    """Re-initialise ``layer``'s trainable weights with its own initialisers (seeded), or, for a
    weight without one, with normal values of the same mean and spread."""
    rng = np.random.default_rng(seed)
    for k, variable in enumerate(layer.trainable_weights):
        name = variable.path.rsplit("/", 1)[-1]
        initializer = getattr(layer, f"{name}_initializer", None)
        shape = tuple(variable.shape)
        values = None
        if isinstance(initializer, keras.initializers.Initializer):
            values = initial_values(initializer, shape, np.random.default_rng([seed, k]))
            if values is None:   # an initialiser numpy does not know: its own draw, which depends on the backend
                config = initializer.get_config()
                if "seed" in config:
                    config["seed"] = int(seed * 1000 + k)
                values = keras.ops.convert_to_numpy(type(initializer).from_config(config)(shape))
        if values is None:
            old = keras.ops.convert_to_numpy(variable.value)
            values = rng.normal(old.mean(), old.std() or 0.05, shape)
        variable.assign(np.asarray(values).astype(variable.dtype))


def _fans(shape: tuple[int, ...]) -> tuple[float, float]:
    """(fan in, fan out) of a weight, as Keras's initialisers count them."""
    if len(shape) < 1:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    receptive = float(np.prod(shape[:-2])) if len(shape) > 2 else 1.0
    return shape[-2] * receptive, shape[-1] * receptive


def _truncated_normal(rng: np.random.Generator, shape: tuple[int, ...], stddev: float) -> np.ndarray:
    """Normal values redrawn until within two standard deviations of 0."""
    values = rng.standard_normal(shape)
    outside = np.abs(values) > 2
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2
    return values * stddev


def initial_values(initializer: keras.initializers.Initializer, shape: tuple[int, ...],
                   rng: np.random.Generator) -> np.ndarray | None:
    """Values drawn with numpy from the distribution of one of Keras's own initialisers
    (variance scaling, Glorot, He and LeCun included; normal, uniform, truncated normal,
    constants), so that a randomised layer is the same on every backend; None for another
    initialiser."""
    config = initializer.get_config()
    if isinstance(initializer, keras.initializers.VarianceScaling) and not config.get("input_axes"):
        fan_in, fan_out = _fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[initializer.mode]
        scale = initializer.scale / max(1.0, fan)
        if initializer.distribution == "truncated_normal":
            return _truncated_normal(rng, shape, np.sqrt(scale) / 0.87962566103423978)
        if initializer.distribution == "untruncated_normal":
            return rng.standard_normal(shape) * np.sqrt(scale)
        limit = np.sqrt(3.0 * scale)
        return rng.uniform(-limit, limit, shape)
    if isinstance(initializer, keras.initializers.TruncatedNormal):
        return config["mean"] + _truncated_normal(rng, shape, config["stddev"])
    if isinstance(initializer, keras.initializers.RandomNormal):
        return rng.normal(config["mean"], config["stddev"], shape)
    if isinstance(initializer, keras.initializers.RandomUniform):
        return rng.uniform(config["minval"], config["maxval"], shape)
    if isinstance(initializer, keras.initializers.Zeros):
        return np.zeros(shape)
    if isinstance(initializer, keras.initializers.Ones):
        return np.ones(shape)
    if isinstance(initializer, keras.initializers.Constant):
        return np.full(shape, config["value"])
    return None


@dataclass
class SanityReport:
    """What :func:`sanity_check` measured.

    ``layers`` are the randomised layers from the top down; entry ``d`` of a method's lists
    means: every layer from the top down to ``layers[d]`` randomised (cascading), or
    ``layers[d]`` alone (independent).
    """

    mode: str
    methods: tuple[str, ...]
    layers: tuple[str, ...]
    correlations: dict[str, np.ndarray]
    """Spearman rho per method: (depths, images)."""
    similarities: dict[str, np.ndarray]
    """SSIM per method: (depths, images)."""
    original: dict[str, np.ndarray] = field(repr=False)
    """The trained model's maps per method (N, H, W)."""
    randomised: dict[str, np.ndarray] = field(repr=False)
    """Each depth's maps of the first image per method (depths, H, W)."""
    original_peaks: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    """The value, in the method's own units, at which each trained map reaches 1, per method (N,)."""
    randomised_peaks: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    """The same for each depth's map of the first image, per method (depths,)."""

    def shared_scale(self, method: str) -> float:
        """The top of the one colour scale that a method's row of maps is drawn on (the first
        image, trained and randomised), in the method's own units: the largest of their peaks."""
        peaks = [float(self.original_peaks[method][0]), *map(float, self.randomised_peaks[method])]
        return max(peaks)

    def on_shared_scale(self, method: str) -> np.ndarray:
        """The first image's maps of ``method``, trained then each depth, (1 + depths, H, W) in
        [0, 1] on one scale (:meth:`shared_scale`): a randomised map that is weaker looks weaker."""
        top = self.shared_scale(method)
        maps = np.concatenate([self.original[method][:1], self.randomised[method]])
        peaks = np.concatenate([self.original_peaks[method][:1], self.randomised_peaks[method]])
        return (maps * (peaks / top if top > 0 else 0 * peaks)[:, None, None]).astype(np.float32)

    def spearman(self, method: str) -> list[tuple[str, float]]:
        """(layer, mean rho over the images) from the top layer down."""
        return [(name, float(v)) for name, v in zip(self.layers, self.correlations[method].mean(axis=1),
                                                    strict=True)]

    def ssim(self, method: str) -> list[tuple[str, float]]:
        """(layer, mean SSIM over the images) from the top layer down."""
        return [(name, float(v)) for name, v in zip(self.layers, self.similarities[method].mean(axis=1),
                                                    strict=True)]

    def table(self, measure: str = "spearman") -> str:
        """The mean rank correlation (or SSIM) as text: one row per randomised layer, one column per method."""
        values = self.correlations if measure == "spearman" else self.similarities
        first = "randomised down to"
        width = max(len(first), *(len(n) for n in self.layers)) + 2
        labels = [heatmap_method(m).label for m in self.methods]
        columns = [max(len(label), 5) + 2 for label in labels]            # full names, numbers right-aligned
        head = first.ljust(width) + "".join(label.rjust(c) for label, c in zip(labels, columns, strict=True))
        rows = [head] + [name.ljust(width) + "".join(f"{values[m][d].mean():{c}.2f}"
                                                     for m, c in zip(self.methods, columns, strict=True))
                         for d, name in enumerate(self.layers)]
        return "\n".join(rows)

    def figure(self):
        """A matplotlib figure like the paper's: the first image's maps as the layers are
        randomised (one row per method), and the mean rank correlation against depth."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        from matplotlib import pyplot as plt

        columns = len(self.layers) + 1
        fig = plt.figure(figsize=(1.3 * columns + 4, 1.3 * len(self.methods) + 0.6))
        grid = fig.add_gridspec(len(self.methods), columns + 3)
        for r, method in enumerate(self.methods):
            maps = self.on_shared_scale(method)   # one scale per row, as the randomise toggle draws them
            for c, heat in enumerate(maps):
                axis = fig.add_subplot(grid[r, c])
                axis.imshow(heat, cmap="gray", vmin=0, vmax=1)
                axis.set_xticks([])
                axis.set_yticks([])
                if r == 0:
                    axis.set_title("trained" if c == 0 else self.layers[c - 1], fontsize=6, rotation=45, loc="left")
                if c == 0:
                    axis.set_ylabel(f"{heatmap_method(method).label}\n0 to {self.shared_scale(method):.3g}", fontsize=7)
        curve = fig.add_subplot(grid[:, columns:])
        for method in self.methods:
            curve.plot(range(len(self.layers)), self.correlations[method].mean(axis=1), marker="o",
                       label=heatmap_method(method).label)
        curve.set_xticks(range(len(self.layers)), self.layers, rotation=90, fontsize=6)
        curve.set_ylabel("Spearman rank correlation with the trained model's map")
        curve.set_ylim(-0.2, 1.05)
        curve.axhline(0, color="grey", linewidth=0.5)
        curve.legend(fontsize=6)
        curve.set_title(f"{self.mode} randomisation, from the top (each row of maps on one scale, "
                        "in the method's units)", fontsize=8)
        fig.tight_layout()
        return fig

    def to_png(self) -> bytes:
        """:meth:`figure` as PNG bytes."""
        from matplotlib import pyplot as plt

        fig = self.figure()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110)
        plt.close(fig)
        return buffer.getvalue()


def sanity_check(model: ModelLike, x: np.ndarray, methods: Sequence[str] | None = None, *,
                 mode: str = "cascading", class_index: ClassIndex = None, seed: int = 0,
                 layers: Sequence[str] | None = None, progress: Progress = None) -> SanityReport:
    """Randomise the layers of a copy of the model from the top down and measure how much each
    method's maps change (Adebayo et al. 2018).

    Args:
        model: a Keras model or a ModelInspector (its model is copied; the original is untouched).
        x: model-ready float32 batch (N, H, W, C).
        methods: names of :data:`HEATMAP_METHODS`; None: every method that uses gradients.
        mode: ``"cascading"`` (every layer from the top down to this one) or ``"independent"``.
        class_index: the explained class, kept fixed for the randomised models; None: each
            image's top class under the trained model.
        seed: seed of the re-initialisation.
        layers: names of the weighted layers to randomise (default: all, from the top down).
        progress: ``progress(done, total)`` after each depth.

    Returns:
        A :class:`SanityReport`.
    """
    if mode not in MODES:
        raise ArgumentError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    names = tuple(methods) if methods is not None else tuple(n for n, m in HEATMAP_METHODS.items()
                                                             if m.uses_gradients)
    for name in names:
        heatmap_method(name)
    if not names:
        raise ArgumentError("methods is empty: name at least one heatmap method")
    graph, x = prepare(model, x)
    classes = class_indices(graph, x, class_index)
    cam_layer = default_cam_layer(model)[0]
    def maps_and_peaks(on: ModelLike, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The [0, 1] maps (N, H, W) and the value in the method's units of each map's 1 (N,)."""
        unscaled = heatmap(on, x, name, classes, cam_layer, raw="unscaled")
        peaks = unscaled.reshape(len(unscaled), -1).max(axis=1)
        return (unscaled / np.where(peaks > 0, peaks, 1.0)[:, None, None]).astype(np.float32), peaks

    found = {name: maps_and_peaks(model, name) for name in names}
    original = {name: maps for name, (maps, _) in found.items()}
    original_peaks = {name: peaks for name, (_, peaks) in found.items()}

    explained = copy_like(model)
    twin = keras_model(explained)
    trained = twin.get_weights()
    candidates = list(reversed(weighted_layers(explained)))
    if layers is not None:
        by_name = dict(candidates)
        unknown = [n for n in layers if n not in by_name]
        if unknown:
            raise ArgumentError(f"No weighted layer {unknown[0]!r}; the weighted layers from the top: "
                                f"{', '.join(by_name)}")
        candidates = [(name, layer) for name, layer in candidates if name in set(layers)]
    correlations = {name: np.zeros((len(candidates), len(x))) for name in names}
    similarities = {name: np.zeros((len(candidates), len(x))) for name in names}
    randomised = {name: np.zeros((len(candidates), *x.shape[1:3]), np.float32) for name in names}
    randomised_peaks = {name: np.zeros(len(candidates), np.float32) for name in names}
    for depth, (_, layer) in enumerate(candidates):
        if mode == "independent":
            twin.set_weights(trained)
        randomise(layer, seed + depth)
        for name in names:
            maps, peaks = maps_and_peaks(explained, name)
            randomised[name][depth], randomised_peaks[name][depth] = maps[0], peaks[0]
            for i in range(len(x)):
                correlations[name][depth, i] = spearman(original[name][i], maps[i])
                similarities[name][depth, i] = ssim(original[name][i], maps[i])
        if progress is not None:
            progress(depth + 1, len(candidates))
    return SanityReport(mode, names, tuple(name for name, _ in candidates), correlations, similarities,
                        original, randomised, original_peaks, randomised_peaks)
