"""Phase panel: a temperature sweep over several sizes, watched while it runs.

The sweep (:class:`engine.sweep.SweepRunner`, the same code as ``rgviz-batch sweep``) runs as a
background :class:`rgviz.jobs.Job`. After each round of sweeps the job analyses the data so far
(multi-histogram reweighting, Binder crossings, peaks, exponents) in its own thread, when the GUI
is ready for it, and the panel redraws: points with error bars that shrink as data arrive,
reweighted curves, exact overlays (Onsager; Kaufman per L), and a table of transition estimates.
Given a Ray cluster's address, the sweep runs there instead, one task per size
(:func:`engine.sweep.run_size_tasks`), and each size is drawn as it arrives.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QProgressBar, QPushButton,
                               QVBoxLayout, QWidget)

from engine.cluster import RayExecutor
from engine.errors import ParameterError
from engine.plots.sweep import observable_figures
from engine.session import MODELS
from engine.studies.sweep import estimate_rows, summarise, write_sweep
from engine.sweep import RESULT_TYPES, SWEEP_MODELS, SweepConfig, SweepResult, SweepRunner, run_size_tasks

from ..figures import render_all
from ..jobs import JobControl, JobPanel
from .panel import Panel
from .parsing import parse_sizes
from .plotting import PlotGrid, draw_figure
from .widgets import estimate_table, fill_estimate_table, int_spin, side_by_side

#: Default temperature grid (from, to, points) per model: around Tc (Ising) or T_KT (XY).
T_DEFAULTS = {"ising": (2.0, 2.6, 13), "xy": (0.7, 1.2, 11)}
#: Fewer samples than this per size give no meaningful reweighting: the analysis waits.
MIN_ANALYSIS_SAMPLES = 20
#: The analysis may take at most this fraction of the job's time (it runs between rounds).
ANALYSIS_SHARE = 0.25


def sweep_work(config: SweepConfig):
    """The job: run the sweep, publishing analysed partial results while the GUI keeps up."""
    def work(control: JobControl) -> SweepResult:
        runner = SweepRunner(config)
        control.on_cancel(runner.cancel)
        clock = {"next": 0.0}

        def on_update(result: SweepResult) -> None:
            if time.monotonic() < clock["next"] or not control.wants_partial():
                return
            t0 = time.monotonic()
            analyse(result)
            spent = time.monotonic() - t0
            clock["next"] = t0 + spent / ANALYSIS_SHARE
            control.partial(result)

        result = runner.run(control.progress, on_update)
        if not control.abandoned:  # a stopped sweep is analysed once more; a closing window skips it
            analyse(result)
        return result

    return work


def cluster_sweep_work(config: SweepConfig, address: str):
    """The job on a Ray cluster: one task per size; each finished size is analysed and shown with the others."""
    def work(control: JobControl) -> SweepResult | None:
        executor = RayExecutor(address)
        control.on_cancel(executor.cancel)

        def on_part(result: SweepResult, done: int, total: int) -> None:
            control.progress(done, total)
            if control.wants_partial():
                analyse(result)
                control.partial(result)

        result = run_size_tasks(config, executor, on_part)
        if not result.sizes:  # stopped before any size finished
            return None
        if not control.abandoned:
            analyse(result)
        return result

    return work


def analyse(result: SweepResult) -> None:
    """Reweighted curves and estimates once there are enough samples (else ``analysis`` stays None)."""
    if result.sweeps_done >= MIN_ANALYSIS_SAMPLES:
        with np.errstate(all="ignore"):
            result.analyse()


def sizes_text(result: SweepResult) -> str:
    """On a cluster, sizes arrive one by one: which are shown and which still run (empty once all are in)."""
    running = [L for L in result.config.sizes if L not in result.sizes]
    if not running:
        return ""
    return f"Sizes done: {', '.join(map(str, result.sizes))}; still running: {', '.join(map(str, running))}. "


def exchange_text(result: SweepResult) -> str:
    """Parallel-tempering acceptance per size: the lowest pair rate limits the round trips."""
    parts = [f"L={L}: min {np.nanmin(r.exchange_rate):.2f}, mean {np.nanmean(r.exchange_rate):.2f}"
             for L, r in result.sizes.items() if r.exchange_rate is not None and np.isfinite(r.exchange_rate).any()]
    return ("exchange acceptance  " + ";  ".join(parts)) if parts else ""


class PhasePanel(JobPanel, Panel, QWidget):
    """Sweep controls, a grid of live plots, the estimates table, export."""

    result_ready = Signal(object)  # an analysed SweepResult (partial or final): feeds the FSS panel
    error = Signal(str)  # a message for the user (bad parameters, a failed sweep or export)
    session_types = RESULT_TYPES

    def __init__(self, device: str = "auto", parent: QWidget | None = None):
        super().__init__(parent)
        self.device = device
        self.result: SweepResult | None = None
        self._running: SweepConfig | None = None  # the sweep of the job that reports progress
        self._plot_names: list[str] = []
        self._plots = {}

        self.model = QComboBox()
        self.model.addItems(SWEEP_MODELS)
        self.algorithm = QComboBox()
        self.sizes = QLineEdit("8 16 32")
        self.model.setToolTip("Model to sweep: the 2D Ising or XY model (J = 1, h = 0)")
        self.algorithm.setToolTip("Monte Carlo update used at every temperature (only those valid for the model)")
        self.sizes.setToolTip("Lattice sizes L, separated by spaces")
        self.t_from, self.t_to = QDoubleSpinBox(), QDoubleSpinBox()
        for box in (self.t_from, self.t_to):
            box.setRange(0.01, 20.0)
            box.setDecimals(3)
            box.setSingleStep(0.05)
        self.t_from.setToolTip("Lowest temperature of the sweep, k_B T [energy, in the units of J]")
        self.t_to.setToolTip("Highest temperature of the sweep, k_B T [energy, in the units of J]")
        self.t_n = int_spin(2, 200, 13)
        self.t_n.setToolTip("Number of temperatures, evenly spaced from the lowest to the highest")
        self.sweeps = int_spin(10, 10_000_000, 2000, step=500)
        self.sweeps.setToolTip("Measured sweeps per temperature and size (one sweep: one update attempt per site)")
        self.thermalize = int_spin(0, 10_000_000, 500, step=100)
        self.thermalize.setToolTip("Sweeps per temperature discarded before measuring, to reach equilibrium")
        self.seed = int_spin(0, 2**31 - 1, 0)
        self.seed.setToolTip("Random seed: size k (ascending) runs with seed + k; the same seed repeats the sweep")
        self.tempering = QCheckBox("parallel tempering")
        self.tempering.setToolTip("Exchange configurations between neighbouring temperatures after every sweep")
        self.cluster = QLineEdit()
        self.cluster.setPlaceholderText("this computer")
        self.cluster.setToolTip("Empty: the sweep runs here. A Ray cluster's address (HOST:6379, or auto for the "
                                "cluster started on this computer by ray start --head): each size runs there as a "
                                "task of its own, with the same seeds and numbers (needs pip install "
                                "'rgviz[cluster]' here and rgviz on the cluster's machines)")
        self.start_button, self.stop_button = QPushButton("Start"), QPushButton("Stop")
        self.export_button = QPushButton("Export...")
        self.start_button.setToolTip("Run the sweep in the background; the curves fill in as it runs")
        self.stop_button.setToolTip("Stop the sweep; the curves keep the sweeps done so far")
        self.export_button.setToolTip("Write the results (CSV, NPZ), the estimates (JSON) and the figures to a folder")
        self.progress = QProgressBar()
        self.status = QLabel(" ")
        self.status.setWordWrap(True)
        self.model.currentTextChanged.connect(self._model_changed)
        self._model_changed(self.model.currentText())
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.export_button.clicked.connect(lambda: self.export_dialog("Export sweep results and figures"))
        self.stop_button.setEnabled(False)
        self.export_button.setEnabled(False)

        form = QFormLayout()
        form.addRow("Model", self.model)
        form.addRow("Algorithm", self.algorithm)
        form.addRow("Sizes L", self.sizes)
        t_row = QHBoxLayout()
        for w in (self.t_from, QLabel("to"), self.t_to, QLabel("points"), self.t_n):
            t_row.addWidget(w)
        form.addRow("T", t_row)
        form.addRow("Sweeps", self.sweeps)
        form.addRow("Thermalize", self.thermalize)
        form.addRow("Seed", self.seed)
        form.addRow(self.tempering)
        form.addRow("Cluster", self.cluster)
        buttons = QHBoxLayout()
        for b in (self.start_button, self.stop_button, self.export_button):
            buttons.addWidget(b)
        form.addRow(buttons)
        form.addRow(self.progress)
        form.addRow(self.status)

        self.table = estimate_table("exact / ref.")
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(form)
        left_layout.addWidget(self.table, 1)

        self.plots = PlotGrid("Choose sizes and temperatures, then Start: the curves fill in as the sweep runs")
        self.figure_box = QWidget()  # what "Export figure" renders: the grid of plots
        box = QVBoxLayout(self.figure_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.plots)
        side_by_side(self, left, self.figure_box, (420, 1000))

    # --- configuration ------------------------------------------------------------------------
    def _model_changed(self, model: str) -> None:
        self.algorithm.clear()
        self.algorithm.addItems(MODELS[model].algorithms)
        a, b, n = T_DEFAULTS[model]
        self.t_from.setValue(a)
        self.t_to.setValue(b)
        self.t_n.setValue(n)

    def config(self) -> SweepConfig:
        """The sweep the widgets describe (validated; ParameterError names the bad field)."""
        if self.t_to.value() <= self.t_from.value():
            raise ParameterError("T", "the range must go from a lower to a higher temperature")
        sweeps = self.sweeps.value()
        cfg = SweepConfig(model=self.model.currentText(), sizes=parse_sizes(self.sizes.text()),
                          temperatures=tuple(np.linspace(self.t_from.value(), self.t_to.value(), self.t_n.value())),
                          algorithm=self.algorithm.currentText(), sweeps=sweeps,
                          thermalize=self.thermalize.value(), seed=self.seed.value(), device=self.device,
                          tempering=self.tempering.isChecked(), chunk=max(1, min(100, sweeps // 20)))
        cfg.validate()
        return cfg

    # --- running ------------------------------------------------------------------------------
    def start(self) -> None:
        def prepare():
            cfg = self._running = self.config()
            running = f"running {cfg.model} {cfg.algorithm}, L = {', '.join(map(str, cfg.sizes))}"
            address = self.cluster.text().strip()
            if address:
                return cluster_sweep_work(cfg, address), f"{running} on the Ray cluster at {address}"
            return sweep_work(cfg), running
        self.start_job(prepare, "rgviz-sweep", partial=self.show_result, finished=self._on_finished)

    def show_progress(self, done: int, total: int) -> None:
        """The bar and its text from the same report: the stage and the sweeps per T done in it."""
        super().show_progress(done, total)
        stage, sweeps, of = self._running.stage(done)
        self.progress.setFormat(f"{stage}: {sweeps} of {of} sweeps per T (%p%)")

    def _on_finished(self, result: SweepResult | None) -> None:
        if result is not None:
            self.show_result(result)
            stopped = " (stopped)" if self.job is not None and self.job.cancelled else ""
            self.status.setText(f"done{stopped}: {result.sweeps_done} sweeps per T in {result.elapsed_s:.1f} s. "
                                + exchange_text(result))

    # --- showing ------------------------------------------------------------------------------
    def show_result(self, result: SweepResult) -> None:
        """Redraw plots and table from ``result`` (partial or final)."""
        self.result = result
        self.export_button.setEnabled(True)
        figs = observable_figures(result)
        names = [f.name for f in figs]
        if names != self._plot_names:
            self._plots = dict(zip(names, self.plots.fill(len(names))))
            self._plot_names = names
        for fig in figs:
            draw_figure(self._plots[fig.name], fig)
        self._fill_table(result)
        # Partial results are analysed only as often as the GUI keeps up, so this names the sweeps the curves
        # hold; the progress bar shows how far the run itself is.
        self.status.setText(f"Curves from the first {result.sweeps_done} of {result.config.sweeps} sweeps per T. "
                            + sizes_text(result) + exchange_text(result))
        if result.analysis is not None:
            self.result_ready.emit(result)

    def _fill_table(self, result: SweepResult) -> None:
        fill_estimate_table(self.table, estimate_rows(result))

    # --- session ------------------------------------------------------------------------------
    def session_state(self) -> dict:
        """The sweep shown (partial while it runs), with its analysis: redrawn as it is on open."""
        return {} if self.result is None else {"sweep": self.result}

    def session_restorer(self, state: dict):
        result = state.get("sweep")
        if result is None:
            return lambda: None
        if not isinstance(result, SweepResult) or set(result.sizes) != set(result.config.sizes):
            raise ValueError("Phase transitions: the session's sweep is inconsistent")
        try:
            result.config.validate()
        except ParameterError as err:
            raise ValueError(f"Phase transitions: the session's sweep: {err}") from None
        if self.busy():
            raise ValueError("Phase transitions: stop the running sweep before opening a session")

        def restore() -> None:
            self._show_config(result.config)
            self.show_result(result)
            self.status.setText(f"From the session: {result.sweeps_done} of {result.config.sweeps} sweeps per T.")

        return restore

    def _show_config(self, cfg: SweepConfig) -> None:
        """The fields describe ``cfg`` (a restored sweep's)."""
        self.model.setCurrentText(cfg.model)
        self.algorithm.setCurrentText(cfg.algorithm or "")
        self.sizes.setText(" ".join(map(str, cfg.sizes)))
        self.t_from.setValue(min(cfg.temperatures))
        self.t_to.setValue(max(cfg.temperatures))
        self.t_n.setValue(len(cfg.temperatures))
        for box, value in ((self.sweeps, cfg.sweeps), (self.thermalize, cfg.thermalize), (self.seed, cfg.seed)):
            box.setValue(value)
        self.tempering.setChecked(cfg.tempering)

    # --- export -------------------------------------------------------------------------------
    def figure_widget(self) -> QWidget:
        return self.figure_box

    def has_data(self) -> bool:
        return self.result is not None

    def export_data(self, folder: str | Path) -> list[Path]:
        """What ``rgviz-batch sweep --out folder`` writes: results.csv/.npz, estimates.json, figures."""
        if self.result is None:
            raise ParameterError("export", "nothing to export yet: run a sweep first")
        return write_sweep(self.result, summarise(self.result), Path(folder), render_all)
