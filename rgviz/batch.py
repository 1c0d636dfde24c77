"""``rgviz-batch``: the engine's CLI with figures rendered to PNG, SVG and PDF.

``python -m engine`` writes figure data only; this entry point installs :func:`rgviz.figures.render`, which
starts a QApplication without a window (offscreen when there is no display) when the first figure is drawn:
help, argument errors and runs without figures never load Qt.
"""

from __future__ import annotations

import os
import sys

import engine.cli
import engine.figures

_app = None  # the QApplication, kept for the rest of the run once a figure needed it


def _render(fig, out_dir):
    """:func:`rgviz.figures.render`, starting Qt first if this is the run's first figure."""
    global _app
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform in ("win32", "darwin")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from .figures import render

    _app = QApplication.instance() or QApplication([sys.argv[0]])
    return render(fig, out_dir)


def main(argv: list[str] | None = None) -> int:
    engine.figures.set_renderer(_render)
    try:
        return engine.cli.main(argv)
    finally:
        engine.figures.set_renderer(None)


if __name__ == "__main__":
    sys.exit(main())
