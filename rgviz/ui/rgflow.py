"""RG-flow panel: block-spin trajectories of the Ising model and the Kosterlitz flow of the XY model.

Ising tab: :func:`engine.rg.ising_flow.run_ising_rgflow` (the same study as ``rgviz-batch
rgflow``) runs as a background :class:`rgviz.jobs.Job` on a fan of starting temperatures. The
result is drawn in a chosen plane of two couplings (e.g. K_nn vs K_nnn) with an arrow for every
blocking step, the trivial fixed points (K = 0 at the origin, K = infinity off to the right),
the critical trajectory (the start closest to the separatrix) and the point where it lingers
(the critical fixed point's estimate) highlighted, and the separatrix estimate of Kc on the
axis of starting couplings. A table holds Kc and the MCRG exponents y_t, y_h with errors next
to the exact values; the engine's other figures (coupling strength per level, last step vs K0,
MCRG by step) fill a grid below.

XY tab: the Kosterlitz flow in the (1/K, y) plane, theory flow lines and separatrix
(:func:`engine.rg.kosterlitz.kt_figures`), with trajectories measured by
:func:`engine.rg.kosterlitz.run_xy_rgflow` drawn over them.

Every plot is an :class:`engine.figures.Figure` spec first, so the panel, its export and the
batch CLI's figures look alike. :func:`register_rg_panels` adds this panel, the Hierarchy panel
and the teaching panels to the main window.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, Qt, Signal, Slot
from PySide6.QtWidgets import (QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QProgressBar, QPushButton, QSplitter, QTableWidgetItem,
                               QTabWidget, QVBoxLayout, QWidget)

from engine.cli.rgflow import ISING_FAN, XY_FAN, write_csv
from engine.errors import ParameterError
from engine.exact import KC_ISING, TC_ISING, T_KT_XY
from engine.figures import Figure, Series
from engine.rg.ising_flow import (PALETTE, Y_H_EXACT, Y_T_EXACT, RGFlowConfig, RGFlowResult, arrow_segments, flow_figures,
                                  run_ising_rgflow)
from engine.rg.kosterlitz import X_STAR, XYTrajectory, kt_figures, run_xy_rgflow
from engine.rg.operators import DEFAULT_COUPLINGS
from engine.rg.sampling import SamplingPlan

from .. import figures as figure_render
from ..jobs import JobControl, JobPanel
from .plotting import draw_figure, fill_grid, grid_widget, style_plot
from .widgets import estimate_table, int_spin

CRITICAL_COLOR = "#d62728"
TRAJECTORY_COLORS = tuple(c for c in PALETTE if c != CRITICAL_COLOR)
XY_X_RANGE = (0.4, 3.0)  # 1/K shown in the Kosterlitz diagram (zoom out for hotter trajectories)


def parse_temperatures(text: str) -> tuple[float, ...]:
    """Starting temperatures from text like ``"2.0 2.2, 2.4"``."""
    try:
        values = tuple(float(tok) for tok in text.replace(",", " ").split())
    except ValueError:
        raise ParameterError("T", f"temperatures must be numbers separated by spaces, got {text!r}") from None
    if not values or min(values) <= 0:
        raise ParameterError("T", f"needs one or more temperatures > 0, got {text!r}")
    return values


def cancellable(control: JobControl):
    """A progress callback for the engine that also ends the job when it is cancelled.

    The engine's long loops report progress but know nothing of jobs; raising
    :class:`rgviz.jobs.JobCancelled` from the callback unwinds them at the next report.
    """
    def progress(done: int, total: int) -> None:
        control.check()
        control.progress(done, total)

    return progress


# --- Ising: figures and table ----------------------------------------------------------------

def critical_index(result: RGFlowResult) -> int:
    """The trajectory that starts closest to the separatrix (to the exact Kc without an estimate)."""
    kc = result.separatrix.Kc if result.separatrix is not None else KC_ISING * result.config.J
    return int(np.argmin([abs(t.K0 - kc) for t in result.trajectories]))


def projection_figure(result: RGFlowResult, x_name: str = "nn", y_name: str = "nnn") -> Figure:
    """Trajectories in the (K_x, K_y) plane with arrows per blocking step and the fixed points marked.

    Levels with unidentifiable couplings (fully ordered blocked lattices, K infinite) are left out.
    """
    names = list(result.config.couplings)
    for name in (x_name, y_name):
        if name not in names:
            raise ParameterError("projection", f"coupling {name!r} was not fitted; fitted: {', '.join(names)}")
    i, j = names.index(x_name), names.index(y_name)
    fig = Figure(f"rg_plane_{x_name}_{y_name}", "RG trajectories (arrows: one blocking step each)",
                 f"K_{x_name}", f"K_{y_name}")
    crit = critical_index(result)
    x_max = 0.0
    for k, t in enumerate(result.trajectories):
        K = t.K[np.isfinite(t.K).all(axis=1)]
        if not len(K):
            continue
        x_max = max(x_max, float(K[:, i].max()))
        color = CRITICAL_COLOR if k == crit else TRAJECTORY_COLORS[k % len(TRAJECTORY_COLORS)]
        role = "critical, " if k == crit else ""
        fig.series.append(Series(K[:, i], K[:, j], label=f"T = {t.T:.4g} ({role}{t.fate})", style="line+points",
                                 color=color))
        for a in range(len(K) - 1):
            for xs, ys in arrow_segments(K[a, i], K[a, j], K[a + 1, i], K[a + 1, j]):
                fig.series.append(Series(xs, ys, color=color))
    fig.series.append(Series([0.0], [0.0], label="K = 0: high-T fixed point (stable)", style="points", color="k"))
    if x_max > 0:
        fig.series.append(Series([x_max, 1.2 * x_max], [0.0, 0.0], label="towards K = inf: low-T fixed point",
                                 style="dashed", color="gray"))
    K_end = result.trajectories[crit].K
    K_end = K_end[np.isfinite(K_end).all(axis=1)]
    if len(K_end) > 1:
        fig.series.append(Series([K_end[-1, i]], [K_end[-1, j]], label="near K*: end of the critical trajectory",
                                 style="points", color="#ff7f0e"))
    sep = result.separatrix
    if sep is not None and x_name == "nn":  # the starts are (K0, 0, 0, ...): Kc lies on the K_nn axis
        fig.series.append(Series([sep.Kc - sep.error, sep.Kc + sep.error], [0.0, 0.0], style="line",
                                 color=CRITICAL_COLOR))
        fig.series.append(Series([sep.Kc], [0.0], label=f"separatrix Kc = {sep.Kc:.4f} +- {sep.error:.2g}",
                                 style="points", color=CRITICAL_COLOR))
    return fig


def ising_figures(result: RGFlowResult, x_name: str, y_name: str) -> list[Figure]:
    """The chosen projection and the engine's other flow figures (its fixed K_nn-K_nnn plane left out)."""
    return [projection_figure(result, x_name, y_name)] + [f for f in flow_figures(result)
                                                          if f.name != "rg_trajectories"]


