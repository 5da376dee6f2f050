"""Every heatmap method under one name, so that widgets and users can pick one by string.

``heatmap(model, x, "grad_cam", class_index=3)`` is the one-line call; :data:`HEATMAP_METHODS`
lists the names with their display labels and whether they need a target layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cnnviz_widgets.errors import ArgumentError
from cnnviz_widgets.methods._access import ClassIndex, ModelLike, Progress
from cnnviz_widgets.methods.cams import grad_cam, grad_cam_plus_plus, layer_cam, score_cam
from cnnviz_widgets.methods.saliency import integrated_gradients, saliency

FASTER_SCORE_CAM_CHANNELS = 16
SMOOTHGRAD_SAMPLES = 20
INTEGRATED_GRADIENTS_STEPS = 32


@dataclass(frozen=True)
class HeatmapMethod:
    """A heatmap method: ``compute(model, x, class_index, layer, progress) -> (N, H, W)`` in [0, 1]."""

    name: str
    label: str
    uses_layer: bool
    compute: Callable[[ModelLike, np.ndarray, ClassIndex, str | None, Progress], np.ndarray]
    description: str


HEATMAP_METHODS: dict[str, HeatmapMethod] = {m.name: m for m in (
    HeatmapMethod("grad_cam", "Grad-CAM", True,
                  lambda m, x, c, layer, p: grad_cam(m, x, c, layer),
                  "channels weighted by their mean gradient"),
    HeatmapMethod("grad_cam_plus_plus", "Grad-CAM++", True,
                  lambda m, x, c, layer, p: grad_cam_plus_plus(m, x, c, layer),
                  "positive gradients, weighted per position; better with several objects"),
    HeatmapMethod("layer_cam", "LayerCAM", True,
                  lambda m, x, c, layer, p: layer_cam(m, x, c, layer),
                  "each position weighted by its own positive gradient; works on early layers"),
    HeatmapMethod("score_cam", "Score-CAM", True,
                  lambda m, x, c, layer, p: score_cam(m, x, c, layer, progress=p),
                  "channels weighted by the class probability of the image masked by them; no gradients"),
    HeatmapMethod("faster_score_cam", "Faster Score-CAM", True,
                  lambda m, x, c, layer, p: score_cam(m, x, c, layer, max_channels=FASTER_SCORE_CAM_CHANNELS,
                                                      progress=p),
                  f"Score-CAM on the {FASTER_SCORE_CAM_CHANNELS} most varied channels"),
    HeatmapMethod("saliency", "Saliency", False,
                  lambda m, x, c, layer, p: saliency(m, x, c, progress=p),
                  "gradient of the class score with respect to each pixel"),
    HeatmapMethod("smoothgrad", "SmoothGrad", False,
                  lambda m, x, c, layer, p: saliency(m, x, c, smooth_samples=SMOOTHGRAD_SAMPLES, progress=p),
                  f"saliency averaged over {SMOOTHGRAD_SAMPLES} noisy copies of the image"),
    HeatmapMethod("integrated_gradients", "Integrated gradients", False,
                  lambda m, x, c, layer, p: integrated_gradients(m, x, c, steps=INTEGRATED_GRADIENTS_STEPS,
                                                                 progress=p),
                  f"gradients summed along {INTEGRATED_GRADIENTS_STEPS} steps from a black image"),
)}


def heatmap_method(name: str) -> HeatmapMethod:
    """The :class:`HeatmapMethod` called ``name`` (a key of :data:`HEATMAP_METHODS`)."""
    try:
        return HEATMAP_METHODS[name]
    except KeyError:
        raise ArgumentError(f"Unknown method {name!r}; choose one of {', '.join(HEATMAP_METHODS)}") from None


def heatmap(model: ModelLike, x: np.ndarray, method: str = "grad_cam", class_index: ClassIndex = None,
            layer: str | None = None, *, progress: Progress = None) -> np.ndarray:
    """Any heatmap method by name: float32 (N, H, W) in [0, 1].

    Args:
        method: a key of :data:`HEATMAP_METHODS` (``"grad_cam"``, ``"smoothgrad"``...).
        layer: target layer of the CAM methods (None: the automatic choice); ignored by the
            gradient-to-input methods.
    """
    chosen = heatmap_method(method)
    return chosen.compute(model, x, class_index, layer if chosen.uses_layer else None, progress)
