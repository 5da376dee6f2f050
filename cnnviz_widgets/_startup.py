"""What runs first when the package is imported: the Keras backend is checked, and TensorFlow (only
when it is the backend) is imported without its C++ start-up chatter.

Keras picks its backend from ``KERAS_BACKEND``, else from ``~/.keras/keras.json``, else
TensorFlow. :func:`check_backend` reads the same choice before Keras is imported, so that a
backend that is not installed gives one clear error naming it and the installed ones, instead
of an ImportError from inside Keras.


TensorFlow writes several log lines straight to file descriptor 2 while it is imported and
when it probes for a GPU; in a notebook they appear as a red block under the first cell.
Unless the user has chosen a log level already, this sets ``TF_CPP_MIN_LOG_LEVEL=3`` (C++
errors still surface as Python exceptions) and silences fd 2 for the import itself only.
Nothing happens when TensorFlow is already imported.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import types

from cnnviz_widgets.errors import BackendError

BACKEND_PACKAGES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
"""The Keras backends this package runs on, and the package each needs."""

INSTALL_HINTS = {"tensorflow": "pip install tensorflow", "jax": 'pip install "cnnviz-widgets[jax]"',
                 "torch": "pip install torch"}


def chosen_backend() -> str:
    """The backend Keras will use: ``KERAS_BACKEND``, else Keras's config file, else tensorflow."""
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    name = os.environ.get("KERAS_BACKEND")
    if not name:
        config = os.path.join(os.environ.get("KERAS_HOME", os.path.expanduser("~/.keras")), "keras.json")
        try:
            with open(config) as f:
                name = json.load(f).get("backend")
        except (OSError, ValueError, AttributeError):
            name = None
    return name or "tensorflow"


def installed_backends() -> list[str]:
    """The backends of :data:`BACKEND_PACKAGES` whose package is installed."""
    return [b for b, package in BACKEND_PACKAGES.items() if importlib.util.find_spec(package) is not None]


def check_backend() -> str:
    """The chosen backend, after checking that it is supported and installed.

    Raises:
        BackendError: the backend is unknown to this package or its package is missing; the
            message names it, the installed ones and how to choose.
    """
    name = chosen_backend()
    if name not in BACKEND_PACKAGES:
        raise BackendError(
            f"Keras's backend is {name!r}; cnnviz-widgets runs on {', '.join(BACKEND_PACKAGES)}. "
            "Set KERAS_BACKEND to one of them before importing keras.")
    if name not in installed_backends():
        installed = ", ".join(installed_backends()) or "none"
        raise BackendError(
            f"Keras's backend is {name!r} (from KERAS_BACKEND or ~/.keras/keras.json), but the package "
            f"{BACKEND_PACKAGES[name]!r} is not installed. Installed backends: {installed}. Install it "
            f"({INSTALL_HINTS[name]}) or set "
            "KERAS_BACKEND to an installed one.")
    return name


def import_tensorflow_quietly() -> None:
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        saved = os.dup(2)
    except OSError:  # no usable fd 2 (some embedded interpreters)
        import tensorflow
        return
    try:
        with open(os.devnull, "w") as devnull:
            sys.stderr.flush()
            os.dup2(devnull.fileno(), 2)
            try:
                import tensorflow  # noqa: F401
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class _OwnRetracingFilter:
    """Drop TensorFlow's "N out of the last N calls ... triggered tf.function retracing" warning
    when the tracing was started by this package. Each model gets its own compiled functions,
    which TensorFlow counts as retracing of one function once five models were inspected; the
    user's own retracing is still reported."""

    def filter(self, record) -> bool:
        if "triggered tf.function retracing" not in record.getMessage():
            return True
        frame: types.FrameType | None = sys._getframe(1)
        while frame is not None:
            if os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR + os.sep):
                return False
            frame = frame.f_back
        return True


def hide_own_retracing_warnings() -> None:
    """Install :class:`_OwnRetracingFilter` on TensorFlow's logger (once)."""
    import logging

    logger = logging.getLogger("tensorflow")
    if not any(isinstance(f, _OwnRetracingFilter) for f in logger.filters):
        logger.addFilter(_OwnRetracingFilter())
