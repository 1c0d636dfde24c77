"""The lattice as a figure worth exporting: what File > Export figure renders for the lattice panel.

The live view is built for speed (a black view box around a bare image); a figure needs a title
that says what it shows (model, L, the couplings, the sweep), a key to its colours (a colour bar
of the angle or phase, or the two spins' colours) and no margins. :class:`LatticeFigure` draws
the image the live view shows on white, sized so that the square lattice fills its plot.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QApplication

from ..figures import symbols
from .colors import lookup_table
from .plotting import GraphicsLayoutWidget

MODEL_NAMES = {"ising": "Ising", "xy": "XY", "phi4": "complex phi^4"}
#: The couplings a title names, per model (the temperature, or phi^4's t, mu, lambda).
TITLE_PARAMS = {"ising": (("T", "T"), ("h", "h")), "xy": (("T", "T"),), "phi4": (("t", "t"), ("mu", "mu"),
                                                                                  ("lam", "lambda"))}
#: A figure's size before its width is fitted to make the lattice's plot square.
SIZE = QSize(830, 695)


def figure_title(model: str, L: int, params: dict, sweep: int) -> str:
    """E.g. "Ising model, L = 256, T = 2.269, sweep 1200" (a zero field is left out)."""
    parts = [f"{symbols(label)} = {float(params[key]):.4g}" for key, label in TITLE_PARAMS[model]
             if key in params and not (key == "h" and float(params[key]) == 0.0)]
    return ", ".join([f"{symbols(MODEL_NAMES[model])} model", f"L = {L}", *parts, f"sweep {sweep}"])


class LatticeFigure(GraphicsLayoutWidget):
    """``rgb`` (``[L, L, 3]``, as shown) on white with axes in sites, a title, and a key: the two spin
    colours (Ising) or a colour bar of ``cmap`` over the angle (XY) or the phase (phi^4, with the
    amplitude as brightness); ``vortices`` (XY, as the live view marks them) get markers and a key."""

    def __init__(self, rgb: np.ndarray, model: str, cmap: str, params: dict, sweep: int,
                 vortices: dict | None = None, markers: dict | None = None):
        super().__init__()
        self.setBackground("w")
        L = rgb.shape[0]
        self.plot = self.addPlot(row=0, col=0)
        self.plot.setTitle(figure_title(model, L, params, sweep), color="k", size="11pt")
        for side, label in (("bottom", "x"), ("left", "y")):
            axis = self.plot.getAxis(side)
            axis.setPen("k")
            axis.setTextPen("k")
            axis.setLabel(label, color="k")
        self.plot.addItem(pg.ImageItem(rgb, axisOrder="row-major"))
        self.plot.invertY(True)
        self.plot.setAspectLocked(True)
        self.plot.setRange(xRange=(0, L), yRange=(0, L), padding=0)
        self.plot.setMouseEnabled(False, False)
        key = []  # entries of the line below the image: (HTML colour of a symbol, symbol, text)
        if model == "ising":
            key = [(colour, "\u25a0", text) for colour, text in zip(_spin_colours(cmap), ("s = -1", "s = +1"))]
        else:
            values, label = ((0.0, 2 * np.pi), "theta") if model == "xy" else \
                ((-np.pi, np.pi), "arg phi (brightness: |phi|)")
            bar = pg.ColorBarItem(values=values, colorMap=pg.colormap.get(cmap), interactive=False, width=18, pen="k")
            axis = bar.getAxis("right")
            axis.setPen("k")
            axis.setTextPen("k")
            axis.setLabel(symbols(label), color="k")
            self.addItem(bar, row=0, col=1)
        for kind, positions in (vortices or {}).items():
            points = np.asarray(positions, float).reshape(-1, 2)
            fill, rim = (markers or {})[kind]
            self.plot.addItem(pg.ScatterPlotItem(points[:, 1] + 0.5, points[:, 0] + 0.5, symbol="o", size=9,
                                                 brush=pg.mkBrush(fill), pen=pg.mkPen(rim, width=1.5)))
            key.append(("#000000", "\u25cb" if kind == "vortex" else "\u25cf",
                        f"{kind} ({'+1' if kind == 'vortex' else '-1'}, {len(points)})"))
        if key:
            self.addLabel("&nbsp;&nbsp;&nbsp;".join(f"<span style='color:{colour}; font-size:14pt'>{mark}</span> {text}"
                                                    for colour, mark, text in key),
                          row=1, col=0, color="k", size="10pt")
        self.ci.layout.setContentsMargins(6, 6, 6, 6)
        self.resize(SIZE)
        self.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        self.show()  # laid out only when shown: off screen, so that the export renders what it proposes
        QApplication.processEvents()
        view = self.plot.getViewBox().sceneBoundingRect()  # make the data area square: the lattice fills it
        self.resize(round(self.width() - view.width() + view.height()), self.height())
        QApplication.processEvents()
        self.plot.setRange(xRange=(0, L), yRange=(0, L), padding=0)


def _spin_colours(cmap: str) -> tuple[str, str]:
    """The colours of s = -1 and s = +1 (HTML): the two ends of the map, as the live view uses them."""
    table = lookup_table(cmap)
    return tuple("#{:02x}{:02x}{:02x}".format(*table[i]) for i in (0, 255))
