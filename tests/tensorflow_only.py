"""``tf`` for the tests that check the package against TensorFlow's own operations.

They are marked ``@pytest.mark.tensorflow`` and deselected when the suite runs under another
backend, where TensorFlow may not be installed; this module imports TensorFlow only when a test
first uses ``tf``, so that such a test file can still be collected there.
"""

from __future__ import annotations

import importlib
from typing import Any


class _LazyTensorFlow:
    def __getattr__(self, name: str) -> Any:
        return getattr(importlib.import_module("tensorflow"), name)


tf: Any = _LazyTensorFlow()
