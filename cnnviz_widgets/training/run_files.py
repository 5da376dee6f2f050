"""The files of a recorded training run, and reading them back (:func:`load_run`).

A run is one folder:

- ``run.json``: the manifest: the format, the model's name, and its architecture as the shapes
  and dtypes of ``model.get_weights()``; a run of another architecture is refused.
- ``probe.npz``: the probe images and labels, when the recorder was given a probe.
- ``snapshot-000000.npz``, ``snapshot-000001.npz``...: one file per snapshot: the weights
  (``w0000``, ``w0001``... in ``get_weights()`` order), the probe's outputs (``probe_outputs``)
  and the metadata as JSON bytes (``meta``: epoch, global step, wall time, logs).

Every file is written to a temporary name and moved into place with ``os.replace``, so a reader
(another kernel, while ``fit`` still runs) sees whole snapshots only. A truncated or corrupt
snapshot is skipped with a warning; the others stay readable.
"""

from __future__ import annotations

import json
import os
import re
import uuid
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cnnviz_widgets.errors import RunError

FORMAT = "cnnviz-run/1"
"""Written into every manifest; a folder with another format is not read."""
MANIFEST = "run.json"
PROBE = "probe.npz"
SNAPSHOT_NAME = re.compile(r"^snapshot-(\d{6})\.npz$")


def snapshot_file(folder: Path, number: int) -> Path:
    """The file of snapshot ``number`` (its number on disk, counting from 0)."""
    return folder / f"snapshot-{number:06d}.npz"


def atomic_write(path: Path, write: Any) -> int:
    """Call ``write(file)`` on a temporary file next to ``path``, then move it into place; the
    bytes written. On any error the temporary file is removed and the error raised."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(temporary, "wb") as handle:
            write(handle)
        size = temporary.stat().st_size
        os.replace(temporary, path)
        return size
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def architecture(weights: Sequence[Any]) -> list[list[Any]]:
    """The architecture as a run compares it: ``[[shape, dtype], ...]`` of ``get_weights()``
    (numpy arrays) or of ``model.weights`` (Keras variables: nothing is copied)."""
    return [[[int(d) for d in w.shape], str(w.dtype)] for w in weights]


def describe_difference(recorded: list[list[Any]], given: list[list[Any]]) -> str:
    """Where two architectures first differ, in words."""
    if len(recorded) != len(given):
        return f"{len(recorded)} weight arrays recorded, {len(given)} in the model"
    for i, (a, b) in enumerate(zip(recorded, given, strict=True)):
        if a != b:
            return f"weight #{i} is {tuple(a[0])} {a[1]} in the run and {tuple(b[0])} {b[1]} in the model"
    return "no difference"


def check_architecture(manifest: dict, weights: Sequence[Any], folder: Path) -> None:
    """Raise :class:`RunError` when ``weights`` do not have the run's architecture."""
    given = architecture(weights)
    if manifest["architecture"] != given:
        raise RunError(f"The run in {str(folder)!r} was recorded from another architecture (model "
                       f"{manifest.get('model', '?')!r}): {describe_difference(manifest['architecture'], given)}")


