"""Correlation panel: the two-point function G(r) of the live lattice, with fitted xi and eta.

The study is :class:`engine.studies.correlation.CorrelationAverage` (G(r) averaged over the frames
since the model, size or parameters last changed, exponential and power-law fits); the panel
feeds it frames and draws the two figures of :func:`engine.plots.correlation.correlation_figures`
(lin-log: exp(-r/xi) straight; log-log: r^(-eta) straight). To keep the GUI thread light
(one FFT of one L x L lattice per frame), a frame is used only MIN_INTERVAL after the last one was done.
"""

from __future__ import annotations

import time

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from engine.plots.correlation import correlation_figures
from engine.studies.correlation import CorrelationAverage, Fit, fit_window

from .plotting import draw_figure, fill_grid, grid_widget

#: Frames closer together than this are skipped (seconds).
MIN_INTERVAL = 0.25


class CorrelationPanel(QWidget):
    """G(r) on lin-log and log-log axes, averaged over frames, with exponential and power-law fits."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.average = CorrelationAverage()
        self._last = 0.0
        self.exponential: Fit | None = None
        self.power_law: Fit | None = None
        self.L = 0

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
        self.average.clear()
        self._last = 0.0

    @property
    def frames(self) -> int:
        return self.average.frames

    def figure_widget(self) -> QWidget:
        return self.figure_box

    def show_frame(self, snapshot: dict) -> None:
        if time.monotonic() - self._last < MIN_INTERVAL:
            return
        params = snapshot.get("params", {})
        self.average.add(snapshot["lattice"], snapshot["model"], params, self.connected.isChecked())
        self.redraw(params.get("T"))
        self._last = time.monotonic()  # the next frame waits MIN_INTERVAL after this one's work

    def redraw(self, T=None) -> None:
        result = self.average.result()
        self.L, self.exponential, self.power_law = result.L, result.exponential, result.power_law
        for plot, fig in zip((self.lin_log, self.log_log), correlation_figures(result, T)):
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
