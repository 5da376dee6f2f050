"""Pure computations behind the widgets (numpy / TensorFlow only, no widget imports)."""

from cnnviz_widgets.methods.cams import grad_cam_functional
from cnnviz_widgets.methods.metrics import pointing_game

__all__ = ["grad_cam_functional", "pointing_game"]
