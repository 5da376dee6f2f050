"""Dataset-level views: scan a dataset once through the model (see :func:`scan`)."""

from cnnviz_widgets.dataset.ray_engine import RayEngine
from cnnviz_widgets.dataset.result import Scan, load_scan
from cnnviz_widgets.dataset.scan import ENGINES, scan
from cnnviz_widgets.dataset.sources import IMAGE_SUFFIXES, LabelledImages, shapes_dataset

__all__ = ["ENGINES", "IMAGE_SUFFIXES", "LabelledImages", "RayEngine", "Scan", "load_scan", "scan", "shapes_dataset"]
