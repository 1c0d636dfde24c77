"""Background jobs: long engine work (a sweep, a tau_int scan, an RG flow, training) off the GUI thread.

A job is a plain callable ``work(control) -> result``. It reports through its :class:`JobControl`
(``control.progress(done, total)``, ``control.partial(result)``) and polls ``control.cancelled``
or registers a canceller with ``control.on_cancel`` (e.g. ``SweepRunner.cancel``).

:class:`Job` runs it in its own QThread and re-emits everything as signals of an object that
lives in the GUI thread, so handlers connected to them run in the GUI thread, lambdas included
(in PySide6, a lambda connected to a signal of a QObject living in another thread runs in that thread,
even with a queued connection; only a method of a GUI-thread QObject is delivered to the GUI thread).

Back-pressure: a partial result is published only after the GUI's handlers have returned from
the previous one; intermediate results produced meanwhile are dropped (the next one supersedes
them). ``control.wants_partial()`` lets the work skip preparing a result that would be dropped
(e.g. an expensive analysis). The final result is never dropped. Progress is throttled to
~20 updates a second.
"""

from __future__ import annotations

import threading
import time
import traceback
import weakref
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot
from PySide6.QtWidgets import QFileDialog

from engine.device import configure_threads
from engine.errors import CheckpointError, ParameterError, SessionFormatError

PROGRESS_INTERVAL = 0.05  # seconds between two progress signals (the last one always goes out)


class JobCancelled(Exception):
    """Raised by :meth:`JobControl.check` when the job was cancelled; ends the job quietly."""


