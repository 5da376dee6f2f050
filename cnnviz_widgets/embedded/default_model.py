"""The embedded default model and its sample images (both ship inside the package)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
from PIL import Image

from cnnviz_widgets.embedded.shapes import CLASS_NAMES

_DATA = resources.files("cnnviz_widgets.embedded")
DEFAULT_MODEL_FILE = "default_model.keras"
SAMPLES_DIR = "samples"


def load_default_model():
    """Load the embedded "shapes" convnet (96x96 RGB in [0, 1], 6 classes), offline.

    Returns a fresh, uncompiled ``keras.Model`` on every call. Its layers are named
    (``stem_conv``, ``block1_conv1`` ... ``block3_conv2``, ``global_pool``, ``logits``,
    ``predictions``); class names are :data:`cnnviz_widgets.embedded.shapes.CLASS_NAMES`.
    """
    import keras

    with resources.as_file(_DATA.joinpath(DEFAULT_MODEL_FILE)) as path:
        return keras.saving.load_model(path, compile=False, safe_mode=True)


DEFAULT_MODEL_NAME = "cnnviz_shapes"
"""The embedded model's ``name`` (what :func:`load_default_model` returns is called so)."""


@lru_cache(maxsize=1)
def _default_fingerprint() -> str:
    from cnnviz_widgets.store import model_fingerprint

    return model_fingerprint(load_default_model())


def is_default_model(model: Any) -> bool:
    """True when ``model`` computes exactly what the embedded model does (its name, architecture and
    weights: a model from :func:`load_default_model`, or a saved copy of one). The embedded model is
    loaded once, and only for a model of that name, to compare fingerprints."""
    if getattr(model, "name", None) != DEFAULT_MODEL_NAME:
        return False
    from cnnviz_widgets.store import model_fingerprint

    return model_fingerprint(model) == _default_fingerprint()


def default_model_report() -> dict[str, Any]:
    """Training facts measured when the default model was built (accuracy, pointing, time...)."""
    return json.loads(_DATA.joinpath("default_model.json").read_text("utf-8"))


@lru_cache(maxsize=1)
def _load_samples() -> tuple[dict[str, Any], ...]:
    folder = _DATA.joinpath(SAMPLES_DIR)
    samples = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".png") or entry.name.endswith("_mask.png"):
            continue
        stem = entry.name[:-4]
        label = stem.split("_", 1)[1]
        with Image.open(entry.open("rb")) as img:
            image = np.asarray(img.convert("RGB"), np.uint8)
        with Image.open(folder.joinpath(stem + "_mask.png").open("rb")) as img:
            mask = np.asarray(img.convert("L")) > 127
        samples.append({"name": stem, "image": image, "label": label,
                        "label_index": CLASS_NAMES.index(label), "mask": mask})
    return tuple(samples)


def sample_images() -> list[dict[str, Any]]:
    """The shipped sample images, one per class of the default model.

    Each is a dict with ``name``, ``image`` (uint8 H x W x 3), ``label`` (class name),
    ``label_index`` and ``mask`` (bool H x W, True on the shape). Arrays are copies.
    """
    return [{**s, "image": s["image"].copy(), "mask": s["mask"].copy()} for s in _load_samples()]
