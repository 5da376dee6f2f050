"""Loading models from ``.keras`` and legacy ``.h5`` files, in Keras's safe mode by default."""

from __future__ import annotations

import os
from pathlib import Path

import keras

from cnnviz_widgets.errors import ModelFileNotFoundError, ModelLoadError, UnsafeModelFileError


def load_model_file(path: str | os.PathLike, *, safe_mode: bool = True) -> keras.Model:
    """Load a Keras model file without compiling it.

    Args:
        path: a ``.keras`` or ``.h5``/``.hdf5`` file.
        safe_mode: refuse files that would run arbitrary code (``Lambda`` layers); pass
            ``False`` only for files you trust.

    Raises:
        ModelFileNotFoundError, UnsafeModelFileError, ModelLoadError.
    """
    path = Path(path)
    if not path.exists():
        raise ModelFileNotFoundError(f"Model file not found: {str(path)!r}")
    if path.is_dir():
        raise ModelLoadError(
            f"{str(path)!r} is a directory (a TensorFlow SavedModel?). Keras 3 can only wrap a SavedModel as an "
            "inference-only TFSMLayer, whose layers cannot be inspected; save the model as .keras or .h5 instead.")
    if path.suffix.lower() not in (".keras", ".h5", ".hdf5"):
        raise ModelLoadError(f"Expected a .keras or .h5 model file; got {str(path)!r}")
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=safe_mode)
    except Exception as exc:
        text = str(exc)
        if "safe_mode" in text or "arbitrary code" in text or "Lambda" in text and safe_mode:
            raise UnsafeModelFileError(
                f"Refused to load {str(path)!r}: it contains a Lambda layer or other arbitrary code, which "
                "Keras's safe mode does not run. If you trust this file, pass safe_mode=False.") from exc
        hint = ""
        if path.suffix.lower() in (".h5", ".hdf5"):
            hint = (" Legacy .h5 files written by Keras 2 with nested or subclassed models often do not load in "
                    "Keras 3: rebuild the architecture in code and call model.load_weights(file) instead.")
        raise ModelLoadError(
            f"Could not load the model file {str(path)!r}: {type(exc).__name__}: {text}.{hint}") from exc
