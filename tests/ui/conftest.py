"""UI-test fixtures: start EngineWorkers (always stopped and joined at teardown) and collect frames;
build panels whose background jobs are always shut down and joined at teardown."""

from __future__ import annotations

import gc
import time

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QSettings, Slot

from rgviz.jobs import Job
from rgviz.mainwindow import MainWindow
from rgviz.ui.registry import CORE
from rgviz.worker import EngineWorker, WorkerThread


@pytest.fixture(autouse=True)
def private_settings(tmp_path):
    """Windows save their layout in QSettings: keep tests away from the user's configuration."""
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp_path / "settings"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    """Delete and collect each test's windows in its own teardown (after pytest-qt has closed them): a
    window with the bulk or RG panels collected in the middle of a later test changed the zoom of that
    test's mouse drag on the lattice view."""
    yield
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


@pytest.fixture
def panels(qtbot):
    """``panels(cls, **kwargs)`` builds a shown panel; all its jobs are shut down and joined at teardown."""
    made = []

    def make(cls, **kwargs):
        panel = cls(**kwargs)
        qtbot.addWidget(panel)
        panel.resize(1000, 700)
        panel.show()
        made.append(panel)
        return panel

    yield make
    for panel in made:
        if hasattr(panel, "shutdown"):
            assert panel.shutdown(10_000), f"{type(panel).__name__}: a job did not stop"
            assert not any(job.is_running() for job in vars(panel).values() if isinstance(job, Job))


class FrameSink(QObject):
    """Lives in the GUI thread, so the worker's signals are delivered here (not in the worker)."""

    def __init__(self, worker: EngineWorker, auto_ack: bool = True):
        super().__init__()
        self.worker = worker
        self.auto_ack = auto_ack
        self.frames: list[dict] = []
        self.errors: list[str] = []
        self.notices: list[str] = []
        worker.frame.connect(self.on_frame)
        worker.error.connect(self.on_error)
        worker.notice.connect(self.on_notice)

    @Slot(object)
    def on_frame(self, snapshot: dict) -> None:
        self.frames.append(snapshot)
        if self.auto_ack:
            self.worker.ack()

    @Slot(str)
    def on_error(self, message: str) -> None:
        self.errors.append(message)

    @Slot(str)
    def on_notice(self, message: str) -> None:
        self.notices.append(message)

    @property
    def last(self) -> dict:
        return self.frames[-1]

    def wait_for(self, qtbot, predicate, timeout: float = 10.0) -> dict:
        """Wait until a frame satisfies ``predicate``; return it."""
        deadline = time.monotonic() + timeout
        start = len(self.frames)
        while time.monotonic() < deadline:
            for frame in self.frames[start:]:
                if predicate(frame):
                    return frame
            start = len(self.frames)
            qtbot.wait(5)
        last = {k: self.frames[-1].get(k) for k in ("sweep", "model", "running")} if self.frames else None
        raise AssertionError(f"no matching frame in {timeout} s; last: {last}; errors: {self.errors}")

    def wait_quiet(self, qtbot, seconds: float = 0.3) -> dict:
        """Wait until no frame arrives for ``seconds``; return the last one."""
        n = -1
        while n != len(self.frames):
            n = len(self.frames)
            qtbot.wait(int(seconds * 1000))
        return self.last


@pytest.fixture
def start_worker(qtbot):
    """``start_worker(auto_ack=True, play=False, **simulation_kwargs) -> (worker, sink)``."""
    threads: list[WorkerThread] = []

    def start(auto_ack: bool = True, play: bool = False, **kwargs) -> tuple[EngineWorker, FrameSink]:
        kwargs = {"model": "ising", "L": 16, "T": 2.269, "seed": 1, "device": "cpu", **kwargs}
        worker = EngineWorker(**kwargs)
        sink = FrameSink(worker, auto_ack)
        thread = WorkerThread(worker)
        threads.append(thread)
        thread.start()
        if play:
            worker.play()
        return worker, sink

    yield start
    for thread in threads:
        assert thread.shutdown(timeout_ms=5000), "worker thread did not stop"
        assert not thread.is_running()


@pytest.fixture
def make_window(qtbot, tmp_path):
    """``make_window(play=True, panels=CORE, **simulation_kwargs)``; closed (worker joined) at teardown. Windows
    of one test share their layout settings (a second window opens as the first was left)."""
    windows = []

    def make(play: bool = True, panels=CORE, **kwargs) -> MainWindow:
        kwargs = {"model": "ising", "L": 16, "T": 2.269, "seed": 0, "device": "cpu", **kwargs}
        settings = QSettings(str(tmp_path / "rgviz.ini"), QSettings.Format.IniFormat)
        window = MainWindow(kwargs, settings=settings, play=play, panels=panels)
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
        assert not window.engine.is_running()


@pytest.fixture
def train_tiny():
    """``train_tiny(panel, preset=0, steps=100_000)``: a Neural RG panel starts training a tiny flow (L = 4, two
    couplings of width 8, batch 8) of its preset ``preset`` (0: critical phi^4, 2: Ising at Tc); the default
    ``steps`` are more than any test waits for."""
    def start(panel, preset: int = 0, steps: int = 100_000) -> None:
        panel.preset.setCurrentIndex(preset)
        panel.L.setCurrentText("4")
        panel.couplings.setValue(2)
        panel.width.setValue(8)
        panel.steps.setValue(steps)
        panel.batch.setValue(8)
        panel.start_training()

    return start
