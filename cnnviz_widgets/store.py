"""Results on disk: slow results computed once, read back by any later kernel.

One folder holds every kind of stored result of any number of models:

- ``results/ab/abcdef....npz``: one entry per result (a filter pattern, a Score-CAM map, an
  occlusion sweep...), named by the SHA-1 of its key. The key is canonical JSON of everything
  the result depends on: the model's fingerprint (:func:`model_fingerprint`: architecture and
  weights), what was computed, the image's digest for per-image results, and every parameter.
  A result of another model or other settings therefore has another name and is never used.
- ``scans/<key>/``: dataset scans (:mod:`cnnviz_widgets.dataset.checkpoint`), in the same format
  (npz arrays plus JSON), keyed the same way.

Every file is written to a temporary name in its folder and moved into place with
``os.replace``, so a reader (another kernel, another student) sees a whole entry or none, and two
kernels writing the same entry at once lose nothing: both write the same bytes, the last move
wins. A truncated or corrupt entry is logged, removed and recomputed, never a crash. The store
keeps under ``max_bytes``: after a write, the least recently used entries (by modification
time, refreshed on every read) are removed.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import logging
import os
import uuid
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from cnnviz_widgets.errors import ArgumentError

log = logging.getLogger("cnnviz_widgets")

FORMAT = "cnnviz-store/1"
"""Written into every entry; an entry of another format is ignored."""

DEFAULT_MAX_BYTES = 2 * 2**30
"""The default size limit of a store: 2 GiB."""

_META = "__meta__"


def model_fingerprint(model: Any) -> str:
    """SHA-1 of a Keras model's architecture (layer classes and names, nested models included)
    and weights (paths, shapes, dtypes, and each weight's bytes): two models share it only if
    they compute the same.

    The weights' bytes are hashed by :func:`cnnviz_widgets.backend.weight_bytes_digest`.
    """
    import keras

    from cnnviz_widgets.backend import weight_bytes_digest

    def layers(m):
        for layer in getattr(m, "layers", []):
            yield layer
            if isinstance(layer, keras.Model):
                yield from layers(layer)

    digest = hashlib.sha1()
    for layer in layers(model):
        digest.update(f"{type(layer).__name__}:{layer.name}".encode())
    for weight in model.weights:
        digest.update(f"{weight.path}:{tuple(weight.shape)}:{weight.dtype}".encode())
        digest.update(weight_bytes_digest(weight.value))
    return digest.hexdigest()


def array_digest(array: np.ndarray) -> str:
    """SHA-1 of an array's shape, dtype and bytes (the image part of a per-image key)."""
    array = np.ascontiguousarray(array)
    digest = hashlib.sha1(f"{array.shape}:{array.dtype}".encode())
    digest.update(array.view(np.uint8).data)
    return digest.hexdigest()


def canonical(value: Any) -> Any:
    """``value`` as plain JSON data (tuples and numpy scalars become lists and numbers, dataclasses
    dicts), or raise TypeError for what has no stable description (a function, an object)."""
    import dataclasses

    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.ndarray):
        return {"array": array_digest(value)}
    if isinstance(value, (list, tuple, range)):
        return [canonical(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"type": type(value).__name__, **canonical(dataclasses.asdict(value))}
    raise TypeError(f"{type(value).__name__} has no stable description for a store key")


def write_npz(path: str | os.PathLike, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any] | None = None) -> int:
    """Write ``arrays`` (and ``meta`` as JSON inside) to ``path`` atomically; returns the bytes written.

    The file appears whole or not at all: it is written under a unique temporary name in the
    same folder and moved into place.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    payload: dict[str, Any] = dict(arrays)
    if meta is not None:
        payload[_META] = np.array(json.dumps({"format": FORMAT, **meta}, sort_keys=True))
    try:
        with open(tmp, "wb") as handle:
            np.savez(handle, **payload)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path.stat().st_size


def read_npz(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(arrays, meta) of a file written by :func:`write_npz`; raises ValueError (or OSError) when
    it is truncated, corrupt or of another format."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise ValueError(f"unreadable npz ({type(exc).__name__}: {exc})") from exc
    meta = json.loads(str(arrays.pop(_META))) if _META in arrays else {}
    if meta and meta.get("format") != FORMAT:
        raise ValueError(f"format {meta.get('format')!r}, expected {FORMAT!r}")
    return arrays, meta


class ResultStore:
    """A folder of stored results (see the module doc), shared by kernels and copies of it.

    Args:
        folder: where the results live (created when missing).
        max_bytes: size limit; the least recently used entries go first when it is passed.
    """

    def __init__(self, folder: str | os.PathLike, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer)) or max_bytes < 1:
            raise ArgumentError(f"max_bytes must be a positive int; got {max_bytes!r}")
        self.folder = Path(folder).expanduser()
        if self.folder.exists() and not self.folder.is_dir():
            raise ArgumentError(f"The store {str(self.folder)!r} is a file, not a folder")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_bytes = int(max_bytes)
        self.hits = self.misses = self.corrupt = 0
        """Counts of this object's reads: found, not found, found unreadable (removed)."""

    def __repr__(self) -> str:
        return f"ResultStore({str(self.folder)!r}, {len(self)} entries, {self.size_bytes() / 2**20:.1f} MiB)"

    @staticmethod
    def key(**parts: Any) -> str:
        """The SHA-1 name of a result described by ``parts`` (canonical JSON, see :func:`canonical`)."""
        return hashlib.sha1(json.dumps(canonical(parts), sort_keys=True).encode()).hexdigest()

    def path(self, key: str) -> Path:
        """Where the entry ``key`` lives."""
        return self.folder / "results" / key[:2] / f"{key}.npz"

    def scan_folder(self, key: str) -> Path:
        """The folder of the dataset scan ``key`` inside the store."""
        return self.folder / "scans" / key

    def get(self, key: str) -> dict[str, np.ndarray] | None:
        """The arrays stored under ``key``, or None when there are none or they are unreadable (a
        truncated or corrupt entry is logged and removed, so that it is computed again)."""
        path = self.path(key)
        try:
            arrays, _meta = read_npz(path)
        except FileNotFoundError:
            self.misses += 1
            return None
        except (ValueError, OSError) as exc:
            log.warning("cnnviz: ignoring the corrupt store entry %s (%s); it will be computed again", path, exc)
            self.corrupt += 1
            path.unlink(missing_ok=True)
            return None
        try:
            os.utime(path)               # most recently used
        except OSError:
            pass                         # a read-only copy of a store (a course folder) still serves
        self.hits += 1
        return arrays

    def put(self, key: str, arrays: Mapping[str, np.ndarray], **meta: Any) -> None:
        """Store ``arrays`` under ``key`` (atomically), then keep the store under its size limit.

        A store that cannot be written (a read-only course folder) logs a warning and stays usable.
        """
        try:
            write_npz(self.path(key), arrays, meta)
        except OSError as exc:
            log.warning("cnnviz: could not write to the store %s (%s); the result is not kept", self.folder, exc)
            return
        self.evict()

    def get_or_compute(self, key: str, compute: Callable[[], dict[str, np.ndarray]],
                       **meta: Any) -> dict[str, np.ndarray]:
        """The stored arrays of ``key``, or ``compute()``'s, stored before they are returned."""
        found = self.get(key)
        if found is not None:
            return found
        arrays = compute()
        self.put(key, arrays, **meta)
        return arrays

    def entries(self) -> list[tuple[Path, int, float]]:
        """(path, bytes, last use) of every result entry, least recently used first."""
        found = []
        for path in (self.folder / "results").glob("*/*.npz"):
            try:
                stat = path.stat()
            except FileNotFoundError:    # removed meanwhile by another kernel
                continue
            found.append((path, stat.st_size, stat.st_mtime))
        return sorted(found, key=lambda entry: entry[2])

    def __len__(self) -> int:
        return len(self.entries())

    def size_bytes(self) -> int:
        """Bytes held by the result entries."""
        return sum(size for _, size, _ in self.entries())

    def evict(self) -> int:
        """Remove least recently used entries until the store is within ``max_bytes``; returns how
        many were removed."""
        entries = self.entries()
        total, removed = sum(size for _, size, _ in entries), 0
        for path, size, _ in entries:
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
            removed += 1
        return removed

    def clear(self) -> None:
        """Remove every result entry (dataset scans stay)."""
        for path, _, _ in self.entries():
            path.unlink(missing_ok=True)


