"""RG-flow panel: block-spin trajectories of the Ising model and the Kosterlitz flow of the XY model.

Ising tab: :func:`engine.rg.ising_flow.run_ising_rgflow` (the same study as ``rgviz-batch
rgflow``) runs as a background :class:`rgviz.jobs.Job` on a fan of starting temperatures. The
result is drawn in a chosen plane of two couplings (e.g. K_nn vs K_nnn) with an arrow for every
blocking step, the trivial fixed points (K = 0 at the origin, K = infinity off to the right),
the critical trajectory (the start closest to the separatrix) and the point where it lingers
(the critical fixed point's estimate) highlighted, and the separatrix estimate of Kc on the
axis of starting couplings. A table holds Kc and the MCRG exponents y_t, y_h with errors next
to the exact values; the engine's other figures (coupling strength per level, last step vs K0,
MCRG by step) follow below.

XY tab: the Kosterlitz flow in the (1/K, y) plane, theory flow lines and separatrix
(:func:`engine.rg.kosterlitz.kt_figures`), with trajectories measured by
:func:`engine.rg.kosterlitz.run_xy_rgflow` drawn over them.

Every plot is an :class:`engine.figures.Figure` spec built in :mod:`engine.plots.rgflow`, and the
table and files come from :mod:`engine.studies.rgflow`, so the panel, its export and the batch
CLI's output look alike.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QProgressBar, QPushButton, QSplitter, QTabWidget, QVBoxLayout, QWidget)

from engine import validate
from engine.device import resolve_device
from engine.errors import ParameterError
from engine.exact import T_KT_XY
from engine.figures import Figure
from engine.plots.rgflow import ising_figures, projection_figure, xy_figure
from engine.rg.ising_flow import RESULT_TYPES, RGFlowConfig, RGFlowResult, run_ising_rgflow
from engine.rg.kosterlitz import XYTrajectory, run_xy_rgflow
from engine.rg.operators import DEFAULT_COUPLINGS, operators
from engine.rg.sampling import SamplingPlan
from engine.studies.files import Table
from engine.studies.rgflow import ISING_FAN, XY_FAN, estimate_rows, write_rgflow, xy_document, xy_table

from ..figures import render_all
from ..jobs import JobControl, JobPanel
from .panel import FigureTarget, Panel
from .parsing import parse_temperatures
from .plotting import PlotGrid, draw_figure, show_hint
from .widgets import estimate_table, fill_estimate_table, int_spin

XY_X_RANGE = (0.4, 3.0)  # 1/K shown in the Kosterlitz diagram (zoom out for hotter trajectories)


def cancellable(control: JobControl):
    """A progress callback for the engine that also ends the job when it is cancelled.

    The engine's long loops report progress but know nothing of jobs; raising
    :class:`rgviz.jobs.JobCancelled` from the callback unwinds them at the next report.
    """
    def progress(done: int, total: int) -> None:
        control.check()
        control.progress(done, total)

    return progress


# --- panels ------------------------------------------------------------------------------------

class FlowTab(JobPanel, QWidget):
    """What both tabs share: a form, Start/Stop/Export, a progress bar, one background job.

    Subclasses add their parameters to ``self.form``, and implement ``work()`` (the job's
    callable), ``show_result(result)`` and ``export_data(folder)``.
    """

    error = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.result = None
        self.start_button, self.stop_button = QPushButton("Start"), QPushButton("Stop")
        self.export_button = QPushButton("Export...")
        self.start_button.setToolTip("Sample every temperature in the background, block and measure the flow")
        self.stop_button.setToolTip("Stop the run; a stopped study gives no estimates and nothing to export")
        self.export_button.setToolTip("Write the data (JSON, CSV) and every figure (PNG, SVG, PDF) to a folder")
        self.progress = QProgressBar()
        self.status = QLabel(" ")
        self.status.setWordWrap(True)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.export_button.clicked.connect(lambda: self.export_dialog("Export RG flow data and figures"))
        self.stop_button.setEnabled(False)
        self.export_button.setEnabled(False)
        self.form = QFormLayout()
        self.seed = int_spin(0, 2**31 - 1, 0)
        self.seed.setToolTip("Random seed of the Monte Carlo samples; the same seed repeats the study")

    def _finish_form(self) -> QWidget:
        """The form with the seed, buttons, progress and status appended, as a widget."""
        self.form.addRow("Seed", self.seed)
        buttons = QHBoxLayout()
        for b in (self.start_button, self.stop_button, self.export_button):
            buttons.addWidget(b)
        self.form.addRow(buttons)
        self.form.addRow(self.progress)
        self.form.addRow(self.status)
        box = QWidget()
        box.setLayout(self.form)
        return box

    def start(self) -> None:
        self.start_job(lambda: (self.work(), "sampling..."), "rgviz-rgflow", partial=self._on_partial,
                       finished=self._on_finished)

    @Slot(object)
    def _on_partial(self, partial) -> None:
        """Results streamed before the job ends (subclasses that stream draw them)."""

    @Slot(object)
    def _on_finished(self, result) -> None:
        if result is None:
            self.status.setText("stopped")
            return
        self.progress.setValue(self.progress.maximum())
        self.show_result(result)
        self.export_button.setEnabled(True)

    def _write(self, folder: str | Path, doc: dict, table: Table, figures: list[Figure]) -> list[Path]:
        """``rgflow.json``, ``trajectories.csv`` and each figure as PNG, SVG and PDF in ``folder``."""
        return write_rgflow(Path(folder), doc, table, figures, render_all)


class IsingFlowTab(FlowTab):
    """Fan of starting temperatures -> trajectories, separatrix Kc, MCRG exponents."""

    def __init__(self, device: str = "auto", parent: QWidget | None = None):
        super().__init__(parent)
        self.device = device
        self._grid_names: list[str] = []
        self._grid_plots = {}
        self.L = int_spin(4, 1024, 32, step=8)
        self.L.setToolTip("Linear size L of the sampled L x L torus, divisible by b^blockings [sites]")
        self.temperatures = QLineEdit(" ".join(f"{T:.4g}" for T in ISING_FAN))
        self.temperatures.setToolTip("Starting temperatures (J = 1), one trajectory each; straddle Tc = 2.269")
        self.levels = int_spin(1, 8, 3)
        self.levels.setToolTip("Blocking steps b x b -> 1: the trajectory has this many steps after the start")
        self.samples = int_spin(2, 1_000_000, 500, step=100)
        self.samples.setToolTip("Configurations recorded per temperature (2 Swendsen-Wang sweeps apart); each is "
                                "blocked, and the couplings of every level are fitted to them")
        self.thermalize = int_spin(0, 1_000_000, 200, step=50)
        self.thermalize.setToolTip("Swendsen-Wang sweeps discarded before the first sample, to reach equilibrium")
        self.rule = QComboBox()
        self.rule.addItems(["majority", "decimation"])
        self.rule.setToolTip("Block spin: the sign of the block's sum (a tie gets a random sign) or decimation "
                             "(the block's top-left spin)")
        self.b = int_spin(2, 4, 2)
        self.b.setToolTip("Block size: L must be divisible by b^blockings")
        self.x_coupling, self.y_coupling = QComboBox(), QComboBox()
        for box, value in ((self.x_coupling, "nn"), (self.y_coupling, "nnn")):
            box.addItems(list(DEFAULT_COUPLINGS))
            box.setCurrentText(value)
            box.currentTextChanged.connect(self._redraw)
        couplings = "; ".join(f"{op.name}: {op.description}" for op in operators(DEFAULT_COUPLINGS))
        self.x_coupling.setToolTip(f"Coupling along x of the flow plane ({couplings})")
        self.y_coupling.setToolTip(f"Coupling along y of the flow plane ({couplings})")
        for label, widget in (("Size L", self.L), ("Temperatures", self.temperatures), ("Blockings", self.levels),
                              ("Samples", self.samples), ("Thermalize", self.thermalize),
                              ("Rule", self.rule), ("Block size b", self.b)):
            self.form.addRow(label, widget)
        axes = QHBoxLayout()
        for w in (QLabel("x"), self.x_coupling, QLabel("y"), self.y_coupling):
            axes.addWidget(w)
        self.form.addRow("Projection", axes)

        self.table = estimate_table("exact")
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self._finish_form())
        left_layout.addWidget(self.table, 1)

        self.plane_widget = PlotGrid()
        self.plane = self.plane_widget.fill(1)[0]
        show_hint(self.plane, "Start samples the fan of temperatures: trajectories, Kc and MCRG exponents appear here")
        self.plots = PlotGrid(columns=1)  # their titles are long: one column, the panel scrolls
        self.figure_box = QSplitter(Qt.Orientation.Vertical)  # what "Export figure" renders
        self.figure_box.addWidget(self.plane_widget)
        self.figure_box.addWidget(self.plots)
        self.figure_box.setStretchFactor(0, 3)
        self.figure_box.setStretchFactor(1, 2)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.figure_box)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([420, 900])  # room for the estimates table
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(splitter)

    def config(self) -> RGFlowConfig:
        """The study the widgets describe (validated, its memory too; ParameterError names the bad field)."""
        temperatures, samples = parse_temperatures(self.temperatures.text()), self.samples.value()
        validate.blocked_samples(samples, len(temperatures), self.L.value(), 1, resolve_device(self.device))
        return RGFlowConfig(L=self.L.value(), temperatures=temperatures, levels=self.levels.value(),
                            n_samples=samples, seed=self.seed.value(), b=self.b.value(), rule=self.rule.currentText(),
                            thermalize=self.thermalize.value(), n_blocks=max(2, min(20, samples // 2)),
                            device=self.device)

    def work(self):
        config = self.config()
        self._sweeps, self._task = config.plan.total_sweeps, config.plan.total_sweeps + config.levels + 1

        def work(control: JobControl) -> RGFlowResult:
            def stream(trajectories):  # each temperature's trajectory as its task finishes
                control.partial(RGFlowResult(config, trajectories, None, None, trajectories[0].T))

            return run_ising_rgflow(config, cancellable(control), on_trajectory=stream)

        return work

    @Slot(object)
    def _on_partial(self, partial: RGFlowResult) -> None:
        """Trajectories fitted so far: draw them in the projection while the rest are fitted."""
        draw_figure(self.plane, projection_figure(partial, self.x_coupling.currentText(),
                                                  self.y_coupling.currentText()))

    @Slot(int, int)
    def show_progress(self, done: int, total: int) -> None:
        """Progress counts each temperature's sweeps, then its fits (one per level), one temperature after another."""
        super().show_progress(done, total)
        k, within = divmod(min(done, total - 1), self._task)
        where = f"T {k + 1} of {total // self._task}"
        if within < self._sweeps:
            self.status.setText(f"{where}: sampling, sweep {within} of {self._sweeps}")
        else:
            levels = self._task - self._sweeps
            self.status.setText(f"{where}: fitting couplings, level {within - self._sweeps} of {levels}")

    def show_result(self, result: RGFlowResult) -> None:
        """Draw the projection, the other figures and the table from a finished study."""
        self.result = result
        self._redraw()
        fill_estimate_table(self.table, estimate_rows(result))
        fates = ", ".join(f"T={t.T:.4g}: {t.fate}" for t in result.trajectories)
        self.status.setText(f"done. {fates}" + "".join(f"<br>{n}" for n in result.notes))

    def _redraw(self) -> None:
        if self.result is None:
            return
        figs = ising_figures(self.result, self.x_coupling.currentText(), self.y_coupling.currentText())
        draw_figure(self.plane, figs[0])
        names = [f.name for f in figs[1:]]
        if names != self._grid_names:
            self._grid_plots = dict(zip(names, self.plots.fill(len(names))))
            self._grid_names = names
        for fig in figs[1:]:
            draw_figure(self._grid_plots[fig.name], fig)

    def figure_widget(self) -> QWidget:
        return self.figure_box

    def export_data(self, folder: str | Path) -> list[Path]:
        """What ``rgviz-batch rgflow --out folder`` writes, with the chosen projection as the plane figure."""
        if self.result is None:
            raise ParameterError("export", "nothing to export yet: run an RG flow first")
        return self._write(folder, self.result.to_dict(), self.result.trajectory_table(),
                           ising_figures(self.result, self.x_coupling.currentText(), self.y_coupling.currentText()))


