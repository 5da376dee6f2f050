"""The exception family of cnnviz-widgets.

Every error the package raises on purpose derives from :class:`CnnvizError`, and also from
the built-in exception a caller would expect (``ValueError``, ``LookupError``,
``FileNotFoundError``...), so ``except ValueError`` keeps working. Messages say what was
received and what was expected.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def close_matches(name: str, available: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` names of ``available`` that look like ``name`` (difflib, case and ``_`` ignored),
    closest first: what a "Did you mean ...?" suggests."""
    available = list(available)
    plain = {a.lower().replace("_", "").replace(" ", ""): a for a in available}
    typed = str(name).lower().replace("_", "").replace(" ", "")
    close = difflib.get_close_matches(typed, list(plain), n=n, cutoff=0.5)
    return [plain[c] for c in close]


def did_you_mean(name: str, available: Iterable[str]) -> str:
    """`` Did you mean 'a', 'b'?`` for the close matches of ``name``, or an empty string."""
    close = close_matches(name, available)
    return f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""


class CnnvizError(Exception):
    """Base class of every error raised by cnnviz-widgets."""


class ArgumentError(CnnvizError, ValueError):
    """An argument outside the accepted values (class names of the wrong length, k < 1...)."""


class LayerNotFoundError(CnnvizError, LookupError):
    """A layer name that the model does not have."""

    def __init__(self, name: str, available: Iterable[str], *, what: str = "layer") -> None:
        available = list(available)
        close = difflib.get_close_matches(name, available, n=3, cutoff=0.5)
        if not close:  # also try the last path component, e.g. "block5_conv3" -> "vgg16/block5_conv3"
            close = [a for a in available if a.rsplit("/", 1)[-1] == name.rsplit("/", 1)[-1]][:3]
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        shown = ", ".join(available[:8]) + (", ..." if len(available) > 8 else "")
        super().__init__(f"No {what} named {name!r} in this model.{hint} Available: {shown}")
        self.name = name
        self.suggestions = close


class ImageReadError(CnnvizError, ValueError):
    """An image file or object that cannot be read or converted."""


class ImageFileNotFoundError(ImageReadError, FileNotFoundError):
    """An image path that does not exist."""


class ChannelCountError(CnnvizError, ValueError):
    """An image or model with a number of channels the package cannot use."""


class ModelFileNotFoundError(CnnvizError, FileNotFoundError):
    """A model path that does not exist."""


class ModelLoadError(CnnvizError, ValueError):
    """A model file that exists but cannot be loaded."""


class UnsafeModelFileError(ModelLoadError):
    """A model file holding arbitrary code (for example a ``Lambda`` layer), refused in safe mode."""


class NotAnImageModelError(CnnvizError, ValueError):
    """A model with no image input or no layer with a spatial (4-D) output."""


class BackendError(CnnvizError, RuntimeError):
    """The Keras backend is not installed or not supported, or an input needs another backend."""


class UnsupportedModelError(CnnvizError, TypeError):
    """A model, or a part of one, whose layer outputs cannot be reached; the message says why."""


class NoImageError(CnnvizError, RuntimeError):
    """A computation that needs an image was asked for before ``set_image``."""


class PreprocessingError(CnnvizError, ValueError):
    """An unknown preprocessing name or a preprocessing function that failed."""


class NonFiniteOutputError(CnnvizError, ArithmeticError):
    """The model's output is NaN or infinite for the current image (NaN weights, an overflow)."""


class RunError(CnnvizError, ValueError):
    """A training run that cannot be used: a folder that is not a run, a run of another
    architecture, a snapshot that does not exist."""
