"""A scan on disk: one ``state-NNNNNN.npz`` of arrays and a ``manifest.json`` that names it.

It shares the result store's model fingerprint and its atomic npz writer
(:mod:`cnnviz_widgets.store`); an inspector with a store keeps its scans in the store's
``scans/`` folder.

Why npz and JSON: the scan's state is a few dense arrays (per-channel top-k, per-class sums,
per-image probabilities) that numpy writes and memory-maps without another dependency, and the
manifest (model fingerprint, layers, position in the data, skipped files) stays readable by a
person. A checkpoint writes a new npz, then replaces the manifest atomically (``os.replace``),
then removes the old npz: a kernel killed at any moment leaves the last complete checkpoint, so a
resumed scan never counts an image twice.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from cnnviz_widgets.errors import ArgumentError
from cnnviz_widgets.store import read_npz, write_npz

MANIFEST = "manifest.json"
FORMAT = "cnnviz-scan/1"


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
    write_npz(folder / state_name, arrays)
    manifest = {**manifest, "format": FORMAT, "generation": generation, "state": state_name}
    tmp_manifest = folder / f".{MANIFEST}.tmp"
    tmp_manifest.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp_manifest, folder / MANIFEST)
    if previous and previous.get("state") and previous["state"] != state_name:
        (folder / previous["state"]).unlink(missing_ok=True)


def read_state(folder: str | os.PathLike, manifest: dict[str, Any]) -> dict[str, np.ndarray]:
    """The arrays of the checkpoint the manifest names."""
    return read_npz(Path(folder) / manifest["state"])[0]
