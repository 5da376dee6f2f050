"""The widgets: thin ipywidgets shells that wire controls to methods and renderers.

Each widget takes a :class:`~cnnviz_widgets.ModelInspector`, mirrors its controls as public
traits, shows errors inside itself and computes expensive results in the background; see
:mod:`cnnviz_widgets.widgets._base` for the shared lifecycle.
"""

from cnnviz_widgets.widgets._class_picker import ClassPicker
from cnnviz_widgets.widgets._controls import declared_controls
from cnnviz_widgets.widgets.cam_overlay import CamOverlay
from cnnviz_widgets.widgets.dashboard import Dashboard, explore
from cnnviz_widgets.widgets.dataset_browser import DatasetBrowser
from cnnviz_widgets.widgets.filter_gallery import FilterGallery
from cnnviz_widgets.widgets.image_picker import ImagePicker
from cnnviz_widgets.widgets.layer_browser import LayerBrowser
from cnnviz_widgets.widgets.occlusion_sweeper import OcclusionSweeper
from cnnviz_widgets.widgets.training_timeline import TrainingTimeline

__all__ = ["CamOverlay", "ClassPicker", "Dashboard", "DatasetBrowser", "FilterGallery", "ImagePicker", "LayerBrowser",
           "OcclusionSweeper", "TrainingTimeline", "explore"]

WIDGETS_WITH_CONTROLS = tuple(cls for cls in map(globals().get, __all__)
                              if isinstance(cls, type) and declared_controls(cls))
"""The widgets whose controls are declared traits: each has a documentation page with its traits table."""