class XYFlowTab(FlowTab):
    """The Kosterlitz flow diagram, with measured XY trajectories drawn over the theory."""

    def __init__(self, device: str = "auto", parent: QWidget | None = None):
        super().__init__(parent)
        self.device = device
        self.L = int_spin(4, 1024, 32, step=8)
        self.L.setToolTip("Linear size L of the sampled L x L torus, divisible by 2^blockings [sites]")
        self.temperatures = QLineEdit(" ".join(f"{T:.4g}" for T in XY_FAN))
        self.temperatures.setToolTip(f"Temperatures (J = 1), one trajectory each; T_KT = {T_KT_XY}")
        self.levels = int_spin(1, 6, 2)
        self.levels.setToolTip("Blocking steps 2 x 2 -> 1 (the direction of the block's summed spins); "
                               "(1/K, y) is measured at every level")
        self.samples = int_spin(2, 1_000_000, 300, step=100)
        self.samples.setToolTip("Configurations recorded per temperature, 2 sweeps (overrelaxation and heat bath) "
                                "apart")
        self.thermalize = int_spin(0, 1_000_000, 200, step=50)
        self.thermalize.setToolTip("Sweeps (overrelaxation and heat bath) discarded before the first sample, to reach "
                                   "equilibrium")
        for label, widget in (("Size L", self.L), ("Temperatures", self.temperatures), ("Blockings", self.levels),
                              ("Samples", self.samples), ("Thermalize", self.thermalize)):
            self.form.addRow(label, widget)
        self.figure_box = PlotGrid()  # what "Export figure" renders
        self.plot = self.figure_box.fill(1)[0]
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self._finish_form())
        splitter.addWidget(self.figure_box)
        splitter.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(splitter)
        self._draw(xy_figure())

    def work(self):
        L, temperatures = self.L.value(), parse_temperatures(self.temperatures.text())
        validate.blocked_samples(self.samples.value(), len(temperatures), L, 4, resolve_device(self.device))
        plan = SamplingPlan(self.samples.value(), self.thermalize.value())
        levels, seed, device = self.levels.value(), self.seed.value(), self.device
        self._params = {"L": L, "b": 2}

        def work(control: JobControl) -> list[XYTrajectory]:
            return run_xy_rgflow(L, temperatures, plan, levels=levels, seed=seed, device=device,
                                 progress=cancellable(control))

        return work

    def show_result(self, result: list[XYTrajectory]) -> None:
        self.result = result
        self._draw(xy_figure(result))
        self.status.setText("done: " + ", ".join(f"T={t.T:.4g}: 1/K {t.x[0]:.3g} -> {t.x[-1]:.3g}, "
                                                 f"y {t.y[0]:.3g} -> {t.y[-1]:.3g}" for t in result))

    def _draw(self, fig: Figure) -> None:
        """Draw ``fig`` framed on the theory: disordered starts (1/K up to infinity) lie off to the right."""
        draw_figure(self.plot, fig)
        self.plot.setXRange(*XY_X_RANGE, padding=0.02)
        self.plot.getViewBox().setAutoVisible(y=True)

    def figure_widget(self) -> QWidget:
        return self.figure_box

    def export_data(self, folder: str | Path) -> list[Path]:
        """``rgflow.json`` and ``trajectories.csv`` as the batch CLI writes them, and the flow diagram."""
        if self.result is None:
            raise ParameterError("export", "nothing to export yet: run an XY flow first")
        return self._write(folder, xy_document(self.result, **self._params), xy_table(self.result, **self._params),
                           [xy_figure(self.result)])