def read_manifest(folder: str | os.PathLike) -> dict:
    """The manifest of the run in ``folder``; :class:`RunError` when the folder is not a run."""
    folder = Path(folder).expanduser()
    path = folder / MANIFEST
    if not folder.is_dir():
        raise RunError(f"No run at {str(folder)!r}: the folder does not exist")
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise RunError(f"{str(folder)!r} is not a training run: it has no {MANIFEST} "
                       "(record one with cw.TrainingRecorder)") from None
    except (OSError, ValueError) as exc:
        raise RunError(f"The manifest {str(path)!r} cannot be read: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise RunError(f"{str(path)!r} is not a cnnviz run manifest (format {FORMAT!r})")
    return manifest


@dataclass(frozen=True)
class Snapshot:
    """One recorded moment of a training run.

    Attributes:
        index: position in :attr:`Run.snapshots` (what ``inspector.snapshot`` takes).
        epoch: epochs completed when it was taken (0: before training; as ``ModelCheckpoint``'s
            ``{epoch}``, epoch 1 is the end of the first epoch).
        step: training steps (batches) completed in the whole run.
        time: wall-clock time it was taken, seconds since the Unix epoch.
        logs: the logs at that point (loss, accuracy, val_*): the epoch's logs for an
            end-of-epoch snapshot, the batch's running logs for a step snapshot, {} for the first.
        progress: epochs completed, with the fraction of the current epoch (1.5: halfway through the second).
        kind: ``"start"``, ``"epoch"`` (end of an epoch) or ``"step"`` (within an epoch).
    """

    index: int
    epoch: int
    step: int
    time: float
    logs: dict[str, float] = field(default_factory=dict)
    progress: float = 0.0
    kind: str = "epoch"
    number: int = field(default=0, repr=False)
    """The snapshot's file number (equal to ``index`` unless a corrupt file was skipped)."""


class Run:
    """A recorded training run, read from its folder (see :func:`load_run`).

    Attributes:
        folder: the run's folder.
        manifest: its ``run.json``.
        snapshots: every whole snapshot in order, as :class:`Snapshot`.
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder).expanduser()
        self.manifest = read_manifest(self.folder)
        self.snapshots: list[Snapshot] = []
        self._skipped: set[int] = set()
        self.refresh()

    # ------------------------------------------------------------------ reading
    def refresh(self) -> int:
        """Read the snapshots written since the last look (a run being recorded grows); the
        number of new ones. A corrupt or truncated snapshot is skipped with a warning."""
        known = {s.number for s in self.snapshots} | self._skipped
        numbers = sorted(int(m.group(1)) for p in self.folder.iterdir() if (m := SNAPSHOT_NAME.match(p.name)))
        added = 0
        for number in numbers:
            if number in known:
                continue
            try:
                meta = self._read_meta(number)
            except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
                self._skipped.add(number)
                warnings.warn(f"cnnviz: skipped the unreadable snapshot {snapshot_file(self.folder, number).name} "
                              f"of the run {str(self.folder)!r} ({type(exc).__name__}: {exc}); the others are "
                              "kept", RuntimeWarning, stacklevel=2)
                continue
            self.snapshots.append(Snapshot(
                index=len(self.snapshots), epoch=int(meta["epoch"]), step=int(meta["step"]),
                time=float(meta["time"]), logs={k: float(v) for k, v in meta.get("logs", {}).items()},
                progress=float(meta.get("progress", meta["epoch"])), kind=str(meta.get("kind", "epoch")),
                number=number))
            added += 1
        return added

    def _read_meta(self, number: int) -> dict:
        with np.load(snapshot_file(self.folder, number), allow_pickle=False) as data:
            meta = json.loads(data["meta"].tobytes().decode())
            n = len(self.manifest["architecture"])
            if sum(1 for name in data.files if name.startswith("w")) != n:
                raise ValueError(f"it holds another number of weight arrays than the run's {n}")
        return meta

    def __len__(self) -> int:
        return len(self.snapshots)

    def __repr__(self) -> str:
        last = self.snapshots[-1] if self.snapshots else None
        span = f", up to epoch {last.epoch} (step {last.step})" if last else ""
        return f"<Run {str(self.folder)!r}: {len(self)} snapshots of model {self.manifest.get('model', '?')!r}{span}>"

    def resolve(self, index: int) -> int:
        """The position in :attr:`snapshots` of ``index`` (-1: the latest); :class:`RunError` when
        it is out of range."""
        if not self.snapshots:
            raise RunError(f"The run {str(self.folder)!r} has no snapshot yet")
        if not -1 <= index < len(self.snapshots):
            raise RunError(f"Snapshot {index} does not exist: the run has {len(self.snapshots)} snapshots, "
                           f"0..{len(self.snapshots) - 1} (-1: the latest)")
        return index % len(self.snapshots)

    def weights(self, index: int) -> list[np.ndarray]:
        """The weights of snapshot ``index`` (-1: the latest), in ``model.get_weights()`` order and
        dtypes (a float16 recording is cast back)."""
        snapshot = self.snapshots[self.resolve(index)]
        dtypes = [dtype for _, dtype in self.manifest["architecture"]]
        with np.load(snapshot_file(self.folder, snapshot.number), allow_pickle=False) as data:
            return [data[f"w{i:04d}"].astype(dtype, copy=False) for i, dtype in enumerate(dtypes)]

    def probe_outputs(self, index: int) -> np.ndarray | None:
        """The model's outputs on the probe at snapshot ``index``, float32 (N, units), or None
        when the run has no probe."""
        snapshot = self.snapshots[self.resolve(index)]
        with np.load(snapshot_file(self.folder, snapshot.number), allow_pickle=False) as data:
            return data["probe_outputs"] if "probe_outputs" in data.files else None

    @property
    def probe(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(images, labels) of the probe as recorded, or None."""
        path = self.folder / PROBE
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as data:
            return data["images"], data["labels"]

    def probe_predictions(self, index: int) -> np.ndarray | None:
        """Predicted class of each probe image at snapshot ``index``, int (N,), or None: the
        largest output, or for a single output unit 1 where it is >= 0.5 (a probability) or >= 0
        (a logit)."""
        outputs = self.probe_outputs(index)
        if outputs is None:
            return None
        if outputs.shape[-1] == 1:
            threshold = 0.5 if float(outputs.min()) >= 0.0 and float(outputs.max()) <= 1.0 else 0.0
            return (outputs[:, 0] >= threshold).astype(int)
        return outputs.argmax(axis=-1)

    @property
    def history(self) -> dict[str, list[float]]:
        """Per-epoch logs, as Keras's ``History.history``: ``{"loss": [...], "accuracy": [...]}``,
        one value per end-of-epoch snapshot."""
        epochs = [s for s in self.snapshots if s.kind == "epoch"]
        keys = sorted({k for s in epochs for k in s.logs}, key=lambda k: (k.startswith("val_"), k))
        return {k: [s.logs.get(k, float("nan")) for s in epochs] for k in keys}


def load_run(folder: str | os.PathLike) -> Run:
    """Read the training run recorded in ``folder`` by :class:`~cnnviz_widgets.TrainingRecorder`.

    Readable from any kernel, also while the run is being recorded (:meth:`Run.refresh` picks up
    new snapshots). Raises :class:`~cnnviz_widgets.RunError` when the folder is not a run.
    """
    return Run(folder)
