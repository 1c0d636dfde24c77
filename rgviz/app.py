"""``rgviz``: open the main window on a live simulation (default: 256 x 256 Ising near Tc)."""

from __future__ import annotations

import argparse
import os
import signal
import sys

MODELS = ("ising", "xy", "phi4")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="rgviz", description=__doc__)
    parser.add_argument("--model", choices=MODELS, default="ising", help="lattice model (default: ising)")
    parser.add_argument("--L", type=int, default=256, help="linear lattice size, even (default: 256)")
    parser.add_argument("--T", type=float, default=None,
                        help="temperature (default: Tc for Ising, T_KT for XY; not used by phi4)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")
    parser.add_argument("--session", metavar="FILE", help="open a saved session")
    parser.add_argument("--paused", action="store_true", help="start paused")
    return parser.parse_args(argv)


def simulation_kwargs(args: argparse.Namespace) -> dict:
    """Simulation arguments from the options; T defaults to the model's transition."""
    from engine import exact

    kwargs = {"model": args.model, "L": args.L, "seed": args.seed, "device": args.device}
    if args.model != "phi4":
        kwargs["T"] = args.T if args.T is not None else (exact.TC_ISING if args.model == "ising" else exact.T_KT_XY)
    return kwargs


INTERRUPTED = 130  # the shell's status for a process ended by SIGINT


def main(argv: list[str] | None = None) -> int:
    """Run the application; returns the exit status (130 after Ctrl+C, with the one line "rgviz: interrupted").

    Launched from the command line (``argv`` None), the process ends with ``os._exit`` as soon
    as the window has closed, the worker thread has been joined and the settings are written:
    tearing down torch and Qt at interpreter exit takes seconds on a busy machine and adds
    nothing once everything the user owns is saved. Ctrl+C before the window is up (while torch
    and Qt load, or the window is built) ends the process at once: nothing the user owns exists yet.
    Python's own KeyboardInterrupt is not enough there: sent while Qt's libraries loaded, it was lost
    and the window opened anyway.
    """
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if argv is None:
        signal.signal(signal.SIGINT, _interrupted_while_starting)
    try:
        status = _run(args)
    except KeyboardInterrupt:
        status = INTERRUPTED
    if status == INTERRUPTED:
        print("rgviz: interrupted", file=sys.stderr, flush=True)
    if argv is None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status


def _interrupted_while_starting(*_) -> None:
    print("rgviz: interrupted", file=sys.stderr, flush=True)
    os._exit(INTERRUPTED)


def _run(args: argparse.Namespace) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from .mainwindow import MainWindow
    from .ui.registry import PANELS

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("rgviz")
    app.setOrganizationName("rgviz")
    window = MainWindow(simulation_kwargs(args), play=not args.paused and not args.session,
                        panels=PANELS)
    if args.session:
        window.worker.load_session(args.session)
    window.show()
    print(f"rgviz: {args.model}, L = {args.L}, on {window.device}", file=sys.stderr, flush=True)
    # From now on Ctrl+C closes the window cleanly; the timer lets Python run its signal handlers.
    interrupted = []

    def on_sigint(*_) -> None:
        interrupted.append(True)
        QTimer.singleShot(0, window.close)  # in the event loop, whose end it is (it may not run yet)

    signal.signal(signal.SIGINT, on_sigint)
    tick = QTimer()
    tick.timeout.connect(lambda: None)
    tick.start(250)
    app.exec()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    return INTERRUPTED if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
