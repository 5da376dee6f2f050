"""TrainingRecorder: a Keras callback that records a training run for the time-axis views.

``model.fit(..., callbacks=[cw.TrainingRecorder("runs/shapes")])`` writes snapshot 0 (the weights
before training), one snapshot at the end of every epoch and, with ``steps=``, snapshots at given
global steps. The files are described in :mod:`cnnviz_widgets.training.run_files`; read a run
with :func:`~cnnviz_widgets.load_run`.

The only work done in the training loop is copying the weights (``model.get_weights()``) and, with
a probe, one forward pass over it; the files are written by a background thread. The recorder
never breaks training: when a write fails (a full or read-only disk) or the run would pass
``max_bytes``, it warns, stops recording and lets ``fit`` go on.
"""

from __future__ import annotations

import atexit
import datetime
import io
import json
import queue
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from cnnviz_widgets.errors import ArgumentError, RunError
from cnnviz_widgets.training.run_files import (
    FORMAT,
    MANIFEST,
    PROBE,
    SNAPSHOT_NAME,
    architecture,
    atomic_write,
    check_architecture,
    read_manifest,
    snapshot_file,
)

DEFAULT_MAX_BYTES = 2**30
"""A run stops recording (with a warning) before it passes 1 GiB, unless told otherwise."""
DTYPES = ("float32", "float16")
PROBE_BATCH = 64


def log_steps(steps_per_epoch: int) -> list[int]:
    """The global steps 1, 2, 4, 8... below ``steps_per_epoch`` (the first epoch, where most of
    the visible change happens)."""
    steps, step = [], 1
    while step < steps_per_epoch:
        steps.append(step)
        step *= 2
    return steps


