"""cnnviz-widgets: live JupyterLab views of what a convolutional network has learned.

The public API is flat: everything a user needs is importable from here.
"""

from cnnviz_widgets._quiet_tf import import_tensorflow_quietly

import_tensorflow_quietly()

from cnnviz_widgets.data.default_model import default_model_report, load_default_model, sample_images
from cnnviz_widgets.data.shapes import CLASS_NAMES as SHAPE_CLASS_NAMES
from cnnviz_widgets.data.shapes import generate_shapes
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
    NotAnImageModelError,
    PreprocessingError,
    UnsafeModelFileError,
    UnsupportedModelError,
)
from cnnviz_widgets.inspector import PREPROCESSORS, LayerRecord, ModelInspector, Prediction

__version__ = "0.1.0"

__all__ = [
    "PREPROCESSORS",
    "SHAPE_CLASS_NAMES",
    "ArgumentError",
    "ChannelCountError",
    "CnnvizError",
    "ImageFileNotFoundError",
    "ImageReadError",
    "LayerNotFoundError",
    "LayerRecord",
    "ModelFileNotFoundError",
    "ModelInspector",
    "ModelLoadError",
    "NoImageError",
    "NotAnImageModelError",
    "Prediction",
    "PreprocessingError",
    "UnsafeModelFileError",
    "UnsupportedModelError",
    "default_model_report",
    "generate_shapes",
    "load_default_model",
    "sample_images",
]
