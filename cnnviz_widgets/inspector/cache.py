"""Least-recently-used caches: bounded in bytes (per-image forward-pass results, widget results)
or in entries (compiled functions and traces, whose size numpy cannot see)."""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping

import numpy as np

from cnnviz_widgets.errors import ArgumentError


def nbytes_of(value) -> int:
    """Bytes held by a numpy array or a mapping/sequence of them."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, Mapping):
        return sum(nbytes_of(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(nbytes_of(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(nbytes_of(getattr(value, f.name)) for f in dataclasses.fields(value))
    return 0


class ByteLRUCache:
    """Maps keys to values, evicting the least recently used entries beyond ``max_bytes``.

    A single value larger than the budget is still kept (alone), so the current image always
    has its activations. Safe to use from several threads (widgets compute in the background).
    """

    def __init__(self, max_bytes: int, size_of: Callable[[object], int] = nbytes_of) -> None:
        if max_bytes <= 0:
            raise ArgumentError(f"max_bytes must be positive, got {max_bytes}")
        self.max_bytes = int(max_bytes)
        self._size_of = size_of
        self._items: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.nbytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable):
        """The value for ``key`` (marking it recently used), or None."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self.hits += 1
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: Hashable, value) -> None:
        """Store ``value`` under ``key`` and evict old entries beyond the budget."""
        size = self._size_of(value)
        with self._lock:
            if key in self._items:
                self.nbytes -= self._items.pop(key)[1]
            self._items[key] = (value, size)
            self.nbytes += size
            while self.nbytes > self.max_bytes and len(self._items) > 1:
                _, (_, old) = self._items.popitem(last=False)
                self.nbytes -= old

    def get_or_compute(self, key: Hashable, compute: Callable[[], object]):
        """The value for ``key``, or ``compute()`` stored under it (computed outside the lock)."""
        value = self.get(key)
        if value is None:
            value = compute()
            self.put(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.nbytes = 0

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)


def entry_cache(max_entries: int) -> ByteLRUCache:
    """An LRU cache holding at most ``max_entries`` values, whatever their size."""
    return ByteLRUCache(max_entries, size_of=lambda _value: 1)
