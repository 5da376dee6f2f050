"""ModelInspector and the machinery that reaches every layer of any Keras model."""

from cnnviz_widgets.inspector.graph import LayerRecord, TracedGraph, trace_model
from cnnviz_widgets.inspector.heads import HEADS
from cnnviz_widgets.inspector.model_inspector import ModelInspector, Prediction
from cnnviz_widgets.inspector.preprocessing import PREPROCESSORS
from cnnviz_widgets.inspector.settings import InspectorSettings

__all__ = ["HEADS", "PREPROCESSORS", "InspectorSettings", "LayerRecord", "ModelInspector", "Prediction", "TracedGraph",
           "trace_model"]