def estimate_rows(result: RGFlowResult) -> list[tuple[str, float, float, float]]:
    """(quantity, value, error, exact) for the table: Kc and Tc from the separatrix, MCRG y_t and y_h."""
    rows = []
    J = result.config.J
    if result.separatrix is not None:
        kc, err = result.separatrix.Kc, result.separatrix.error
        rows.append(("Kc = J/Tc (separatrix)", kc, err, KC_ISING))  # K0 = J/T: Kc is the same for every J
        rows.append(("Tc = J/Kc", J / kc, J * err / kc ** 2, TC_ISING * J))
    ex = result.exponents()
    for key, exact in (("y_t", Y_T_EXACT), ("y_h", Y_H_EXACT)):
        if key in ex:
            step = ex["step"]
            rows.append((f"{key} (MCRG, T = {ex['T']:.4g}, {step} -> {step + 1})",
                         _nan(ex[key]["mean"]), _nan(ex[key]["error"]), exact))
    if ex:  # how far the MCRG temperature is from Kc (a warning in the notes when too far)
        d = ex["distance_from_Kc"]
        rows.append((f"K - Kc at T = {ex['T']:.4g} (|K/Kc - 1| L = {d['scaled']:.2g})",
                     d["K_minus_Kc"]["mean"], d["K_minus_Kc"]["error"], 0.0))
    return rows


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


# --- XY ----------------------------------------------------------------------------------------

def xy_figure(trajectories: list[XYTrajectory] = ()) -> Figure:
    """The engine's Kosterlitz flow diagram with the line of fixed points y = 0, 1/K < pi/2 added."""
    fig = kt_figures(trajectories)[0]
    fig.series.insert(0, Series([0.5, X_STAR], [0.0, 0.0], label="fixed line (y = 0, 1/K < pi/2)", color="k"))
    fig.series.append(Series([X_STAR], [0.0], label="KT fixed point (1/K = pi/2)", style="points", color="k"))
    return fig


