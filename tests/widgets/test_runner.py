"""The latest-only background runner: stale requests are dropped, never queued."""

from __future__ import annotations

import threading

from cnnviz_widgets.widgets._runner import LatestOnlyRunner


def make_runner():
    errors, progress = [], []
    runner = LatestOnlyRunner(lambda label, done, total: progress.append((label, done, total)),
                              lambda key, exc: errors.append((key, exc)))
    return runner, errors, progress


def test_only_the_running_and_the_latest_request_run():
    runner, errors, _ = make_runner()
    gate = threading.Event()
    ran, done = [], []

    def job(i):
        def work(progress):
            ran.append(i)
            if i == 0:
                gate.wait(10)
            return i * 10
        return work

    runner.submit(0, job(0), lambda key, result: done.append((key, result)))
    while not ran:
        pass
    for i in range(1, 50):
        runner.submit(i, job(i), lambda key, result: done.append((key, result)))
    gate.set()
    assert runner.wait(10)
    assert ran == [0, 49]
    assert done == [(0, 0), (49, 490)]
    assert runner.jobs_started == 2 and not errors and not runner.busy


def test_superseded_job_is_stopped_at_its_next_progress_report():
    runner, errors, _ = make_runner()
    started, steps = threading.Event(), []
    proceed = threading.Event()

    def slow(progress):
        started.set()
        for step in range(100):
            proceed.wait(10)
            steps.append(step)
            progress(step + 1, 100)
        return "slow"

    results = []
    runner.submit("slow", slow, lambda key, result: results.append(result))
    started.wait(10)
    runner.submit("fast", lambda progress: "fast", lambda key, result: results.append(result))
    proceed.set()
    assert runner.wait(10)
    assert len(steps) == 1            # stopped at the first report after being superseded
    assert results == ["fast"]         # the cancelled job delivers nothing
    assert not errors


def test_cancel_stops_the_job_and_errors_are_reported_only_when_current():
    runner, errors, progress = make_runner()
    started = threading.Event()

    def forever(p):
        started.set()
        while True:
            p(1, 2)

    runner.submit("a", forever, lambda key, result: None)
    started.wait(10)
    runner.cancel()
    assert runner.wait(10)
    assert progress[-1] == ("", 0, 0)  # the progress bar is hidden when idle

    def fails(p):
        raise ValueError("bad input")

    runner.submit("b", fails, lambda key, result: None)
    assert runner.wait(10)
    assert [(key, str(exc)) for key, exc in errors] == [("b", "bad input")]


def test_same_key_is_not_submitted_twice():
    runner, _, _ = make_runner()
    gate, count = threading.Event(), []

    def work(p):
        count.append(1)
        gate.wait(10)

    runner.submit("k", work, lambda key, result: None)
    runner.submit("k", work, lambda key, result: None)
    gate.set()
    assert runner.wait(10)
    assert len(count) == 1


def test_an_idle_worker_thread_ends_and_a_new_request_starts_another(monkeypatch):
    from cnnviz_widgets.widgets import _runner

    monkeypatch.setattr(_runner, "IDLE_EXIT_SECONDS", 0.05)
    runner, _, _ = make_runner()
    results = []
    runner.submit(1, lambda p: "first", lambda key, result: results.append(result))
    assert runner.wait(10)
    first_thread = runner._thread
    deadline = threading.Event()
    while runner._thread is not None and not deadline.wait(0.02):
        pass
    assert not first_thread.is_alive()
    runner.submit(2, lambda p: "second", lambda key, result: results.append(result))
    assert runner.wait(10)
    assert results == ["first", "second"]
