"""Background work for the widgets: only the latest request runs, stale ones are dropped.

Design: each widget owns one :class:`LatestOnlyRunner` with one worker thread. ``submit``
replaces whatever request is waiting (so fifty slider moves leave at most one job queued)
and marks the running job as superseded; a job that reports progress is stopped at its next
progress call by :class:`Cancelled`. A job that finishes after being superseded still
delivers its result to ``on_done`` (widgets only cache it), but errors are reported only
for the current request.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("cnnviz_widgets")

Progress = Callable[[int, int], None]

IDLE_EXIT_SECONDS = 30.0
"""A worker thread with nothing to do for this long ends (widgets left behind hold no thread)."""


_RUNNERS: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _stop_all_runners() -> None:
    """At interpreter exit, stop background work so that no TensorFlow call is cut mid-way."""
    for runner in list(_RUNNERS):
        runner.cancel()
    for runner in list(_RUNNERS):
        runner.wait(10)


class Cancelled(Exception):
    """Raised inside a job's progress callback when the job was cancelled or superseded."""


@dataclass
class _Job:
    key: Hashable
    work: Callable[[Progress], Any]
    on_done: Callable[[Hashable, Any], None]
    label: str
    generation: int


class LatestOnlyRunner:
    """Runs jobs on one daemon thread, keeping only the most recent request.

    Args:
        on_progress: ``on_progress(label, done, total)`` while a job runs, throttled; called
            with ``total == 0`` when the runner becomes idle.
        on_error: ``on_error(key, exception)`` when the current job fails.
    """

    def __init__(self, on_progress: Callable[[str, int, int], None],
                 on_error: Callable[[Hashable, BaseException], None], *, name: str = "cnnviz-worker") -> None:
        self._on_progress = on_progress
        self._on_error = on_error
        self._name = name
        self._cond = threading.Condition()
        self._pending: _Job | None = None
        self._running: _Job | None = None
        self._generation = 0
        self._cancelled_below = 0
        self._thread: threading.Thread | None = None
        self._closed = False
        _RUNNERS.add(self)
        self.jobs_started = 0
        """How many jobs actually started (superseded requests that never ran are not counted)."""

    # ------------------------------------------------------------------ requests
    def submit(self, key: Hashable, work: Callable[[Progress], Any], on_done: Callable[[Hashable, Any], None],
               *, label: str = "") -> None:
        """Request ``work(progress)``; ``on_done(key, result)`` follows when it finishes.

        A request for the key already running (and still current) is ignored.
        """
        with self._cond:
            if self._closed:
                return
            if self._pending is None and self._running is not None and self._running.key == key \
                    and self._running.generation == self._generation:
                return
            if self._pending is not None and self._pending.key == key:
                return
            self._generation += 1
            self._pending = _Job(key, work, on_done, label, self._generation)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def cancel(self) -> None:
        """Drop the waiting request and stop the running one at its next progress report."""
        with self._cond:
            self._pending = None
            self._generation += 1
            self._cancelled_below = self._generation
            self._cond.notify_all()

    def close(self) -> None:
        """Cancel, and let the worker thread end as soon as its job (if any) stops; later requests are
        ignored. The thread and the callbacks then no longer hold the runner's owner."""
        with self._cond:
            self._closed = True
        self.cancel()

    def is_current(self, key: Hashable) -> bool:
        """True when ``key`` is the latest request (running or waiting)."""
        with self._cond:
            latest = self._pending or self._running
            return latest is not None and latest.key == key and latest.generation == self._generation

    @property
    def busy(self) -> bool:
        with self._cond:
            return self._pending is not None or self._running is not None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no job runs or waits; False if ``timeout`` seconds passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._pending is not None or self._running is not None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    # ------------------------------------------------------------------ worker
    def _progress_for(self, job: _Job) -> Progress:
        last = [0.0]

        def progress(done: int, total: int) -> None:
            with self._cond:
                stale = job.generation != self._generation or job.generation < self._cancelled_below
            if stale:
                raise Cancelled(job.label)
            now = time.monotonic()
            if now - last[0] > 0.1 or done >= total:
                last[0] = now
                self._on_progress(job.label, int(done), int(total))

        return progress

    def _loop(self) -> None:
        while True:
            with self._cond:
                if self._pending is None and not self._closed:
                    self._cond.wait(IDLE_EXIT_SECONDS)
                if self._pending is None:  # idle: let the thread end; submit() starts a new one
                    self._thread = None
                    return
                job, self._pending = self._pending, None
                self._running = job
            self.jobs_started += 1
            try:
                self._on_progress(job.label, 0, 1)
                result = job.work(self._progress_for(job))
            except Cancelled:
                result = None
            except Exception as exc:
                result = None
                with self._cond:
                    current = job.generation == self._generation and job.generation >= self._cancelled_below
                if current:
                    log.debug("cnnviz: %s failed", job.label, exc_info=True)
                    self._on_error(job.key, exc)
            else:
                try:
                    job.on_done(job.key, result)
                except Exception as exc:  # noqa: BLE001
                    self._on_error(job.key, exc)
            finally:
                with self._cond:
                    self._running = None
                    idle = self._pending is None
                    self._cond.notify_all()
                if idle:
                    self._on_progress("", 0, 0)