def as_store(store: ResultStore | str | os.PathLike | None) -> ResultStore | None:
    """``store`` as a :class:`ResultStore` (a path opens one; None stays None)."""
    if store is None or isinstance(store, ResultStore):
        return store
    if isinstance(store, (str, os.PathLike)):
        return ResultStore(store)
    raise ArgumentError(f"store must be a folder path, a ResultStore or None; got {type(store).__name__}")


_NOT_IN_KEY = frozenset({"model", "x", "progress", "batch_size"})
"""Arguments a stored result does not depend on (the model and image enter the key by digest)."""


def _result_arrays(result: np.ndarray) -> dict[str, np.ndarray]:
    return {"result": np.asarray(result)}


def _result_value(arrays: dict[str, np.ndarray]) -> np.ndarray:
    return arrays["result"]


def stored(pack: Callable[[Any], dict[str, np.ndarray]] = _result_arrays,
           unpack: Callable[[dict[str, np.ndarray]], Any] = _result_value) -> Callable:
    """Decorator for a method ``function(model, x, ...)``: called on a
    :class:`~cnnviz_widgets.ModelInspector` that has a store, its result is read from the store
    when there, else computed and written. The key holds the inspector's model key (fingerprint,
    head, output), the function's name, the digest of ``x`` and every other argument but
    ``progress`` and ``batch_size``; an argument with no stable description (a callable target)
    computes without the store. ``pack``/``unpack`` turn a result that is not one array into
    arrays and back."""
    def wrap(function: Callable) -> Callable:
        signature = inspect.signature(function)

        @functools.wraps(function)
        def with_store(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            model = bound.arguments["model"]
            store = getattr(model, "store", None)
            if not isinstance(store, ResultStore):
                return function(*args, **kwargs)
            bound.apply_defaults()
            try:
                params = canonical({k: v for k, v in bound.arguments.items() if k not in _NOT_IN_KEY})
            except TypeError:
                return function(*args, **kwargs)
            x = np.asarray(bound.arguments["x"], np.float32)
            key = model.store_key(function.__name__, image=array_digest(x), params=params)
            found = store.get(key)
            if found is not None:
                progress = bound.arguments.get("progress")
                if progress is not None:
                    progress(1, 1)
                return unpack(found)
            result = function(*args, **kwargs)
            store.put(key, pack(result), kind=function.__name__)
            return result

        return with_store

    return wrap
