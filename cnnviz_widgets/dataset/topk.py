"""Streaming top-k and bottom-k per channel: memory independent of the number of images."""

from __future__ import annotations

import numpy as np


class StreamingExtremes:
    """The ``k`` largest and ``k`` smallest values seen so far for each of ``channels`` channels,
    with the image index and the spatial position (flat index into H*W) of each.

    Ties are broken by the lower image index, so the result does not depend on batch boundaries.
    """

    def __init__(self, channels: int, k: int) -> None:
        self.k = int(k)
        shape = (int(channels), 0)
        self.top_values = np.zeros(shape, np.float32)
        self.top_index = np.zeros(shape, np.int64)
        self.top_position = np.zeros(shape, np.int32)
        self.bottom_values = np.zeros(shape, np.float32)
        self.bottom_index = np.zeros(shape, np.int64)
        self.bottom_position = np.zeros(shape, np.int32)

    def update(self, values: np.ndarray, positions: np.ndarray, indices: np.ndarray) -> None:
        """Merge a batch: ``values`` and ``positions`` (B, C), ``indices`` (B,) image indices."""
        values = np.asarray(values, np.float32).T                 # (C, B)
        positions = np.asarray(positions, np.int32).T
        index = np.broadcast_to(np.asarray(indices, np.int64), values.shape)
        for side in ("top", "bottom"):
            self.merge(side, values, index, positions)

    def merge(self, side: str, values: np.ndarray, index: np.ndarray, positions: np.ndarray) -> None:
        """Merge candidates for one side (``"top"`` or ``"bottom"``), each (C, m): a batch's own
        top-k, for example, computed where the batch ran."""
        sign = -1.0 if side == "top" else 1.0
        all_values = np.concatenate([getattr(self, f"{side}_values"), np.asarray(values, np.float32)], axis=1)
        all_index = np.concatenate([getattr(self, f"{side}_index"), np.asarray(index, np.int64)], axis=1)
        all_position = np.concatenate([getattr(self, f"{side}_position"), np.asarray(positions, np.int32)], axis=1)
        order = np.lexsort((all_index, sign * all_values), axis=-1)[:, : self.k]
        setattr(self, f"{side}_values", np.take_along_axis(all_values, order, axis=1))
        setattr(self, f"{side}_index", np.take_along_axis(all_index, order, axis=1))
        setattr(self, f"{side}_position", np.take_along_axis(all_position, order, axis=1))

    def state(self, prefix: str) -> dict[str, np.ndarray]:
        """The arrays to store, under names starting with ``prefix``."""
        return {f"{prefix}{side}_{what}": getattr(self, f"{side}_{what}")
                for side in ("top", "bottom") for what in ("values", "index", "position")}

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], prefix: str, k: int) -> StreamingExtremes:
        extremes = cls(arrays[f"{prefix}top_values"].shape[0], k)
        for side in ("top", "bottom"):
            for what in ("values", "index", "position"):
                setattr(extremes, f"{side}_{what}", np.asarray(arrays[f"{prefix}{side}_{what}"]))
        return extremes


def batch_extremes(values: np.ndarray, positions: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """A batch's own top-k and bottom-k per channel, as (C, m) candidates for :meth:`StreamingExtremes.merge`.

    ``values`` and ``positions`` are (B, C); the returned ``*_index`` are offsets into the batch.
    """
    values = np.asarray(values, np.float32).T
    positions = np.asarray(positions, np.int32).T
    offsets: np.ndarray = np.broadcast_to(np.arange(values.shape[1], dtype=np.int64), values.shape)
    found = {}
    for side, sign in (("top", -1.0), ("bottom", 1.0)):
        order = np.lexsort((offsets, sign * values), axis=-1)[:, :k]
        found[f"{side}_values"] = np.take_along_axis(values, order, axis=1)
        found[f"{side}_index"] = np.take_along_axis(offsets, order, axis=1)
        found[f"{side}_position"] = np.take_along_axis(np.asarray(positions), order, axis=1)
    return found
