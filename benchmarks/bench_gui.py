"""GUI throughput: does the live window keep up with the engine, and does it stay responsive?

Runs, in one process, a 512 x 512 Ising lattice at Tc (checkerboard Metropolis): one main window
under Xvfb (started if there is no display) and, alternating with it, the same engine headless:

    headless, window, headless, window, ..., headless        (``--rounds`` window segments)

Headless runs ``Simulation.step`` flat out in the main thread for ``--headless-seconds`` while
the window's worker is paused (the event loop is not running, so nothing is drawn). Each window
segment runs the worker and the event loop for ``--seconds``: in its first half nothing else
runs (displayed frames/s, the engine's flips/s); in its second half a 5 ms timer in the GUI
thread measures how late the event loop is (how long a click would wait). Each segment's
engine rate is divided by the mean of the two headless runs around it.

Why interleaved: this machine's speed drifts by 10-40% over tens of seconds (the headless rate
alone moves between 90 and 150 M flips/s from one minute to the next), so a baseline is only
comparable with what ran within seconds of it.

The probe is kept out of the first half because it is not free: 200 Python callbacks a second
in the GUI thread take the GIL from the engine thread as often. The engine's rate while probing
is reported as well (``gui_over_headless_probed``). Reports the medians over segments of
displayed frames/s and engine flips/s in the GUI as a fraction of headless, and the p50/p99
lateness over all segments' ticks. JSON to --out.

Targets on 2 cores: >= 30 frames/s, >= 0.8 of headless, p99 lateness <= 30 ms.

    python benchmarks/bench_gui.py [--L 512] [--seconds 2] [--headless-seconds 1] [--rounds 24]
                                   [--device auto] [--out ...]

Many short segments, because one segment's ratio scatters by about 0.08 (standard deviation over
30 segments): the median of 24 is good to about +-0.02.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.device import configure_threads
from engine.exact import TC_ISING
from engine.session import Simulation
from rgviz.display import virtual_display
from rgviz.worker import CHUNK_SECONDS


def headless_flips(L: int, device: str, seconds: float) -> float:
    """Attempted flips per second of ``Simulation.step`` alone, in chunks like the worker's."""
    sim = Simulation(model="ising", L=L, T=TC_ISING, seed=0, device=device)
    sim.step(5)
    t0 = time.perf_counter()
    sweep0 = sim.sweep
    chunk = 1
    while time.perf_counter() - t0 < seconds:
        t = time.perf_counter()
        sim.step(chunk)
        chunk = max(1, min(1000, int(CHUNK_SECONDS * chunk / max(time.perf_counter() - t, 1e-9))))
    return (sim.sweep - sweep0) * sim.model.N / (time.perf_counter() - t0)


