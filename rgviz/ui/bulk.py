"""The Bulk panel: the holographic geometry of a trained neural RG, node by node.

A background job (:class:`rgviz.jobs.JobPanel`, like every panel with one job) runs the engine's pipeline
(:func:`engine.holography.pipeline.run_bulk`: exact samples, pair classes of the chosen estimator,
the fits, the flow's quality and a verdict) for each checkpoint; the panel only draws the result.
Two checkpoints are analysed side by side: the critical theory, whose latent correlations should fall
off with the *hyperbolic* distance, and a control (disordered) theory, where they should not.

A verdict line under the controls gives the numbers (collapse, same- vs cross-level xi, R^2 against
hyperbolic and flat distance) and, in red, the warning "too weak for a geometric reading" when a flow
is below the quality targets. A fit without decay is shown as "no decay", never as a negative xi.

Views (one tab each, every one exportable as PNG/SVG/PDF; the data as NPZ/CSV):

- the 3D bulk (:mod:`.bulk3d`) with a boundary sample (the chain's last configuration) at its base,
- per-level maps of every node's correlation with the picked node (click a cell to pick),
- the class-averaged correlation against hyperbolic distance, coloured by level, with the fit line,
  critical beside control,
- the same-level collapse against displacement / 2^level,
- the same classes against flat distance, and the boundary G(r),
- the Poincare disc of one row's slice: its boundary sites on the rim, the latent nodes above
  them, the RG tree drawn as geodesic arcs, and the geodesic between the two picked nodes.

Picking two nodes (in 3D or in the maps) shows their correlation with its error, their inferred
distance and their hyperbolic distance.
"""

from __future__ import annotations

import json
import os
from html import escape
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QProgressBar,
                               QPushButton, QSizePolicy, QSpinBox, QTabWidget, QVBoxLayout, QWidget)

from engine.errors import ParameterError
from engine.resources import shipped
from engine.holography.bulk import BulkAnalysis
from engine.holography.classes import PairClasses
from engine.holography.estimators import DESCRIPTIONS, ESTIMATORS, SADDLE_FORMS, PairStatistics
from engine.holography.fit import DecayFit
from engine.holography.geometry import disk_geodesic, poincare_disk, slice_nodes, slice_points
from engine.holography.pipeline import BulkRun, run_bulk
from engine.holography.sampling import BoundaryFit, BulkSamples
from engine.io import stamp, write_csv, write_npz, write_text
from engine.plots.bulk import boundary_figure, bulk_figures, collapse_figure

from .. import export
from ..figures import plot_widget
from ..jobs import Job, JobControl, JobPanel
from .bulk3d import LAYOUTS, RESOURCES, Bulk3DView, boundary_image
from .colors import lookup
from .panel import FigureTarget, Panel, proposed_size
from .plotting import readable

ROLES = ("critical", "control")
#: Shipped checkpoints each role starts on: the first name containing one of these, in this order.
PREFERRED = {"critical": ("phi4_L8_crit", "crit"), "control": ("phi4_L8_disordered", "disorder")}
FIGURES = ("bulk3d", "level_maps", "class_fit", "collapse", "correlations", "poincare_disk")
MASKED = np.array([0.85, 0.85, 0.85, 1.0], np.float32)  # map cells that hold no node of that level


