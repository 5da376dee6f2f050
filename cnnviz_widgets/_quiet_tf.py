"""Import TensorFlow without its C++ start-up chatter (oneDNN, CUDA probing) in notebooks.

TensorFlow writes several log lines straight to file descriptor 2 while it is imported and
when it probes for a GPU; in a notebook they appear as a red block under the first cell.
Unless the user has chosen a log level already, this sets ``TF_CPP_MIN_LOG_LEVEL=3`` (C++
errors still surface as Python exceptions) and silences fd 2 for the import itself only.
Nothing happens when TensorFlow is already imported.
"""

from __future__ import annotations

import os
import sys
import types


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
