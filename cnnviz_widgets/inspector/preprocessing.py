"""Preprocessing: from a uint8 image batch to what the model expects.

A preprocessing is a function ``f(x) -> x`` on float32 (N, H, W, C) arrays holding pixel
values in [0, 255]. It is given by name, as a callable, or picked automatically from
the model: known ``keras.applications`` architectures get their own preprocessing, a model
that starts with a ``Rescaling`` layer gets raw pixels, anything else ``scale_0_1``.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

from cnnviz_widgets.errors import PreprocessingError

Preprocess = Callable[[np.ndarray], np.ndarray]


def _imagenet(mode: str) -> Preprocess:
    def preprocess(x: np.ndarray) -> np.ndarray:
        return keras.applications.imagenet_utils.preprocess_input(np.array(x, np.float32), mode=mode)

    preprocess.__name__ = f"imagenet_{mode}"
    return preprocess


def _scale_0_1(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, np.float32) / 255.0


def _identity(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, np.float32)


PREPROCESSORS: dict[str, Preprocess] = {
    "vgg16": _imagenet("caffe"),       # BGR, ImageNet mean subtracted (VGG16/19, ResNet v1)
    "resnet_v2": _imagenet("tf"),      # scaled to [-1, 1]
    "mobilenet_v2": _imagenet("tf"),   # scaled to [-1, 1]
    "inception": _imagenet("tf"),      # InceptionV3, Xception, InceptionResNetV2
    "nasnet": _imagenet("tf"),         # NASNetMobile, NASNetLarge: scaled to [-1, 1]
    "densenet": _imagenet("torch"),    # [0, 1] then ImageNet mean/std
    "scale_0_1": _scale_0_1,
    "none": _identity,
}
"""Preprocessing functions by name; each maps float32 pixels in [0, 255] to model inputs."""

# Model-name prefixes of keras.applications models, most specific first.
_KNOWN_MODELS: list[tuple[str, str]] = [
    ("vgg16", "vgg16"), ("vgg19", "vgg16"),
    ("resnet50v2", "resnet_v2"), ("resnet101v2", "resnet_v2"), ("resnet152v2", "resnet_v2"),
    ("resnet50", "vgg16"), ("resnet101", "vgg16"), ("resnet152", "vgg16"),
    ("mobilenetv2", "mobilenet_v2"), ("mobilenet_", "mobilenet_v2"),
    ("inception_v3", "inception"), ("xception", "inception"), ("inception_resnet", "inception"),
    ("densenet", "densenet"), ("nasnet", "nasnet"),
    ("efficientnet", "none"), ("convnext", "none"), ("mobilenetv3", "none"), ("regnet", "none"),
]


def _walk_models(model: keras.Model):
    yield model
    for layer in getattr(model, "layers", []):
        if isinstance(layer, keras.Model):
            yield from _walk_models(layer)


def choose_preprocessing(model: keras.Model) -> tuple[str, str]:
    """Pick a preprocessing name for ``model`` and say why: returns (name, reason)."""
    if model.name == "cnnviz_shapes":
        return "scale_0_1", "the embedded default model takes pixels scaled to [0, 1]"
    first = next((layer for layer in getattr(model, "layers", []) if type(layer).__name__ != "InputLayer"), None)
    if first is not None and type(first).__name__ == "Rescaling":
        return "none", f"the model starts with a Rescaling layer ({first.name!r}) and takes raw pixels in [0, 255]"
    for sub in _walk_models(model):
        lowered = sub.name.lower()
        for prefix, name in _KNOWN_MODELS:
            if lowered.startswith(prefix):
                where = "" if sub is model else f" (nested model {sub.name!r})"
                return name, f"model name {sub.name!r}{where} is a known architecture that expects {name!r}"
    return "scale_0_1", "not a known keras.applications architecture: pixels scaled to [0, 1]"


def resolve_preprocessing(preprocess: str | Preprocess, model: keras.Model) -> tuple[str, Preprocess, str]:
    """Turn the ``preprocess`` argument into (name, function, reason)."""
    if callable(preprocess):
        name = getattr(preprocess, "__name__", "custom")
        return name, preprocess, "given by the caller"
    if not isinstance(preprocess, str):
        raise PreprocessingError(
            f"preprocess must be a callable or one of {['auto', *PREPROCESSORS]}; got {preprocess!r}")
    if preprocess == "auto":
        name, reason = choose_preprocessing(model)
        return name, PREPROCESSORS[name], f"auto: {reason}"
    if preprocess not in PREPROCESSORS:
        raise PreprocessingError(
            f"Unknown preprocessing {preprocess!r}; expected a callable, 'auto', or one of {list(PREPROCESSORS)}")
    return preprocess, PREPROCESSORS[preprocess], "given by the caller"
