"""Make ``resources/screenshot.png`` (for the README): the main window on a live Ising lattice.

Runs the window on a real X display (Xvfb is started when there is none), lets a 256 x 256
Ising lattice coarsen at Tc from a hot start for a few seconds, and grabs the window.

    python scripts/screenshot.py [--out resources/screenshot.png] [--seconds 6] [--model ising]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rgviz.display import virtual_display


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "resources" / "screenshot.png"))
    parser.add_argument("--seconds", type=float, default=6.0, help="how long the simulation runs first")
    parser.add_argument("--model", default="ising", choices=("ising", "xy", "phi4"))
    parser.add_argument("--L", type=int, default=256)
    args = parser.parse_args(argv)
    with virtual_display(1600, 1000):
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication

        from rgviz.app import parse_args, simulation_kwargs
        from rgviz.mainwindow import MainWindow
        from rgviz.ui.registry import PANELS

        app = QApplication.instance() or QApplication([sys.argv[0]])
        settings = QSettings(str(Path(tempfile.mkdtemp()) / "layout.ini"), QSettings.Format.IniFormat)
        kwargs = simulation_kwargs(parse_args(["--model", args.model, "--L", str(args.L)]))
        window = MainWindow(kwargs, settings=settings, panels=PANELS)  # default layout
        window.resize(1400, 900)
        window.show()
        if args.model == "xy":
            window.panels["lattice"].vortex_box.setChecked(True)
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.005)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        ok = window.grab().save(args.out)
        window.close()
    print(f"wrote {args.out}" if ok else f"could not write {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
