"""Correlation panel: the two-point function G(r) of the live lattice, with fitted xi and eta.

Away from Tc, G(r) decays as exp(-r / xi): a straight line on lin-log axes. At Tc it is a power
law r^(-eta) (eta = 1/4 for 2D Ising): a straight line on log-log axes. Both fits are shown with
their residuals, so which form describes the data, and how it changes through Tc, is visible.

G(r) is averaged over the frames shown since the model, size or parameters last changed. To keep
the GUI thread light (STACK-NOTES), a frame is used only MIN_INTERVAL after the last one was done: one FFT of one
L x L lattice each (:func:`engine.measure.correlation.correlation_function`), along the axes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from engine.figures import Figure, Series
from engine.measure.correlation import angles_to_vectors, axial_average, correlation_function

from .plotting import draw_figure, fill_grid, grid_widget

#: Frames closer together than this are skipped (seconds).
MIN_INTERVAL = 0.25


def lattice_correlation(lattice: np.ndarray, model: str, connected: bool = False) -> np.ndarray:
    """G(r) for r = 0 .. L/2 along the lattice axes of one snapshot lattice (numpy in, numpy out).

    Ising ``[L, L]`` spins; XY ``[L, L]`` angles (G = <cos(theta_0 - theta_r)>); phi^4 ``[2, L, L]``.
    """
    field = torch.from_numpy(np.asarray(lattice, dtype=np.float64))[None]
    if model == "xy":
        field = angles_to_vectors(field)
    return axial_average(correlation_function(field, connected=connected))[0].numpy()


@dataclass
class Fit:
    """A straight-line fit of ln G: the parameter (xi or eta), its error and the rms residual."""

    value: float
    error: float
    rms: float
    intercept: float


def fit_window(L: int) -> tuple[int, int]:
    """Distances used by the fits: from 1 to L/4, short of the torus image at L/2."""
    return 1, max(3, L // 4)


def fit_exponential(r: np.ndarray, G: np.ndarray, err: np.ndarray, L: int) -> Fit | None:
    """ln G = a - r / xi (see :func:`_line_fit` for the points used)."""
    return _line_fit(r, G, err, L, np.asarray(r, float), lambda slope: -1.0 / slope)


def fit_power_law(r: np.ndarray, G: np.ndarray, err: np.ndarray, L: int) -> Fit | None:
    """ln G = a - eta ln r (see :func:`_line_fit` for the points used)."""
    return _line_fit(r, G, err, L, np.log(np.maximum(r, 1e-300)), lambda slope: -slope)


def _line_fit(r, G, err, L, x, param) -> Fit | None:
    """Weighted straight-line fit of ln G against ``x`` over the fit window.

    Only the distances from the window's start up to the first G that is not significantly
    positive (G <= 2 err) are used: beyond it ln G is noise, which would dominate the fit.
    """
    lo, hi = fit_window(L)
    significant = (G > 0) & (G > 2 * err)
    keep = (r >= lo) & (r <= hi)
    bad = np.nonzero(keep & ~significant)[0]
    if len(bad):
        keep &= np.arange(len(r)) < bad[0]
    if keep.sum() < 3:
        return None
    sigma = np.where(err[keep] > 0, err[keep] / G[keep], 1.0)  # the error of ln G
    (slope, intercept), cov = np.polyfit(x[keep], np.log(G[keep]), 1, w=1.0 / sigma, cov=True)
    if slope >= 0:
        return None  # not decaying: no length or exponent to read off
    value = param(slope)
    error = abs(value) * np.sqrt(cov[0, 0]) / abs(slope)  # |d param / d slope| sigma_slope for both forms
    rms = float(np.sqrt(np.mean((np.log(G[keep]) - (slope * x[keep] + intercept)) ** 2)))
    return Fit(float(value), float(error), rms, float(intercept))


class CorrelationPanel(QWidget):
    """G(r) on lin-log and log-log axes, averaged over frames, with exponential and power-law fits."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._key = None
        self._sum: np.ndarray | None = None
        self._sum2: np.ndarray | None = None
        self.frames = 0
        self.L = 0
        self._last = 0.0
        self.exponential: Fit | None = None
        self.power_law: Fit | None = None

        self.connected = QCheckBox("connected (subtract each frame's magnetization)")
        self.connected.toggled.connect(self.clear)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear)
        self.readout = QLabel("waiting for frames")
        self.readout.setWordWrap(True)
        self.plots = grid_widget()
        self.lin_log, self.log_log = fill_grid(self.plots, 2, columns=2)
        self.figure_box = QWidget()  # what "Export figure" renders: plots and fit results
        box = QVBoxLayout(self.figure_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.plots, 1)
        box.addWidget(self.readout)
        bar = QHBoxLayout()
        bar.addWidget(self.connected)
        bar.addStretch(1)
        bar.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.figure_box, 1)

    def clear(self) -> None:
        """Forget the accumulated frames."""
        self._sum = self._sum2 = None
        self.frames = 0
        self._last = 0.0

    def figure_widget(self) -> QWidget:
        return self.figure_box

    def show_frame(self, snapshot: dict) -> None:
        if time.monotonic() - self._last < MIN_INTERVAL:
            return
        lattice = np.asarray(snapshot["lattice"])
        params = snapshot.get("params", {})
        key = (snapshot["model"], lattice.shape, tuple(sorted((k, str(v)) for k, v in params.items())))
        if key != self._key:
            self.clear()
            self._key = key
            self.L = lattice.shape[-1]
        G = lattice_correlation(lattice, snapshot["model"], self.connected.isChecked())
        self._sum = G if self._sum is None else self._sum + G
        self._sum2 = G * G if self._sum2 is None else self._sum2 + G * G
        self.frames += 1
        self.redraw(params.get("T"))
        self._last = time.monotonic()  # the next frame waits MIN_INTERVAL after this one's work

    def mean(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """r, mean G(r), and its error over frames (frames treated as independent: a lower bound)."""
        n = self.frames
        mean = self._sum / n
        var = np.maximum(self._sum2 / n - mean**2, 0.0)
        err = np.sqrt(var / (n - 1)) if n > 1 else np.zeros_like(mean)
        return np.arange(len(mean), dtype=float), mean, err

    def redraw(self, T=None) -> None:
        r, G, err = self.mean()
        self.exponential, self.power_law = fit_exponential(r, G, err, self.L), fit_power_law(r, G, err, self.L)
        where = f" at T = {float(T):.4g}" if T is not None else ""
        lo, hi = fit_window(self.L)
        rr = np.linspace(lo, hi, 50)
        for plot, logx in ((self.lin_log, False), (self.log_log, True)):
            fig = Figure("correlation", f"G(r){where}, {self.frames} frames", "r", "G(r)", logx=logx, logy=True)
            fig.series.append(Series(r, G, err, label="G(r)", style="points"))
            if self.exponential is not None:
                e = self.exponential
                fig.series.append(Series(rr, np.exp(e.intercept - rr / e.value),
                                         label=f"exp(-r/xi), xi = {e.value:.3g}", style="line"))
            if self.power_law is not None:
                p = self.power_law
                fig.series.append(Series(rr, np.exp(p.intercept) * rr ** (-p.value),
                                         label=f"r^-eta, eta = {p.value:.3g}", style="dashed"))
            draw_figure(plot, fig)
        self.readout.setText(self._fit_text())

    def _fit_text(self) -> str:
        parts = []
        if self.exponential is not None:
            e = self.exponential
            parts.append(f"exponential: xi = {e.value:.4g} +- {e.error:.2g} (rms residual of ln G {e.rms:.3g})")
        if self.power_law is not None:
            p = self.power_law
            parts.append(f"power law: eta = {p.value:.4g} +- {p.error:.2g} (rms residual {p.rms:.3g})")
        lo, hi = fit_window(self.L)
        return ("; ".join(parts) or "G(r) does not decay: no fit") + f"  [fits over r = {lo}..{hi} while G > 2 err]"
