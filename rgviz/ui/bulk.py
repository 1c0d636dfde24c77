"""The Bulk panel: the holographic geometry of a trained neural RG, node by node.

A background job (:class:`rgviz.jobs.Job`) samples the target exactly with each checkpoint's flow
(``engine.holography.sampling.sample_bulk``) and analyses the latent correlations
(``bulk_report``); the panel only draws the plain-numpy result. Two checkpoints are analysed side
by side: the critical theory, whose latent correlations should fall off with the *hyperbolic*
distance, and a control (disordered) theory, where they should not.

Views (one tab each, every one exportable as PNG/SVG/PDF; the data as NPZ/CSV):

- the 3D bulk (:mod:`.bulk3d`) with the boundary sample at its base,
- per-level maps of every node's correlation with the picked node (click a cell to pick),
- inferred against hyperbolic distance, density-coloured, critical beside control,
- bulk correlation against hyperbolic and flat distance and the boundary G(r)
  (the engine's own figure specs, ``engine.plots.bulk``),
- the Poincare disc of one row's slice: its boundary sites on the rim, the latent nodes above
  them, the RG tree drawn as geodesic arcs, and the geodesic between the two picked nodes.

Picking two nodes (in 3D or in the maps) shows their correlation with its error, their inferred
distance d0 - xi ln|C| and their hyperbolic distance.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, Qt, Signal, Slot
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QProgressBar,
                               QPushButton, QSpinBox, QTabWidget, QVBoxLayout, QWidget)

from engine.device import make_generator
from engine.holography.bulk import BulkAnalysis
from engine.holography.geometry import disk_geodesic, node_coordinates, poincare_disk
from engine.holography.sampling import bulk_report, sample_bulk
from engine.nrg.checkpoint import load_checkpoint
from engine.plots.bulk import bulk_figures

from .. import export
from ..figures import plot_widget
from ..jobs import Job, JobControl
from .bulk3d import LAYOUTS, Bulk3DView, lookup
from .lattice_view import colorize, lookup_table

ROLES = ("critical", "control")
RESOURCES = Path(__file__).resolve().parents[2] / "resources"
FIGURES = ("bulk3d", "level_maps", "inferred_vs_hyperbolic", "correlations", "poincare_disk")
DENSITY_SHADES = 16
MASKED = np.array([0.85, 0.85, 0.85, 1.0], np.float32)  # map cells that hold no node of that level


@dataclass
class BulkResult:
    """One checkpoint's bulk analysis, plain numpy only (what crosses from the job to the panel)."""

    path: str
    target: str
    L: int
    levels: int  # the flow's number of RG levels (the top nodes have level == levels)
    analysis: BulkAnalysis
    doc: dict
    boundary_G: np.ndarray
    boundary: np.ndarray  # [L, L, 3] uint8: one sample of x, coloured as in the lattice view


def boundary_image(x: np.ndarray, target: str) -> np.ndarray:
    """A field sample ``[C, L, L]`` as RGB: the phase as hue for phi^4, a diverging map for a real field."""
    if target == "phi4":
        return colorize(x, "phi4", lookup_table("CET-C6"))
    scale = float(np.abs(x[0]).max()) or 1.0
    return (lookup(x[0].ravel(), "CET-D1", -scale, scale)[:, :3] * 255).astype(np.uint8).reshape(x.shape[1:] + (3,))


def analyse_checkpoint(path: str, n: int, seed: int, device: str = "cpu", method: str = "auto",
                       progress: Callable[[int, int], None] | None = None) -> BulkResult:
    """Load, sample exactly (``method``: see ``engine.holography.sampling``), analyse: one checkpoint's work."""
    ckpt = load_checkpoint(path, device=device)
    gen = make_generator(seed, next(ckpt.density.parameters()).device)
    samples = sample_bulk(ckpt, n, gen, method=method, progress=progress)
    analysis, doc = bulk_report(samples)
    x = ckpt.density.sample(1, gen)[0][0].detach().cpu().numpy()
    return BulkResult(str(path), ckpt.target.name, ckpt.flow.L, ckpt.flow.levels, analysis, doc,
                      samples.boundary_G, boundary_image(x, ckpt.target.name))