class LiveWindow:
    """The main window, running or paused, measured in segments of its own event loop."""

    def __init__(self, L: int, device: str):
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication

        from rgviz.mainwindow import MainWindow

        self.app = QApplication.instance() or QApplication([sys.argv[0]])
        settings = QSettings(str(Path(tempfile.mkdtemp()) / "bench.ini"), QSettings.Format.IniFormat)
        self.window = MainWindow({"model": "ising", "L": L, "T": TC_ISING, "seed": 0, "device": device},
                                 settings=settings)
        self.window.resize(1400, 900)
        self.window.show()
        self.L = L
        self._until(lambda s: s["sweep"] >= 5)

    def _until(self, done, timeout: float = 60.0) -> None:
        """Process events until ``done(last snapshot)``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.app.processEvents()
            snap = self.window.last_snapshot
            if snap is not None and done(snap):
                return
            time.sleep(0.001)
        raise RuntimeError("the window's engine did not respond")

    def pause(self) -> None:
        """Stop the engine and wait until it has stopped (its last frame says so)."""
        self.window.worker.pause()
        self._until(lambda s: not s["running"])

    def segment(self, seconds: float) -> dict:
        """Run for ``seconds``: unprobed first half, 5 ms lateness probe in the second."""
        from PySide6.QtCore import QElapsedTimer, QEventLoop, Qt, QTimer

        self.window.worker.play()
        self._until(lambda s: s["running"])
        ticks: list[float] = []
        clock = QElapsedTimer()
        clock.start()
        probe = QTimer()
        probe.setTimerType(Qt.TimerType.PreciseTimer)
        probe.timeout.connect(lambda: ticks.append(clock.nsecsElapsed() * 1e-9))
        marks: list[tuple[float, int, int]] = []  # (time, sweep shown, frames shown) at start, half time, end

        def mark() -> None:
            marks.append((time.perf_counter(), self.window.last_snapshot["sweep"], self.window.frames_shown))

        # a loop of its own per segment: once quit, the application's loop did not run the window's worker
        # again (a second app.exec() measured 0 flips/s)
        loop = QEventLoop()
        mark()
        QTimer.singleShot(int(seconds * 500), lambda: (mark(), probe.start(5)))
        QTimer.singleShot(int(seconds * 1000), lambda: (mark(), loop.quit()))
        loop.exec()
        probe.stop()
        self.pause()

        def rates(a: tuple, b: tuple) -> tuple[float, float]:
            return (b[2] - a[2]) / (b[0] - a[0]), (b[1] - a[1]) * self.L**2 / (b[0] - a[0])

        (fps, flips), (fps_probed, flips_probed) = rates(*marks[:2]), rates(*marks[1:])
        return {"frames_per_s": fps, "flips_per_s": flips, "frames_per_s_probed": fps_probed,
                "flips_per_s_probed": flips_probed, "ticks": ticks}

    def close(self) -> None:
        self.window.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--L", type=int, default=512)
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each window segment")
    parser.add_argument("--headless-seconds", type=float, default=1.0, help="length of each headless run")
    parser.add_argument("--rounds", type=int, default=24, help="window segments")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "bench_gui.json"))
    args = parser.parse_args(argv)
    threads = configure_threads()
    rounds, ticks = [], []
    with virtual_display():
        live = LiveWindow(args.L, args.device)
        live.pause()
        headless = [headless_flips(args.L, args.device, args.headless_seconds)]
        for _ in range(args.rounds):
            gui = live.segment(args.seconds)
            headless.append(headless_flips(args.L, args.device, args.headless_seconds))
            base = (headless[-2] + headless[-1]) / 2
            ticks.append(np.diff(gui.pop("ticks")))
            rounds.append({**gui, "headless_flips_per_s": base, "gui_over_headless": gui["flips_per_s"] / base,
                           "gui_over_headless_probed": gui["flips_per_s_probed"] / base})
            print(f"  segment: {gui['frames_per_s']:.1f} frames/s, engine {gui['flips_per_s'] / 1e6:.1f} M/s = "
                  f"{rounds[-1]['gui_over_headless']:.2f} of headless ({base / 1e6:.1f} M/s); while probing "
                  f"{rounds[-1]['gui_over_headless_probed']:.2f}", flush=True)
        device = live.window.device
        live.close()
    lateness = np.maximum(np.concatenate(ticks) - 0.005, 0.0) * 1e3
    median = {key: float(np.median([r[key] for r in rounds]))
              for key in ("frames_per_s", "gui_over_headless", "gui_over_headless_probed", "headless_flips_per_s")}
    result = {"L": args.L, "seconds": args.seconds, "headless_seconds": args.headless_seconds, "threads": threads,
              "device": device, **median,
              "timer_lateness_ms_p50": float(np.percentile(lateness, 50)),
              "timer_lateness_ms_p99": float(np.percentile(lateness, 99)), "rounds": rounds,
              "targets": {"frames_per_s": 30, "gui_over_headless": 0.8, "timer_lateness_ms_p99": 30},
              "load_average": os.getloadavg()}  # other processes on the machine skew every number here
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"median of {args.rounds} segments: displayed {result['frames_per_s']:.1f} frames/s; engine in the GUI = "
          f"{result['gui_over_headless']:.2f} of headless ({result['headless_flips_per_s'] / 1e6:.1f} M/s), "
          f"{result['gui_over_headless_probed']:.2f} while probing; 5 ms timer lateness p50 "
          f"{result['timer_lateness_ms_p50']:.1f} ms, p99 {result['timer_lateness_ms_p99']:.1f} ms "
          f"({result['device']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
