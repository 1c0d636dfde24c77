"""Time-series panel: energy per site and |m| (XY: vortex density) against sweeps.

Each observable is drawn raw (thin) with its running mean over a trailing window (thick), so
that thermalisation and the effect of a parameter change are visible at a glance. pyqtgraph
down-samples and clips long series, which keeps redraws cheap after millions of sweeps.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

#: (series key, axis label) of the two plots per model.
OBSERVABLES = {
    "ising": (("energy", "E / N"), ("abs_m", "|m|")),
    "xy": (("energy", "E / N"), ("vortex_density", "vortex density")),
    "phi4": (("energy", "S / N"), ("abs_m", "|phi|")),
}


def running_mean(y: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values at each point (fewer at the start)."""
    c = np.cumsum(np.concatenate([[0.0], np.asarray(y, float)]))
    n = np.arange(1, len(y) + 1)
    lo = np.maximum(n - window, 0)
    return (c[n] - c[lo]) / (n - lo)


class TimeSeriesView(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = ""
        self.plots = pg.GraphicsLayoutWidget()
        self.curves = []
        for row in range(2):
            plot = self.plots.addPlot(row=row, col=0)
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
            # no grid: drawn across the plot with alpha in software (Xvfb, most VMs) it made each
            # axis repaint take 10 ms of the GUI thread (and of the GIL the engine needs)
            plot.getAxis("left").enableAutoSIPrefix(False)  # |m| ticks as 0.2, not 200 (x0.001)
            raw = plot.plot(pen=pg.mkPen((120, 120, 200), width=1))
            mean = plot.plot(pen=pg.mkPen((220, 60, 30), width=2))
            self.curves.append((plot, raw, mean))
        self.curves[1][0].setXLink(self.curves[0][0])
        self.curves[1][0].setLabel("bottom", "sweep")
        self.curves[0][0].hideAxis("bottom")  # shared with the plot below; one axis fewer to redraw

        self.window = QSpinBox()
        self.window.setRange(1, 1_000_000)
        self.window.setValue(100)
        self.window.setSuffix(" sweeps")
        self.window.setToolTip("Window of the running mean (thick line)")
        self.readout = QLabel(" ")
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Running mean over"))
        bar.addWidget(self.window)
        bar.addStretch(1)
        bar.addWidget(self.readout)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.plots, 1)
        layout.addLayout(bar)

    def figure_widget(self) -> QWidget:
        return self.plots

    def show_frame(self, snapshot: dict) -> None:
        model = snapshot["model"]
        if model != self.model:
            self.model = model
            for (plot, _, _), (_, label) in zip(self.curves, OBSERVABLES[model]):
                plot.setLabel("left", label)
        series = snapshot.get("series") or {}
        x = np.asarray(series.get("sweep", ()))
        text = []
        for (plot, raw, mean), (key, label) in zip(self.curves, OBSERVABLES[model]):
            y = np.asarray(series.get(key, ()))
            n = min(len(x), len(y))
            if n == 0:
                raw.setData([], [])
                mean.setData([], [])
                continue
            avg = running_mean(y[:n], self.window.value())
            raw.setData(x[:n], y[:n], skipFiniteCheck=True)
            mean.setData(x[:n], avg, skipFiniteCheck=True)
            text.append(f"{label} = {avg[-1]:.4f}")
        self.readout.setText("   ".join(text) or " ")
