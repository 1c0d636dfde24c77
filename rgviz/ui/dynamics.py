"""Dynamics panel: autocorrelations of the live chain, and critical slowing down measured.

Live: the normalised autocorrelation rho(t) of |m| and E from the running simulation's series
(the samples since its parameters last changed) and their integrated autocorrelation times,
which set how many sweeps an independent sample costs.

In the background: tau_int(T) of |m| and E for several update algorithms and sizes of the 2D
Ising model, and the dynamic exponent z from tau_int(Tc) ~ L^z. Local updates (Metropolis, heat
bath) slow down as z ~ 2.17; cluster updates (Wolff, Swendsen-Wang) nearly not at all (z ~ 0.25),
which is why they are the right tool at Tc. Times are in sweeps (for Wolff: about N flipped
sites, see :mod:`engine.samplers`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QProgressBar,
                               QPushButton, QSpinBox, QVBoxLayout, QWidget)

from engine.errors import ParameterError
from engine.exact import TC_ISING
from engine.figures import Figure, Series
from engine.measure.fss import PowerLaw, power_law
from engine.measure.stats import autocorrelation, tau_int
from engine.models.ising import IsingModel
from engine.session import Simulation

from ..figures import PALETTE
from ..jobs import JobControl, JobPanel
from .phase import parse_sizes
from .plotting import draw_figure, fill_grid, grid_widget

#: (label, series key) of the observables whose autocorrelation is measured.
OBSERVABLES = (("|m|", "abs_m"), ("E", "energy"))
#: Sweeps between two looks at cancellation and progress.
CHUNK = 100
#: Live frames closer together than this are skipped (seconds).
MIN_INTERVAL = 0.5
#: Fewer live samples than this give no meaningful tau_int.
MIN_SAMPLES = 20


@dataclass
class TauScan:
    """tau_int and its error per (algorithm, L) and observable label, on the temperatures ``T``."""

    T: np.ndarray
    tau: dict[tuple[str, int], dict[str, tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)

    def at_tc(self, observable: str) -> dict[str, tuple[list[int], np.ndarray, np.ndarray]]:
        """Per algorithm: sizes, tau_int and error at the grid temperature closest to Tc."""
        i = int(np.argmin(np.abs(self.T - TC_ISING)))
        out = {}
        for alg in dict.fromkeys(alg for alg, _ in self.tau):
            sizes = sorted(L for a, L in self.tau if a == alg)
            tau, err = (np.array([self.tau[(alg, L)][observable][k][i] for L in sizes]) for k in (0, 1))
            out[alg] = (sizes, tau, err)
        return out

    def dynamic_exponents(self, observable: str) -> dict[str, PowerLaw]:
        """z per algorithm from a weighted power-law fit of tau_int(Tc) against L (2 sizes or more)."""
        return {alg: power_law(sizes, tau, err) for alg, (sizes, tau, err) in self.at_tc(observable).items()
                if len(sizes) >= 2 and np.all(tau > 0) and np.all(np.isfinite(err))}


def scan_temperatures(t_from: float, t_to: float, n: int) -> np.ndarray:
    """An even grid from t_from to t_to, with Tc itself added (where z is read off)."""
    return np.unique(np.append(np.linspace(t_from, t_to, n), TC_ISING))


def scan_work(sizes: tuple[int, ...], temperatures: np.ndarray, algorithms: tuple[str, ...], sweeps: int,
              thermalize: int, seed: int = 0, device: str = "auto"):
    """The job: one Ising simulation per (algorithm, L) with all temperatures as its batch.

    After each one, the scan so far is published; a cancelled scan returns what it has.
    """
    if not algorithms:
        raise ParameterError("algorithms", f"choose at least one of {', '.join(IsingModel.algorithms)}")
    if sweeps < MIN_SAMPLES:
        raise ParameterError("sweeps", f"must be at least {MIN_SAMPLES} for an autocorrelation time, got {sweeps}")
    temperatures = np.asarray(temperatures, float)

    def work(control: JobControl) -> TauScan:
        scan = TauScan(temperatures)
        total = len(algorithms) * len(sizes) * (thermalize + sweeps)
        done = 0
        for alg in algorithms:
            for k, L in enumerate(sizes):
                sim = Simulation("ising", L, alg, seed=seed + k, device=device, T=tuple(temperatures))
                for advance, n in ((sim.thermalize, thermalize), (sim.step, sweeps)):
                    while n > 0:
                        if control.cancelled:
                            return scan
                        m = min(CHUNK, n)
                        advance(m)
                        n -= m
                        done += m
                        control.progress(done, total)
                series = sim.series()
                scan.tau[(alg, L)] = {label: tuple(np.asarray(v) for v in tau_int(series[key])[:2])
                                      for label, key in OBSERVABLES}
                control.partial(TauScan(temperatures, dict(scan.tau)))
        return scan

    return work


def equal_parameter_tail(series: dict, params: dict) -> int:
    """Index of the first sample taken at the current parameters (after the last change)."""
    start = 0
    for name, value in params.items():
        column = series.get(name)
        if column is None or len(column) == 0:
            continue
        changed = np.nonzero(np.asarray(column, float) != float(np.asarray(value)))[0]
        if len(changed):
            start = max(start, int(changed[-1]) + 1)
    return start


class DynamicsPanel(JobPanel, QWidget):
    """Live autocorrelation functions, and a background tau_int(T, L) scan with z."""

    error = Signal(str)  # a message for the user (bad scan parameters, a failed scan)

    def __init__(self, device: str = "auto", parent: QWidget | None = None):
        super().__init__(parent)
        self.device = device
        self.scan: TauScan | None = None
        self.live_tau: dict[str, tuple[float, float]] = {}
        self._last = 0.0

        self.sizes = QLineEdit("8 16 24")
        self.t_from, self.t_to = QDoubleSpinBox(), QDoubleSpinBox()
        for box, value in ((self.t_from, 2.1), (self.t_to, 2.5)):
            box.setRange(0.5, 10.0)
            box.setDecimals(3)
            box.setSingleStep(0.05)
            box.setValue(value)
        self.t_n = QSpinBox()
        self.t_n.setRange(1, 50)
        self.t_n.setValue(5)
        self.algorithms = {name: QCheckBox(name) for name in IsingModel.algorithms}
        for name in ("metropolis", "wolff"):
            self.algorithms[name].setChecked(True)
        self.sweeps, self.thermalize = QSpinBox(), QSpinBox()
        for box, value in ((self.sweeps, 10_000), (self.thermalize, 1000)):
            box.setRange(0, 10_000_000)
            box.setSingleStep(1000)
            box.setValue(value)
        self.start_button, self.stop_button = QPushButton("Measure tau(T, L)"), QPushButton("Stop")
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.setEnabled(False)
        self.progress = QProgressBar()
        self.live_label = QLabel("live: waiting for frames")
        self.scan_label = QLabel(" ")
        self.status = self.scan_label  # the line where JobPanel shows bad input and failures
        for label in (self.live_label, self.scan_label):
            label.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Sizes L", self.sizes)
        t_row = QHBoxLayout()
        for w in (self.t_from, QLabel("to"), self.t_to, QLabel("points"), self.t_n):
            t_row.addWidget(w)
        form.addRow("T (Ising; Tc added)", t_row)
        alg_row = QHBoxLayout()
        for box in self.algorithms.values():
            alg_row.addWidget(box)
        form.addRow("Algorithms", alg_row)
        form.addRow("Sweeps", self.sweeps)
        form.addRow("Thermalize", self.thermalize)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.progress, 1)
        form.addRow(buttons)

        self.plots = grid_widget()
        self.rho_plot, self.tau_plot, self.z_plot = fill_grid(self.plots, 3)
        self.show_scan(TauScan(np.array([TC_ISING])))  # empty plots with their titles until a scan runs
        self.scan = None
        self.scan_label.setText("tau_int(T, L) and z: choose sizes and algorithms, then Measure")
        self.figure_box = QWidget()  # what "Export figure" renders: plots and readouts
        box = QVBoxLayout(self.figure_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.plots, 1)
        box.addWidget(self.live_label)
        box.addWidget(self.scan_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(form)
        layout.addWidget(self.figure_box, 1)

    def figure_widget(self) -> QWidget:
        return self.figure_box

    # --- live ---------------------------------------------------------------------------------
    def show_frame(self, snapshot: dict) -> None:
        if time.monotonic() - self._last < MIN_INTERVAL:
            return
        series = snapshot.get("series") or {}
        start = equal_parameter_tail(series, snapshot.get("params", {}))
        fig = Figure("autocorrelation", "autocorrelation of the live chain", "t (sweeps)", "rho(t)")
        self.live_tau = {}
        for label, key in OBSERVABLES:
            y = np.asarray(series.get(key, ()), float)[start:]
            y = y[np.isfinite(y)]
            if len(y) < MIN_SAMPLES or np.ptp(y) == 0:
                continue
            tau, err, window = tau_int(y)
            rho = autocorrelation(y)
            t_max = min(len(y) - 1, max(2 * int(window), 10))  # the Madras-Sokal window sums up to W
            self.live_tau[label] = (float(tau), float(err))
            fig.series.append(Series(np.arange(t_max + 1), rho[: t_max + 1], label=f"{label}: tau_int = {tau:.3g}",
                                     style="line"))
        draw_figure(self.rho_plot, fig)
        n = len(np.asarray(series.get("energy", ())[start:]))
        text = ", ".join(f"tau_int({k}) = {t:.3g} +- {e:.2g}" for k, (t, e) in self.live_tau.items())
        self.live_label.setText(f"live ({n} samples at the current parameters): {text or 'too few samples'}")
        self._last = time.monotonic()  # the next frame waits MIN_INTERVAL after this one's work

    # --- the scan -----------------------------------------------------------------------------
    def start(self) -> None:
        def prepare():
            if self.t_to.value() < self.t_from.value():
                raise ParameterError("T", "the range must go from a lower to a higher temperature")
            work = scan_work(parse_sizes(self.sizes.text()),
                             scan_temperatures(self.t_from.value(), self.t_to.value(), self.t_n.value()),
                             tuple(name for name, box in self.algorithms.items() if box.isChecked()),
                             self.sweeps.value(), self.thermalize.value(), device=self.device)
            return work, "measuring..."
        self.start_job(prepare, "rgviz-tau-scan", partial=self.show_scan, finished=self._on_finished)

    def _on_finished(self, scan: TauScan | None) -> None:
        if scan is not None and scan.tau:
            self.show_scan(scan)

    def show_scan(self, scan: TauScan) -> None:
        """tau_int(T) per algorithm and L, and tau_int(Tc) against L with the fitted z."""
        self.scan = scan
        tau_fig = Figure("tau_vs_T", "integrated autocorrelation time of |m|", "T", "tau_int (sweeps)", logy=True)
        for (alg, L), values in sorted(scan.tau.items()):
            tau, err = values["|m|"]
            tau_fig.series.append(Series(scan.T, tau, err, label=f"{alg} L={L}", style="line+points"))
        draw_figure(self.tau_plot, tau_fig)
        z_fig = Figure("tau_vs_L", "critical slowing down at Tc: tau ~ L^z", "L", "tau_int(Tc) (sweeps)",
                       logx=True, logy=True)
        lines = []
        exponents = {obs: scan.dynamic_exponents(obs) for obs, _ in OBSERVABLES}
        for k, (alg, (sizes, tau, err)) in enumerate(scan.at_tc("|m|").items()):
            color = PALETTE[k % len(PALETTE)]
            z_fig.series.append(Series(sizes, tau, err, label=f"{alg}", style="points", color=color))
            fit = exponents["|m|"].get(alg)
            if fit is not None:
                Ls = np.linspace(min(sizes), max(sizes), 20)
                z_fig.series.append(Series(Ls, fit.amplitude * Ls ** fit.exponent, style="dashed", color=color,
                                           label=f"z = {fit.exponent:.2f} +- {fit.exponent_error:.2f}"))
            lines.append(f"{alg}: " + ", ".join(f"z({obs}) = {e[alg].exponent:.2f} +- {e[alg].exponent_error:.2f}"
                                                 for obs, e in exponents.items() if alg in e))
        draw_figure(self.z_plot, z_fig)
        self.scan_label.setText("; ".join(line for line in lines if not line.endswith(": "))
                                + "   (2D Ising references: local z ~ 2.17, cluster z ~ 0.25)")
