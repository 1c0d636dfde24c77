"""Dynamics panel: autocorrelations of the live chain, and critical slowing down measured.

Live: the normalised autocorrelation rho(t) of |m| and E from the running simulation's series
(the samples since its parameters last changed) and their integrated autocorrelation times,
which set how many sweeps an independent sample costs
(:func:`engine.studies.dynamics.live_autocorrelation`, run with its figure off the GUI thread by a
:class:`rgviz.jobs.LatestJob` on the newest frame, at most every MIN_INTERVAL).

In the background: tau_int(T) of |m| and E for several update algorithms and sizes of the 2D
Ising model, and the dynamic exponent z from tau_int(Tc) ~ L^z
(:func:`engine.studies.dynamics.run_tau_scan`, also ``rgviz-batch dynamics``).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QProgressBar,
                               QPushButton, QSpinBox, QVBoxLayout, QWidget)

from engine.errors import ParameterError
from engine.exact import TC_ISING
from engine.figures import Figure
from engine.models.ising import IsingModel
from engine.plots.dynamics import live_figure, scan_figures
from engine.studies.dynamics import (OBSERVABLES, LiveAutocorrelation, TauScan, TauScanConfig, live_autocorrelation,
                                     run_tau_scan, scan_temperatures)

from ..jobs import JobControl, JobPanel, LatestJob
from .panel import Panel
from .parsing import parse_sizes
from .plotting import PlotGrid, draw_figure

#: Seconds between the end of one live analysis and the start of the next.
MIN_INTERVAL = 0.5
#: Each Ising algorithm's check box says what it is and the z it is known for (2D Ising).
ALGORITHM_TIPS = {"metropolis": "single-spin Metropolis updates (local: z ~ 2.17)",
                  "heatbath": "single-spin heat-bath updates (local: z ~ 2.17)",
                  "wolff": "single-cluster Wolff updates (cluster: z ~ 0.25)",
                  "swendsen-wang": "Swendsen-Wang cluster updates (cluster: z ~ 0.25)"}


def live_analysis(snapshot: dict) -> tuple[LiveAutocorrelation, Figure]:
    """The live job: autocorrelations of the frame's series, and their figure."""
    live = live_autocorrelation(snapshot.get("series") or {}, snapshot.get("params", {}))
    return live, live_figure(live)


def scan_work(config: TauScanConfig):
    """The job: the scan, publishing each (algorithm, L) as it is measured; a stopped scan keeps what it has."""
    config.validate()

    def work(control: JobControl) -> TauScan:
        return run_tau_scan(config, control.progress, control.partial, lambda: control.cancelled)

    return work


