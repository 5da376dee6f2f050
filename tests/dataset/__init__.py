"""Tests of the dataset scan."""

from __future__ import annotations

import numpy as np


def assert_same_scan(a, b, *, rtol: float = 1e-7) -> None:
    """Two scans of the same data agree: sources, skipped items, confusion, probabilities, every
    channel's top and bottom examples, and class selectivity (to ``rtol``)."""
    assert a.sources == b.sources and a.skipped == b.skipped
    np.testing.assert_array_equal(a.confusion, b.confusion)
    np.testing.assert_allclose(a.probabilities, b.probabilities, atol=1e-6)
    for layer in a.layers:
        for channel in range(a.layer_shapes[layer][2]):
            assert a.top_examples(layer, channel) == b.top_examples(layer, channel)
            assert a.bottom_examples(layer, channel) == b.bottom_examples(layer, channel)
        np.testing.assert_allclose(a.class_selectivity(layer, 0), b.class_selectivity(layer, 0), rtol=rtol)
