"""Time-series panel: energy per site and |m| (XY: vortex density) against sweeps.

Each observable is drawn raw (pale) with its running mean over a trailing window (red), so
that thermalisation and the effect of a parameter change are visible at a glance. The panel
shows the snapshot's tail of each series (a few thousand samples).

The curves are plain Qt path items, painted by Qt in C++ without the GIL (pyqtgraph's curves
paint in Python, holding the GIL that the engine thread needs between its torch calls, as their
data processing does on every update). The axis ranges follow the data in steps
(:func:`held_range`) instead of pyqtgraph's auto-range, which moves them on every update: each
move makes every axis regenerate its ticks in Python, and that, with auto-range's own
bookkeeping, was most of the GUI thread's time in a live run. Zooming or panning by hand stops
the following; the plot's "A" button starts it again.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QPainterPath
from PySide6.QtWidgets import QGraphicsPathItem, QLabel, QSpinBox, QWidget

from .panel import Panel
from .plotting import MIN_CELL, GraphicsLayoutWidget, prepare_live_plot, running_mean
from .widgets import view_with_bar

#: (series key, axis label) of the two plots per model.
OBSERVABLES = {
    "ising": (("energy", "E / N"), ("abs_m", "|m|")),
    "xy": (("energy", "E / N"), ("vortex_density", "vortex density")),
    "phi4": (("energy", "S / N"), ("abs_m", "|phi|")),
}


def nice_ceil(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is >= ``x`` (> 0)."""
    power = 10.0 ** np.floor(np.log10(x))
    return next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= x * (1 - 1e-12))


def held_range(current: tuple[float, float], lo: float, hi: float, grow: bool) -> tuple[float, float] | None:
    """A new view range for data spanning [lo, hi], or None when ``current`` may stay.

    It changes only when the data leave it or fill less than a third of it. ``grow`` (the
    sweep axis, which only grows) starts at ``lo`` and leaves room up to a round span of 1.25 times
    the data's, so the range moves a few times per decade of sweeps; otherwise the data are padded by
    5% on either side.
    """
    span = hi - lo
    if not span > 0:  # one point, or constant data
        span = 1.0 if grow else max(abs(hi), 1.0) * 1e-3
        lo, hi = (lo, lo + span) if grow else (lo - span / 2, hi + span / 2)
    a, b = current
    if a <= lo and hi <= b and (b - a) <= 3 * span:
        return None
    if grow:
        return lo, lo + nice_ceil(1.25 * span)
    return lo - 0.05 * span, hi + 0.05 * span


def curve(plot: pg.PlotItem, colour: tuple[int, int, int]) -> QGraphicsPathItem:
    """An empty curve in ``plot``: a Qt path item drawn with a one-pixel line.

    Width 0 is Qt's one-pixel line at any zoom, and keeps the item's bounds those of its data
    (the "A" button ranges on them); wider lines Qt strokes in software, 2.5 ms more per repaint.
    """
    item = QGraphicsPathItem()
    item.setPen(pg.mkPen(colour, width=0))
    plot.addItem(item)
    return item


class TimeSeriesView(Panel, QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = ""
        self.plots = GraphicsLayoutWidget()
        self.curves = []
        for row in range(2):
            plot = self.plots.addPlot(row=row, col=0)
            # no grid: drawn across the plot with alpha in software (Xvfb, most VMs) it made each
            # axis repaint take 10 ms of the GUI thread (and of the GIL the engine needs)
            plot.getAxis("left").enableAutoSIPrefix(False)  # |m| ticks as 0.2, not 200 (x0.001)
            prepare_live_plot(plot)
            raw, mean = curve(plot, (120, 120, 200)), curve(plot, (230, 50, 20))
            plot.disableAutoRange()  # ranges follow the data in steps instead, see the module docstring
            plot.getViewBox().sigRangeChangedManually.connect(lambda _, p=plot: self._follow.update({p: False}))
            self.curves.append((plot, raw, mean))
        self.plots.setMinimumHeight(2 * MIN_CELL.height() - 90)  # the upper plot shares the lower's sweep axis
        self.curves[1][0].setXLink(self.curves[0][0])
        self.curves[1][0].setLabel("bottom", "sweep")
        self.curves[0][0].hideAxis("bottom")  # shared with the plot below; one axis fewer to redraw
        #: plot -> whether its ranges follow the data (see the module docstring)
        self._follow = {plot: True for plot, _, _ in self.curves}

        self.window = QSpinBox()
        self.window.setRange(1, 1_000_000)
        self.window.setValue(100)
        self.window.setSuffix(" sweeps")
        self.window.setToolTip("Window of the running mean (red line)")
        self.readout = QLabel(" ")
        view_with_bar(self, self.plots, ["Running mean over", self.window], self.readout)

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
                raw.setPath(QPainterPath())
                mean.setPath(QPainterPath())
                continue
            avg = running_mean(y[:n], self.window.value())
            raw.setPath(pg.arrayToQPath(x[:n], y[:n], connect="finite"))
            mean.setPath(pg.arrayToQPath(x[:n], avg, connect="finite"))
            self._follow_data(plot, x[:n], y[:n])
            text.append(f"{label} = {avg[-1]:.4f}")
        self.readout.setText("   ".join(text) or " ")

    def _follow_data(self, plot: pg.PlotItem, x: np.ndarray, y: np.ndarray) -> None:
        """Move the plot's ranges in steps to hold the data, unless the user took over (see module docstring)."""
        box = plot.getViewBox()
        if any(box.autoRangeEnabled()):  # pyqtgraph's "A" button or "View all": follow again
            box.disableAutoRange()
            self._follow[plot] = True
        if not self._follow[plot]:
            return
        finite = y[np.isfinite(y)]
        (x_range, y_range) = box.viewRange()
        if plot is self.curves[0][0]:  # the lower plot's x axis is linked to this one
            new_x = held_range(tuple(x_range), float(x[0]), float(x[-1]), grow=True)
            if new_x is not None:
                box.setXRange(*new_x, padding=0)
        if finite.size:
            new_y = held_range(tuple(y_range), float(finite.min()), float(finite.max()), grow=False)
            if new_y is not None:
                box.setYRange(*new_y, padding=0)
