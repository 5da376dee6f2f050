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


def import_tensorflow_quietly() -> None:
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        saved = os.dup(2)
    except OSError:  # no usable fd 2 (some embedded interpreters)
        import tensorflow  # noqa: F401
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
