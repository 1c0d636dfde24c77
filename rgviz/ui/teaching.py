"""RG teaching panels: three RG maps small enough to play with (one dock, one tab each).

- 1D Ising decimation: the cobweb plot of K' = (1/2) ln cosh 2K. Whatever K0 the slider picks,
  the staircase runs down to the stable fixed point K = 0: no phase transition in one dimension.
- The toy law df/dt = c f under t -> t / sigma: the growth rate maps to F_sigma(c) = sigma c.
  The curves f(t) = exp(c_n t) of successive rescalings fan out from c = 0, the only (unstable)
  fixed point: the behaviour changes qualitatively as the c slider crosses zero.
- Fractional Brownian motion with Hurst exponent h, generated spectrally from a seed, drawn with
  its rescaled copy f(sigma t) sigma^-h on the same axes: the two look statistically alike
  (self-similarity), which the structure function's slope 2h quantifies.

The maths is :mod:`engine.rg.teaching`; each tab only turns slider values into curves.
"""

from __future__ import annotations

from html import escape

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QTabWidget, QVBoxLayout, QWidget

from engine.rg.teaching import decimation_1d, fbm_path, flow_1d, structure_function, toy_flow

from .panel import FigureTarget, Panel
from .plotting import PlotGrid
from .widgets import SliderSpin, int_spin

PEN = {"map": pg.mkPen("#1f77b4", width=2), "diagonal": pg.mkPen("gray", width=1, style=Qt.PenStyle.DashLine),
       "cobweb": pg.mkPen("#d62728", width=1.5), "copy": pg.mkPen("#d62728", width=1.5),
       "path": pg.mkPen("#1f77b4", width=1.5), "zero": pg.mkPen("k", width=1)}