def xy_table(trajectories: list[XYTrajectory], L: int, b: int) -> tuple[list[str], list[list[float]]]:
    """CSV header and rows, one per (temperature, level), as ``rgviz-batch rgflow --model xy`` writes."""
    header = ["T", "level", "L_level", "inv_K", "inv_K_err", "y", "y_err"]
    rows = [[t.T, n, L // b ** n, t.x[n], t.x_err[n], t.y[n], t.y_err[n]]
            for t in trajectories for n in range(len(t.x))]
    return header, rows


# --- panels ------------------------------------------------------------------------------------

class FlowTab(JobPanel, QWidget):
    """What both tabs share: a form, Start/Stop/Export, a progress bar, one background job.

    Subclasses add their parameters to ``self.form``, and implement ``work()`` (the job's
    callable), ``show_result(result)`` and ``export(folder)``.
    """

    error = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.result = None
        self.start_button, self.stop_button = QPushButton("Start"), QPushButton("Stop")
        self.export_button = QPushButton("Export...")
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

    def _write(self, folder: str | Path, doc: dict, table: tuple[list[str], list[list]],
               figures: list[Figure]) -> list[Path]:
        """``rgflow.json``, ``trajectories.csv`` and each figure as PNG, SVG and PDF in ``folder``."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        (out / "rgflow.json").write_text(json.dumps(doc, indent=1))
        write_csv(out / "trajectories.csv", *table)
        written = [out / "rgflow.json", out / "trajectories.csv"]
        for fig in figures:
            written.extend(figure_render.render(fig, out))
        return written


class IsingFlowTab(FlowTab):
    """Fan of starting temperatures -> trajectories, separatrix Kc, MCRG exponents."""

    def __init__(self, device: str = "auto", parent: QWidget | None = None):
        super().__init__(parent)
        self.device = device
        self._grid_names: list[str] = []
        self._grid_plots = {}
        self.L = int_spin(4, 1024, 32, step=8)
        self.temperatures = QLineEdit(" ".join(f"{T:.4g}" for T in ISING_FAN))
        self.temperatures.setToolTip("Starting temperatures (J = 1), one trajectory each; straddle Tc = 2.269")
        self.levels = int_spin(1, 8, 3)
        self.samples = int_spin(2, 1_000_000, 500, step=100)
        self.thermalize = int_spin(0, 1_000_000, 200, step=50)
        self.rule = QComboBox()
        self.rule.addItems(["majority", "decimation"])
        self.b = int_spin(2, 4, 2)
        self.b.setToolTip("Block size: L must be divisible by b^blockings")
        self.x_coupling, self.y_coupling = QComboBox(), QComboBox()
        for box, value in ((self.x_coupling, "nn"), (self.y_coupling, "nnn")):
            box.addItems(list(DEFAULT_COUPLINGS))
            box.setCurrentText(value)
            box.currentTextChanged.connect(self._redraw)
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

        self.plane_widget = grid_widget()
        self.plane = self.plane_widget.addPlot()
        style_plot(self.plane)
        self.plots = grid_widget()
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
        """The study the widgets describe (validated; ParameterError names the bad field)."""
        return RGFlowConfig(L=self.L.value(), temperatures=parse_temperatures(self.temperatures.text()),
                            levels=self.levels.value(), n_samples=self.samples.value(), seed=self.seed.value(),
                            b=self.b.value(), rule=self.rule.currentText(), thermalize=self.thermalize.value(),
                            n_blocks=min(20, self.samples.value() // 2), device=self.device)

    def work(self):
        config = self.config()
        self._sweeps = config.plan.total_sweeps

        def work(control: JobControl) -> RGFlowResult:
            def stream(trajectories):
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
        """Progress counts sweeps (all temperatures at once), then one fit per temperature and level."""
        super().show_progress(done, total)
        if done < self._sweeps:
            self.status.setText(f"sampling: sweep {done} of {self._sweeps}")
        else:
            self.status.setText(f"fitting couplings: {done - self._sweeps} of {total - self._sweeps} levels")

    def show_result(self, result: RGFlowResult) -> None:
        """Draw the projection, the other figures and the table from a finished study."""
        self.result = result
        self._redraw()
        rows = estimate_rows(result)
        self.table.setRowCount(len(rows))
        for r, (label, value, error, exact) in enumerate(rows):
            for c, text in enumerate((label, f"{value:.5g}", f"{error:.2g}", f"{exact:.5g}")):
                item = QTableWidgetItem(text)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(r, c, item)
        fates = ", ".join(f"T={t.T:.4g}: {t.fate}" for t in result.trajectories)
        self.status.setText(f"done. {fates}" + "".join(f"<br>{n}" for n in result.notes))

    def _redraw(self) -> None:
        if self.result is None:
            return
        figs = ising_figures(self.result, self.x_coupling.currentText(), self.y_coupling.currentText())
        draw_figure(self.plane, figs[0])
        names = [f.name for f in figs[1:]]
        if names != self._grid_names:
            self._grid_plots = dict(zip(names, fill_grid(self.plots, len(names), columns=2)))
            self._grid_names = names
        for fig in figs[1:]:
            draw_figure(self._grid_plots[fig.name], fig)

    def figure_widget(self) -> QWidget:
        return self.figure_box

    def export(self, folder: str | Path) -> list[Path]:
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
        self.temperatures = QLineEdit(" ".join(f"{T:.4g}" for T in XY_FAN))
        self.temperatures.setToolTip(f"Temperatures (J = 1), one trajectory each; T_KT = {T_KT_XY}")
        self.levels = int_spin(1, 6, 2)
        self.samples = int_spin(2, 1_000_000, 300, step=100)
        self.thermalize = int_spin(0, 1_000_000, 200, step=50)
        for label, widget in (("Size L", self.L), ("Temperatures", self.temperatures), ("Blockings", self.levels),
                              ("Samples", self.samples), ("Thermalize", self.thermalize)):
            self.form.addRow(label, widget)
        self.figure_box = grid_widget()  # what "Export figure" renders
        self.plot = self.figure_box.addPlot()
        style_plot(self.plot)
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

    def export(self, folder: str | Path) -> list[Path]:
        """``rgflow.json`` and ``trajectories.csv`` as the batch CLI writes them, and the flow diagram."""
        if self.result is None:
            raise ParameterError("export", "nothing to export yet: run an XY flow first")
        doc = {"model": "xy", **self._params, "T_KT": T_KT_XY, "K_star": 1 / X_STAR,
               "trajectories": [t.to_dict() for t in self.result]}
        return self._write(folder, doc, xy_table(self.result, **self._params), [xy_figure(self.result)])


class RGFlowPanel(QTabWidget):
    """The Ising and XY flow tabs; errors of either come out of ``error``."""

    error = Signal(str)

    def __init__(self, device: str = "auto", parent: QWidget | None = None):
        super().__init__(parent)
        self.ising, self.xy = IsingFlowTab(device), XYFlowTab(device)
        self.addTab(self.ising, "Ising")
        self.addTab(self.xy, "XY (Kosterlitz)")
        for tab in (self.ising, self.xy):
            tab.error.connect(self.error)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    def figure_widget(self) -> QWidget:
        """The plots of the tab on show."""
        return self.currentWidget().figure_widget()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel and join both tabs' jobs; True when no thread is left."""
        return all([self.ising.shutdown(timeout_ms), self.xy.shutdown(timeout_ms)])


def register_rg_panels(window) -> dict[str, QWidget]:
    """Add the Hierarchy, RG flow and RG teaching docks to ``window``, tabified together."""
    from .hierarchy import HierarchyPanel
    from .teaching import TeachingPanel

    hierarchy, rgflow, teaching = HierarchyPanel(), RGFlowPanel(getattr(window, "device", "auto")), TeachingPanel()
    area = Qt.DockWidgetArea.BottomDockWidgetArea
    docks = [window.add_panel("hierarchy", "Hierarchy", hierarchy, area),
             window.add_panel("rgflow", "RG flow", rgflow, area),
             window.add_panel("teaching", "RG teaching", teaching, area)]
    for dock in docks[1:]:
        window.tabifyDockWidget(docks[0], dock)
    rgflow.error.connect(window.show_error)
    lattice = window.panels.get("lattice")
    if lattice is not None and hasattr(lattice, "cmap_box"):
        lattice.cmap_box.currentTextChanged.connect(hierarchy.set_colormap)
    return {"hierarchy": hierarchy, "rgflow": rgflow, "teaching": teaching}

