"""A scan on disk: one ``state-NNNNNN.npz`` of arrays and a ``manifest.json`` that names it.

Why npz and JSON: the scan's state is a few dense arrays (per-channel top-k, per-class sums,
per-image probabilities) that numpy writes and memory-maps without another dependency, and the
manifest (model fingerprint, layers, position in the data, skipped files) stays readable by a
person. A checkpoint writes a new npz, then replaces the manifest atomically (``os.replace``),
then removes the old npz: a kernel killed at any moment leaves the last complete checkpoint, so a
resumed scan never counts an image twice.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import keras
import numpy as np

from cnnviz_widgets.errors import ArgumentError

MANIFEST = "manifest.json"
FORMAT = "cnnviz-scan/1"


def model_fingerprint(model: keras.Model) -> str:
    """SHA-1 of a model's architecture (layer classes, names and shapes) and weights."""
    digest = hashlib.sha1()
    for layer in _layers(model):
        digest.update(f"{type(layer).__name__}:{layer.name}".encode())
    for weight in model.weights:
        value = np.ascontiguousarray(np.asarray(weight))
        digest.update(f"{weight.path}:{value.shape}:{value.dtype}".encode())
        digest.update(value.view(np.uint8))
    return digest.hexdigest()


def _layers(model: keras.Model):
    for layer in getattr(model, "layers", []):
        yield layer
        if isinstance(layer, keras.Model):
            yield from _layers(layer)


def read_manifest(folder: str | os.PathLike) -> dict[str, Any] | None:
    """The manifest of a store, or None when ``folder`` holds none."""
    path = Path(folder) / MANIFEST
    if not path.exists():
        return None
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise ArgumentError(f"{str(path)!r} is not a cnnviz scan store (format {manifest.get('format')!r})")
    return manifest


def write_checkpoint(folder: str | os.PathLike, manifest: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` and ``manifest`` as the store's new state (atomically, see the module doc)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    previous = read_manifest(folder)
    generation = (previous or {}).get("generation", 0) + 1
    state_name = f"state-{generation:06d}.npz"
    tmp = folder / f".{state_name}.tmp"
    with open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
    os.replace(tmp, folder / state_name)
    manifest = {**manifest, "format": FORMAT, "generation": generation, "state": state_name}
    tmp_manifest = folder / f".{MANIFEST}.tmp"
    tmp_manifest.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp_manifest, folder / MANIFEST)
    if previous and previous.get("state") and previous["state"] != state_name:
        (folder / previous["state"]).unlink(missing_ok=True)


def read_state(folder: str | os.PathLike, manifest: dict[str, Any]) -> dict[str, np.ndarray]:
    """The arrays of the checkpoint the manifest names."""
    with np.load(Path(folder) / manifest["state"]) as data:
        return {name: data[name] for name in data.files}