class DynamicsPanel(JobPanel, Panel, QWidget):
    """Live autocorrelation functions, and a background tau_int(T, L) scan with z."""

    error = Signal(str)  # a message for the user (bad scan parameters, a failed scan)

    def __init__(self, device: str = "auto", parent: QWidget | None = None):
        super().__init__(parent)
        self.device = device
        self.scan: TauScan | None = None
        self.live_tau: dict[str, tuple[float, float]] = {}
        self.live = LatestJob(live_analysis, "rgviz-live-tau", MIN_INTERVAL, parent=self)
        self.live.finished.connect(self.show_live)

        self.sizes = QLineEdit("8 16 24")
        self.sizes.setToolTip("Lattice sizes L of the scan, separated by spaces; z comes from tau_int(Tc) ~ L^z")
        self.t_from, self.t_to = QDoubleSpinBox(), QDoubleSpinBox()
        for box, value in ((self.t_from, 2.1), (self.t_to, 2.5)):
            box.setRange(0.5, 10.0)
            box.setDecimals(3)
            box.setSingleStep(0.05)
            box.setValue(value)
        self.t_from.setToolTip("Lowest temperature of the scan, k_B T [energy, in the units of J]")
        self.t_to.setToolTip("Highest temperature of the scan, k_B T [energy, in the units of J]")
        self.t_n = QSpinBox()
        self.t_n.setRange(1, 50)
        self.t_n.setValue(5)
        self.t_n.setToolTip("Number of temperatures, evenly spaced from the lowest to the highest; Tc is added")
        self.algorithms = {name: QCheckBox(name) for name in IsingModel.algorithms}
        for name, box in self.algorithms.items():
            box.setToolTip(f"Include {ALGORITHM_TIPS[name]} in the scan")
        for name in ("metropolis", "wolff"):
            self.algorithms[name].setChecked(True)
        self.sweeps, self.thermalize = QSpinBox(), QSpinBox()
        for box, value in ((self.sweeps, 10_000), (self.thermalize, 1000)):
            box.setRange(0, 10_000_000)
            box.setSingleStep(1000)
            box.setValue(value)
        self.sweeps.setToolTip("Measured sweeps per run (algorithm, L, T): the series tau_int is read from. One "
                               "sweep: N attempted flips, one Swendsen-Wang decomposition or about N sites of Wolff "
                               "clusters")
        self.thermalize.setToolTip("Sweeps per run discarded before measuring, to reach equilibrium")
        self.start_button, self.stop_button = QPushButton("Measure tau(T, L)"), QPushButton("Stop")
        self.start_button.setToolTip("Measure tau_int of |m| and E for every algorithm, L and T in the background, "
                                     "and fit z")
        self.stop_button.setToolTip("Stop the scan; the plots keep the runs measured so far")
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

        self.plots = PlotGrid()
        self.rho_plot, self.tau_plot, self.z_plot = self.plots.fill(3)
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
        self.live.submit(snapshot)

    def show_live(self, analysed: tuple[LiveAutocorrelation, Figure]) -> None:
        live, figure = analysed
        self.live_tau = live.tau
        draw_figure(self.rho_plot, figure)
        text = ", ".join(f"tau_int({k}) = {t:.3g} +- {e:.2g}" for k, (t, e) in self.live_tau.items())
        self.live_label.setText(f"live ({live.samples} samples at the current parameters): {text or 'too few samples'}")

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Join the live analysis and the scan."""
        return all([self.live.shutdown(timeout_ms), JobPanel.shutdown(self, timeout_ms)])

    # --- the scan -----------------------------------------------------------------------------
    def start(self) -> None:
        def prepare():
            if self.t_to.value() < self.t_from.value():
                raise ParameterError("T", "the range must go from a lower to a higher temperature")
            work = scan_work(TauScanConfig(
                parse_sizes(self.sizes.text()),
                tuple(scan_temperatures(self.t_from.value(), self.t_to.value(), self.t_n.value())),
                tuple(name for name, box in self.algorithms.items() if box.isChecked()),
                self.sweeps.value(), self.thermalize.value(), device=self.device))
            return work, "measuring..."
        self.start_job(prepare, "rgviz-tau-scan", partial=self.show_scan, finished=self._on_finished)

    def _on_finished(self, scan: TauScan | None) -> None:
        if scan is not None and scan.tau:
            self.show_scan(scan)

    def show_scan(self, scan: TauScan) -> None:
        """tau_int(T) per algorithm and L, and tau_int(Tc) against L with the fitted z."""
        self.scan = scan
        for plot, fig in zip((self.tau_plot, self.z_plot), scan_figures(scan)):
            draw_figure(plot, fig)
        exponents = {obs: scan.dynamic_exponents(obs) for obs, _ in OBSERVABLES}
        lines = [f"{alg}: " + ", ".join(f"z({obs}) = {e[alg].exponent:.2f} +- {e[alg].exponent_error:.2f}"
                                        for obs, e in exponents.items() if alg in e)
                 for alg in scan.at_tc("|m|")]
        self.scan_label.setText("; ".join(line for line in lines if not line.endswith(": "))
                                + "   (2D Ising references: local z ~ 2.17, cluster z ~ 0.25)")
