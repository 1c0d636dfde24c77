"""Correlation panel: the two-point function G(r) of the live lattice, with fitted xi and eta.

The study is :class:`engine.studies.correlation.CorrelationAverage` (G(r) averaged over the frames
since the model, size or parameters last changed, exponential and power-law fits). Frames go to a
:class:`rgviz.jobs.LatestJob`, which adds the newest one to the average, fits and builds the two
figures of :func:`engine.plots.correlation.correlation_figures` (lin-log: exp(-r/xi) straight;
log-log: r^(-eta) straight) off the GUI thread, at most one FFT of the lattice every MIN_INTERVAL;
the panel only draws.
"""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from engine.plots.correlation import correlation_figures
from engine.studies.correlation import CorrelationAverage, CorrelationResult, Fit, fit_window

from ..jobs import LatestJob
from .panel import Panel
from .plotting import PlotGrid, draw_figure

#: Seconds between the end of one frame's analysis and the start of the next.
MIN_INTERVAL = 0.25


def add_frame(item: tuple) -> tuple[CorrelationResult, list]:
    """The job: add one frame to its average; the averaged G(r) with its fits, and the figures."""
    average, snapshot, connected = item
    params = snapshot.get("params", {})
    average.add(snapshot["lattice"], snapshot["model"], params, connected)
    result = average.result()
    return result, correlation_figures(result, params.get("T"))


class CorrelationPanel(Panel, QWidget):
    """G(r) on lin-log and log-log axes, averaged over frames, with exponential and power-law fits."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.average = CorrelationAverage()  # touched only by the job (one at a time)
        self.analysis = LatestJob(add_frame, "rgviz-correlation", MIN_INTERVAL, parent=self)
        self.analysis.finished.connect(self.draw)
        self.exponential: Fit | None = None
        self.power_law: Fit | None = None
        self.L = 0

        self.connected = QCheckBox("connected (subtract each frame's magnetization)")
        self.connected.setToolTip("G(r) = <s_0 s_r> - m^2, m the frame's magnetization: it decays to 0 below Tc "
                                  "too (else it levels off at m^2). Switching starts a new average")
        self.connected.toggled.connect(self.clear)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Forget the frames averaged so far and start a new average from the next frame")
        self.clear_button.clicked.connect(self.clear)
        self.readout = QLabel("waiting for frames")
        self.readout.setWordWrap(True)
        self.plots = PlotGrid(columns=2)
        self.lin_log, self.log_log = self.plots.fill(2)
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
        """Forget the accumulated frames (a new average: a run in progress finishes with the old one)."""
        self.analysis.clear()
        self.average = CorrelationAverage()

    @property
    def frames(self) -> int:
        return self.average.frames

    def figure_widget(self) -> QWidget:
        return self.figure_box

    def show_frame(self, snapshot: dict) -> None:
        self.analysis.submit((self.average, snapshot, self.connected.isChecked()))

    def draw(self, analysed: tuple[CorrelationResult, list]) -> None:
        result, figures = analysed
        self.L, self.exponential, self.power_law = result.L, result.exponential, result.power_law
        for plot, fig in zip((self.lin_log, self.log_log), figures):
            draw_figure(plot, fig)
        self.readout.setText(self._fit_text())

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        return self.analysis.shutdown(timeout_ms)

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
