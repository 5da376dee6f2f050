"""cnnviz-widgets: live JupyterLab views of what a convolutional network has learned.

The public API is flat: everything a user needs is importable from here.
"""

from cnnviz_widgets._quiet_tf import hide_own_retracing_warnings, import_tensorflow_quietly
from cnnviz_widgets._version import __version__ as __version__

import_tensorflow_quietly()
hide_own_retracing_warnings()

from cnnviz_widgets import methods, render
from cnnviz_widgets.data.default_model import default_model_report, load_default_model, sample_images
from cnnviz_widgets.data.shapes import CLASS_NAMES as SHAPE_CLASS_NAMES
from cnnviz_widgets.data.shapes import generate_shapes
from cnnviz_widgets.dataset import Scan, load_scan, scan, shapes_dataset
from cnnviz_widgets.errors import (
    ArgumentError,
    ChannelCountError,
    CnnvizError,
    ImageFileNotFoundError,
    ImageReadError,
    LayerNotFoundError,
    ModelFileNotFoundError,
    ModelLoadError,
    NoImageError,
    NonFiniteOutputError,
    NotAnImageModelError,
    PreprocessingError,
    UnsafeModelFileError,
    UnsupportedModelError,
)
from cnnviz_widgets.export import export_html
from cnnviz_widgets.inspector import HEADS, PREPROCESSORS, LayerRecord, ModelInspector, Prediction
from cnnviz_widgets.inspector.images import set_max_image_pixels
from cnnviz_widgets.methods import (
    HEATMAP_METHODS,
    METHOD_FUNCTIONS,
    SanityReport,
    channel_statistics,
    class_pattern,
    default_cam_layer,
    deletion_auc,
    filter_patterns,
    filter_weights,
    filter_weights_rgb,
    heatmap,
    insertion_auc,
    occlusion,
    occlusion_sweep,
    pointing_game,
    receptive_field,
    sanity_check,
)
from cnnviz_widgets.store import ResultStore
from cnnviz_widgets.widgets import (
    CamOverlay,
    ClassPicker,
    Dashboard,
    DatasetBrowser,
    FilterGallery,
    ImagePicker,
    LayerBrowser,
    OcclusionSweeper,
    explore,
)

__all__ = [
    "HEADS",
    "PREPROCESSORS",
    "SHAPE_CLASS_NAMES",
    "Scan",
    "ArgumentError",
    "CamOverlay",
    "ChannelCountError",
    "ClassPicker",
    "CnnvizError",
    "Dashboard",
    "DatasetBrowser",
    "FilterGallery",
    "ImageFileNotFoundError",
    "ImagePicker",
    "ImageReadError",
    "LayerNotFoundError",
    "LayerBrowser",
    "LayerRecord",
    "ModelFileNotFoundError",
    "ModelInspector",
    "ModelLoadError",
    "NoImageError",
    "NonFiniteOutputError",
    "NotAnImageModelError",
    "OcclusionSweeper",
    "Prediction",
    "PreprocessingError",
    "ResultStore",
    "UnsafeModelFileError",
    "UnsupportedModelError",
    "channel_statistics",
    "class_pattern",
    "default_cam_layer",
    "default_model_report",
    "deletion_auc",
    "explore",
    "export_html",
    "filter_patterns",
    "filter_weights",
    "filter_weights_rgb",
    "generate_shapes",
    "heatmap",
    "insertion_auc",
    "load_default_model",
    "load_scan",
    "methods",
    "occlusion",
    "occlusion_sweep",
    "pointing_game",
    "receptive_field",
    "render",
    "sample_images",
    "scan",
    "set_max_image_pixels",
    "shapes_dataset",
    "HEATMAP_METHODS",
    "SanityReport",
    "sanity_check",
    *METHOD_FUNCTIONS,   # every declared heatmap method: cw.grad_cam, cw.rise...
]
globals().update(METHOD_FUNCTIONS)