def analysis_job(paths: dict[str, str], n: int, seed: int, device: str = "cpu", method: str = "auto"):
    """The job's work: every role's checkpoint in turn, a partial result after each.

    Progress counts per mille of each checkpoint's sampling, so that minutes of bulk HMC move
    the bar; the same callback notices a cancellation between two HMC steps.
    """
    def work(control: JobControl) -> dict[str, BulkResult]:
        results: dict[str, BulkResult] = {}
        for done, (role, path) in enumerate(paths.items()):
            def step(k: int, total: int, done=done) -> None:
                control.check()
                control.progress(1000 * done + 1000 * k // max(total, 1), 1000 * len(paths))

            step(0, 1)
            results[role] = analyse_checkpoint(path, n, seed + done, device, method, step)
            control.partial(dict(results))
        control.progress(len(paths), len(paths))
        return results
    return work


def shipped_checkpoints() -> list[Path]:
    return sorted(RESOURCES.glob("*.pt")) if RESOURCES.is_dir() else []


def node_label(result: BulkResult, k: int) -> str:
    i, j = divmod(k, result.L)
    return f"node {k} (site {i},{j}, level {int(result.analysis.levels[k])})"


def pair_summary(result: BulkResult, a: int, b: int) -> dict:
    """Correlation (with error), inferred, hyperbolic and flat distance of nodes a and b."""
    an = result.analysis
    c, e = float(an.corr[a, b]), float(an.corr_err[a, b])
    return {"corr": c, "corr_err": e, "resolved": bool(e > 0 and abs(c) > result.doc["threshold_sigma"] * e),
            "d_inferred": float(an.inferred_distance()[a, b]), "d_hyp": float(an.d_hyp[a, b]),
            "d_flat": float(an.d_flat[a, b])}


def density_values(x: np.ndarray, y: np.ndarray, bins: int = 40) -> np.ndarray:
    """Points per 2D histogram cell at each point (log scale): colours a crowded scatter by density."""
    if not len(x):
        return np.zeros(0)
    h, ex, ey = np.histogram2d(x, y, bins=bins)
    ix = np.clip(np.searchsorted(ex, x, side="right") - 1, 0, bins - 1)
    iy = np.clip(np.searchsorted(ey, y, side="right") - 1, 0, bins - 1)
    return np.log1p(h[ix, iy])


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
        self.result: BulkResult | None = None
        self.boxes: list[tuple[pg.ViewBox, pg.ImageItem, int]] = []
        self.scene().sigMouseClicked.connect(self._on_click)

    def show_result(self, result: BulkResult, picked: int | None) -> None:
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
        values = None if picked is None else an.corr[picked]
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


class DistanceScatter(pg.PlotWidget):
    """Inferred against hyperbolic distance for the resolved pairs, coloured by point density."""

    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent, background="w")
        self.base_title = title
        self.setLabel("bottom", "hyperbolic distance d_H")
        self.setLabel("left", "inferred distance d0 - xi ln|C|")
        self.setTitle(f"{title}: not analysed", color="k")
        self.scatter = pg.ScatterPlotItem(size=4, pen=None)
        self.line = pg.PlotDataItem(pen=pg.mkPen("#d62728", width=2))
        self.addItem(self.scatter)
        self.addItem(self.line)

    def show_result(self, result: BulkResult | None) -> None:
        if result is None:
            self.scatter.clear()
            self.line.setData([], [])
            self.setTitle(f"{self.base_title}: not analysed", color="k")
            return
        an = result.analysis
        x, y = an.d_hyp[an.resolved], an.inferred_distance()[an.resolved]
        dens = density_values(x, y)
        # A few shared brushes, not one per point: pyqtgraph renders a symbol per distinct brush.
        shades = (lookup(np.arange(DENSITY_SHADES), "viridis", 0, DENSITY_SHADES - 1) * 255).astype(int)
        palette = [pg.mkBrush(*c) for c in shades]
        top = float(dens.max()) if len(dens) else 1.0
        index = np.minimum((dens / (top or 1.0) * DENSITY_SHADES).astype(int), DENSITY_SHADES - 1)
        self.scatter.setData(x, y, brush=[palette[i] for i in index])
        line = np.array([0.0, float(x.max()) if len(x) else 1.0])
        fit, flat = an.fit, an.fit_flat
        self.line.setData(line, line)  # the fit, in these coordinates: inferred = hyperbolic
        self.setTitle(f"{self.base_title} ({result.target}), {fit.n_pairs} resolved pairs<br>fit (red): xi = "
                      f"{fit.xi:.3g} +- {fit.xi_error:.2g}, d0 = {fit.d0:.3g}<br>R^2 against hyperbolic distance "
                      f"{fit.r2:.3f}, against flat {flat.r2:.3f}", color="k", size="10pt")


