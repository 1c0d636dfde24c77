"""Sandpile panel: self-organised criticality of the BTW and Manna sandpiles, measured while you watch.

A background :class:`rgviz.jobs.Job` runs :func:`engine.studies.soc.run_soc` (the same study as
``rgviz-batch soc``) size after size; each partial result is analysed in the job's thread
(:func:`engine.studies.soc.analyse`, figures from :mod:`engine.plots.soc`) and the panel only draws:
pile 0 of the size in progress with its last avalanche in red, P(s), P(a), P(T) with their fits, the
collapse and the moment analysis across L, the spectrum of the activity, and a table of the estimates
against the literature's values and the exact <s>.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton,
                               QTabWidget, QVBoxLayout, QWidget)

from engine.errors import ParameterError
from engine.figures import Figure
from engine.plots.soc import soc_figures
from engine.studies.soc import SocAnalysis, SocConfig, SocResult, analyse, run_soc, write_soc

from ..figures import render_all
from ..jobs import JobControl, JobPanel
from .panel import FigureTarget, Panel
from .parsing import parse_sizes
from .plotting import PlotGrid, draw_figure
from .widgets import estimate_table, fill_estimate_table, int_spin, side_by_side

#: Heights 0 .. 3 from pale to dark sand; toppled sites of the last avalanche in red over them.
SAND = np.array([[250, 240, 215], [226, 198, 140], [190, 150, 80], [120, 85, 35]], np.uint8)
AVALANCHE = np.array([220, 30, 30], np.uint8)


@dataclass
class SandpileView:
    """What the panel draws: the result so far, its analysis and figures, pile 0 of the size in progress."""

    result: SocResult
    analysis: SocAnalysis
    figures: list[Figure]
    L: int
    heights: np.ndarray
    last: np.ndarray


def view_of(result: SocResult) -> SandpileView:
    """Analyse ``result`` and build its figures (in the job's thread)."""
    analysis = analyse(result)
    L = list(result.runs)[-1]
    run = result.runs[L]
    return SandpileView(result, analysis, soc_figures(analysis), L, run.heights, run.last)


def sandpile_work(config: SocConfig):
    """The job: run the study, publishing an analysed view when the panel can take one."""
    config.validate()

    def work(control: JobControl) -> SandpileView | None:
        def partial(result: SocResult) -> None:
            if control.wants_partial():
                control.partial(view_of(result))

        result = run_soc(config, control.progress, partial, lambda: control.cancelled)
        return view_of(result) if result.runs and not control.abandoned else None

    return work


def sand_image(heights: np.ndarray, last: np.ndarray) -> np.ndarray:
    """``[L, L, 3]`` uint8: heights in sand colours (Manna's 0 and 1 as BTW's 0 and 2), the last avalanche red."""
    scale = 1 if heights.max(initial=0) > 1 else 2
    rgb = SAND[np.clip(heights * scale, 0, 3)]
    rgb[last] = (0.35 * rgb[last] + 0.65 * AVALANCHE).astype(np.uint8)
    return rgb


class SandpilePanel(JobPanel, Panel, QWidget):
    """Controls above the live pile | tabs: distributions, scaling and spectrum, estimates."""

    error = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.view: SandpileView | None = None
        self.model = QComboBox()
        self.model.addItems(["btw", "manna"])
        self.model.setToolTip("btw: Bak-Tang-Wiesenfeld, a site with 4 grains topples, one to each neighbour; "
                              "manna: a site with 2 grains topples, each grain to a random neighbour")
        self.sizes = QLineEdit("16 32 64")
        self.sizes.setToolTip("Lattice sizes L, run one after another (two or more for the moment analysis "
                              "and the collapse); grains fall off the open edges")
        self.grains = int_spin(100, 10_000_000, 20_000, step=10_000)
        self.grains.setToolTip("Grains dropped per size, one avalanche each (after a warm-up of L^2 grains "
                               "per pile that brings the piles to their stationary state)")
        self.piles = int_spin(1, 1024, 16)
        self.piles.setToolTip("Independent piles per size, relaxed together in the same parallel waves "
                              "(faster; the live view shows pile 0)")
        self.seed = int_spin(0, 2**31 - 1, 0)
        self.seed.setToolTip("Random seed of the first size (size k uses seed + k): same seed, same avalanches")
        self.start_button, self.stop_button = QPushButton("Start"), QPushButton("Stop")
        self.start_button.setToolTip("Warm up and measure every size in the background")
        self.stop_button.setToolTip("Stop; what was measured stays shown and exportable")
        self.export_button = QPushButton("Export...")
        self.export_button.setToolTip("Write soc.json, distributions.csv, avalanches.npz and every figure "
                                      "(PNG, SVG, PDF) to a folder")
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.export_button.clicked.connect(lambda: self.export_dialog("Export sandpile data and figures"))
        self.stop_button.setEnabled(False)
        self.export_button.setEnabled(False)
        self.progress = QProgressBar()
        self.status = QLabel("choose a model and sizes, then Start")
        self.status.setWordWrap(True)
        self.table = estimate_table("reference")
        self.table.setToolTip("Exponents from fits (per L) and the moment analysis (across L) against the "
                              "literature; <s> against its exact value from the lattice Green's function")

        form = QFormLayout()
        form.addRow("Model", self.model)
        form.addRow("Sizes L", self.sizes)
        form.addRow("Grains per L", self.grains)
        form.addRow("Piles", self.piles)
        form.addRow("Seed", self.seed)
        buttons = QHBoxLayout()
        for b in (self.start_button, self.stop_button, self.export_button):
            buttons.addWidget(b)
        form.addRow(buttons)
        form.addRow(self.progress)

        self.lattice_widget = PlotGrid(columns=1)
        self.lattice_plot = self.lattice_widget.fill(1)[0]
        self.lattice_plot.setAspectLocked(True)
        self.lattice_plot.invertY(True)
        self.lattice_plot.setTitle("pile 0 (last avalanche in red)", color="k", size="9pt")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.lattice_plot.addItem(self.image)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(form)
        left_layout.addWidget(self.status)
        left_layout.addWidget(self.lattice_widget, 1)

        # two 2 x 2 grids in tabs: the dock is too low for six plots and a table at once
        self.distributions, self.scaling = PlotGrid(columns=2), PlotGrid(columns=2)
        self.grid = self.distributions.fill(4) + self.scaling.fill(4)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.distributions, "Distributions")
        self.tabs.addTab(self.scaling, "Scaling and spectrum")
        self.tabs.addTab(self.table, "Estimates")
        self.tabs.setTabToolTip(0, "P(s), P(a), P(T) per L with fitted power laws, and <s|T>")
        self.tabs.setTabToolTip(1, "Collapse s^tau P(s) against s / L^D, the moment analysis, the activity "
                                   "spectrum, <s> against its exact value")
        self.tabs.setTabToolTip(2, "Every estimate with its error and reference")

        side_by_side(self, left, self.tabs, (320, 900), stretch=1)

    # --- the job ------------------------------------------------------------------------------
    def config(self) -> SocConfig:
        """The study the widgets describe (ParameterError names a bad field)."""
        return SocConfig(self.model.currentText(), parse_sizes(self.sizes.text()), self.grains.value(), None,
                         self.piles.value(), self.seed.value())

    def start(self) -> None:
        self.start_job(lambda: (sandpile_work(self.config()), "warming up and measuring..."), "rgviz-sandpile",
                       partial=self.show_view, finished=self._on_finished)

    def _on_finished(self, view: SandpileView | None) -> None:
        if view is None:
            self.status.setText("stopped")
            return
        self.show_view(view)
        done = all(run.complete for run in view.result.runs.values())
        self.status.setText(("done: " if done else "stopped: ") + self._summary(view))

    def show_view(self, view: SandpileView) -> None:
        """Draw a (partial) result: the pile, the figures, the estimates."""
        self.view = view
        self.image.setImage(sand_image(view.heights, view.last), levels=(0, 255))
        self.lattice_plot.setTitle(f"pile 0, L = {view.L} (last avalanche in red)", color="k", size="9pt")
        for plot, fig in zip(self.grid, view.figures):
            draw_figure(plot, fig)
        fill_estimate_table(self.table, view.analysis.estimate_rows())
        self.export_button.setEnabled(True)
        if self.busy():
            self.status.setText(f"measuring L = {view.L}: " + self._summary(view))

    @staticmethod
    def _summary(view: SandpileView) -> str:
        return ", ".join(f"L={L}: {len(run.avalanches)} avalanches" for L, run in view.result.runs.items())

    # --- the Panel protocol -----------------------------------------------------------------------
    def figure_targets(self) -> list[FigureTarget]:
        return [FigureTarget("Distributions", lambda: self.distributions),
                FigureTarget("Scaling and spectrum", lambda: self.scaling), FigureTarget("Pile", lambda: self.lattice_widget)]

    def has_data(self) -> bool:
        return self.view is not None

    def export_data(self, folder: str | Path) -> list[Path]:
        """What ``rgviz-batch soc --out folder`` writes (figures as PNG, SVG, PDF)."""
        if self.view is None:
            raise ParameterError("export", "nothing to export yet: run a sandpile first")
        return write_soc(Path(folder), self.view.result, self.view.analysis, self.view.figures, render_all)

    def session_state(self) -> dict:
        return {"model": self.model.currentText(), "sizes": self.sizes.text(), "grains": self.grains.value(),
                "piles": self.piles.value(), "seed": self.seed.value()}

    def session_restorer(self, state: dict):
        def restore() -> None:
            if state.get("model") in ("btw", "manna"):
                self.model.setCurrentText(state["model"])
            if isinstance(state.get("sizes"), str):
                self.sizes.setText(state["sizes"])
            for name in ("grains", "piles", "seed"):
                if isinstance(state.get(name), int):
                    getattr(self, name).setValue(state[name])
        return restore
