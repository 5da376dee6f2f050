"""Feature-map statistics on hand-made activations."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz_widgets import ArgumentError
from cnnviz_widgets.methods import channel_statistics


def test_channel_statistics_by_hand():
    a = np.zeros((2, 2, 4), np.float32)
    a[..., 0] = [[1, 0], [0, 3]]   # mean 1, max 3, half zero
    a[..., 1] = 2                  # mean 2, never zero
    # channel 2 blank, channel 3 one small value
    a[0, 0, 3] = 0.4
    stats = channel_statistics(a[None])
    np.testing.assert_allclose(stats.mean, [1, 2, 0, 0.1])
    np.testing.assert_allclose(stats.max, [3, 2, 0, 0.4])
    np.testing.assert_allclose(stats.sparsity, [0.5, 0, 1, 0.75])
    assert stats.ranking.tolist() == [1, 0, 3, 2]
    assert stats.top(2).tolist() == [1, 0]
    assert stats.blank_fraction == 0.25


def test_statistics_of_a_real_layer_agree_with_numpy(default_inspector):
    acts = np.asarray(default_inspector.activations("block2_conv2"))
    stats = channel_statistics(acts)
    np.testing.assert_allclose(stats.mean, acts.mean(axis=(0, 1)), rtol=1e-5)
    np.testing.assert_allclose(stats.sparsity, (acts == 0).mean(axis=(0, 1)))
    assert stats.mean[stats.ranking[0]] == stats.mean.max()
    assert 0.2 < stats.sparsity.mean() < 0.8  # ReLU layers: some but not all positions are zero


def test_a_batch_of_several_images_is_refused():
    with pytest.raises(ArgumentError, match=r"\(H, W, C\)"):
        channel_statistics(np.zeros((2, 3, 3, 4)))