class DiskView(pg.PlotWidget):
    """The Poincare disc of row ``row``'s slice: boundary sites on the rim, nodes above, geodesics."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, background="w")
        self.setAspectLocked(True)
        self.hideAxis("left")
        self.hideAxis("bottom")
        self.setTitle("Poincare disc of one row", color="k")

    def show_slice(self, result: BulkResult, row: int, picked: list[int]) -> None:
        self.clear()
        L, an = result.L, result.analysis
        t = np.linspace(0, 2 * np.pi, 200)
        self.plot(np.cos(t), np.sin(t), pen=pg.mkPen("k", width=1))
        rim = poincare_disk(np.arange(L), np.zeros(L), L)
        self.addItem(pg.ScatterPlotItem(rim[:, 0], rim[:, 1], size=8, symbol="s", pen=pg.mkPen("k"),
                                        brush=[pg.mkBrush(*c) for c in result.boundary[row].astype(int)]))
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
        values = an.corr[picked[-1]] if picked else None
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


def slice_points(L: int, levels: int, row: int) -> dict[tuple[int, int], np.ndarray]:
    """Disc position of every (level, column block) above ``row``: one point per block of latents."""
    keys, positions = [], []
    for level in range(levels + 1):
        s = 2 ** (level + 1)
        for block in range(max(L // s, 1)):
            keys.append((level, block))
            positions.append((row, block * s, level))
    coords = node_coordinates(np.array(positions))
    disc = poincare_disk(coords[:, 1], coords[:, 2], L)
    return dict(zip(keys, disc))


def slice_nodes(node_levels: np.ndarray, L: int, row: int) -> dict[tuple[int, int], list[int]]:
    """The nodes above ``row`` (their block covers it), grouped by (level, column block)."""
    groups: dict[tuple[int, int], list[int]] = {}
    for k, level in enumerate(node_levels):
        i, j = divmod(k, L)
        s = 2 ** (int(level) + 1)
        if i // s == row // s:
            groups.setdefault((int(level), j // s), []).append(k)
    return groups


def correlation_figures(result: BulkResult) -> QWidget:
    """The engine's figure specs (bulk against hyperbolic / flat distance, boundary G(r)) side by side."""
    box = QWidget()
    layout = QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    for fig in bulk_figures(result.analysis, result.boundary_G):
        layout.addWidget(plot_widget(fig))
    return box


# --- the panel ----------------------------------------------------------------------------------

