"""Which layer a class activation map should look at when the caller does not say."""

from __future__ import annotations

import keras

from cnnviz_widgets.errors import NotAnImageModelError
from cnnviz_widgets.inspector.graph import TracedGraph
from cnnviz_widgets.methods._models import ModelLike, graph_for


def default_cam_layer(model: ModelLike | TracedGraph) -> tuple[str, str]:
    """Pick the target layer for CAM methods and say why: returns (qualified name, reason).

    The choice is the last layer whose output is spatial and larger than 1x1, searching inside
    nested models; a 1x1 output (such as MobileNetV3's "logits" Conv2D after global pooling)
    is part of the classifier head, not a feature map. A nested model's own output is skipped
    in favour of its inner layer, and a final pooling layer in favour of the layer it pools,
    which holds the same features at a finer resolution.

    Raises:
        NotAnImageModelError: no layer has a spatial output larger than 1x1.
    """
    graph = model if isinstance(model, TracedGraph) else graph_for(model)
    candidates = [
        r for r in graph.records
        if r.is_spatial and (r.output_shape[0] or 2) * (r.output_shape[1] or 2) > 1
        and not isinstance(graph.layer_objects[r.name], keras.Model)
    ]
    if not candidates:
        raise NotAnImageModelError("No layer has a spatial output larger than 1x1: there is nothing to map a CAM onto")
    chosen = candidates[-1]
    shape = "x".join(str(d) for d in chosen.output_shape)
    reason = f"last layer with a spatial output larger than 1x1 ({shape}) before the classifier head"
    if chosen.kind == "pool":
        parents = [p for p in graph.parents.get(chosen.name, ()) if graph.record(p).is_spatial]
        if len(parents) == 1:
            pooled, chosen = chosen, graph.record(parents[0])
            shape = "x".join(str(d) for d in chosen.output_shape)
            reason = (f"last feature map before the classifier head ({shape}); the pooling layer {pooled.name!r} "
                      f"after it only downsamples it")
    return chosen.name, reason
