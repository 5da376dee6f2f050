"""Feature-map statistics for the layer browser: how active and how sparse each channel is."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz_widgets.errors import ArgumentError


@dataclass(frozen=True)
class ChannelStatistics:
    """Per-channel statistics of one layer's activations for one image.

    Attributes:
        mean: float32 (C,): mean activation of each channel.
        max: float32 (C,): largest activation of each channel.
        sparsity: float32 (C,) in [0, 1]: fraction of positions where the channel is zero.
        ranking: int (C,): channel indices, most active (highest mean) first.
        blank_fraction: fraction of channels that are zero everywhere (the Keras tutorial's "blank" channels).
    """

    mean: np.ndarray
    max: np.ndarray
    sparsity: np.ndarray
    ranking: np.ndarray
    blank_fraction: float

    def top(self, k: int = 8) -> np.ndarray:
        """The ``k`` most active channels."""
        return self.ranking[:k]


def channel_statistics(activations: np.ndarray) -> ChannelStatistics:
    """Statistics of a feature map (H, W, C) of one image; a (1, H, W, C) batch is accepted.

    Raises:
        ArgumentError: not a single spatial feature map.
    """
    a = np.asarray(activations, np.float32)
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 3:
        raise ArgumentError(f"Expected one feature map of shape (H, W, C); got shape {np.shape(activations)}")
    flat = a.reshape(-1, a.shape[-1])
    mean = flat.mean(axis=0)
    zero = flat == 0
    return ChannelStatistics(
        mean=mean.astype(np.float32),
        max=flat.max(axis=0).astype(np.float32),
        sparsity=zero.mean(axis=0).astype(np.float32),
        ranking=np.argsort(-mean, kind="stable"),
        blank_fraction=float(zero.all(axis=0).mean()),
    )