class BulkPanel(QWidget):
    """Bulk geometry of one (critical) checkpoint against a control; see the module docstring."""

    error = Signal(str)
    #: (i, j, L) of each picked node: the Neural RG panel shows that latent's response.
    site_picked = Signal(int, int, int)

    def __init__(self, device: str = "cpu", parent: QWidget | None = None):
        super().__init__(parent)
        self.device = device
        self.results: dict[str, BulkResult] = {}
        self.picked: list[int] = []
        self.job: Job | None = None

        self.paths = {role: QComboBox() for role in ROLES}
        for role, combo in self.paths.items():
            combo.setEditable(True)
            combo.setMinimumContentsLength(28)
            for path in shipped_checkpoints():
                combo.addItem(path.name, str(path))
            preferred = combo.findText({"critical": "crit", "control": "disorder"}[role],
                                       Qt.MatchFlag.MatchContains)
            if preferred >= 0:
                combo.setCurrentIndex(preferred)
            elif role == "control":
                combo.setCurrentText("")
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
        self.run_button = QPushButton("Sample and analyse")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.status = QLabel("Choose checkpoints and press 'Sample and analyse'.")
        self.status.setWordWrap(True)
        self.readout = QLabel("Pick two nodes (click in the 3D view or the level maps).")
        self.readout.setWordWrap(True)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.layout_box = QComboBox()
        self.layout_box.addItems(["half-space", "Poincare ball"])
        self.color_box = QComboBox()
        self.color_box.addItems(["colour by level", "colour by correlation with picked node"])
        self.row = QSpinBox()
        self.row.setPrefix("row ")
        self.figure_box = QComboBox()
        self.figure_box.addItems(FIGURES)
        export_figure_button = QPushButton("Export figure...")
        export_data_button = QPushButton("Export data...")

        self.view3d = Bulk3DView()
        self.maps = LevelMaps()
        self.scatters = {role: DistanceScatter(role) for role in ROLES}
        self.correlations = QWidget()
        QVBoxLayout(self.correlations).setContentsMargins(0, 0, 0, 0)
        self.disk = DiskView()
        scatter_box = QWidget()
        scatter_layout = QHBoxLayout(scatter_box)
        scatter_layout.setContentsMargins(0, 0, 0, 0)
        for scatter in self.scatters.values():
            scatter_layout.addWidget(scatter)
        disk_box = QWidget()
        disk_layout = QVBoxLayout(disk_box)
        disk_layout.setContentsMargins(0, 0, 0, 0)
        disk_layout.addWidget(self.row)
        disk_layout.addWidget(self.disk)
        self.tabs = QTabWidget()
        self.tab_widgets = {"bulk3d": self.view3d, "level_maps": self.maps, "inferred_vs_hyperbolic": scatter_box,
                            "correlations": self.correlations, "poincare_disk": disk_box}
        for name, title in zip(FIGURES, ("3D bulk", "Level maps", "Inferred vs hyperbolic", "Correlations",
                                         "Poincare disc")):
            self.tabs.addTab(self.tab_widgets[name], title)

        form = QFormLayout()
        for role, label in zip(ROLES, ("Critical checkpoint", "Control checkpoint")):
            browse = QPushButton("Browse...")
            browse.clicked.connect(lambda _=False, r=role: self._browse(r))
            line = QHBoxLayout()
            line.addWidget(self.paths[role], 1)
            line.addWidget(browse)
            form.addRow(label, line)
        buttons = QHBoxLayout()
        for w in (QLabel("Samples"), self.samples, QLabel("Sampler"), self.method, QLabel("Seed"), self.seed,
                  self.run_button, self.cancel_button, self.progress):
            buttons.addWidget(w)
        view_row = QHBoxLayout()
        for w in (self.layout_box, self.color_box, self.figure_box, export_figure_button, export_data_button):
            view_row.addWidget(w)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addLayout(view_row)
        layout.addWidget(self.readout)
        layout.addWidget(self.tabs, 1)

        self.run_button.clicked.connect(self.start_analysis)
        self.cancel_button.clicked.connect(self.cancel)
        self.view3d.node_picked.connect(self.pick_node)
        self.maps.node_clicked.connect(self.pick_node)
        self.layout_box.currentIndexChanged.connect(lambda i: self.view3d.set_layout(LAYOUTS[i]))
        self.color_box.currentIndexChanged.connect(lambda _: self._update_picks())
        self.row.valueChanged.connect(lambda _: self._update_disk())
        export_figure_button.clicked.connect(self._export_figure_dialog)
        export_data_button.clicked.connect(self._export_data_dialog)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

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
        if self.job is not None and self.job.is_running():
            return
        paths = self.checkpoint_paths()
        if "critical" not in paths:
            self._fail("Choose a critical checkpoint first (a .pt file written by training or rgviz-batch train).")
            return
        self.job = Job(analysis_job(paths, self.samples.value(), self.seed.value(), self.device,
                                    self.method.currentData()), name="rgviz-bulk")
        self.job.progress.connect(self._on_progress)
        self.job.partial.connect(self._show_results)
        self.job.finished.connect(self._on_finished)
        self.job.failed.connect(self._fail)
        self.job.stopped.connect(self._on_stopped)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.setText(f"Sampling {self.samples.value()} configurations per checkpoint...")
        self.job.start()

    @Slot()
    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel and join the running job; True when none is left running."""
        return self.job is None or self.job.shutdown(timeout_ms)

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    @Slot(object)
    def _on_finished(self, results) -> None:
        if results is None:
            self.status.setText("Cancelled.")
            return
        self._show_results(results)
        docs = [f"{role}: xi = {r.analysis.fit.xi:.3g}, R^2 hyperbolic {r.analysis.fit.r2:.3f} vs flat "
                f"{r.analysis.fit_flat.r2:.3f}, acceptance {r.doc['acceptance']:.2f}" for role, r in results.items()]
        self.status.setText("; ".join(docs))

    @Slot()
    def _on_stopped(self) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    @Slot(str)
    def _fail(self, message: str) -> None:
        self.status.setText(f"<span style='color:#b00'>{message}</span>")
        self.error.emit(message)

    @Slot(object)
    def _show_results(self, results: dict[str, BulkResult]) -> None:
        first = "critical" in results and results.get("critical") is not self.results.get("critical")
        self.results = dict(results)
        for role, scatter in self.scatters.items():
            scatter.show_result(self.results.get(role))
        main = self.results.get("critical")
        if main is None:
            return
        if first:
            self.picked = []
            self.view3d.set_nodes(main.analysis.coords, main.analysis.levels, main.L)
            self.view3d.set_boundary(main.boundary)
            self.row.setRange(0, main.L - 1)
            layout = self.correlations.layout()
            while layout.count():
                layout.takeAt(0).widget().deleteLater()
            layout.addWidget(correlation_figures(main))
        self._update_picks()

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
        self.view3d.set_node_values(main.analysis.corr[newest] if by_corr else None)
        self.view3d.set_picked(self.picked)
        self.maps.show_result(main, newest)
        self._update_disk()
        self.readout.setText(self.pick_text())

    def _update_disk(self) -> None:
        main = self.results.get("critical")
        if main is not None:
            self.disk.show_slice(main, self.row.value(), self.picked)

    def pick_text(self) -> str:
        main = self.results.get("critical")
        if main is None or not self.picked:
            return "Pick two nodes (click in the 3D view or the level maps)."
        if len(self.picked) == 1:
            return f"A = {node_label(main, self.picked[0])}; pick a second node."
        a, b = self.picked
        s = pair_summary(main, a, b)
        note = "" if s["resolved"] else " (not resolved above 3 sigma: the inferred distance is noise)"
        return (f"A = {node_label(main, a)}, B = {node_label(main, b)}: C_AB = {s['corr']:.4g} +- "
                f"{s['corr_err']:.2g}{note}; inferred distance {s['d_inferred']:.3f}, hyperbolic distance "
                f"{s['d_hyp']:.3f} (flat {s['d_flat']:.3f})")

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

    def export_data(self, path: str | os.PathLike) -> list[Path]:
        """All analysed checkpoints: ``.npz`` (every array + a JSON summary) or ``.csv`` (one row per
        node pair, plus ``.json`` with the fits)."""
        if not self.results:
            raise export.ExportError("Nothing to export yet: run 'Sample and analyse' first")
        path = Path(path)
        suffix = path.suffix.lower()
        summary = json.dumps({role: {"checkpoint": r.path, "target": r.target, "L": r.L, **r.doc}
                              for role, r in self.results.items()}, default=float)
        if suffix == ".npz":
            arrays = {"summary": np.array(summary)}
            for role, r in self.results.items():
                an = r.analysis
                arrays.update({f"{role}_{k}": v for k, v in (
                    ("corr", an.corr), ("corr_err", an.corr_err), ("d_hyp", an.d_hyp), ("d_flat", an.d_flat),
                    ("d_inferred", an.inferred_distance()), ("resolved", an.resolved), ("coords", an.coords),
                    ("levels", an.levels), ("boundary_G", r.boundary_G))})

            def write_npz(tmp: str) -> None:
                with open(tmp, "wb") as fh:
                    np.savez_compressed(fh, **arrays)

            return [export.atomic_write(path, write_npz)]
        if suffix == ".csv":
            def write_csv(tmp: str) -> None:
                with open(tmp, "w", newline="") as fh:
                    out = csv.writer(fh)
                    out.writerow(["checkpoint", "a", "b", "level_a", "level_b", "corr", "corr_err", "d_hyp",
                                  "d_flat", "d_inferred", "resolved"])
                    for role, r in self.results.items():
                        an = r.analysis
                        a, b = np.triu_indices(len(an.levels), k=1)
                        d_inf = an.inferred_distance()
                        for row in zip(a, b, an.levels[a], an.levels[b], an.corr[a, b], an.corr_err[a, b],
                                       an.d_hyp[a, b], an.d_flat[a, b], d_inf[a, b], an.resolved[a, b]):
                            out.writerow([role, *(int(v) for v in row[:4]), *(f"{v:.9g}" for v in row[4:9]),
                                          int(row[9])])

            return [export.atomic_write(path, write_csv),
                    export.atomic_write(path.with_suffix(".json"), lambda tmp: Path(tmp).write_text(summary + "\n"))]
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
            self._fail(str(err))
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
            self._guarded(self.export_data, path)


def register_bulk_panels(window) -> dict[str, QWidget]:
    """Add the Bulk and Neural RG docks to ``window`` (tabified together) and wire them up."""
    from .neuralrg import NeuralRGPanel

    bulk, nrg = BulkPanel(window.device), NeuralRGPanel(window.device)
    area = Qt.DockWidgetArea.RightDockWidgetArea
    bulk_dock = window.add_panel("bulk", "Bulk geometry", bulk, area)
    nrg_dock = window.add_panel("neuralrg", "Neural RG", nrg, area)
    window.tabifyDockWidget(bulk_dock, nrg_dock)
    bulk.error.connect(window.show_error)
    nrg.error.connect(window.show_error)
    bulk.site_picked.connect(nrg.set_latent_site)
    return {"bulk": bulk, "neuralrg": nrg}
