"""Finite-size-scaling panel: data collapse of a sweep, by hand or by a fit.

Near a critical point an observable scales as Q(T, L) = L^(x/nu) f((T - Tc) L^(1/nu)), so plotted
as Q L^(-x/nu) against (T - Tc) L^(1/nu) the curves of all sizes fall on one. The user drags
Tc, nu and the exponent ratio and watches the curves merge; the Houdayer-Hartmann quality S
(about 1 for a collapse within the errors) is shown live. "Auto-fit" minimises S in the
background (:func:`engine.measure.fss.best_collapse`) and reports each parameter with its error.

The panel is fed by the Phase panel: connect ``PhasePanel.result_ready`` to :meth:`FssPanel.set_result`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from engine.figures import Series
from engine.measure.fss import Collapse, best_collapse, collapse_quality
from engine.plots.sweep import collapse_figure, reference_temperature
from engine.sweep import SweepResult

from ..figures import PALETTE
from ..jobs import Job
from .panel import Panel
from .plotting import PlotGrid, draw_figure
from .widgets import SliderSpin


@dataclass(frozen=True)
class Observable:
    """A collapsed quantity: its key (estimates and curves), label, and the scaling of y."""

    key: str
    label: str
    exponent_name: str  # the ratio shown in the spin box, e.g. gamma/nu
    sign: float  # y is multiplied by L^(-sign * ratio)
    ising_ratio: float  # the exact 2D Ising value, the starting point


OBSERVABLES = (
    Observable("binder", "Binder U4", "", 1.0, 0.0),
    Observable("susceptibility", "chi L^(-gamma/nu)", "gamma/nu", 1.0, 1.75),
    Observable("abs_magnetization", "<|m|> L^(beta/nu)", "beta/nu", -1.0, 0.125),
)


def collapse_data(result: SweepResult, key: str):
    """(points, curves) in :func:`engine.measure.fss.collapse_quality`'s layout: (L, T, y, yerr) per size."""
    points = [(L, r.T, np.asarray(r.estimates[key].mean, float), np.asarray(r.estimates[key].error, float))
              for L, r in result.sizes.items() if key in r.estimates]
    curves = [(L, result.analysis.T_fine, *c[key]) for L, c in result.analysis.curves.items() if key in c]
    return points, curves