class TrainingRecorder(keras.callbacks.Callback):
    """Record a training run: ``model.fit(..., callbacks=[TrainingRecorder(folder)])``.

    Args:
        folder: the run's folder (created). A folder that already holds a run of the same
            architecture is continued: epochs and steps are numbered on.
        steps: extra snapshots within epochs: a list of global steps (batches since the run
            began), or ``"log"`` for steps 1, 2, 4, 8... of the first epoch. None: none.
        probe: ``(images, labels)``, a small fixed set (tens to hundreds) whose outputs are
            recorded at every snapshot, so that accuracy and the confusion matrix move in time.
            Images as the model takes them (preprocessed); labels as class indices.
        dtype: ``"float32"`` (bit-exact weights) or ``"float16"`` (half the size).
        max_bytes: the run stops recording, with a warning, before its files pass this size.

    Attributes:
        snapshots_written: snapshots written so far by this recorder.
        stopped: why recording stopped (a failed write, the size limit), or None.
    """

    def __init__(self, folder: str | Any, *, steps: Sequence[int] | str | None = None,
                 probe: tuple[Any, Any] | None = None, dtype: str = "float32",
                 max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        super().__init__()
        if dtype not in DTYPES:
            raise ArgumentError(f"dtype must be one of {', '.join(DTYPES)}; got {dtype!r}")
        if not (steps is None or steps == "log" or (isinstance(steps, Sequence) and not isinstance(steps, str)
                                                     and all(int(s) >= 1 for s in steps))):
            raise ArgumentError(f"steps must be None, 'log' or a list of global steps >= 1; got {steps!r}")
        if int(max_bytes) <= 0:
            raise ArgumentError(f"max_bytes must be positive; got {max_bytes!r}")
        self.folder = Path(folder).expanduser()
        self.steps = steps
        self.dtype = dtype
        self.max_bytes = int(max_bytes)
        self.probe = None if probe is None else self._check_probe(probe)
        self.snapshots_written = 0
        self.stopped: str | None = None
        self.listeners: list[Callable[[int], None]] = []
        """Called with the new snapshot's file number after each snapshot lands on disk (from the
        writer thread), and with -1 when ``fit`` ends: a live view follows the run this way."""
        self.training = False
        """True while a ``fit`` that this recorder records runs."""
        self._queue: queue.Queue = queue.Queue()
        self._writer: threading.Thread | None = None
        self._bytes = 0
        self._number = 0          # the next snapshot's file number
        self._base_epoch = 0      # epochs recorded before this fit
        self._epoch = 0           # epochs completed in the run
        self._step = 0            # global step
        self._steps_per_epoch: int | None = None
        self._epoch_start_step = 0
        self._fit_first_epoch: int | None = None
        self._wanted_steps: set[int] = set()
        self._warned = False
        self._counts_batches = steps is not None
        if not self._counts_batches:
            # no batch hook: on a backend whose callbacks may run asynchronously (JAX), Keras then
            # does not wait for every step's logs (TensorFlow always does); steps are counted per
            # epoch instead
            self.on_train_batch_end = keras.callbacks.Callback.on_train_batch_end.__get__(self)  # type: ignore[method-assign]

    @staticmethod
    def _check_probe(probe: tuple[Any, Any]) -> tuple[np.ndarray, np.ndarray]:
        try:
            images, labels = probe
        except (TypeError, ValueError):
            raise ArgumentError(f"probe must be (images, labels); got {type(probe).__name__}") from None
        images, labels = np.asarray(images), np.asarray(labels).reshape(-1)
        if images.dtype != np.uint8:      # pictures stay uint8 on disk (a quarter of float32)
            images = images.astype(np.float32)
        if images.ndim != 4 or len(images) != len(labels) or len(images) == 0:
            raise ArgumentError(f"probe must be images (N, H, W, C) and N labels; got images {images.shape} and "
                                f"{len(labels)} labels")
        return images, labels.astype(np.int64)

    # ------------------------------------------------------------------ the run's folder
    def _open_run(self) -> None:
        """Create the run, or continue the one in the folder (same architecture only)."""
        weights = self.model.get_weights()
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.glob(".*.tmp"):     # left by a killed kernel
            stale.unlink(missing_ok=True)
        if (self.folder / MANIFEST).exists():
            manifest = read_manifest(self.folder)
            check_architecture(manifest, weights, self.folder)
            self._resume()
        else:
            manifest = {"format": FORMAT, "model": self.model.name, "architecture": architecture(weights),
                        "dtype": self.dtype, "created": datetime.datetime.now().isoformat(timespec="seconds")}
            atomic_write(self.folder / MANIFEST, lambda f: f.write(json.dumps(manifest, indent=1).encode()))
        if self.probe is not None and not (self.folder / PROBE).exists():
            images, labels = self.probe
            atomic_write(self.folder / PROBE, lambda f: np.savez(f, images=images, labels=labels))
        self._bytes = sum(p.stat().st_size for p in self.folder.iterdir() if p.is_file())

    def _resume(self) -> None:
        from cnnviz_widgets.training.run_files import Run

        run = Run(self.folder)
        numbers = [int(m.group(1)) for p in self.folder.iterdir() if (m := SNAPSHOT_NAME.match(p.name))]
        self._number = max(numbers, default=-1) + 1
        if run.snapshots:
            self._epoch = self._base_epoch = run.snapshots[-1].epoch
            self._step = run.snapshots[-1].step

    # ------------------------------------------------------------------ Keras hooks
    def on_train_begin(self, logs: dict | None = None) -> None:
        if self.model is None or not self.model.built:
            raise RunError("TrainingRecorder needs a built model: build or call the model before fit")
        try:
            self._open_run()                 # RunError (another architecture) stops fit before it starts
        except OSError as exc:               # a read-only or full disk: no recording, training goes on
            self._stop(f"the run's folder {str(self.folder)!r} cannot be written ({type(exc).__name__}: {exc})")
            self._report_stop()
            return
        self.training = True
        self._steps_per_epoch = (self.params or {}).get("steps")
        if self.steps == "log":
            self._wanted_steps = set(log_steps(self._steps_per_epoch or 0)) if self._step == 0 else set()
        elif self.steps is not None:
            self._wanted_steps = {int(s) for s in self.steps}
        self._fit_first_epoch = None
        if self._number == 0:
            self._take("start", {})

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self._fit_first_epoch is None:
            self._fit_first_epoch = epoch
        self._epoch_start_step = self._step

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._step += 1
        if self._step in self._wanted_steps:
            self._take("step", logs or {})

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if not self._counts_batches:
            self._step = self._epoch_start_step + (self._steps_per_epoch or 0)
        self._epoch = self._base_epoch + epoch - (self._fit_first_epoch or 0) + 1
        self._take("epoch", logs or {})

    def on_train_end(self, logs: dict | None = None) -> None:
        self._base_epoch = self._epoch
        self.flush()
        self.training = False
        self._notify(-1)

    # ------------------------------------------------------------------ snapshots
    def _progress(self) -> float:
        """Epochs completed, with the fraction of the current one (known when Keras gives the steps per epoch)."""
        per = self._steps_per_epoch
        done = (self._step - self._epoch_start_step) / per if per else 0.0
        return round(self._epoch + min(done, 1.0), 6)

    def _take(self, kind: str, logs: dict) -> None:
        """Copy the weights (and the probe's outputs) now; queue the file for the writer."""
        self._report_stop()
        if self.stopped:
            return
        weights = self.model.get_weights()
        size = sum(w.nbytes // (2 if self.dtype == "float16" and w.dtype == np.float32 else 1) for w in weights)
        if self._bytes + size > self.max_bytes:
            self._stop(f"the run would pass max_bytes={self.max_bytes:,} bytes ({self._bytes:,} written, "
                       f"{size:,} per snapshot); use dtype='float16', fewer snapshots or a larger max_bytes")
            self._report_stop()
            return
        self._bytes += size
        meta = {"epoch": self._epoch, "step": self._step, "time": time.time(), "kind": kind,
                "progress": self._progress() if kind == "step" else float(self._epoch),
                "logs": {k: float(v) for k, v in logs.items() if np.size(v) == 1}}
        outputs = self._probe_outputs()
        self._queue.put((self._number, weights, outputs, meta))
        self._number += 1
        self._start_writer()

    def _probe_outputs(self) -> np.ndarray | None:
        if self.probe is None:
            return None
        images = self.probe[0]
        chunks = []
        for start in range(0, len(images), PROBE_BATCH):
            out = self.model(images[start:start + PROBE_BATCH].astype(np.float32), training=False)
            if isinstance(out, dict):
                out = next(iter(out.values()))
            elif isinstance(out, (list, tuple)):
                out = out[0]          # a multi-output model: the first output
            chunks.append(np.asarray(out, np.float32).reshape(len(images[start:start + PROBE_BATCH]), -1))
        return np.concatenate(chunks)

    def _start_writer(self) -> None:
        if self._writer is None or not self._writer.is_alive():
            self._writer = threading.Thread(target=self._write_queued, name="cnnviz-recorder", daemon=True)
            self._writer.start()
            _LIVE.add(self)

    def _write_queued(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=0.5)
            except queue.Empty:
                return
            try:
                if not self.stopped:
                    self._write(*item)
            except Exception as exc:  # noqa: BLE001  (a full or read-only disk: stop recording, training goes on)
                self._stop(f"writing a snapshot to {str(self.folder)!r} failed ({type(exc).__name__}: {exc})")
            finally:
                self._queue.task_done()

    def _write(self, number: int, weights: list[np.ndarray], outputs: np.ndarray | None, meta: dict) -> None:
        half = self.dtype == "float16"
        arrays: dict[str, Any] = {f"w{i:04d}": w.astype(np.float16) if half and w.dtype == np.float32 else w
                                  for i, w in enumerate(weights)}
        if outputs is not None:
            arrays["probe_outputs"] = outputs
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        atomic_write(snapshot_file(self.folder, number), lambda f: f.write(buffer.getbuffer()))
        self.snapshots_written += 1
        self._notify(number)

    def _notify(self, number: int) -> None:
        for listener in list(self.listeners):
            try:
                listener(number)
            except Exception as exc:  # noqa: BLE001  (a view's error must not stop the recording)
                warnings.warn(f"cnnviz: a view following the run failed: {exc}", RuntimeWarning, stacklevel=1)

    def _stop(self, reason: str) -> None:
        if self.stopped is None:
            self.stopped = reason

    def _report_stop(self) -> None:
        """Warn once, from the training thread, that recording stopped."""
        if self.stopped and not self._warned:
            self._warned = True
            warnings.warn(f"cnnviz: the TrainingRecorder stopped recording: {self.stopped}. Training goes on; "
                          "the snapshots written so far stay readable.", RuntimeWarning, stacklevel=3)

    def flush(self, timeout: float | None = 60.0) -> bool:
        """Wait until every queued snapshot is written (or recording stopped); False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if self._writer is None or not self._writer.is_alive():
                self._start_writer()
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        self._report_stop()
        return True

    def __repr__(self) -> str:
        state = f"stopped: {self.stopped}" if self.stopped else f"{self.snapshots_written} snapshots written"
        return f"<TrainingRecorder {str(self.folder)!r}: {state}>"


_LIVE: weakref.WeakSet[TrainingRecorder] = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    """Snapshots still queued when the interpreter exits are written, not lost."""
    for recorder in list(_LIVE):
        recorder.flush(timeout=30.0)