class TeachingTab(QWidget):
    """A form of sliders above a row of plots; ``redraw()`` is called whenever a slider moves."""

    def __init__(self, n_plots: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.form = QFormLayout()
        self.note = QLabel(" ")
        self.note.setWordWrap(True)
        self.plots_widget = PlotGrid(columns=n_plots)
        self.plots = self.plots_widget.fill(n_plots)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(self.form)
        layout.addWidget(self.plots_widget, 1)
        layout.addWidget(self.note)

    def add_control(self, label: str, widget: QWidget) -> QWidget:
        self.form.addRow(label, widget)
        widget.valueChanged.connect(lambda *_: self.redraw())
        return widget

    def figure_widget(self) -> QWidget:
        return self.plots_widget

    def redraw(self) -> None:
        raise NotImplementedError


def _titled(plot: pg.PlotItem, title: str, x: str, y: str) -> pg.PlotItem:
    """Clear ``plot`` and set its title and axis labels (escaped: pyqtgraph reads them as HTML)."""
    plot.clear()
    plot.setTitle(escape(title), color="k", size="10pt")
    plot.setLabel("bottom", escape(x), color="k")
    plot.setLabel("left", escape(y), color="k")
    return plot


def cobweb(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The staircase (K0, K0) -> (K0, K1) -> (K1, K1) -> (K1, K2) ... of a 1D map's iterates."""
    x = np.repeat(values, 2)[:-1]
    y = np.repeat(values, 2)[1:]
    return x, y


class DecimationTab(TeachingTab):
    """Cobweb of K' = (1/2) ln cosh 2K from a starting coupling K0."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(2, parent)
        self.K0 = self.add_control(
            "K0 = J/T", SliderSpin(0.05, 3.0, 1.5, 3, "Starting coupling of the 1D Ising chain, K0 = J/T"))
        self.steps = self.add_control("Decimations", int_spin(1, 30, 8))
        self.steps.setToolTip("Number of decimations by 2 (every second spin summed out): K -> (1/2) ln cosh 2K")
        self.redraw()

    def redraw(self) -> None:
        K0, steps = self.K0.value(), self.steps.value()
        flow = flow_1d(K0, steps)
        grid = np.linspace(0.0, max(3.0, K0) * 1.05, 300)
        plot = _titled(self.plots[0], "1D Ising decimation by 2: cobweb", "K", "K'")
        plot.plot(grid, decimation_1d(grid), pen=PEN["map"], name="K' = (1/2) ln cosh 2K")
        plot.plot(grid, grid, pen=PEN["diagonal"], name="K' = K (fixed points)")
        plot.plot(*cobweb(flow), pen=PEN["cobweb"], name=f"iterates from K0 = {K0:.3g}")
        plot.plot([0.0], [0.0], pen=None, symbol="o", symbolBrush="k", name="K = 0: stable fixed point")
        per_step = _titled(self.plots[1], "Coupling after n decimations", "n", "K")
        per_step.plot(np.arange(len(flow)), flow, pen=PEN["cobweb"], symbol="o", symbolSize=6,
                      symbolBrush="#d62728")
        self.note.setText(f"K: {', '.join(f'{k:.3g}' for k in flow[:8])}{', ...' if len(flow) > 8 else ''}. "
                          "Every K0 < infinity flows to K = 0: the chain is disordered at every T > 0.")


class ToyLawTab(TeachingTab):
    """df/dt = c f rescaled n times: f_n(t) = exp(sigma^n c t), and c_n = sigma^n c."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(2, parent)
        self.c = self.add_control(
            "c", SliderSpin(-1.0, 1.0, 0.2, 3, "Growth rate c of df/dt = c f (c > 0: relevant, c < 0: irrelevant)"))
        self.sigma = self.add_control(
            "sigma", SliderSpin(0.5, 3.0, 2.0, 2, "Rescaling factor sigma of one RG step: c -> sigma c"))
        self.steps = self.add_control("Rescalings", int_spin(1, 8, 3))
        self.steps.setToolTip("Number n of RG steps t -> t / sigma: the curves f_n(t) = exp(sigma^n c t)")
        self.redraw()

    def redraw(self) -> None:
        c, sigma, steps = self.c.value(), self.sigma.value(), self.steps.value()
        rates = toy_flow(c, sigma, steps)
        t = np.linspace(0.0, 2.0, 200)
        curves = _titled(self.plots[0], "f(t) after n rescalings t -> t / sigma", "t", "f(t) / f(0)")
        for n, rate in enumerate(rates):
            color = pg.intColor(n, hues=len(rates) + 1)
            curves.plot(t, np.exp(np.clip(rate * t, -50, 50)), pen=pg.mkPen(color, width=2),
                        name=f"n = {n}: c = {rate:.3g}")
        curves.setYRange(0.0, 4.0)
        flow = _titled(self.plots[1], "Flow of the growth rate c -> F(c) = sigma c", "n", "c_n")
        flow.plot(np.arange(len(rates)), rates, pen=PEN["cobweb"], symbol="o", symbolSize=6, symbolBrush="#d62728")
        flow.addItem(pg.InfiniteLine(0.0, angle=0, pen=PEN["zero"], label="fixed point c = 0"))
        if c == 0:
            fate = "c = 0 is the fixed point: f stays constant at every scale."
        elif sigma > 1:
            fate = f"c {'>' if c > 0 else '<'} 0 runs away from the fixed point c = 0: at large scales f " \
                   f"{'explodes' if c > 0 else 'dies out'} (c is relevant, eigenvalue sigma)."
        else:
            fate = "sigma < 1 zooms in: every c flows back to c = 0."
        self.note.setText(fate)


class FBMTab(TeachingTab):
    """A fractional Brownian path and its rescaled copy f(sigma t) sigma^-h on the same axes."""

    N = 2048

    def __init__(self, parent: QWidget | None = None):
        super().__init__(2, parent)
        self.hurst = self.add_control(
            "Hurst h", SliderSpin(0.05, 0.95, 0.7, 2, "Hurst exponent h of the fractional Brownian motion"))
        self.sigma = self.add_control("sigma", int_spin(2, 16, 4))
        self.sigma.setToolTip("Rescaling factor sigma of time: the red copy is f(sigma t) sigma^-h")
        self.seed = self.add_control("Seed", int_spin(0, 2**31 - 1, 0))
        self.seed.setToolTip(f"Random seed of the path ({self.N} steps, generated spectrally); another seed "
                             "draws another path")
        self.path: np.ndarray | None = None
        self.redraw()

    def redraw(self) -> None:
        h, sigma = self.hurst.value(), self.sigma.value()
        self.path = fbm_path(self.N, h, self.seed.value())
        n = self.N // sigma
        t = np.arange(n + 1)
        copy = self.path[::sigma][: n + 1] * float(sigma) ** -h
        plot = _titled(self.plots[0], f"fBm, h = {h:.2f}, and its rescaled copy", "t", "f")
        plot.plot(t, self.path[: n + 1], pen=PEN["path"], name="f(t)")
        plot.plot(t, copy, pen=PEN["copy"], name=f"f({sigma} t) / {sigma}^h")
        lags = np.unique(np.geomspace(1, self.N // 8, 16).astype(int))
        sf = _titled(self.plots[1], "Structure function <|f(t + tau) - f(t)|^2>", "tau", "S(tau)")
        sf.setLogMode(x=True, y=True)
        sf.plot(lags, structure_function(self.path[None], lags), pen=None, symbol="o", symbolSize=6,
                symbolBrush="#1f77b4", name="measured (this path)")
        sf.plot(lags, lags.astype(float) ** (2 * h), pen=PEN["diagonal"], name="tau^(2h)")
        self.note.setText(f"Self-similar: f({sigma} t) has the law of {sigma}^h f(t), so the red copy "
                          "looks like the blue path; roughness grows as h decreases (h = 1/2: Brownian motion).")


class TeachingPanel(Panel, QTabWidget):
    """The three teaching tabs in one dock."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.decimation, self.toy, self.fbm = DecimationTab(), ToyLawTab(), FBMTab()
        self.addTab(self.decimation, "1D decimation")
        self.addTab(self.toy, "df/dt = c f")
        self.addTab(self.fbm, "Fractional Brownian motion")

    def figure_targets(self) -> list[FigureTarget]:
        return [FigureTarget(self.tabText(i), self.widget(i).figure_widget) for i in range(self.count())]

