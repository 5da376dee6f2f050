"""Pure computations behind the widgets (numpy / TensorFlow only, no widget imports).

One file per family: ``cams`` (Grad-CAM, Grad-CAM++, LayerCAM, Score-CAM), ``saliency``
(gradients, SmoothGrad, integrated gradients), ``occlusion``, ``filters`` (kernel weights),
``patterns`` (activation maximization), ``statistics`` (feature-map statistics),
``metrics`` (pointing game, deletion/insertion), ``target_layer`` (the default CAM layer),
``receptive_field`` (the input pixels a unit sees),
``registry`` (every heatmap method by name).
Each function takes a Keras model or a ModelInspector and a model-ready float32 batch.
"""

from cnnviz_widgets.methods._access import normalize_maps
from cnnviz_widgets.methods.cams import grad_cam, grad_cam_plus_plus, layer_cam, score_cam
from cnnviz_widgets.methods.filters import filter_weights, filter_weights_rgb, first_conv_layer
from cnnviz_widgets.methods.metrics import deletion_auc, insertion_auc, perturbation_curve, pointing_game
from cnnviz_widgets.methods.occlusion import OcclusionSweep, occlusion, occlusion_sweep, patch_positions
from cnnviz_widgets.methods.patterns import (
    ClassicRecipe,
    RobustRecipe,
    class_pattern,
    filter_patterns,
    pixel_to_input,
)
from cnnviz_widgets.methods.receptive_field import ReceptiveField, crop_field, receptive_field
from cnnviz_widgets.methods.registry import HEATMAP_METHODS, HeatmapMethod, heatmap, heatmap_method
from cnnviz_widgets.methods.saliency import integrated_gradients, integrated_gradients_attributions, saliency
from cnnviz_widgets.methods.statistics import ChannelStatistics, channel_statistics
from cnnviz_widgets.methods.target_layer import default_cam_layer

__all__ = [
    "HEATMAP_METHODS",
    "HeatmapMethod",
    "heatmap",
    "heatmap_method",
    "ChannelStatistics",
    "ClassicRecipe",
    "OcclusionSweep",
    "ReceptiveField",
    "RobustRecipe",
    "channel_statistics",
    "class_pattern",
    "crop_field",
    "default_cam_layer",
    "deletion_auc",
    "filter_patterns",
    "filter_weights",
    "filter_weights_rgb",
    "first_conv_layer",
    "grad_cam",
    "grad_cam_plus_plus",
    "insertion_auc",
    "integrated_gradients",
    "integrated_gradients_attributions",
    "layer_cam",
    "normalize_maps",
    "occlusion",
    "occlusion_sweep",
    "patch_positions",
    "perturbation_curve",
    "pixel_to_input",
    "pointing_game",
    "receptive_field",
    "saliency",
    "score_cam",
]
