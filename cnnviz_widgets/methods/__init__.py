"""Pure computations behind the widgets (numpy / TensorFlow only, no widget imports).

One file per family of heatmap methods, each method declared once there (see ``registry``):
``cams`` (Grad-CAM and its kin, EigenCAM, Score-CAM, Ablation-CAM), ``saliency`` (gradients to
the input, SmoothGrad and its kin, integrated gradients, Guided Backprop), ``occlusion``
(occlusion, RISE). Then ``filters`` (kernel weights),
``patterns`` (activation maximization), ``statistics`` (feature-map statistics),
``metrics`` (pointing game, deletion/insertion), ``target_layer`` (the default CAM layer),
``receptive_field`` (the input pixels a unit sees),
``registry`` (every heatmap method by name, from the declarations), ``sanity`` (Adebayo et
al.'s randomisation test).
Each function takes a Keras model or a ModelInspector and a model-ready float32 batch.
"""

from cnnviz_widgets.methods._maps import normalize_maps
from cnnviz_widgets.methods.cams import (
    ablation_cam,
    eigen_cam,
    grad_cam,
    grad_cam_plus_plus,
    hires_cam,
    layer_cam,
    score_cam,
    xgrad_cam,
)
from cnnviz_widgets.methods.filters import filter_weights, filter_weights_rgb, first_conv_layer
from cnnviz_widgets.methods.metrics import deletion_auc, insertion_auc, perturbation_curve, pointing_game
from cnnviz_widgets.methods.occlusion import (
    OcclusionSweep,
    occlusion,
    occlusion_sweep,
    patch_positions,
    rise,
    rise_masks,
)
from cnnviz_widgets.methods.patterns import (
    ClassicRecipe,
    RobustRecipe,
    class_pattern,
    filter_patterns,
    pixel_to_input,
)
from cnnviz_widgets.methods.receptive_field import ReceptiveField, crop_field, receptive_field
from cnnviz_widgets.methods.registry import (
    FAMILIES,
    HEATMAP_METHODS,
    HeatmapMethod,
    Option,
    declare,
    heatmap,
    heatmap_method,
    methods_table,
)
from cnnviz_widgets.methods.saliency import (
    gradient_x_input,
    guided_backprop,
    guided_grad_cam,
    guided_gradients,
    integrated_gradients,
    integrated_gradients_attributions,
    saliency,
    squaregrad,
    vargrad,
)
from cnnviz_widgets.methods.sanity import SanityReport, sanity_check
from cnnviz_widgets.methods.statistics import ChannelStatistics, channel_statistics
from cnnviz_widgets.methods.target_layer import default_cam_layer

METHOD_FUNCTIONS = {m.function.__name__: m.function for m in HEATMAP_METHODS.values()}
"""Every declared method's function by its name (``grad_cam``, ``saliency``...), each imported above by
name (``tests/test_project.py`` checks that none is missing)."""

__all__ = [
    "FAMILIES",
    "HEATMAP_METHODS",
    "METHOD_FUNCTIONS",
    "ChannelStatistics",
    "ClassicRecipe",
    "HeatmapMethod",
    "OcclusionSweep",
    "Option",
    "ReceptiveField",
    "RobustRecipe",
    "SanityReport",
    "channel_statistics",
    "class_pattern",
    "crop_field",
    "declare",
    "default_cam_layer",
    "deletion_auc",
    "filter_patterns",
    "filter_weights",
    "filter_weights_rgb",
    "first_conv_layer",
    "guided_gradients",
    "heatmap",
    "heatmap_method",
    "insertion_auc",
    "integrated_gradients_attributions",
    "methods_table",
    "normalize_maps",
    "occlusion",
    "occlusion_sweep",
    "patch_positions",
    "perturbation_curve",
    "pixel_to_input",
    "pointing_game",
    "receptive_field",
    "rise_masks",
    "sanity_check",
    # every declared method's function
    "ablation_cam",
    "eigen_cam",
    "grad_cam",
    "grad_cam_plus_plus",
    "gradient_x_input",
    "guided_backprop",
    "guided_grad_cam",
    "hires_cam",
    "integrated_gradients",
    "layer_cam",
    "rise",
    "saliency",
    "score_cam",
    "squaregrad",
    "vargrad",
    "xgrad_cam",
]
