"""The engine worker: one Simulation driven flat out in its own QThread.

Commands travel GUI -> worker through a thread-safe queue (the worker's loop never runs a Qt
event loop, so queued slot calls would never arrive); the public command methods only enqueue
and may be called from any thread. Snapshots travel worker -> GUI as the ``frame`` signal,
carrying plain numpy dicts. Back-pressure: the next frame is published only after the GUI called
:meth:`EngineWorker.ack` for the previous one, and at most ``max_fps`` times a second; between
frames the engine runs flat out (a frame emitted per engine step flooded the event queue: 1,500
queued frames, 1.2 GB, timers starved for seconds).

Connect ``frame``/``error``/``notice`` only to methods of QObjects that live in the GUI thread:
a lambda or free function would run in the worker thread.

An exception in a command or a sweep becomes the ``error`` signal; the worker pauses and keeps
its last good simulation, so the user can change parameters or reset and carry on.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass

from PySide6.QtCore import QObject, QThread, Signal, Slot

from engine.device import configure_threads
from engine.errors import ParameterError
from engine.models.base import as_batch
from engine.session import Simulation

#: Longest stretch of sweeps between two looks at the command queue (seconds).
CHUNK_SECONDS = 0.01


@dataclass
class Anneal:
    """Ramp T linearly from ``T_from`` to ``T_to`` over ``sweeps`` sweeps."""

    T_from: float
    T_to: float
    sweeps: int
    done: int = 0

    def T(self) -> float:
        return self.T_from + (self.T_to - self.T_from) * min(self.done / self.sweeps, 1.0)

    def describe(self) -> dict:
        return {"name": "anneal", "T_from": self.T_from, "T_to": self.T_to,
                "sweeps": self.sweeps, "done": self.done}


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ParameterError(name, f"must be a positive integer, got {value!r}")
    return int(value)


class EngineWorker(QObject):
    """Owns the Simulation; lives in its own thread (see :func:`start_worker`)."""

    frame = Signal(object)  # snapshot dict (plain numpy), see :meth:`_snapshot`
    error = Signal(str)  # a message for the user; the worker has paused and survives
    notice = Signal(str)  # something finished that the user asked for (e.g. a session saved)
    session_loaded = Signal(str)  # the path of a session that replaced the simulation
    finished = Signal()

    #: Frames per second at most. 40 looks continuous, and every frame costs the engine thread
    #: more than the GUI's drawing time: the two threads hand the GIL back and forth for each
    #: Python call on the GUI side (benchmarks/bench_gui.py, 3 rounds each on 2 cores: a cap of 60
    #: gave 47 frames/s and 0.64 of the headless rate, a cap of 40 gave 34 frames/s and 0.79).
    MAX_FPS = 40.0

    def __init__(self, max_fps: float = MAX_FPS, **simulation_kwargs):
        super().__init__()
        self.simulation_kwargs = simulation_kwargs
        self.min_interval = 1.0 / max_fps
        self.sim: Simulation | None = None
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._acked = threading.Event()
        self._acked.set()
        self._stop = threading.Event()
        # Loop state below is touched only by the worker thread.
        self.running = False
        self.held = False  # suspended while background jobs run: nothing is dropped, see _do_hold
        self.sweeps_per_frame = 0  # 0: flat out; n > 0: exactly n sweeps between frames
        self._pending_steps = 0
        self._protocol: Anneal | None = None
        self._dirty = True
        self._since_frame = 0
        self._last_publish = 0.0
        self._chunk = 1
        self._rate = {"sweeps_per_s": 0.0, "sites_per_s": 0.0}
        self._rate_clock = (time.perf_counter(), 0)

    # --- commands (any thread) ------------------------------------------------------------
    def send(self, command: str, **kwargs) -> None:
        """Queue ``command`` (a ``_do_<command>`` method) with keyword arguments."""
        if not hasattr(self, f"_do_{command}"):
            raise ParameterError("command", f"unknown worker command {command!r}")
        self._queue.put((command, kwargs))

    def play(self) -> None: self.send("play")
    def pause(self) -> None: self.send("pause")
    def step(self, n: int = 1) -> None: self.send("step", n=n)
    def reset(self, start: str | None = None) -> None: self.send("reset", start=start)
    def set_params(self, **params) -> None: self.send("set_params", **params)
    def set_model(self, **simulation_kwargs) -> None: self.send("set_model", **simulation_kwargs)
    def set_algorithm(self, name: str) -> None: self.send("set_algorithm", name=name)
    def set_sweeps_per_frame(self, n: int) -> None: self.send("sweeps_per_frame", n=n)
    def anneal(self, T_from: float, T_to: float, sweeps: int) -> None:
        self.send("anneal", T_from=T_from, T_to=T_to, sweeps=sweeps)
    def quench(self, T: float, start: str = "hot") -> None: self.send("quench", T=T, start=start)
    def save_session(self, path: str, panels: dict | None = None) -> None:
        self.send("save_session", path=str(path), panels=panels)
    def load_session(self, path: str) -> None: self.send("load_session", path=str(path))

    def ack(self) -> None:
        """The GUI has drawn the last frame: the next one may be published."""
        self._acked.set()
        self._queue.put(("_wake", {}))

    def stop(self) -> None:
        """Ask the loop to end (it finishes the sweep chunk in progress first)."""
        self._stop.set()
        self._queue.put(("_wake", {}))

    # --- the loop (worker thread) ---------------------------------------------------------
    @Slot()
    def run(self) -> None:
        configure_threads()
        try:
            self.sim = Simulation(**self.simulation_kwargs)
        except Exception as err:  # noqa: BLE001 - any failure is shown, the worker waits for a fix
            self._report(err)
        while not self._stop.is_set():
            self._drain_commands(self._wait_time())
            if self._stop.is_set():
                break
            if self._busy() and not self._frame_full():
                self._guarded(self._advance, pause=True)
            self._publish_if_due()
        self.finished.emit()

    @property
    def simulation(self) -> Simulation:
        """The simulation, for commands that need one."""
        if self.sim is None:
            raise ParameterError("model", "no simulation is loaded; choose a model or open a session")
        return self.sim

    def _busy(self) -> bool:
        return self.sim is not None and not self.held and (
            self.running or self._pending_steps > 0 or self._protocol is not None)

    def _frame_full(self) -> bool:
        """With a fixed number of sweeps per frame, wait for the frame to be shown."""
        return 0 < self.sweeps_per_frame <= self._since_frame

    def _wait_time(self) -> float | None:
        """How long the loop may block on the queue: not at all while there are sweeps to run,
        until the next frame is due when one waits to be published, else until a command or an
        ack arrives (both come through the queue)."""
        if self._busy() and not self._frame_full():
            return 0.0
        if self._dirty and self._acked.is_set() and self.sim is not None:
            return max(0.0, self._last_publish + self.min_interval - time.perf_counter())
        return None

    def _drain_commands(self, wait: float | None) -> None:
        """Run every queued command, first waiting up to ``wait`` seconds (None: forever) for one."""
        try:
            item = self._queue.get(timeout=wait) if wait != 0.0 else self._queue.get_nowait()
        except queue.Empty:
            return
        while True:
            command, kwargs = item
            if command != "_wake":
                self._guarded(getattr(self, f"_do_{command}"), pause=False, **kwargs)
                self._dirty = True
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return

    def _guarded(self, fn, pause: bool, **kwargs) -> None:
        """Run ``fn``; an exception is reported. A failed command changes nothing (the command
        validates before it acts); a failed sweep also pauses, so the error is not repeated."""
        try:
            fn(**kwargs)
        except Exception as err:  # noqa: BLE001 - the worker must survive anything the engine raises
            self._report(err, pause)

    def _report(self, err: Exception, pause: bool = True) -> None:
        if pause:
            self.running = False
            self._pending_steps = 0
            self._protocol = None
        self._dirty = True
        message = str(err) if isinstance(err, (ParameterError, OSError)) else f"{type(err).__name__}: {err}"
        self.error.emit(message)

    def _advance(self) -> None:
        n = self._chunk
        if self.sweeps_per_frame:
            n = min(n, self.sweeps_per_frame - self._since_frame)
        if self._pending_steps:
            n = min(n, self._pending_steps)
        if self._protocol is not None:
            p = self._protocol
            n = min(n, max(1, p.sweeps // 200), p.sweeps - p.done)
            self.sim.set_params(T=p.T())
        t0 = time.perf_counter()
        self.sim.step(n)
        elapsed = time.perf_counter() - t0
        self._chunk = max(1, min(1000, int(CHUNK_SECONDS * n / max(elapsed, 1e-9))))
        self._since_frame += n
        self._dirty = True
        if self._pending_steps:
            self._pending_steps -= n
        if self._protocol is not None:
            self._protocol.done += n
            if self._protocol.done >= self._protocol.sweeps:
                self.sim.set_params(T=self._protocol.T_to)
                self._protocol = None
                self.running = False

    def _publish_if_due(self) -> None:
        if not (self._dirty and self._acked.is_set() and self.sim is not None):
            return
        now = time.perf_counter()
        if now - self._last_publish < self.min_interval:
            return
        snapshot = self._snapshot(now)
        self._acked.clear()
        self._dirty = False
        self._since_frame = 0
        self._last_publish = now
        self.frame.emit(snapshot)

    def _snapshot(self, now: float) -> dict:
        """The simulation's snapshot (XY: with vortex positions, computed here in the worker
        thread) plus what only the worker knows: wall-clock rates, run state, protocol."""
        snap = self.sim.snapshot()
        t0, sweep0 = self._rate_clock
        first = self._rate["sweeps_per_s"] == 0 and snap["sweep"] > sweep0
        if now - t0 >= 0.25 or first or sweep0 > snap["sweep"]:
            rate = max(snap["sweep"] - sweep0, 0) / (now - t0)
            self._rate = {"sweeps_per_s": rate, "sites_per_s": rate * self.sim.model.N * self.sim.B}
            self._rate_clock = (now, snap["sweep"])
        snap["rate"] = dict(self._rate) if self._busy() else {"sweeps_per_s": 0.0, "sites_per_s": 0.0}
        snap["running"] = self._busy()
        snap["held"] = self.held
        snap["protocol"] = self._protocol.describe() if self._protocol else None
        return snap

    # --- command implementations (worker thread) -------------------------------------------
    def _do_play(self) -> None:
        self.running = True

    def _do_pause(self) -> None:
        self.running = False
        self._protocol = None
        self._pending_steps = 0

    def _do_hold(self, on: bool) -> None:
        """Suspend whatever runs (play, steps, a protocol) without dropping it, or go on with it."""
        self.held = bool(on)

    def _do_step(self, n: int = 1) -> None:
        self.running = False
        self._pending_steps += _positive_int("n", n)

    def _do_reset(self, start: str | None = None) -> None:
        self._protocol = None
        self._pending_steps = 0
        self.simulation.reset(start=start)

    def _do_set_params(self, **params) -> None:
        if "T" in params:
            self._protocol = None  # the user took over the temperature
        self.simulation.set_params(**params)

    def _do_set_model(self, **simulation_kwargs) -> None:
        """Build a new Simulation; on failure the old one keeps running."""
        sim = Simulation(**simulation_kwargs)
        self.sim, self.simulation_kwargs = sim, simulation_kwargs
        self._protocol = None
        self._pending_steps = 0
        self._rate_clock = (time.perf_counter(), 0)

    def _do_set_algorithm(self, name: str) -> None:
        self.simulation.set_algorithm(name)

    def _do_sweeps_per_frame(self, n: int) -> None:
        if isinstance(n, bool) or int(n) != n or n < 0:
            raise ParameterError("sweeps_per_frame",
                                 f"must be 0 (as fast as possible) or a positive integer, got {n!r}")
        self.sweeps_per_frame = int(n)

    def _do_anneal(self, T_from: float, T_to: float, sweeps: int) -> None:
        sweeps = _positive_int("sweeps", sweeps)
        as_batch("T", T_to, positive=True)  # validate before anything changes
        self.simulation.set_params(T=T_from)
        self._protocol = Anneal(float(T_from), float(T_to), sweeps)
        self._pending_steps = 0

    def _do_quench(self, T: float, start: str = "hot") -> None:
        """Start from a fresh ``start`` state at temperature ``T`` and run."""
        if start not in ("hot", "cold"):
            raise ParameterError("start", f"must be 'hot' or 'cold', got {start!r}")
        self._protocol = None
        self._pending_steps = 0
        self.simulation.set_params(T=T)
        self.simulation.reset(start=start)
        self.running = True

    def _do_save_session(self, path: str, panels: dict | None = None) -> None:
        """The simulation and ``panels`` (the panels' results, :meth:`Simulation.save`) into one file."""
        self.simulation.save(path, panels)
        self.notice.emit(f"Session saved to {path}")

    def _do_load_session(self, path: str) -> None:
        """Replace the simulation by the saved one; a bad file leaves everything unchanged."""
        self.sim = Simulation.load(path, device=self.simulation_kwargs.get("device"))
        self._protocol = None
        self._pending_steps = 0
        self._rate_clock = (time.perf_counter(), self.simulation.snapshot()["sweep"])
        self.notice.emit(f"Session loaded from {path}")
        self.session_loaded.emit(path)


class WorkerThread:
    """An :class:`EngineWorker` in its own QThread, with a clean :meth:`shutdown`."""

    def __init__(self, worker: EngineWorker):
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName("rgviz-engine")
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        worker.finished.connect(self.thread.quit)

    def start(self) -> None:
        self.thread.start()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop the loop, quit the thread and wait for it; True when it has ended."""
        self.worker.stop()
        self.thread.quit()
        return self.thread.wait(timeout_ms)

    def is_running(self) -> bool:
        return self.thread.isRunning()