def analysis_job(paths: dict[str, str], n: int, seed: int, device: str = "cpu", method: str = "auto",
                 estimator: str = "connected"):
    """The job's work: every role's checkpoint through :func:`run_bulk`, a partial result after each.

    Progress counts per mille of each checkpoint's sampling, so that minutes of bulk HMC move
    the bar; the same callback notices a cancellation between two HMC steps.
    """
    def work(control: JobControl) -> dict[str, BulkRun]:
        results: dict[str, BulkRun] = {}
        for done, (role, path) in enumerate(paths.items()):
            def step(k: int, total: int, done=done) -> None:
                control.check()
                control.progress(1000 * done + 1000 * k // max(total, 1), 1000 * len(paths))

            step(0, 1)
            results[role] = run_bulk(path, n, seed + done, method=method, estimator=estimator, device=device,
                                     progress=step, check=control.check)
            control.partial(dict(results))
        control.progress(len(paths), len(paths))
        return results
    return work


def shipped_checkpoints() -> list[Path]:
    """The shipped lattice flows (the ``images_*`` flows learnt from photographs have no bulk action)."""
    return [path for name, path in shipped().items() if not name.startswith("images")]


def node_label(result: BulkRun, k: int) -> str:
    i, j = divmod(k, result.L)
    return f"node {k} (site {i},{j}, level {int(result.analysis.levels[k])})"


def verdict_html(role: str, result: BulkRun) -> str:
    """The verdict line of one checkpoint; for a weak flow, the warning in bold red with what is missing."""
    quality = result.doc["flow_quality"]
    if not quality["meets_targets"]:
        return (f"<span style='color:#b00'><b>Warning: {role} flow too weak for a geometric reading</b> "
                f"({escape('; '.join(quality['weak']))})</span>")
    return f"<b>{role}</b>: {escape(result.verdict)}"


# --- views -------------------------------------------------------------------------------------

class LevelMaps(pg.GraphicsLayoutWidget):
    """One small map per RG level of the nodes' correlation with the picked node; click picks.

    Level l's latents live on the stride-2^l sublattice minus the stride-2^(l+1) one (those sites
    live on to coarser levels), so its map is that (L / 2^l)^2 sublattice with the survivors greyed.
    """

    node_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setBackground("w")
        self.result: BulkRun | None = None
        self.boxes: list[tuple[pg.ViewBox, pg.ImageItem, int]] = []
        self.scene().sigMouseClicked.connect(self._on_click)

    def show_result(self, result: BulkRun, picked: int | None) -> None:
        if self.result is not result:
            self.result = result
            self.clear()
            self.boxes = []
            for level in range(result.levels + 1):
                plot = self.addPlot(row=0, col=level, title=f"level {level}")
                plot.setAspectLocked(True)
                plot.invertY(True)
                plot.hideAxis("left")
                plot.hideAxis("bottom")
                image = pg.ImageItem(axisOrder="row-major")
                plot.addItem(image)
                self.boxes.append((plot.getViewBox(), image, level))
            self.caption = self.addLabel(row=1, col=0, colspan=result.levels + 1, color="k")
        an = result.analysis
        values = None if picked is None else an.stats.value[picked]
        scale = 1.0 if values is None else float(np.abs(np.delete(values, picked)).max()) or 1.0
        for _, image, level in self.boxes:
            stride = 2 ** level
            sites = np.arange(0, result.L, stride)
            k = (sites[:, None] * result.L + sites[None, :]).ravel()
            if values is None:
                rgba = lookup(an.levels[k], "viridis", 0.0, float(result.levels))
            else:
                rgba = lookup(values[k], "CET-D1", -scale, scale)
            rgba[an.levels[k] != level] = MASKED
            if picked is not None and picked in k:
                rgba[list(k).index(picked)] = (0, 0, 0, 1)
            image.setImage((rgba.reshape(len(sites), len(sites), 4) * 255).astype(np.uint8))
        self.caption.setText("colour: level (pick a node)" if picked is None else
                             f"colour: C_k,j with the picked node k = {picked} (black), blue -{scale:.3g} to red "
                             f"+{scale:.3g}; grey: sites that live on to coarser levels")

    def node_at(self, level: int, row: int, col: int) -> int | None:
        """The node shown at cell (row, col) of a level's map, or None where that cell is greyed."""
        if self.result is None or not 0 <= level <= self.result.levels:
            return None
        stride = 2 ** level
        i, j = row * stride, col * stride
        if not (0 <= i < self.result.L and 0 <= j < self.result.L):
            return None
        k = i * self.result.L + j
        return k if self.result.analysis.levels[k] == level else None

    def _on_click(self, event) -> None:
        for box, _, level in self.boxes:
            if box.sceneBoundingRect().contains(event.scenePos()):
                p = box.mapSceneToView(event.scenePos())
                k = self.node_at(level, int(np.floor(p.y())), int(np.floor(p.x())))
                if k is not None:
                    self.node_clicked.emit(k)
                return


class DiskView(pg.PlotWidget):
    """The Poincare disc of row ``row``'s slice: boundary sites on the rim, nodes above, geodesics."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, background="w")
        self.setAspectLocked(True)
        self.hideAxis("left")
        self.hideAxis("bottom")
        self.setTitle("Poincare disc of one row", color="k")
        readable(self)

    def show_slice(self, result: BulkRun, boundary: np.ndarray, row: int, picked: list[int]) -> None:
        """``boundary``: the boundary sample as an ``[L, L, 3]`` image (its row ``row`` is the rim)."""
        self.clear()
        L, an = result.L, result.analysis
        t = np.linspace(0, 2 * np.pi, 200)
        self.plot(np.cos(t), np.sin(t), pen=pg.mkPen("k", width=1))
        rim = poincare_disk(np.arange(L), np.zeros(L), L)
        self.addItem(pg.ScatterPlotItem(rim[:, 0], rim[:, 1], size=8, symbol="s", pen=pg.mkPen("k"),
                                        brush=[pg.mkBrush(*c) for c in boundary[row].astype(int)]))
        points = slice_points(L, result.levels, row)  # (level, column block) -> disc point
        arcs = []
        for (level, block), p in points.items():
            ends = [points[(level + 1, block // 2)]] if (level + 1, block // 2) in points else []
            if level == 0:
                ends = ends + [rim[2 * block], rim[min(2 * block + 1, L - 1)]]
            arcs += [np.vstack([disk_geodesic(p, q), [np.nan, np.nan]]) for q in ends]
        if arcs:  # one item for the whole tree (NaN rows break the line between arcs)
            tree = np.vstack(arcs)
            self.plot(tree[:, 0], tree[:, 1], pen=pg.mkPen((120, 120, 120), width=1), connect="finite")
        nodes = slice_nodes(an.levels, L, row)
        values = an.stats.value[picked[-1]] if picked else None
        xy = np.array([points[key] for key in nodes])
        if values is None:
            rgba = lookup(np.array([key[0] for key in nodes]), "viridis", 0.0, float(result.levels))
        else:
            mean = np.array([values[ks].mean() for ks in nodes.values()])
            scale = float(np.abs(np.delete(values, picked[-1])).max()) or 1.0
            rgba = lookup(mean, "CET-D1", -scale, scale)
        self.addItem(pg.ScatterPlotItem(xy[:, 0], xy[:, 1], size=12, pen=pg.mkPen("k"),
                                        brush=[pg.mkBrush(*(c * 255).astype(int)) for c in rgba]))
        ends = [next((points[key] for key, ks in nodes.items() if k in ks), None) for k in picked[-2:]]
        if len(ends) == 2 and all(e is not None for e in ends):
            arc = disk_geodesic(ends[0], ends[1])
            self.plot(arc[:, 0], arc[:, 1], pen=pg.mkPen("#d62728", width=3))
        self.setTitle(f"Poincare disc of row {row}: {len(nodes)} node groups, geodesics of the RG tree", color="k")


def figure_row(figures) -> QWidget:
    """Engine figure specs side by side (a missing one, e.g. no collapse at L < 16, as a note)."""
    box = QWidget()
    layout = QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    for fig in figures:
        layout.addWidget(plot_widget(fig) if fig is not None else
                         QLabel("No collapse: same-level pairs at >= 3 levels need L >= 16."))
    return box


# --- the panel ----------------------------------------------------------------------------------

class BulkPanel(JobPanel, Panel, QWidget):
    """Bulk geometry of one (critical) checkpoint against a control; see the module docstring."""

    error = Signal(str)
    #: (i, j, L) of each picked node: the Neural RG panel shows that latent's response.
    site_picked = Signal(int, int, int)
    #: Every type a :class:`BulkRun` holds (a session file may build only these).
    session_types = (BulkRun, BulkSamples, BoundaryFit, BulkAnalysis, PairStatistics, PairClasses, DecayFit)

    def __init__(self, device: str = "cpu", parent: QWidget | None = None):
        super().__init__(parent)
        self.device = device
        self.results: dict[str, BulkRun] = {}
        self.boundary: np.ndarray | None = None  # the critical boundary sample, coloured
        self.picked: list[int] = []
        self.job: Job | None = None

        self.paths = {role: QComboBox() for role in ROLES}
        for role, combo in self.paths.items():
            combo.setEditable(True)
            combo.setMinimumContentsLength(28)
            for path in shipped_checkpoints():
                combo.addItem(path.name, str(path))
            # the L = 8 pair first: its critical flow meets the quality targets, the L = 16 one not yet
            found = (combo.findText(text, Qt.MatchFlag.MatchContains) for text in PREFERRED[role])
            preferred = next((index for index in found if index >= 0), -1)
            if preferred >= 0:
                combo.setCurrentIndex(preferred)
            elif role == "control":
                combo.setCurrentText("")
        self.paths["critical"].setToolTip("Flow checkpoint (.pt) of a critical theory: a shipped one by name, or "
                                          "a path typed in; its latent correlations should fall off with "
                                          "hyperbolic distance")
        self.paths["control"].setToolTip("Optional flow checkpoint (.pt) of a control (disordered) theory, "
                                         "analysed beside the critical one; empty: none")
        self.samples = QSpinBox()
        self.samples.setRange(64, 1_000_000)
        self.samples.setValue(4096)
        self.samples.setSingleStep(1024)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.method = QComboBox()
        for label, method in (("automatic", "auto"), ("independent Metropolis", "independent"),
                              ("bulk HMC", "bulk")):
            self.method.addItem(label, method)
        self.method.setToolTip("Exact sampler: flow proposals with independent Metropolis (fast, needs a "
                               "well-trained flow), HMC on the latent variables (slower, mixes for any flow), "
                               "or automatic: HMC when the flow's recorded acceptance is below 0.05")
        self.estimator = QComboBox()
        for label, estimator in zip(("connected", "mutual information", "raw (diagnostic)", "saddle point",
                                     "saddle point, mutual information"), ESTIMATORS):
            self.estimator.addItem(label, estimator)
        self.estimator.setToolTip("Pair correlation the fits use: the connected normalised correlation (means "
                                  "and node scales removed), the Gaussian mutual information of the two nodes, "
                                  "the raw second moment (a diagnostic: keeps the distance-free nuisance), or "
                                  "either of the first two from the Gaussian at the minimum of S_eff (no sampling "
                                  "noise; the samples then only measure the flow's quality; several minutes "
                                  "per L = 16 checkpoint)")
        self.samples.setToolTip("Exact samples drawn per checkpoint")
        self.seed.setToolTip("Random seed of the sampler (the control uses seed + 1)")
        self.start_button = QPushButton("Sample and analyse")
        self.start_button.setToolTip("Sample each checkpoint in the background and fit its latent correlations "
                                     "against bulk distance")
        self.stop_button = QPushButton("Cancel")
        self.stop_button.setToolTip("Stop the analysis; checkpoints already analysed stay shown")
        self.stop_button.setEnabled(False)
        self.progress = QProgressBar()
        self.status = QLabel("Choose checkpoints and press 'Sample and analyse'.")
        self.status.setWordWrap(True)
        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        self.verdict.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout = QLabel("Pick two nodes (click in the 3D view or the level maps).")
        self.readout.setWordWrap(True)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.layout_box = QComboBox()
        self.layout_box.addItems(["half-space", "Poincare ball"])
        self.layout_box.setToolTip("3D layout of the bulk: upper half-space (one RG level per step up, evenly "
                                   "spaced) or the Poincare ball (the boundary lattice on its sphere)")
        self.color_box = QComboBox()
        self.color_box.addItems(["colour by level", "colour by correlation with picked node"])
        self.color_box.setToolTip("Colour the 3D nodes by RG level, or by their correlation with the last picked "
                                  "node (blue negative, red positive)")
        self.row = QSpinBox()
        self.row.setPrefix("row ")
        self.row.setToolTip("Boundary row (0 to L - 1) whose slice of the bulk the Poincare disc shows; picking a "
                            "node moves it to that node's row")
        self.figure_box = QComboBox()
        self.figure_box.addItems(FIGURES)
        self.figure_box.setToolTip("Figure that 'Export figure...' writes (any tab, not only the one on show)")
        export_figure_button = QPushButton("Export figure...")
        export_figure_button.setToolTip("Write the chosen figure as PNG, SVG or PDF (by the file's suffix)")
        export_data_button = QPushButton("Export data...")
        export_data_button.setToolTip("Write every analysed checkpoint: NPZ (all arrays and a JSON summary) or CSV "
                                      "(one row per node pair, and a JSON file with the fits)")

        self.view3d = Bulk3DView()
        self.maps = LevelMaps()
        self.figure_tabs = {name: QWidget() for name in ("class_fit", "collapse", "correlations")}
        for tab in self.figure_tabs.values():
            QVBoxLayout(tab).setContentsMargins(0, 0, 0, 0)
        self.disk = DiskView()
        disk_box = QWidget()
        disk_layout = QVBoxLayout(disk_box)
        disk_layout.setContentsMargins(0, 0, 0, 0)
        disk_layout.addWidget(self.row)
        disk_layout.addWidget(self.disk)
        self.tabs = QTabWidget()
        self.tab_widgets = {"bulk3d": self.view3d, "level_maps": self.maps, **self.figure_tabs,
                            "poincare_disk": disk_box}
        for name, title in zip(FIGURES, ("3D bulk", "Level maps", "Class fit", "Collapse", "Flat distance, G(r)",
                                         "Poincare disc")):
            self.tabs.addTab(self.tab_widgets[name], title)

        form = QFormLayout()
        for role, label in zip(ROLES, ("Critical checkpoint", "Control checkpoint")):
            browse = QPushButton("Browse...")
            browse.setToolTip(f"Choose the {role} checkpoint file (.pt)")
            browse.clicked.connect(lambda _=False, r=role: self._browse(r))
            line = QHBoxLayout()
            line.addWidget(self.paths[role], 1)
            line.addWidget(browse)
            form.addRow(label, line)
        # Settings, the run and the view on rows of their own: one row of all of them is wider than the dock
        # at 1400 x 900 and was clipped.
        settings, run, view_row = QHBoxLayout(), QHBoxLayout(), QHBoxLayout()
        for w in (QLabel("Samples"), self.samples, QLabel("Sampler"), self.method, QLabel("Estimator"),
                  self.estimator, QLabel("Seed"), self.seed):
            settings.addWidget(w)
        settings.addStretch(1)
        for w in (self.start_button, self.stop_button):
            run.addWidget(w)
        run.addWidget(self.progress, 1)
        for w in (self.layout_box, self.color_box, self.figure_box, export_figure_button, export_data_button):
            view_row.addWidget(w)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(settings)
        layout.addLayout(run)
        layout.addWidget(self.status)
        layout.addWidget(self.verdict)
        layout.addLayout(view_row)
        layout.addWidget(self.readout)
        layout.addWidget(self.tabs, 1)

        self.start_button.clicked.connect(self.start_analysis)
        self.stop_button.clicked.connect(self.stop)
        self.view3d.node_picked.connect(self.pick_node)
        self.maps.node_clicked.connect(self.pick_node)
        self.layout_box.currentIndexChanged.connect(lambda i: self.view3d.set_layout(LAYOUTS[i]))
        self.color_box.currentIndexChanged.connect(lambda _: self._update_picks())
        self.row.valueChanged.connect(lambda _: self._update_disk())
        export_figure_button.clicked.connect(self._export_figure_dialog)
        export_data_button.clicked.connect(self._export_data_dialog)

    # --- analysis job -------------------------------------------------------------------------
    def checkpoint_paths(self) -> dict[str, str]:
        """Role -> path of the checkpoints to analyse (the control is optional)."""
        paths = {}
        for role, combo in self.paths.items():
            index = combo.findText(combo.currentText())  # a shipped file by name, or a path typed in
            text = combo.itemData(index) if index >= 0 else combo.currentText().strip()
            if text:
                paths[role] = text
        return paths

    def set_checkpoint(self, role: str, path: str | os.PathLike) -> None:
        self.paths[role].setCurrentText(str(path))

    @Slot()
    def start_analysis(self) -> None:
        def prepare():
            paths = self.checkpoint_paths()
            if "critical" not in paths:
                raise ParameterError("checkpoint", "choose a critical checkpoint first (a .pt file written by "
                                     "training or rgviz-batch train)")
            work = analysis_job(paths, self.samples.value(), self.seed.value(), self.device,
                                self.method.currentData(), self.estimator.currentData())
            saddle = " (for the flow's quality) and finding the saddle point" if self.estimator.currentData() in \
                SADDLE_FORMS else ""
            return work, f"Sampling {self.samples.value()} configurations{saddle} per checkpoint..."

        self.start_job(prepare, "rgviz-bulk", finished=self._on_finished, partial=self._show_results)

    @Slot(object)
    def _on_finished(self, results) -> None:
        if results is None:
            self.status.setText("Cancelled.")
            return
        self._show_results(results)
        self.status.setText(f"Analysed {', '.join(results)} with the {results['critical'].doc['estimator']} "
                            f"estimator.")


    @Slot(object)
    def _show_results(self, results: dict[str, BulkRun]) -> None:
        first = "critical" in results and results.get("critical") is not self.results.get("critical")
        self.results = dict(results)
        self.verdict.setText("<br>".join(verdict_html(role, r) for role, r in self.results.items()))
        analyses = [r.analysis for r in self.results.values()]
        self._set_figures("class_fit", [bulk_figures(an)[0] for an in analyses])
        self._set_figures("collapse", [collapse_figure(an) for an in analyses])
        main = self.results.get("critical")
        if main is None:
            return
        self._set_figures("correlations", [bulk_figures(main.analysis)[1],
                                           boundary_figure(main.samples.boundary_G)])
        if first:
            self.picked = []
            self.boundary = boundary_image(main.boundary_sample, main.target)
            self.view3d.set_nodes(main.analysis.coords, main.analysis.levels, main.L)
            self.view3d.set_boundary(self.boundary)
            self.row.setRange(0, main.L - 1)
        self._update_picks()

    def _set_figures(self, tab: str, figures: list) -> None:
        layout = self.figure_tabs[tab].layout()
        while layout.count():
            layout.takeAt(0).widget().deleteLater()
        layout.addWidget(figure_row(figures))

    # --- picking ------------------------------------------------------------------------------
    @Slot(int)
    def pick_node(self, k: int) -> None:
        """Pick node ``k``: the last two picks are the pair; colours follow the newest."""
        main = self.results.get("critical")
        if main is None or not 0 <= k < len(main.analysis.levels):
            return
        self.picked = (self.picked + [int(k)])[-2:]
        self.row.setValue(k // main.L)
        self._update_picks()
        self.site_picked.emit(*divmod(int(k), main.L), main.L)

    def _update_picks(self) -> None:
        main = self.results.get("critical")
        if main is None:
            return
        newest = self.picked[-1] if self.picked else None
        by_corr = self.color_box.currentIndex() == 1 and newest is not None
        self.view3d.set_node_values(main.analysis.stats.value[newest] if by_corr else None)
        self.view3d.set_picked(self.picked)
        self.maps.show_result(main, newest)
        self._update_disk()
        self.readout.setText(self.pick_text())

    def _update_disk(self) -> None:
        main = self.results.get("critical")
        if main is not None:
            self.disk.show_slice(main, self.boundary, self.row.value(), self.picked)

    def pick_text(self) -> str:
        main = self.results.get("critical")
        if main is None or not self.picked:
            return "Pick two nodes (click in the 3D view or the level maps)."
        if len(self.picked) == 1:
            return f"A = {node_label(main, self.picked[0])}; pick a second node."
        a, b = self.picked
        s = main.analysis.pair(a, b)
        inferred = ("not defined (no decay, or the pair lies beyond the fit's line)" if s["d_inferred"] is None
                    else f"{s['d_inferred']:.3f}")
        return (f"A = {node_label(main, a)}, B = {node_label(main, b)}: {DESCRIPTIONS[s['estimator']]} "
                f"{s['value']:.4g} +- {s['value_error']:.2g}; inferred distance {inferred}, hyperbolic distance "
                f"{s['d_hyperbolic']:.3f} (flat {s['d_flat']:.3f})")

    # --- export -------------------------------------------------------------------------------
    def figure_widget(self) -> QWidget:
        """What the main window's 'Export figure' renders: the current tab (the 3D view as an image)."""
        return self._figure(FIGURES[self.tabs.currentIndex()])

    def _figure(self, name: str) -> QWidget:
        if name not in FIGURES:
            raise export.ExportError(f"No figure {name!r}; allowed: {', '.join(FIGURES)}")
        if name != "bulk3d":
            return self.tab_widgets[name]
        rgba = self.view3d.render()
        if rgba is None:
            raise export.ExportError("The 3D view needs OpenGL, which this display does not provide")
        rgba = np.ascontiguousarray(rgba)
        image = QImage(rgba.data, rgba.shape[1], rgba.shape[0], 4 * rgba.shape[1], QImage.Format.Format_RGBA8888)
        label = QLabel()
        label.setPixmap(QPixmap.fromImage(image.copy()))
        label.resize(rgba.shape[1], rgba.shape[0])
        return label

    def export_figure(self, name: str, path: str | os.PathLike) -> Path:
        """Write figure ``name`` (one of :data:`FIGURES`) as PNG, SVG or PDF by suffix."""
        return export.export_figure(self._figure(name), path)

    # --- the window's Panel protocol: the tab on show as figure, the analysed checkpoints as data ---
    def figure_targets(self) -> list[FigureTarget]:
        """The tab on show; its size is the panel's, as the 3D tab's figure is rendered on demand."""
        return [FigureTarget("", self.figure_widget, proposed_size(self))]

    def has_data(self) -> bool:
        return bool(self.results)

    def session_state(self) -> dict:
        """The analyses shown, by role (critical, control), samples and fits included."""
        return {"results": dict(self.results)} if self.results else {}

    def session_restorer(self, state: dict):
        results = state.get("results")
        if results is None:
            return lambda: None
        if not (isinstance(results, dict) and set(results) <= set(ROLES) and "critical" in results
                and all(isinstance(r, BulkRun) for r in results.values())):
            raise ValueError("Bulk geometry: the session's analyses must be bulk runs by role, a critical one "
                             "among them")
        if self.busy():
            raise ValueError("Bulk geometry: stop the running analysis before opening a session")

        def restore() -> None:
            for role, run in results.items():
                self.set_checkpoint(role, run.path)
            self._show_results(results)
            self.status.setText(f"From the session: {', '.join(results)} analysed with the "
                                f"{results['critical'].doc.get('estimator')} estimator.")

        return restore

    def export_data(self, folder: str | os.PathLike) -> list[Path]:
        """File > Export data: ``bulk.npz``, ``bulk.csv`` and ``bulk.json`` in ``folder``."""
        folder = Path(folder)
        return [path for suffix in (".npz", ".csv") for path in self.write_data(folder / f"bulk{suffix}")]

    def write_data(self, path: str | os.PathLike) -> list[Path]:
        """All analysed checkpoints: ``.npz`` (every array + a JSON summary) or ``.csv`` (one row per
        node pair, plus ``.json`` with the fits)."""
        if not self.results:
            raise export.ExportError("Nothing to export yet: run 'Sample and analyse' first")
        path = Path(path)
        suffix = path.suffix.lower()
        summary = {**stamp("rgviz-bulk"),
                   **{role: {"L": r.L, **r.doc, "verdict": r.verdict} for role, r in self.results.items()}}
        if suffix == ".npz":
            arrays = {"summary": np.array(json.dumps(summary))}
            for role, r in self.results.items():
                arrays.update({f"{role}_{k}": v for k, v in r.analysis.arrays().items()})
                arrays[f"{role}_boundary_G"] = r.samples.boundary_G
            return [write_npz(path, arrays)]
        if suffix == ".csv":
            columns = ("value", "value_error", "q", "d_hyperbolic", "d_flat", "d_inferred")
            rows = []
            for role, r in self.results.items():
                an, data = r.analysis, r.analysis.arrays()
                a, b = np.triu_indices(len(an.levels), k=1)
                cls = np.full((len(an.levels),) * 2, -1)
                cls[an.classes.a, an.classes.b] = an.classes.index  # -1: zero bulk distance, not fitted
                values = [data[c][a, b] for c in columns]
                rows += [[role, an.stats.estimator, *(int(v) for v in row), *(f"{v[k]:.9g}" for v in values),
                          int(cls[a[k], b[k]])] for k, row in enumerate(zip(a, b, an.levels[a], an.levels[b]))]
            header = ["checkpoint", "estimator", "a", "b", "level_a", "level_b", *columns, "class"]
            return [write_csv(path, header, rows), write_text(path.with_suffix(".json"), json.dumps(summary) + "\n")]
        raise export.ExportError(f"Cannot export data as {suffix or 'a file without suffix'}; allowed: .npz, .csv")

    def _browse(self, role: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, f"{role} checkpoint", str(RESOURCES),
                                              "rgviz flow checkpoint (*.pt);;All files (*)")
        if path:
            self.set_checkpoint(role, path)

    def _guarded(self, fn, *args) -> None:
        try:
            written = fn(*args)
        except (OSError, ValueError) as err:
            self.job_failed(str(err))
            return
        names = written if isinstance(written, list) else [written]
        self.status.setText("Exported " + ", ".join(map(str, names)))

    def _export_figure_dialog(self) -> None:
        name = self.figure_box.currentText()
        path, _ = QFileDialog.getSaveFileName(self, "Export figure", f"{name}.png",
                                              "PNG image (*.png);;SVG vector (*.svg);;PDF (*.pdf)")
        if path:
            self._guarded(self.export_figure, name, path)

    def _export_data_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export data", "bulk.npz", "NumPy archive (*.npz);;CSV (*.csv)")
        if path:
            self._guarded(self.write_data, path)

