"""Which input pixels a unit of a layer sees: its receptive field, from the gradient's support.

For the unit at the centre of a layer's map, the input pixels with a non-zero gradient of that
unit's channels (over a few random inputs, so that no ReLU path is dead in all of them) give the
field's extent; units elsewhere see the same extent shifted by the layer's stride (input size /
map size). It works for any architecture, needs one compiled gradient per layer, and is cached
with the model's graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from keras import ops

from cnnviz_widgets import backend
from cnnviz_widgets.methods._compiled import cached, compile_on, input_spec, submodel
from cnnviz_widgets.methods._models import ModelLike, graph_for, spatial_layer


@dataclass(frozen=True)
class ReceptiveField:
    """A layer's receptive field in input pixels.

    Attributes:
        layer: the qualified layer name.
        input_size: (H, W) of the model input.
        map_size: (h, w) of the layer's map.
        extent: (top, left, bottom, right) of the field of the centre unit (bottom/right exclusive).
        centre: (y, x) of that centre unit.
    """

    layer: str
    input_size: tuple[int, int]
    map_size: tuple[int, int]
    extent: tuple[int, int, int, int]
    centre: tuple[int, int]

    @property
    def stride(self) -> tuple[float, float]:
        """Input pixels per step of the layer's map, (y, x)."""
        return self.input_size[0] / self.map_size[0], self.input_size[1] / self.map_size[1]

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the field, before clipping at the image border."""
        top, left, bottom, right = self.extent
        return bottom - top, right - left

    def box(self, y: int, x: int) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) in input pixels seen by the unit at (y, x), clipped to the image."""
        sy, sx = self.stride
        dy, dx = round((y - self.centre[0]) * sy), round((x - self.centre[1]) * sx)
        top, left, bottom, right = self.extent
        h, w = self.input_size
        return max(0, top + dy), max(0, left + dx), min(h, bottom + dy), min(w, right + dx)


def receptive_field(model: ModelLike, layer: str, *, samples: int = 4, seed: int = 0) -> ReceptiveField:
    """The receptive field of ``layer`` (a spatial layer) of ``model`` (see the module doc)."""
    graph = graph_for(model)
    name = spatial_layer(graph, layer, "A receptive field")

    def build() -> ReceptiveField:
        h, w, c = (int(d) for d in graph.input.shape[1:])
        mh, mw = (int(d) for d in graph.record(name).output_shape[:2])
        cy, cx = mh // 2, mw // 2
        features = submodel(graph, (name,))
        x = np.random.default_rng(seed).uniform(-1, 1, (samples, h, w, c)).astype(np.float32)
        unit_gradient = compile_on(features, lambda v: backend.gradient(
            lambda u: ops.sum(features(u, training=False)[:, cy, cx, :]), v), input_spec(graph))
        support = np.abs(unit_gradient(x)).sum(axis=(0, 3)) > 0
        rows, cols = np.nonzero(support.any(axis=1))[0], np.nonzero(support.any(axis=0))[0]
        if len(rows) == 0:  # no gradient at all (a constant layer): the field is the unit's own cell
            sy, sx = h / mh, w / mw
            extent = (int(cy * sy), int(cx * sx), int((cy + 1) * sy), int((cx + 1) * sx))
        else:
            extent = (int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1)
        return ReceptiveField(name, (h, w), (mh, mw), extent, (cy, cx))

    return cached(graph, ("receptive_field", name, samples, seed), build)


def crop_field(image: np.ndarray, field: ReceptiveField, y: int, x: int) -> np.ndarray:
    """The part of ``image`` (H, W[, C] at the model's input size) that the unit at (y, x) sees."""
    top, left, bottom, right = field.box(y, x)
    return image[top:bottom, left:right]