class JobControl:
    """What the work callable sees: report progress and partial results, notice cancellation."""

    def __init__(self, emitter: _JobWorker):
        self._emitter = emitter
        self._cancelled = threading.Event()
        self._abandoned = threading.Event()
        self._consumed = threading.Event()
        self._consumed.set()
        self._cancellers: list[Callable[[], None]] = []
        self._last_progress = 0.0
        self._lock = threading.Lock()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def abandoned(self) -> bool:
        """Cancelled because the application closes: nobody will see the result, so skip finishing
        touches (a Stop button only cancels; its result is still shown)."""
        return self._abandoned.is_set()

    def check(self) -> None:
        """Raise :class:`JobCancelled` if the job was cancelled (for loops in the work callable)."""
        if self.cancelled:
            raise JobCancelled

    def on_cancel(self, canceller: Callable[[], None]) -> None:
        """Call ``canceller()`` (from the GUI thread) when the job is cancelled."""
        with self._lock:
            self._cancellers.append(canceller)
            already = self.cancelled
        if already:
            canceller()

    def progress(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - self._last_progress >= PROGRESS_INTERVAL:
            self._last_progress = now
            self._emitter.progress.emit(int(done), int(total))

    def wants_partial(self) -> bool:
        """True when the GUI has consumed the last partial result (a new one would be shown)."""
        return self._consumed.is_set() and not self.cancelled

    def partial(self, result: Any) -> bool:
        """Publish ``result`` unless the GUI is still busy with the last one; True if published."""
        if not self.wants_partial():
            return False
        self._consumed.clear()
        self._emitter.partial.emit(result)
        return True

    # --- called by Job (GUI thread) ----------------------------------------------------------
    def _cancel(self) -> None:
        with self._lock:
            self._cancelled.set()
            cancellers = list(self._cancellers)
        for canceller in cancellers:
            canceller()

    def _mark_consumed(self) -> None:
        self._consumed.set()


class _JobWorker(QObject):
    """Lives in the job's thread and runs the work; its signals are queued to :class:`Job`."""

    progress = Signal(int, int)
    partial = Signal(object)
    done = Signal(object)
    failed = Signal(str)
    ended = Signal()

    def __init__(self, work: Callable[[JobControl], Any], threads: int | None):
        super().__init__()
        self.work = work
        self.threads = threads
        self.control = JobControl(self)

    @Slot()
    def run(self) -> None:
        try:
            configure_threads(self.threads)
            result = self.work(self.control)
            self.done.emit(result)
        except JobCancelled:
            self.done.emit(None)
        except (ParameterError, CheckpointError, SessionFormatError) as err:  # bad input: its one line, no trace
            self.failed.emit(str(err))
        except Exception as err:  # noqa: BLE001 - any failure is reported to the user, the app lives on
            traceback.print_exc()
            self.failed.emit(f"{type(err).__name__}: {err}")
        finally:
            self.ended.emit()
            QThread.currentThread().quit()  # directly, not queued: the GUI thread may be blocked in wait()


class RunningJobs(QObject):
    """The jobs running in this process. ``changed()`` is emitted (in the GUI thread) when one
    starts or ends, so that the window can pause the live simulation competing with them for
    the processor."""

    changed = Signal()

    def __init__(self):
        super().__init__()
        self._jobs: weakref.WeakSet[Job] = weakref.WeakSet()

    def count(self) -> int:
        return sum(job.is_running() for job in list(self._jobs))

    def _started(self, job: Job) -> None:
        self._jobs.add(job)
        self.changed.emit()


running_jobs = RunningJobs()


class Job(QObject):
    """Runs ``work(control)`` in a new QThread; signals arrive in the GUI thread.

    Signals: ``progress(done, total)``, ``partial(result)``, ``finished(result)`` (the callable's
    return value; a cancelled job still delivers what it returned, or None if it raised
    :class:`JobCancelled`), ``failed(message)`` and ``stopped()`` (after finished or failed; the thread has ended).
    Create and use it from the GUI thread; call :meth:`shutdown` before the application exits.
    ``holds_live_run``: the job is counted in :data:`running_jobs`, for which the window holds the live
    simulation (False for analysis that serves the live run itself, e.g. :class:`LatestJob`).
    """

    progress = Signal(int, int)
    partial = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    stopped = Signal()

    def __init__(self, work: Callable[[JobControl], Any], name: str = "rgviz-job", threads: int | None = None,
                 parent: QObject | None = None, holds_live_run: bool = True):
        super().__init__(parent)
        self.holds_live_run = holds_live_run
        self._worker = _JobWorker(work, threads)
        self._thread = QThread()
        self._thread.setObjectName(name)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.progress.connect(self._on_progress)
        self._worker.partial.connect(self._on_partial)
        self._worker.done.connect(self._on_done)
        self._worker.failed.connect(self._on_failed)
        self._worker.ended.connect(self._on_ended)
        self.is_done = False

    def start(self) -> Job:
        self._thread.start()
        if self.holds_live_run:
            running_jobs._started(self)
        return self

    def cancel(self) -> None:
        """Ask the work to stop; it ends at its next cancellation check."""
        self._worker.control._cancel()

    @property
    def cancelled(self) -> bool:
        return self._worker.control.cancelled

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, timeout_ms: int = 5000) -> bool:
        """Block until the thread has ended; True if it has."""
        return self._thread.wait(timeout_ms)

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Abandon (cancel, result unwanted) and join the thread; True when no thread is left running."""
        self._worker.control._abandoned.set()
        self.cancel()
        return self._thread.wait(timeout_ms)

    # --- relays (GUI thread) ----------------------------------------------------------------
    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        self.progress.emit(done, total)

    @Slot(object)
    def _on_partial(self, result: Any) -> None:
        try:
            if not self.cancelled:
                self.partial.emit(result)
        finally:
            self._worker.control._mark_consumed()

    @Slot(object)
    def _on_done(self, result: Any) -> None:
        self.finished.emit(result)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.failed.emit(message)

    @Slot()
    def _on_ended(self) -> None:
        self._thread.wait()  # the work has returned; the thread ends right after: join it
        self.is_done = True
        self.stopped.emit()
        running_jobs.changed.emit()


class JobPanel:
    """Mixin for a panel that runs one background job at a time: Start/Stop buttons, a progress bar.

    The panel (a QWidget) creates ``start_button``, ``stop_button``, ``progress``, a ``status``
    label and an ``error`` signal, and calls :meth:`start_job` (or :meth:`launch`); bad input,
    failures, stopping, progress, button states, the join on close and, for panels with an
    ``export_data(folder)``, the export dialog are shared here.
    ``job`` is the last job started (kept after it ends, for its result and state).
    """

    job: Job | None = None

    def start_job(self, prepare: Callable[[], tuple[Callable[[JobControl], Any], str]], name: str, *,
                  finished: Callable, partial: Callable | None = None) -> None:
        """Launch the work ``prepare()`` builds, unless a job is running.

        ``prepare`` reads the panel's fields and returns (work, status text while it runs); a
        ParameterError it raises is shown as a failure and nothing starts.
        """
        if self.busy():
            return
        try:
            work, running = prepare()
        except ParameterError as err:
            self.job_failed(str(err))
            return
        self.status.setText(running)
        self.launch(work, name, partial=partial, finished=finished, failed=self.job_failed)

    def job_failed(self, message: str) -> None:
        """Bad input or a failed job: red in the panel's status line, and the ``error`` signal."""
        self.status.setText(f"<span style='color:#c00'>{message}</span>")
        self.error.emit(message)

    def export_dialog(self, title: str) -> None:
        """Ask for a folder and write the panel's ``export_data(folder)`` there; a failure is shown, not raised."""
        folder = QFileDialog.getExistingDirectory(self, title)
        if not folder:
            return
        try:
            written = self.export_data(folder)
        except (OSError, ValueError) as err:
            self.job_failed(str(err))
            return
        self.status.setText(f"exported {len(written)} files to {folder}")

    def launch(self, work: Callable[[JobControl], Any], name: str, *, finished: Callable, failed: Callable,
               partial: Callable | None = None) -> Job:
        if self.job is not None:
            self.job.deleteLater()  # the previous job: its thread has ended
        self.progress.setValue(0)
        self.job = Job(work, name=name, parent=self)
        self.job.progress.connect(self.show_progress)
        if partial is not None:
            self.job.partial.connect(partial)
        self.job.finished.connect(finished)
        self.job.failed.connect(failed)
        self.job.stopped.connect(self.job_stopped)
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        return self.job.start()

    def busy(self) -> bool:
        return self.job is not None and self.job.is_running()

    def stop(self) -> None:
        """Cancel the job; it ends at its next cancellation check."""
        if self.job is not None:
            self.job.cancel()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel and join the job (on close); True when no thread is left."""
        return self.job is None or self.job.shutdown(timeout_ms)

    def show_progress(self, done: int, total: int) -> None:
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done)

    def job_stopped(self) -> None:
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)


class LatestJob(QObject):
    """Live analysis off the GUI thread: ``compute(item)`` runs as a :class:`Job` for the newest item.

    One run at a time: an item submitted while one runs waits, replacing any older waiting item (a
    live panel wants the newest frame, not every frame), and a run starts at least ``min_interval``
    seconds after the last one ended, so the analysis takes a bounded share of a core however fast
    frames come. ``finished(result)`` arrives in the GUI thread; :meth:`clear` drops the waiting item
    and the result of the run in progress (e.g. the user reset what they accumulate).
    """

    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, compute: Callable[[Any], Any], name: str, min_interval: float = 0.0,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.compute, self.name, self.min_interval = compute, name, min_interval
        self.job: Job | None = None
        self._pending: tuple[Any] | None = None  # (item,): an item may itself be None
        self._generation = 0
        self._ended_at = -float("inf")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._run_next)

    def submit(self, item: Any) -> None:
        """Analyse ``item`` as soon as the rules above allow."""
        self._pending = (item,)
        self._run_next()

    def clear(self) -> None:
        self._pending = None
        self._generation += 1

    def busy(self) -> bool:
        """A run in progress or an item waiting."""
        return self.job is not None or self._pending is not None

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Drop the waiting item and join the run in progress; True when no thread is left."""
        self._pending = None
        self._timer.stop()
        return self.job is None or self.job.shutdown(timeout_ms)

    @Slot()
    def _run_next(self) -> None:
        if self.job is not None or self._pending is None or self._timer.isActive():
            return
        wait = self._ended_at + self.min_interval - time.monotonic()
        if wait > 0:
            self._timer.start(int(wait * 1000) + 1)
            return
        (item,), self._pending = self._pending, None
        generation, compute = self._generation, self.compute
        self.job = Job(lambda control: compute(item), name=self.name, parent=self, holds_live_run=False)

        def finished(result: Any) -> None:
            if self._generation == generation:
                self.finished.emit(result)

        self.job.finished.connect(finished)
        self.job.failed.connect(self.failed)
        self.job.stopped.connect(self._on_stopped)
        self.job.start()

    @Slot()
    def _on_stopped(self) -> None:
        self.job.deleteLater()  # its thread has ended
        self.job = None
        self._ended_at = time.monotonic()
        self._run_next()
