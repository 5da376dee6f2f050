"""How an inspector reads its model, as one small frozen object, and copies of a model.

:class:`InspectorSettings` is to an inspector what Keras's ``get_config`` is to a layer: the
preprocessing, class names, head, explained output and input shape that make another inspector
read a model exactly as this one does. :meth:`ModelInspector.twin
<cnnviz_widgets.ModelInspector.twin>` uses it with :func:`copy_model` for the sanity check, the
randomise toggle and the Ray actors (and later a training run's snapshots).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import keras
import numpy as np

from cnnviz_widgets.errors import UnsupportedModelError
from cnnviz_widgets.inspector.preprocessing import Preprocess


@dataclass(frozen=True)
class InspectorSettings:
    """Everything an inspector was told or found about reading its model.

    Attributes:
        preprocess: a name of :data:`~cnnviz_widgets.inspector.preprocessing.PREPROCESSORS`
            (what ``"auto"`` chose, or the name given), or the callable given.
        class_names: one name per class.
        head: ``softmax``, ``binary``, ``multilabel`` or ``score``.
        output: the name of the explained output.
        input_shape: (H, W, C) the model is traced at.
        fit: how an image of another shape is fitted to the input (``stretch``, ``crop``, ``pad``).
    """

    preprocess: str | Preprocess
    class_names: tuple[str, ...]
    head: str
    output: str
    input_shape: tuple[int, int, int]
    fit: str = "stretch"

    def options(self) -> dict[str, Any]:
        """The keyword arguments of :class:`~cnnviz_widgets.ModelInspector` that give these settings."""
        return asdict(self) | {"class_names": list(self.class_names)}


def copy_model(model: keras.Model, input_shape: tuple[int, int, int] | None = None,
               weights: Sequence[np.ndarray] | None = None) -> keras.Model:
    """An independent copy of ``model``: the same architecture, layer names and weights.

    ``input_shape`` (H, W, C) builds a copy that its config leaves unbuilt (a subclassed model);
    by default the model's own input shape. ``weights`` (in ``get_weights()`` order) are set
    instead of the model's own, which are then never read: under JAX, a model that ``fit`` is
    training in another thread hands its weight buffers to the training step, and reading them
    there fails ("Array has been deleted").

    Raises:
        UnsupportedModelError: the model can be neither cloned nor rebuilt from its config.
    """
    try:
        twin = keras.models.clone_model(model)
    except Exception:   # noqa: BLE001 - a subclassed model: rebuild it from its config
        try:
            twin = type(model).from_config(model.get_config())
        except Exception as exc:
            raise UnsupportedModelError(f"A copy of {model.name!r} ({type(model).__name__}) is needed, and it "
                                        f"cannot be copied: {exc}") from exc
    if not twin.built:
        twin.build((None, *(input_shape or model.input_shape[1:])))
    twin.set_weights(model.get_weights() if weights is None else list(weights))
    return twin