class FssPanel(Panel, QWidget):
    """Collapse plot, parameter controls, live quality S and a background auto-fit."""

    error = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.result: SweepResult | None = None
        self.quality = float("nan")
        self.fit: Collapse | None = None
        self.job: Job | None = None
        self._grid = (None, 0.0, 0.0)  # (model, T_min, T_max) of the sweep shown
        self._ratios = {o.key: o.ising_ratio for o in OBSERVABLES}

        self.observable = QComboBox()
        for o in OBSERVABLES:
            self.observable.addItem(o.label, o.key)
        self.observable.setToolTip("The observable whose curves for all L are collapsed onto one")
        self.tc = SliderSpin(2.0, 2.6, reference_temperature("ising"),
                             tooltip="Critical temperature: x = (T - Tc) L^(1/nu)")
        self.nu = SliderSpin(0.3, 3.0, 1.0, tooltip="Correlation-length exponent nu: x = (T - Tc) L^(1/nu)")
        self.ratio = SliderSpin(-0.5, 3.0, self._ratios["binder"],
                                tooltip="Exponent ratio (e.g. gamma/nu) by which the observable is scaled with L")
        self.ratio_label = QLabel()
        self.quality_label = QLabel("S = -")
        self.fit_button = QPushButton("Auto-fit")
        self.fit_button.setToolTip("Fit Tc, nu and the exponent ratio by minimising the collapse quality S, "
                                   "starting from the values set; each comes with its error")
        self.fit_label = QLabel(" ")
        self.fit_label.setWordWrap(True)
        self.observable.currentIndexChanged.connect(self._observable_changed)
        for control in (self.tc, self.nu, self.ratio):
            control.valueChanged.connect(self._parameters_changed)
        self.fit_button.clicked.connect(self.auto_fit)
        self.fit_button.setEnabled(False)

        form = QFormLayout()
        form.addRow("Observable", self.observable)
        form.addRow("Tc", self.tc)
        form.addRow("nu", self.nu)
        form.addRow(self.ratio_label, self.ratio)
        fit_row = QHBoxLayout()
        fit_row.addWidget(self.fit_button)
        fit_row.addWidget(self.quality_label, 1)
        form.addRow(fit_row)
        form.addRow(self.fit_label)

        self.plots = PlotGrid()
        self.plot = self.plots.fill(1)[0]
        self.figure_box = QWidget()  # what "Export figure" renders: the plot
        box = QVBoxLayout(self.figure_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.plots)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(form)
        layout.addWidget(self.figure_box, 1)
        self._observable_changed()

    # --- inputs -------------------------------------------------------------------------------
    @property
    def current(self) -> Observable:
        return OBSERVABLES[self.observable.currentIndex()]

    def set_result(self, result: SweepResult) -> None:
        """Show a (partial or final) analysed sweep.

        Tc's range follows the sweep's temperatures; a new model starts Tc at its known value.
        """
        if result.analysis is None:
            return
        self.result = result
        model = result.config.model
        lo, hi = float(result.analysis.T_fine[0]), float(result.analysis.T_fine[-1])
        if (model, lo, hi) != self._grid:
            tc = reference_temperature(model) if model != self._grid[0] else self.tc.value()
            self._grid = (model, lo, hi)
            self.tc.set_range(lo, hi)
            self.tc.set_value(min(max(tc, lo), hi))
        self.fit_button.setEnabled(len(result.sizes) >= 2 and self.job is None)
        self.redraw()

    def _observable_changed(self) -> None:
        o = self.current
        self.ratio_label.setText(o.exponent_name or "(no exponent)")
        self.ratio.setEnabled(bool(o.exponent_name))
        self.ratio.set_value(self._ratios[o.key])
        self.redraw()

    def _parameters_changed(self) -> None:
        self._ratios[self.current.key] = self.ratio.value()
        self.redraw()

    def parameters(self) -> tuple[float, float, float]:
        """(Tc, nu, exponent) as :func:`collapse_quality` takes them (y L^(-exponent))."""
        o = self.current
        return self.tc.value(), self.nu.value(), o.sign * self.ratio.value() if o.exponent_name else 0.0

    # --- drawing ------------------------------------------------------------------------------
    def redraw(self) -> None:
        if self.result is None:
            return
        o = self.current
        points, curves = collapse_data(self.result, o.key)
        if not points:
            return
        tc, nu, exponent = self.parameters()
        self.quality = collapse_quality(points, tc, nu, exponent, curves=curves) if len(points) >= 2 else float("nan")
        self.quality_label.setText(f"collapse quality S = {self.quality:.3g}  (about 1: collapsed within errors)")
        fig = collapse_figure(self.result, tc, nu, exponent, o.key)
        fig.ylabel = o.label if not o.exponent_name else o.label.replace(o.exponent_name, f"{self.ratio.value():.4g}")
        for k, (L, T, y, err) in enumerate(points):
            f = L ** (-exponent)
            fig.series.append(Series((T - tc) * L ** (1 / nu), y * f, err * f, style="points",
                                     color=PALETTE[k % len(PALETTE)]))
        draw_figure(self.plot, fig)

    def figure_widget(self) -> QWidget:
        return self.figure_box

    # --- fitting ------------------------------------------------------------------------------
    def auto_fit(self) -> None:
        """Minimise S over (Tc, nu, exponent) in a background job, from the current values."""
        if self.result is None or self.job is not None:
            return
        o = self.current
        points, curves = collapse_data(self.result, o.key)
        start = self.parameters()
        fix = not o.exponent_name
        self.fit_button.setEnabled(False)
        self.fit_label.setText("fitting...")
        self.job = Job(lambda control: best_collapse(points, start, fix_exponent=fix, curves=curves),
                       name="rgviz-collapse-fit", parent=self)
        self.job.finished.connect(self._fit_done)
        self.job.failed.connect(self._fit_failed)
        self.job.stopped.connect(self._fit_stopped)
        self.job.start()

    def _fit_done(self, fit: Collapse | None) -> None:
        if fit is None:
            return
        self.fit = fit
        o = self.current
        self.tc.set_value(fit.tc)
        self.nu.set_value(fit.nu)
        text = f"best collapse: Tc = {fit.tc:.4f} +- {fit.errors[0]:.2g}, nu = {fit.nu:.3f} +- {fit.errors[1]:.2g}"
        if o.exponent_name:
            self.ratio.set_value(o.sign * fit.exponent)
            text += f", {o.exponent_name} = {o.sign * fit.exponent:.3f} +- {fit.errors[2]:.2g}"
        self.fit_label.setText(text + f"; S = {fit.quality:.3g}")

    def _fit_failed(self, message: str) -> None:
        self.fit_label.setText(f"fit failed: {message}")
        self.error.emit(message)

    def _fit_stopped(self) -> None:
        self.job.deleteLater()  # its thread has ended
        self.job = None
        self.fit_button.setEnabled(self.result is not None and len(self.result.sizes) >= 2)

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        return self.job is None or self.job.shutdown(timeout_ms)
