"""The background-job runner: signals in the GUI thread, back-pressure, cancel, errors, clean joins."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from engine.errors import ParameterError
from rgviz.jobs import Job, JobCancelled


class Recorder:
    """Collects a job's signals (connected to lambdas: they must still run in the GUI thread)."""

    def __init__(self, job: Job, slow_partial_s: float = 0.0):
        self.progress, self.partials, self.finished, self.failed = [], [], [], []
        self.stopped = False
        self.threads = set()
        gui = QApplication.instance().thread()

        def progress(done, total):
            self.threads.add(QThread.currentThread() is gui)
            self.progress.append((done, total))

        def partial(value):
            self.threads.add(QThread.currentThread() is gui)
            time.sleep(slow_partial_s)
            self.partials.append(value)

        job.progress.connect(progress)
        job.partial.connect(partial)
        job.finished.connect(self.finished.append)
        job.failed.connect(self.failed.append)
        job.stopped.connect(lambda: setattr(self, "stopped", True))


@pytest.fixture
def start_job(qtbot):
    """``start_job(work, **kwargs) -> (job, recorder)``; every job is shut down and joined at teardown."""
    jobs = []

    def start(work, slow_partial_s: float = 0.0, **kwargs):
        job = Job(work, **kwargs)
        rec = Recorder(job, slow_partial_s)
        jobs.append(job)
        job.start()
        return job, rec

    yield start
    for job in jobs:
        assert job.shutdown(5000), "job thread did not stop"
        assert not job.is_running()


def test_results_arrive_in_the_gui_thread_and_the_thread_ends(start_job, qtbot):
    worker_threads = []

    def work(control):
        worker_threads.append(threading.current_thread() is threading.main_thread())
        for i in range(5):
            control.progress(i + 1, 5)
            control.partial(i)
            time.sleep(0.01)
        return "done"

    job, rec = start_job(work)
    qtbot.waitUntil(lambda: rec.stopped, timeout=5000)
    assert worker_threads == [False]  # the work ran off the GUI thread
    assert rec.threads == {True}  # ... and every handler, lambdas included, in the GUI thread
    assert rec.finished == ["done"] and rec.failed == []
    assert rec.progress[-1] == (5, 5)
    assert rec.partials == sorted(rec.partials) and rec.partials[0] == 0
    assert job.is_done and not job.is_running()


def test_partial_results_are_dropped_while_the_gui_is_busy(start_job, qtbot):
    """A slow GUI gets the latest results, not a growing queue of stale ones."""
    published = []

    def work(control):
        for i in range(2000):
            if control.partial(i):
                published.append(i)
            time.sleep(0.0005)
        return 2000

    job, rec = start_job(work, slow_partial_s=0.05)
    qtbot.waitUntil(lambda: rec.stopped, timeout=10_000)
    assert rec.finished == [2000]  # the final result is never dropped
    assert 1 <= len(rec.partials) < 200
    assert rec.partials == published[: len(rec.partials)]  # all published ones were shown, in order
    assert len(published) - len(rec.partials) <= 1


def test_cancel_stops_the_work_and_keeps_its_result(start_job, qtbot):
    cancellers = []

    def work(control):
        control.on_cancel(lambda: cancellers.append(True))
        n = 0
        while not control.cancelled:
            n += 1
            time.sleep(0.002)
        return n

    job, rec = start_job(work)
    qtbot.wait(50)
    assert job.is_running()
    job.cancel()
    qtbot.waitUntil(lambda: rec.stopped, timeout=5000)
    assert cancellers == [True] and job.cancelled
    assert len(rec.finished) == 1 and rec.finished[0] > 0


def test_cancelled_exception_ends_quietly(start_job, qtbot):
    def work(control):
        while True:
            control.check()
            time.sleep(0.002)

    job, rec = start_job(work)
    qtbot.wait(30)
    job.cancel()
    qtbot.waitUntil(lambda: rec.stopped, timeout=5000)
    assert rec.finished == [None] and rec.failed == []
    with pytest.raises(JobCancelled):
        job._worker.control.check()


@pytest.mark.parametrize("exc, expected", [(ParameterError("L", "must be >= 2"), "L: must be >= 2"),
                                           (ZeroDivisionError("boom"), "ZeroDivisionError: boom")])
def test_errors_become_a_message(start_job, qtbot, exc, expected):
    def work(control):
        raise exc

    job, rec = start_job(work)
    qtbot.waitUntil(lambda: rec.stopped, timeout=5000)
    assert rec.failed == [expected] and rec.finished == []
    assert not job.is_running()


def test_shutdown_joins_a_running_job(qtbot):
    def work(control):
        while not control.cancelled:
            time.sleep(0.005)

    job = Job(work, threads=1)
    job.start()
    qtbot.wait(30)
    t0 = time.perf_counter()
    assert job.shutdown(5000)
    assert not job.is_running() and time.perf_counter() - t0 < 2.0


def test_progress_is_throttled(start_job, qtbot):
    def work(control):
        for i in range(1, 20001):
            control.progress(i, 20000)
        return None

    job, rec = start_job(work)
    qtbot.waitUntil(lambda: rec.stopped, timeout=5000)
    assert rec.progress[-1] == (20000, 20000)
    assert len(rec.progress) < 200


def test_latest_job_analyses_the_newest_item_and_clear_drops_a_stale_result(qtbot):
    from rgviz.jobs import LatestJob

    seen, results = [], []
    gate = threading.Event()

    def compute(item):
        gate.wait(5)
        seen.append(item)
        return item * 10

    latest = LatestJob(compute, "test-latest")
    latest.finished.connect(results.append)
    latest.submit(1)  # starts at once and waits on the gate
    latest.submit(2)
    latest.submit(3)  # replaces 2, which is never analysed
    latest.clear()  # drops 3 and the result of the run in progress
    latest.submit(4)
    gate.set()
    qtbot.waitUntil(lambda: not latest.busy(), timeout=5000)
    assert seen == [1, 4] and results == [40]
    assert latest.shutdown()


def test_shutdown_abandons_a_job_and_stop_only_cancels(qtbot):
    seen = []

    def work(control):
        while not control.cancelled:
            time.sleep(0.005)
        seen.append(control.abandoned)

    stopped = Job(work, name="test-stop").start()
    stopped.cancel()
    assert stopped.wait(5000)
    closed = Job(work, name="test-close").start()
    assert closed.shutdown(5000)
    assert seen == [False, True]
