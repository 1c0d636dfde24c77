"""``rgviz-batch``: the engine's CLI with figures rendered to PNG, SVG and PDF.

``python -m engine`` writes figure data only; this entry point adds a QApplication without a
window (offscreen when there is no display) and installs :func:`rgviz.figures.render`.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform in ("win32", "darwin")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    import engine.cli
    import engine.figures

    from .figures import render

    app = QApplication.instance() or QApplication([sys.argv[0]])  # noqa: F841 - must outlive the run
    engine.figures.set_renderer(render)
    try:
        return engine.cli.main(argv)
    finally:
        engine.figures.set_renderer(None)


if __name__ == "__main__":
    sys.exit(main())
