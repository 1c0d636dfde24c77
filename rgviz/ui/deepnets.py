"""Deep networks panel: critical initialisation, from mean-field theory to random networks to training.

Three tabs, each a background job on one part of :mod:`engine.studies.deepnets` (the parts of
``rgviz-batch deepnets``), each drawing the engine's figures (:mod:`engine.plots.deepnets`):

- Mean field: chi_1 over the (sigma_w^2, sigma_b^2) plane with the order-to-chaos line, the length and
  correlation maps at one point, q*, c*, chi_1 and the depth scales xi_q, xi_c along a cut at one sigma_b^2.
  It computes once when first shown (a few seconds), and again on Compute.
- Random networks: q^l and c^l measured on random tanh or ReLU networks beside the mean-field iteration, and
  xi_c fitted to their decay against theory, with a table of measured against mean-field values.
- Trainability: test accuracy on the digits after a fixed number of SGD steps over (sigma_w^2, depth), with the
  line depth = 6 xi_c above which signals die out before the output.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.deepnets.trainability import TrainabilityConfig, run_trainability
from engine.errors import ParameterError
from engine.figures import Figure
from engine.names import DEEPNET_ACTIVATIONS
from engine.plots.deepnets import (
    maps_figure,
    measurement_figures,
    phase_figures,
    trainability_figure,
)
from engine.studies import deepnets as study

from ..figures import render_all
from ..jobs import JobControl, JobPanel
from .panel import FigureTarget, Panel
from .plotting import PlotGrid, draw_figure
from .rgflow import cancellable
from .widgets import FloatField, IntField, estimate_table, fill_estimate_table


def parse_numbers(text: str, name: str, kind: type = float) -> tuple:
    """Numbers from text like ``"1.0 1.5, 2"``; ParameterError naming ``name`` for anything else or nothing."""
    try:
        values = tuple(kind(token) for token in text.replace(",", " ").split())
    except ValueError:
        raise ParameterError(name, f"expected {'integers' if kind is int else 'numbers'}, got {text!r}") from None
    if not values or not all(np.isfinite(values)):
        raise ParameterError(name, f"needs one or more finite values, got {text!r}")
    return values


#: Pixels of the settings column: the panel docks below the lattice, about 1000 x 400 in a 1400 x 900 window.
SETTINGS_WIDTH = 370


def row(*items: QWidget | str) -> QHBoxLayout:
    """A row of widgets (strings become labels), packed to the left."""
    layout = QHBoxLayout()
    for item in items:
        layout.addWidget(QLabel(item) if isinstance(item, str) else item)
    layout.addStretch(1)
    return layout


class DeepNetTab(JobPanel, QWidget):
    """What the three tabs share: a column of settings, Compute/Stop/Export, a progress bar and a status line
    beside a grid of plots; one job; the files of :func:`engine.studies.deepnets.write_deepnets`.

    Subclasses fill ``form`` (rows) and ``fields`` (name -> widget, for the session), and implement
    ``work()`` (the job's callable), ``show_result(result)`` and ``written()`` (doc, table, arrays, figures).
    """

    error = Signal(str)
    action = "Compute"
    hint = ""

    def __init__(self, plots: int, columns: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.result = None
        self.fields: dict[str, QWidget] = {}
        self.start_button, self.stop_button = QPushButton(self.action), QPushButton("Stop")
        self.export_button = QPushButton("Export...")
        self.start_button.setToolTip(f"{self.action} in the background with the settings above")
        self.stop_button.setToolTip("End the computation; what is finished stays shown")
        self.export_button.setToolTip("Write the data (JSON, CSV, NPZ) and every figure (PNG, SVG, PDF) to a folder")
        self.progress = QProgressBar()
        self.status = QLabel(self.hint)
        self.status.setWordWrap(True)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.export_button.clicked.connect(lambda: self.export_dialog("Export deep-network data and figures"))
        self.stop_button.setEnabled(False)
        self.export_button.setEnabled(False)
        self.form = QFormLayout()  # the settings: subclasses add rows
        column = QVBoxLayout()
        column.addLayout(self.form)
        column.addLayout(row(self.start_button, self.stop_button, self.export_button))
        column.addWidget(self.progress)
        column.addWidget(self.status)
        column.addStretch(1)
        settings = QWidget()
        settings.setLayout(column)
        settings.setMaximumWidth(SETTINGS_WIDTH)
        self.plots = PlotGrid(columns=columns)
        self.plot_items = self.plots.fill(plots)
        self.figure_box = QWidget()  # what Export figure renders: the plots and what sits under them
        self.figure_layout = QVBoxLayout(self.figure_box)
        self.figure_layout.setContentsMargins(0, 0, 0, 0)
        self.figure_layout.addWidget(self.plots, 3)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(settings)
        layout.addWidget(self.figure_box, 1)

    def add_field(self, name: str, widget: QWidget, tooltip: str | None = None) -> QWidget:
        """Register ``widget`` under ``name`` for the session (and give it ``tooltip``)."""
        if tooltip is not None:
            widget.setToolTip(tooltip)
        self.fields[name] = widget
        return widget

    @staticmethod
    def apply_fields(*boxes) -> None:
        """Apply the typed text of number fields; ParameterError for the first refused (it is marked red)."""
        for box in boxes:
            if not box.apply_text():
                raise ParameterError(box.name, box.error.removeprefix(box.name).strip())

    def start(self) -> None:
        self.start_job(lambda: (self.work(), "computing..."), "rgviz-deepnets", partial=self._on_partial,
                       finished=self._on_finished)

    def job_work(self, run: Callable[[Callable[[int, int], None], Callable], object]):
        """A job's callable around ``run(progress, partial)``: the progress callback ends it when cancelled."""
        def work(control: JobControl):
            return run(cancellable(control), control.partial)
        return work

    @Slot(object)
    def _on_partial(self, result) -> None:
        self.result = result
        self.show_result(result)
        self.export_button.setEnabled(True)

    @Slot(object)
    def _on_finished(self, result) -> None:
        if result is None:
            self.status.setText("stopped" + ("; the finished part is shown" if self.result is not None else ""))
            return
        self.progress.setValue(self.progress.maximum())
        self._on_partial(result)

    def draw(self, figures: list[Figure]) -> None:
        for plot, fig in zip(self.plot_items, figures):
            draw_figure(plot, fig)

    def export_data(self, folder: str | Path) -> list[Path]:
        """What ``rgviz-batch deepnets <part> --out folder`` writes, figures as images only."""
        if self.result is None:
            raise ParameterError("export", f"nothing to export yet: {self.action} first")
        doc, table, arrays, figures = self.written()
        return study.write_deepnets(Path(folder), doc, table, arrays, figures, render_all)

    def session_state(self) -> dict:
        state = {}
        for name, widget in self.fields.items():
            if isinstance(widget, QComboBox):
                state[name] = widget.currentText()
            elif isinstance(widget, QLineEdit):
                state[name] = widget.text()
            else:
                state[name] = widget.value()
        return state

    def apply_state(self, state: dict) -> None:
        """Set the fields ``state`` names (values of the wrong kind are left out)."""
        for name, value in state.items():
            widget = self.fields.get(name)
            if isinstance(widget, QComboBox):
                widget.setCurrentText(str(value))
            elif isinstance(widget, QLineEdit):
                widget.setText(str(value))
            elif widget is not None and isinstance(value, (int, float)):
                widget.setValue(value)


def _activation_box() -> QComboBox:
    box = QComboBox()
    box.addItems(DEEPNET_ACTIVATIONS)
    return box


SW2_TIP = "sigma_w^2: the variance of each weight times the fan-in (W_ij ~ N(0, sigma_w^2 / N))"
SB2_TIP = "sigma_b^2: the variance of each bias"


class TheoryTab(DeepNetTab):
    """The mean-field phase diagram, the maps at one point and the cut through the plane."""

    hint = "mean-field theory of signal propagation: Compute (a few seconds)"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(4, 2, parent)
        self._shown_once = False
        config = study.PhaseConfig()
        f = self.add_field
        self.activation = f("activation", _activation_box(), "The nonlinearity phi of every layer")
        self.sw2_from = f("sw2_from", FloatField("sigma_w^2 from", 0.01, 100.0, config.sw2[0], SW2_TIP, 0.1, 3))
        self.sw2_to = f("sw2_to", FloatField("sigma_w^2 to", 0.01, 100.0, config.sw2[1], SW2_TIP, 0.1, 3))
        self.sw2_n = f("sw2_n", IntField("sigma_w^2 points", 1, 400, config.sw2[2], "Grid points along sigma_w^2"))
        self.sb2_from = f("sb2_from", FloatField("sigma_b^2 from", 0.0, 100.0, config.sb2[0], SB2_TIP, 0.05, 3))
        self.sb2_to = f("sb2_to", FloatField("sigma_b^2 to", 0.0, 100.0, config.sb2[1], SB2_TIP, 0.05, 3))
        self.sb2_n = f("sb2_n", IntField("sigma_b^2 points", 1, 400, config.sb2[2], "Grid points along sigma_b^2"))
        self.cut_sb2 = f("cut_sb2", FloatField("cut sigma_b^2", 0.0, 100.0, config.cut_sb2,
                                               "sigma_b^2 of the cut: q*, c*, chi_1 and the depth scales against "
                                               "sigma_w^2 (dashed on the phase diagram)", 0.01, 3))
        self.maps_sw2 = f("maps_sw2", FloatField("maps sigma_w^2", 0.01, 100.0, 1.76, "sigma_w^2 where the length "
                                                 "and correlation maps are drawn (at the cut's sigma_b^2); redrawn "
                                                 "at once", 0.05, 3))
        self.maps_sw2.valueChanged.connect(self._redraw_maps)
        self.form.addRow("phi", self.activation)
        self.form.addRow("sigma_w^2", row(self.sw2_from, "to", self.sw2_to, "n", self.sw2_n))
        self.form.addRow("sigma_b^2", row(self.sb2_from, "to", self.sb2_to, "n", self.sb2_n))
        self.form.addRow("cut: sigma_b^2", self.cut_sb2)
        self.form.addRow("maps: sigma_w^2", self.maps_sw2)

    def showEvent(self, event) -> None:
        """The first time the tab is shown, compute the default phase diagram (nothing to look at otherwise)."""
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            self.start()

    def config(self) -> study.PhaseConfig:
        self.apply_fields(self.sw2_from, self.sw2_to, self.sw2_n, self.sb2_from, self.sb2_to, self.sb2_n, self.cut_sb2)
        return study.PhaseConfig(self.activation.currentText(), (self.sw2_from.value(), self.sw2_to.value(),
                                                                 self.sw2_n.value()),
                                 (self.sb2_from.value(), self.sb2_to.value(), self.sb2_n.value()), self.cut_sb2.value())

    def work(self):
        config = self.config()
        config.validate()
        return self.job_work(lambda progress, partial: study.run_phase(config, progress))

    def show_result(self, phase: study.PhaseDiagram) -> None:
        self.draw(phase_figures(phase, self.maps_sw2.value()))
        self.status.setText(f"{phase.config.activation}: chi_1 = 1 at sigma_w^2 = {phase.cut_critical_sw2:.4g} "
                            f"for sigma_b^2 = {phase.config.cut_sb2:g}; ordered (chi_1 < 1) to its left, chaotic "
                            "to its right; xi_c diverges there")

    def _redraw_maps(self, sw2: float) -> None:
        if self.result is not None and not self.busy():
            # one point's maps: a few 1-D and 2-D averages of 120 points, milliseconds
            draw_figure(self.plot_items[1], maps_figure(self.result.config.activation, sw2,
                                                        self.result.config.cut_sb2))

    def written(self):
        phase = self.result
        return phase.to_dict(), phase.table(), phase.arrays(), phase_figures(phase, self.maps_sw2.value())


class MeasureTab(DeepNetTab):
    """q^l, c^l and xi_c on random networks against the mean-field iteration."""

    action = "Measure"
    hint = "random networks against mean-field theory: Measure (5 to 40 s per sigma_w^2 at N = 1000, by the load)"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(3, 3, parent)  # q^l, c^l, xi_c; the table below
        config = study.MeasureConfig()
        f = self.add_field
        self.activation = f("activation", _activation_box(), "The nonlinearity phi of every layer")
        self.sw2 = f("sw2", QLineEdit(" ".join(f"{v:g}" for v in config.sw2)),
                     "Values of sigma_w^2 to measure, separated by spaces (one run each). " + SW2_TIP)
        self.sb2 = f("sb2", FloatField("sigma_b^2", 0.0, 100.0, config.sb2, SB2_TIP, 0.01, 3))
        self.width = f("width", IntField("width", 2, 20_000, config.width, "Units per layer N (mean-field theory is "
                                         "the limit of large N)", 100))
        self.depth = f("depth", IntField("depth", 1, 10_000, config.depth, "Layers each input pair goes through", 10))
        self.draws = f("draws", IntField("draws", 2, 10_000, config.draws, "Independent random networks; the error "
                                         "bars are over these"))
        self.pairs = f("pairs", IntField("pairs", 1, 10_000, config.pairs, "Input pairs per network (each starts "
                                         "0.2 from c*); more pairs average the finite-width noise down"))
        self.seed = f("seed", IntField("seed", 0, 2**31 - 1, config.seed, "Random seed (sigma_w^2 number k uses "
                                       "seed + k)"))
        self.form.addRow("phi", self.activation)
        self.form.addRow("sigma_w^2", self.sw2)
        self.form.addRow("sigma_b^2", self.sb2)
        self.form.addRow("width, depth", row(self.width, self.depth))
        self.form.addRow("draws, pairs", row(self.draws, self.pairs))
        self.form.addRow("seed", self.seed)
        self.table = estimate_table("mean field")
        self.figure_layout.addWidget(self.table, 2)

    def work(self):
        self.apply_fields(self.sb2, self.width, self.depth, self.draws, self.pairs, self.seed)
        config = study.MeasureConfig(self.activation.currentText(), parse_numbers(self.sw2.text(), "sigma_w^2"),
                                     self.sb2.value(), self.width.value(), self.depth.value(), self.draws.value(),
                                     self.pairs.value(), seed=self.seed.value())
        config.validate()
        return self.job_work(lambda progress, partial: study.run_measurement(config, progress, partial))

    def show_result(self, measurement: study.Measurement) -> None:
        self.draw(measurement_figures(measurement))
        rows = []
        depth = measurement.config.depth
        for r in measurement.summary():
            rows += [(f"q^{depth} at sigma_w^2 = {r['sw2']:g}", r["q_last"], r["q_last_error"], r["q_last_theory"]),
                     (f"c^{depth} at sigma_w^2 = {r['sw2']:g}", r["c_last"], r["c_last_error"], r["c_last_theory"]),
                     (f"xi_c at sigma_w^2 = {r['sw2']:g} ({r['xi_c_layers']} layers; asymptotic "
                      f"{r['xi_c_theory']:.3g})", r["xi_c"], r["xi_c_error"], r["xi_c_fit_theory"])]
        fill_estimate_table(self.table, rows)
        c = measurement.config
        self.status.setText(f"{len(measurement.runs)} of {len(c.sw2)} values of sigma_w^2 measured at sigma_b^2 = "
                            f"{c.sb2:g}: width {c.width}, {c.draws} networks x {c.pairs} input pairs; points: "
                            "measured (errors over networks; xi_c: jackknife), lines: mean field; xi_c's theory: "
                            "the same fit on the mean-field c^l")

    def written(self):
        m = self.result
        return m.to_dict(), m.table(), m.arrays(), measurement_figures(m)


class TrainTab(DeepNetTab):
    """Test accuracy on the digits against depth and sigma_w^2, with 6 xi_c."""

    action = "Train"
    hint = ("does a network learn best near the order-to-chaos transition? Train (40 CPU seconds with these "
            "settings; minutes on a busy machine)")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(1, 1, parent)
        config = TrainabilityConfig()
        f = self.add_field
        self.depths = f("depths", QLineEdit(" ".join(str(d) for d in config.depths)),
                        "Depths (hidden tanh layers) to train, separated by spaces: the heat map's rows")
        self.sw2_from = f("sw2_from", FloatField("sigma_w^2 from", 0.01, 100.0, min(config.sw2), SW2_TIP, 0.1, 3))
        self.sw2_to = f("sw2_to", FloatField("sigma_w^2 to", 0.01, 100.0, max(config.sw2), SW2_TIP, 0.1, 3))
        self.sw2_n = f("sw2_n", IntField("sigma_w^2 points", 1, 200, len(config.sw2), "Columns of the heat map: "
                                         "every sigma_w^2 of a depth trains at once as one batched network"))
        self.sb2 = f("sb2", FloatField("sigma_b^2", 0.0, 100.0, config.sb2, SB2_TIP, 0.01, 3))
        self.width = f("width", IntField("width", 2, 4096, config.width, "Units per hidden layer", 16))
        self.steps = f("steps", IntField("steps", 1, 10_000_000, config.steps, "SGD steps every network takes", 50))
        self.lr = f("lr", FloatField("learning rate", 1e-5, 100.0, config.lr, "Plain SGD learning rate", 0.01, 5))
        self.seeds = f("seeds", IntField("seeds", 1, 1000, config.seeds, "Repetitions (data split, weights, "
                                         "minibatches from seed, seed + 1, ...); accuracies are averaged"))
        self.seed = f("seed", IntField("seed", 0, 2**31 - 1, config.seed, "The first repetition's seed"))
        self.form.addRow("depths", self.depths)
        self.form.addRow("sigma_w^2", row(self.sw2_from, "to", self.sw2_to, "n", self.sw2_n))
        self.form.addRow("sigma_b^2, width", row(self.sb2, self.width))
        self.form.addRow("steps, rate", row(self.steps, self.lr))
        self.form.addRow("seeds, first", row(self.seeds, self.seed))

    def work(self):
        self.apply_fields(self.sw2_from, self.sw2_to, self.sw2_n, self.sb2, self.width, self.steps, self.lr, self.seeds,
                          self.seed)
        sw2 = tuple(float(v) for v in np.linspace(self.sw2_from.value(), self.sw2_to.value(), self.sw2_n.value()))
        config = TrainabilityConfig(tuple(sorted(set(parse_numbers(self.depths.text(), "depths", int)))), sw2,
                                    self.sb2.value(), self.width.value(), self.steps.value(), lr=self.lr.value(),
                                    seeds=self.seeds.value(), seed=self.seed.value())
        study.validate_trainability(config)
        return self.job_work(lambda progress, partial: run_trainability(config, progress, partial))

    def show_result(self, result) -> None:
        self.draw([trainability_figure(result)])
        doc = study.trainability_dict(result)
        c = result.config
        self.status.setText(f"{result.rows_done} of {len(c.depths)} depths trained (tanh, width {c.width}, sigma_b^2 "
                            f"= {c.sb2:g}, {c.steps} SGD steps); chi_1 = 1 at sigma_w^2 = {doc['critical_sw2']:.3g}; "
                            "chance is 0.1")

    def written(self):
        r = self.result
        return (study.trainability_dict(r), study.trainability_table(r), study.trainability_arrays(r),
                [trainability_figure(r)])


class DeepNetsPanel(Panel, QTabWidget):
    """The three tabs; errors of any come out of ``error``."""

    error = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.theory, self.measure, self.train = TheoryTab(), MeasureTab(), TrainTab()
        self.tabs = {"theory": self.theory, "measure": self.measure, "train": self.train}
        for tab, title in ((self.theory, "Mean field"), (self.measure, "Random networks"),
                           (self.train, "Trainability")):
            self.addTab(tab, title)
            tab.error.connect(self.error)

    def figure_targets(self) -> list[FigureTarget]:
        return [FigureTarget(self.tabText(i), lambda tab=self.widget(i): tab.figure_box) for i in range(self.count())]

    def has_data(self) -> bool:
        """The tab on show has a result (File > Export data writes that tab's)."""
        return self.currentWidget().result is not None

    def export_data(self, folder: str | Path) -> list[Path]:
        return self.currentWidget().export_data(folder)

    def session_state(self) -> dict:
        return {key: tab.session_state() for key, tab in self.tabs.items()}

    def session_restorer(self, state: dict):
        def restore() -> None:
            for key, tab in self.tabs.items():
                if isinstance(state.get(key), dict):
                    tab.apply_state(state[key])
        return restore

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel and join every tab's job; True when no thread is left."""
        return all([tab.shutdown(timeout_ms) for tab in self.tabs.values()])