class RGFlowPanel(Panel, QTabWidget):
    """The Ising and XY flow tabs; errors of either come out of ``error``."""

    error = Signal(str)
    session_types = RESULT_TYPES + (XYTrajectory,)

    def __init__(self, device: str = "auto", parent: QWidget | None = None):
        super().__init__(parent)
        self.ising, self.xy = IsingFlowTab(device), XYFlowTab(device)
        self.addTab(self.ising, "Ising")
        self.addTab(self.xy, "XY (Kosterlitz)")
        for tab in (self.ising, self.xy):
            tab.error.connect(self.error)

    def figure_targets(self) -> list[FigureTarget]:
        return [FigureTarget("Ising", self.ising.figure_widget), FigureTarget("XY", self.xy.figure_widget)]

    def session_state(self) -> dict:
        """Each tab's finished study: the Ising result, the XY trajectories with their lattice."""
        state = {}
        if self.ising.result is not None:
            state["ising"] = self.ising.result
        if self.xy.result is not None:
            state["xy"] = {"trajectories": self.xy.result, **self.xy._params}
        return state

    def session_restorer(self, state: dict):
        ising, xy = state.get("ising"), state.get("xy")
        if ising is not None and not isinstance(ising, RGFlowResult):
            raise ValueError("RG flow: the session's Ising flow is not an RG-flow result")
        if xy is not None and not (isinstance(xy, dict) and isinstance(xy.get("trajectories"), list)
                                   and all(isinstance(t, XYTrajectory) for t in xy["trajectories"])
                                   and all(isinstance(xy.get(k), int) for k in ("L", "b"))):
            raise ValueError("RG flow: the session's XY flow is not a list of trajectories with L and b")
        if any(tab.busy() for tab in (self.ising, self.xy)):
            raise ValueError("RG flow: stop the running flow before opening a session")

        def restore() -> None:
            for tab, result in ((self.ising, ising), (self.xy, xy and xy["trajectories"])):
                if result is not None:
                    if tab is self.xy:
                        tab._params = {"L": xy["L"], "b": xy["b"]}
                    tab.show_result(result)
                    tab.export_button.setEnabled(True)

        return restore

    def has_data(self) -> bool:
        """The tab on show has a result (File > Export data writes that tab's)."""
        return self.currentWidget().result is not None

    def export_data(self, folder: str | Path) -> list[Path]:
        return self.currentWidget().export_data(folder)

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel and join both tabs' jobs; True when no thread is left."""
        return all([self.ising.shutdown(timeout_ms), self.xy.shutdown(timeout_ms)])
