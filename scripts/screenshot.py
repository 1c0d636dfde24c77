"""Make ``resources/screenshot.png`` (for the README): the main window on a live Ising lattice; with
``--panels DIR``, also one screenshot of the window per panel, each after a short run of that panel.

Runs the window at 1400 x 900 on a real X display (Xvfb is started when there is none), lets a
256 x 256 Ising lattice coarsen at Tc from a hot start for a few seconds, and grabs the window.
With ``--panels`` each panel is brought to the front in turn after its short run (a small sweep,
RG flow and tau_int scan, a bulk analysis, sandpile avalanches, and samples of shipped checkpoints:
a few minutes on one core) and saved as ``DIR/<panel>.png`` with at most 256 colours (small files for the docs).

    python scripts/screenshot.py [--out resources/screenshot.png] [--seconds 6] [--model ising]
    python scripts/screenshot.py --panels docs/screenshots
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


def settle(app, seconds: float, until=lambda: False) -> None:
    """Run the event loop for ``seconds`` or until ``until()`` holds."""
    end = time.monotonic() + seconds
    while time.monotonic() < end and not until():
        app.processEvents()
        time.sleep(0.005)


def short_runs(window, app) -> None:
    """A short run in every panel that computes: what a screenshot of it shows."""
    from engine.resources import shipped

    panels = window.panels
    phase = panels["phase"]
    phase.sizes.setText("8 16")
    phase.t_n.setValue(9)
    phase.sweeps.setValue(300)
    phase.thermalize.setValue(100)
    ising = panels["rgflow"].ising
    ising.samples.setValue(200)
    dynamics = panels["dynamics"]
    dynamics.sizes.setText("8 16")
    dynamics.t_n.setValue(3)
    dynamics.sweeps.setValue(1000)
    bulk = panels["bulk"]
    bulk.samples.setValue(1024)
    sandpile = panels["sandpile"]
    sandpile.sizes.setText("16 32")
    sandpile.grains.setValue(4000)
    for panel, start in ((phase, phase.start), (ising, ising.start), (dynamics, dynamics.start),
                         (bulk, bulk.start_analysis), (sandpile, sandpile.start)):
        start()
        settle(app, 600, lambda: panel.job is not None and panel.job.is_done)
    # the Deep networks panel computes its first (mean-field) tab when shown; the others load a shipped flow
    for panel, checkpoint in ((panels["neuralrg"], "phi4_L8_crit"), (panels["images"], "images_L16")):
        for step in (lambda: panel.load(shipped()[checkpoint]), panel.generate):
            job = step()  # a Job, or None or True where the panel answers at once
            settle(app, 120, lambda: getattr(job, "is_done", True))


def save_small(image, path: Path) -> bool:
    """``image`` as a PNG of at most 256 colours (a screenshot's flat colours lose nothing visible)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage

    flags = Qt.ImageConversionFlag.ThresholdDither | Qt.ImageConversionFlag.AvoidDither
    return image.convertToFormat(QImage.Format.Format_Indexed8, flags).save(str(path), "PNG", 9)


def panel_shots(window, app, folder: Path) -> list[Path]:
    """Every panel in front (each tab of a tabbed panel: its first), one screenshot each."""
    folder.mkdir(parents=True, exist_ok=True)
    short_runs(window, app)
    written = []
    for key in window.docks:
        window.bring_to_front(key)
        settle(app, 1.5)
        path = folder / f"{key}.png"
        if save_small(window.grab().toImage(), path):
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "resources" / "screenshot.png"))
    parser.add_argument("--seconds", type=float, default=6.0, help="how long the simulation runs first")
    parser.add_argument("--model", default="ising", choices=("ising", "xy", "phi4"))
    parser.add_argument("--L", type=int, default=256)
    parser.add_argument("--panels", metavar="DIR", help="also one screenshot per panel, after a short run, into DIR")
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
        if args.panels:
            for path in panel_shots(window, app, Path(args.panels)):
                print(f"wrote {path} ({path.stat().st_size // 1024} KB)")
        window.close()
        window.deleteLater()  # the window and its GL views go while the X server is still there
        settle(app, 1.0)
    print(f"wrote {args.out}" if ok else f"could not write {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
