"""GUI throughput: does the live window keep up with the engine, and does it stay responsive?

Runs, in one process, a 512 x 512 Ising lattice at Tc (checkerboard Metropolis):
1. headless: ``Simulation.step`` flat out (the baseline, measured before and after the GUI run),
2. the main window under Xvfb (started if there is no display) for a fixed time.
Reports displayed frames/s, engine flips/s in the GUI as a fraction of headless, and the
p50/p99 lateness of a 5 ms timer in the GUI thread (how long a click would wait). JSON to --out.

Targets on 2 cores: >= 30 frames/s, >= 0.8 of headless, p99 lateness <= 30 ms.

    python benchmarks/bench_gui.py [--L 512] [--seconds 10] [--device auto] [--out benchmarks/results/bench_gui.json]
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


def gui_run(L: int, device: str, seconds: float) -> dict:
    from PySide6.QtCore import QElapsedTimer, QSettings, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from rgviz.mainwindow import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "bench.ini"), QSettings.Format.IniFormat)
    window = MainWindow({"model": "ising", "L": L, "T": TC_ISING, "seed": 0, "device": device}, settings=settings)
    window.resize(1400, 900)
    window.show()
    deadline = time.monotonic() + 60
    while (window.last_snapshot is None or window.last_snapshot["sweep"] < 5) and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.001)

    ticks: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(lambda: ticks.append(clock.nsecsElapsed() * 1e-9))
    timer.start(5)
    sweep0, frames0, t0 = window.last_snapshot["sweep"], window.frames_shown, time.perf_counter()
    QTimer.singleShot(int(seconds * 1000), app.quit)
    app.exec()
    elapsed = time.perf_counter() - t0
    timer.stop()
    sweeps, frames = window.last_snapshot["sweep"] - sweep0, window.frames_shown - frames0
    window.close()
    lateness = np.maximum(np.diff(ticks) - 0.005, 0.0) * 1e3
    return {"frames_per_s": frames / elapsed, "flips_per_s": sweeps * L * L / elapsed,
            "timer_lateness_ms_p50": float(np.percentile(lateness, 50)),
            "timer_lateness_ms_p99": float(np.percentile(lateness, 99)), "device": window.device}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--L", type=int, default=512)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "bench_gui.json"))
    args = parser.parse_args(argv)
    threads = configure_threads()
    before = headless_flips(args.L, args.device, args.seconds / 2)
    with virtual_display():
        gui = gui_run(args.L, args.device, args.seconds)
    after = headless_flips(args.L, args.device, args.seconds / 2)
    headless = (before + after) / 2
    result = {"L": args.L, "seconds": args.seconds, "threads": threads, "headless_flips_per_s": headless,
              **gui, "gui_over_headless": gui["flips_per_s"] / headless,
              "targets": {"frames_per_s": 30, "gui_over_headless": 0.8, "timer_lateness_ms_p99": 30}}
    result["load_average"] = os.getloadavg()  # other processes on the machine skew every number here
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"displayed {gui['frames_per_s']:.1f} frames/s; engine {gui['flips_per_s'] / 1e6:.1f} M flips/s in the GUI "
          f"= {result['gui_over_headless']:.2f} of headless ({headless / 1e6:.1f} M/s); 5 ms timer lateness "
          f"p50 {gui['timer_lateness_ms_p50']:.1f} ms, p99 {gui['timer_lateness_ms_p99']:.1f} ms ({gui['device']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
