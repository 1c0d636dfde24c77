"""The Neural RG panel: train or load a hierarchical flow and take its latent ("bulk") space apart.

- Target and training: complex phi^4 (t, mu, lam) or the Ising model (T, through its
  Hubbard-Stratonovich field) on an L x L torus. Training (reverse KL) runs as a background job
  (:class:`rgviz.jobs.Job`) with live curves of the variational free energy F_q (and the exact
  free energy where known: Ising, Kaufman), the effective sample size and the independent-
  Metropolis acceptance; pause, resume, stop, save. Checkpoints load with errors shown and the
  current flow kept.
- Samples: flow samples as lattices (phi^4: the phase as hue).
- Latent response, multi-scale mixing, error correction by resampling a patch's causal cone, and
  bulk against physical MCMC: the operations of :mod:`engine.nrg.latent` (which explains each),
  each on its own tab.

The flow and every operation on it live in :class:`engine.nrg.lab.FlowLab` (numpy in, numpy out);
each operation runs in a background job and the widgets draw what it returns.
"""

from __future__ import annotations

import html
import math
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGraphicsRectItem, QHBoxLayout,
                               QLabel, QPushButton, QTabWidget, QVBoxLayout, QWidget)

from engine.errors import ParameterError
from engine.exact import TC_ISING as TC
from engine.nrg import PRESETS, CheckpointError
from engine.nrg.lab import FlowLab

from ..jobs import Job, JobControl
from .bulk3d import RESOURCES, boundary_image
from .colors import lookup
from .controls import ENERGY, PARAM_TIPS
from .panel import Panel
from .plotting import PlotGrid, readable, running_mean
from .widgets import int_spin

SIZES = (4, 8, 16, 32, 64)
#: Steps in the running mean drawn over the per-step training curves (the learning-curve tables use 100).
TREND_WINDOW = 50

# --- jobs ------------------------------------------------------------------------------------------

def training_job(lab: FlowLab, steps: int, batch: int, lr: float, seed: int, paused: threading.Event,
                 parked: threading.Event):
    """Reverse-KL training; a copy of the history goes out as a partial result after each step.

    While ``paused`` is set, the job parks between steps (``parked`` set): then the flow's weights
    are not being written, and the GUI may sample from them or save them.
    """
    def work(control: JobControl) -> dict:
        def on_step(record: dict) -> None:
            if control.wants_partial():
                control.partial(lab.history_copy())
            while paused.is_set() and not control.cancelled:
                parked.set()
                time.sleep(0.02)
            parked.clear()
            control.check()

        with lab.stoppable(control.check):
            return lab.train(steps, batch, lr, seed, on_step=on_step, progress=control.progress)
    return work


# --- widgets --------------------------------------------------------------------------------------

def tile(images: list[np.ndarray], columns: int, gap: int = 1) -> np.ndarray:
    """RGB images of one size side by side in a grid, white gaps between them."""
    h, w, _ = images[0].shape
    rows = -(-len(images) // columns)
    out = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap, 3), 255, np.uint8)
    for n, image in enumerate(images):
        r, c = divmod(n, columns)
        out[r * (h + gap): r * (h + gap) + h, c * (w + gap): c * (w + gap) + w] = image
    return out


def best_columns(n: int, shape: tuple[int, int], area: tuple[float, float], gap: int = 1) -> int:
    """The number of columns in which ``n`` tiles of ``shape`` (height, width; ``gap`` apart, as :func:`tile`
    lays them out) come out largest when the grid is scaled, aspect kept, to fit ``area`` (width, height)."""
    h, w = shape
    width, height = area

    def scale(columns: int) -> float:
        rows = -(-n // columns)
        return min(width / (columns * (w + gap) - gap), height / (rows * (h + gap) - gap))

    return max(range(1, n + 1), key=scale)


class ImagePlot(pg.PlotWidget):
    """An RGB image, square pixels, row 0 at the top, filling the view (no axes: on a row of tiles their
    pixel numbers mean nothing)."""

    def __init__(self, title: str = "", parent: QWidget | None = None):
        super().__init__(parent, background="w")
        self.setAspectLocked(True)
        self.invertY(True)
        self.hideAxis("left")
        self.hideAxis("bottom")
        self.setTitle(title, color="k")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.addItem(self.image)
        self.boxes: list[QGraphicsRectItem] = []
        self.tiles: list[np.ndarray] = []  # images shown by show_tiles, re-tiled when the view changes shape
        self.columns = 0
        self.getViewBox().sigResized.connect(self._retile)
        readable(self)

    def show_tiles(self, images: list[np.ndarray], title: str) -> None:
        """RGB images of one size whose order means nothing (samples) in the grid of columns that shows them
        largest in the view's shape, re-tiled when the view is resized: a fixed number of columns left wide
        empty bands above and below (16 image patches in 8 columns covered 42% of the view in a 1000 x 700
        panel, 11% in a 500 x 1000 one)."""
        self._set_boxes([])
        self.setTitle(title, color="k")
        self.tiles, self.columns = list(images), 0
        self._retile()

    def _retile(self) -> None:
        if not self.tiles:
            return
        size = self.getViewBox().size()
        area = (size.width(), size.height()) if size.width() > 0 and size.height() > 0 else (1.0, 1.0)
        columns = best_columns(len(self.tiles), self.tiles[0].shape[:2], area)
        if columns != self.columns:
            self.columns = columns
            self._set_image(tile(self.tiles, columns))

    def _set_image(self, rgb: np.ndarray) -> None:
        self.image.setImage(rgb)
        self.getViewBox().autoRange(padding=0)

    def show_rgb(self, rgb: np.ndarray, title: str | None = None,
                 boxes: list[tuple[float, float, float, float]] = ()) -> None:
        """Show ``rgb``; ``boxes`` (x, y, width, height in pixels) are outlined on top."""
        self.tiles = []
        self._set_image(rgb)
        if title is not None:
            self.setTitle(title, color="k")
        self._set_boxes(boxes)

    def _set_boxes(self, boxes: list[tuple[float, float, float, float]]) -> None:
        for item in self.boxes:
            self.removeItem(item)
        self.boxes = [QGraphicsRectItem(*box) for box in boxes]
        for item in self.boxes:
            item.setPen(pg.mkPen("#00c000", width=2, cosmetic=True))
            self.addItem(item)


class RecentRangeCurve(pg.PlotDataItem):
    """A curve whose automatic y range leaves out its first :attr:`SKIP` share of points (still drawn).

    Why: F_q starts hundreds of kT above where training takes it (the shipped phi4_L8_crit flow: 86 at step 0,
    -209 by 1% of its 3575 steps, -220.6 by 10%, -223.5 at the end), so a range over every point drew the
    whole run after the first steps as a flat line at the bottom.
    """

    SKIP = 0.1

    def __init__(self, *args, lag: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.lag = lag  # a running mean over ``lag`` steps carries the first points that much further

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):
        y = self.getData()[1]
        if ax == 1 and y is not None and len(y) > 1:
            recent = y[max(1, int(len(y) * self.SKIP)) + self.lag:]
            recent = recent[np.isfinite(recent)]
            if recent.size:
                return float(recent.min()), float(recent.max())
        return super().dataBounds(ax, frac, orthoRange)


def scalar_image(values: np.ndarray, cmap: str = "viridis") -> np.ndarray:
    rgba = lookup(values.ravel(), cmap, 0.0, float(values.max()) or 1.0)
    return (rgba[:, :3] * 255).astype(np.uint8).reshape(values.shape + (3,))


def spin(lo: float, hi: float, value: float, decimals: int = 3, step: float = 0.05) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setDecimals(decimals)
    box.setSingleStep(step)
    box.setValue(value)
    return box


def page(*rows) -> QWidget:
    """A tab page: rows of widgets (a list is one horizontal row)."""
    widget = QWidget()
    layout = QVBoxLayout(widget)
    for row in rows:
        if isinstance(row, list):
            line = QHBoxLayout()
            for w in row:
                line.addWidget(w)
            line.addStretch(1)
            layout.addLayout(line)
        else:
            layout.addWidget(row, 1 if isinstance(row, pg.GraphicsView) else 0)
    return widget


class NeuralRGPanel(Panel, QWidget):
    """Train, load, save and explore a neural RG flow; see the module docstring."""

    error = Signal(str)

    def __init__(self, device: str = "cpu", parent: QWidget | None = None):
        super().__init__(parent)
        self.lab = FlowLab(device)
        self.job: Job | None = None
        self.mcmc_job: Job | None = None
        self.explore_job: Job | None = None
        self.paused, self.parked = threading.Event(), threading.Event()
        self.results: dict[str, object] = {}
        self.checkpoint: str | None = None  # the path of the loaded checkpoint (saved with a session)

        # target, flow and training settings
        self.target_box = QComboBox()
        self.target_box.addItems(["phi4", "ising"])
        self.preset = QComboBox()
        self.preset.addItems(["phi4 critical", "phi4 disordered", "Ising at Tc"])
        critical = PRESETS["critical"]
        self.t, self.mu, self.lam = spin(-5, 5, critical["t"]), spin(-10, 10, critical["mu"]), spin(0.001, 100,
                                                                                                    critical["lam"])
        self.T = spin(0.05, 20, TC, decimals=4)
        self.L = QComboBox()
        self.L.addItems([str(s) for s in SIZES])
        self.L.setCurrentText("8")
        self.couplings, self.width = int_spin(1, 24, 4), int_spin(2, 256, 16)
        self.steps, self.batch = int_spin(1, 10_000_000, 2000), int_spin(2, 65536, 64)
        self.lr = spin(1e-5, 1.0, 3e-3, decimals=5, step=1e-3)
        self.seed = int_spin(0, 2**31 - 1, 0)
        self.buttons = {name: QPushButton(name) for name in ("Load...", "Train", "Pause", "Stop", "Save...")}
        self.buttons["Pause"].setCheckable(True)
        self._training_tooltips()
        self.status = QLabel("No flow yet: train one or load a checkpoint.")
        self.status.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Target", self._row(self.target_box, self.preset, QLabel("L"), self.L, QLabel("phi^4: t"), self.t,
                                        QLabel("mu"), self.mu, QLabel("lam"), self.lam, QLabel("Ising: T"), self.T))
        form.addRow("Training", self._row(QLabel("couplings"), self.couplings, QLabel("width"), self.width,
                                          QLabel("steps"), self.steps, QLabel("batch"), self.batch,
                                          QLabel("lr"), self.lr, QLabel("seed"), self.seed))
        form.addRow(self._row(*self.buttons.values()))

        # training curves
        self.curves, self.trends = {}, {}
        self.training_plots = PlotGrid()
        plots = self.training_plots.fill(3)
        for plot, (key, title) in zip(plots, (("loss", "F_q (kT, whole lattice)"), ("ess", "ESS (fraction)"),
                                              ("acceptance", "Metropolis acceptance"))):
            plot.setTitle(title, color="k")
            plot.setLabel("bottom", "step")
            # every step faint, the running mean bold: one batch's ESS and acceptance scatter so much from
            # step to step that the per-step line alone fills the plot as a solid band
            loss = key == "loss"
            self.curves[key] = (RecentRangeCurve() if loss else pg.PlotDataItem())
            self.trends[key] = (RecentRangeCurve(lag=TREND_WINDOW) if loss else pg.PlotDataItem())
            self.curves[key].setPen(pg.mkPen("#a6c8e8", width=1))
            self.trends[key].setPen(pg.mkPen("#08306b", width=2))
            plot.addItem(self.curves[key])
            plot.addItem(self.trends[key])
        self.exact_line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#d62728", style=Qt.PenStyle.DashLine),
                                          label="exact F", labelOpts={"color": "#d62728", "position": 0.1})
        self.exact_line.setVisible(False)
        plots[0].addItem(self.exact_line)
        training_page = page(self.training_plots)

        # samples
        self.n_samples = int_spin(1, 64, 8)
        self.n_samples.setToolTip("Number of flow samples to draw (shown four to a row)")
        generate = QPushButton("Generate")
        generate.setToolTip("Draw samples x = G(z), z from the prior, and show them as lattices (phi^4: the "
                            "phase as hue); the other tabs start from them")
        self.sample_view = ImagePlot("flow samples")
        samples_page = page([QLabel("samples"), self.n_samples, generate], self.sample_view)

        # latent response
        self.node_i, self.node_j = int_spin(0, 7, 7, prefix="i "), int_spin(0, 7, 7, prefix="j ")
        self.node_i.setToolTip("Row i of the latent variable to move (its site; the site fixes its RG level)")
        self.node_j.setToolTip("Column j of the latent variable to move (its site; the site fixes its RG level)")
        self.eps = spin(-10, 10, 1.0)
        self.eps.setToolTip("Shift eps added to the latent z_k (the prior of z has unit variance)")
        respond = QPushButton("Perturb")
        respond.setToolTip("Show |dx| at every site when z_k moves by eps, and the footprint of one latent of "
                           "each level")
        self.response_view = ImagePlot("|dx| of a latent perturbation")
        self.response_text = QLabel("")
        response_page = page([self.node_i, self.node_j, QLabel("eps"), self.eps, respond], self.response_text,
                             self.response_view)

        # mixing
        self.mix_level = int_spin(0, 6, 1, prefix="coarse from level ")
        self.mix_level.setToolTip("Latent levels from this one up (coarse) come from A, the finer ones from B")
        mix = QPushButton("Mix")
        mix.setToolTip("Map two configurations A and B to latents and generate from A's coarse levels with B's fine "
                       "ones")
        self.mix_view = ImagePlot("A | B | coarse of A + fine of B")
        mixing_page = page([self.mix_level, mix], self.mix_view)

        # error correction
        self.patch_i, self.patch_j = int_spin(0, 63, 2, prefix="row "), int_spin(0, 63, 2, prefix="col ")
        self.patch_size = int_spin(1, 64, 2, prefix="size ")
        self.proposals = int_spin(1, 65536, 256, prefix="proposals ")
        self.patch_i.setToolTip("Top row of the square patch to corrupt (0 to L - 1)")
        self.patch_j.setToolTip("Left column of the square patch to corrupt (0 to L - 1)")
        self.patch_size.setToolTip("Side of the square patch [sites]")
        self.proposals.setToolTip("Independent-Metropolis proposals for the latents of the patch's causal cone, "
                                  "drawn from the prior")
        correct = QPushButton("Corrupt and repair")
        correct.setToolTip("Replace a patch of a sample by Gaussian noise, then resample only the latents in its "
                           "causal cone from the target, the others kept")
        self.repair_view = ImagePlot("original | corrupted | repaired | causal cone")
        self.repair_text = QLabel("")
        repair_page = page([self.patch_i, self.patch_j, self.patch_size, self.proposals, correct],
                           self.repair_text, self.repair_view)

        # bulk vs physical MCMC
        self.mcmc_steps = int_spin(10, 1_000_000, 200, prefix="steps ")
        self.mcmc_chains = int_spin(1, 1024, 4, prefix="chains ")
        self.leapfrog = int_spin(1, 1000, 10, prefix="leapfrog ")
        self.mcmc_steps.setToolTip("HMC trajectories recorded per chain and method, after steps / 10 (at least 10) "
                                   "more that tune the step size")
        self.mcmc_chains.setToolTip("Independent chains per method, run side by side")
        self.leapfrog.setToolTip("Leapfrog steps per HMC trajectory")
        self.mcmc_button = QPushButton("Run both chains")
        self.mcmc_button.setToolTip("HMC on the latents (bulk) against HMC on the lattice (physical) with the current "
                                    "weights: traces, autocorrelations and tau_int of |m|")
        self.mcmc_text = QLabel("")
        self.mcmc_text.setWordWrap(True)
        self.trace_plot = pg.PlotWidget(background="w", title="order parameter |m| (chain 0)")
        self.rho_plot = pg.PlotWidget(background="w", title="autocorrelation of |m|")
        self.trace_plot.setLabel("bottom", "HMC trajectory")
        self.rho_plot.setLabel("bottom", "lag")
        self.trace_plot.addLegend(labelTextColor="k")
        self.rho_plot.addLegend(labelTextColor="k")
        readable(self.trace_plot)
        readable(self.rho_plot)
        mcmc_plots = QWidget()
        line = QHBoxLayout(mcmc_plots)
        line.addWidget(self.trace_plot)
        line.addWidget(self.rho_plot)
        mcmc_page = page([self.mcmc_steps, self.mcmc_chains, self.leapfrog, self.mcmc_button], self.mcmc_text,
                         mcmc_plots)

        self.tabs = QTabWidget()
        for widget, title in ((training_page, "Training"), (samples_page, "Samples"),
                              (response_page, "Latent response"), (mixing_page, "Mixing"),
                              (repair_page, "Error correction"), (mcmc_page, "Bulk vs physical MCMC")):
            self.tabs.addTab(widget, title)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.tabs, 1)

        self.preset.currentIndexChanged.connect(self._apply_preset)
        self.buttons["Load..."].clicked.connect(self._load_dialog)
        self.buttons["Save..."].clicked.connect(self._save_dialog)
        self.buttons["Train"].clicked.connect(self.start_training)
        self.buttons["Pause"].toggled.connect(self.set_paused)
        self.buttons["Stop"].clicked.connect(self.stop_training)
        generate.clicked.connect(self.generate)
        respond.clicked.connect(self.show_latent_response)
        mix.clicked.connect(self.show_mixing)
        correct.clicked.connect(self.show_error_correction)
        self.mcmc_button.clicked.connect(lambda: self._guarded(self.start_mcmc))
        self.L.currentTextChanged.connect(lambda _: self._set_node_ranges(int(self.L.currentText())))
        self._update_buttons()

    def _training_tooltips(self) -> None:
        """What each target, flow and training control does, with its unit or range."""
        new_flow = "; applies when Train builds a new flow (none yet, or another target)"
        for widget, tip in (
                (self.target_box, "Target theory the flow learns: complex phi^4 (t, mu, lam) or the 2D Ising "
                                  "model at T, through its Hubbard-Stratonovich field"),
                (self.preset, "Set the target and its parameters: phi^4 near its KT point (t = 0.44), phi^4 "
                              "disordered (t = 0.3), both with mu = -2, lam = 1; or Ising at Tc"),
                (self.L, "Linear size L of the target's L x L torus, a power of 2 [sites]"),
                (self.t, PARAM_TIPS["t"]), (self.mu, PARAM_TIPS["mu"]), (self.lam, PARAM_TIPS["lam"]),
                (self.T, f"Temperature k_B T of the Ising target (J = 1), Tc = {TC:.4f} {ENERGY}"),
                (self.couplings, "RealNVP coupling layers in each of the flow's bijectors (two per RG level)"
                                 + new_flow),
                (self.width, f"Width of the two hidden layers of each coupling's network [neurons]{new_flow}"),
                (self.steps, "Number of training steps (Adam updates) per press of Train"),
                (self.batch, "Samples drawn from the flow per training step to estimate F_q = E_q[ln q + S]"),
                (self.lr, "Learning rate of Adam"),
                (self.seed, "Random seed of a new flow's initial weights, of the training samples (offset by the "
                            "steps done) and of the MCMC comparison's chains"),
                (self.buttons["Load..."], "Load a flow checkpoint (.pt): its target, architecture and training "
                                          "history; the current flow stays if the file is unusable"),
                (self.buttons["Train"], "Train by reverse KL (minimise F_q) in the background: a new flow when "
                                        "there is none or the target changed, else the current one goes on"),
                (self.buttons["Pause"], "Pause training between two steps (press again to resume): then sample, "
                                        "explore or save the flow"),
                (self.buttons["Stop"], "Stop training; the flow keeps the steps done"),
                (self.buttons["Save..."], "Save the flow, its target and its training history as a checkpoint "
                                          "(.pt)")):
            widget.setToolTip(tip)

    # --- session ------------------------------------------------------------------------------
    def session_state(self) -> dict:
        """The flow itself (weights, target, history: :meth:`FlowLab.state`), trained here or loaded, and the
        path it was loaded from. The flow, not only its path, because what a user trains and does not save
        would otherwise be lost with the session, and a file named in it may have moved or been trained on since.
        It costs its binary size (the shipped phi4_L8_crit: 87 kB of weights and 200 kB of history). While
        training writes the weights, the flow is left out and the user is told why."""
        if self.density is None:
            return {}
        if not self.weights_free():
            self._fail("Neural RG: the session holds no flow, as training was changing its weights: pause "
                       "training and save the session again.")
            return {}
        return {"flow": self.lab.state(), "checkpoint": self.checkpoint}

    def session_restorer(self, state: dict):
        """A session's flow; sessions written before flows were stored name only the checkpoint's path."""
        path, flow = state.get("checkpoint"), state.get("flow")
        if path is not None and not isinstance(path, str):
            raise ValueError("Neural RG: the session's checkpoint must be a path")
        if flow is None and path is None:
            return lambda: None
        if self.training():
            raise ValueError("Neural RG: stop training before opening a session")
        if flow is None:
            return lambda: self.load(path)
        try:
            ckpt = self.lab.read_state(flow)  # checked and built before anything changes
        except CheckpointError as err:
            raise ValueError(f"Neural RG: {err}") from None
        source = "From the session" + (f" (first loaded from {path})" if path else "")
        return lambda: self._show_flow(self.lab.adopt(ckpt), path, source)

    @staticmethod
    def _row(*widgets) -> QWidget:
        box = QWidget()
        line = QHBoxLayout(box)
        line.setContentsMargins(0, 0, 0, 0)
        for w in widgets:
            line.addWidget(w)
        line.addStretch(1)
        return box

    # --- target and flow -----------------------------------------------------------------------
    def _apply_preset(self, index: int) -> None:
        if index == 2:
            self.target_box.setCurrentText("ising")
            self.T.setValue(TC)
            return
        self.target_box.setCurrentText("phi4")
        params = PRESETS["critical" if index == 0 else "disordered"]
        self.t.setValue(params["t"])
        self.mu.setValue(params["mu"])
        self.lam.setValue(params["lam"])

    @property
    def density(self):
        """The flow being studied (None before one is trained or loaded)."""
        return self.lab.density

    @property
    def history(self) -> dict[str, list[float]]:
        return self.lab.history

    @property
    def samples(self) -> np.ndarray | None:
        """``[n, C, L, L]`` of the last "Generate"."""
        return self.lab.samples

    def target_spec(self) -> tuple[str, int, dict]:
        """The target the widgets describe: name, L, parameters."""
        L = int(self.L.currentText())
        if self.target_box.currentText() == "ising":
            return "ising", L, {"T": self.T.value()}
        return "phi4", L, {"t": self.t.value(), "mu": self.mu.value(), "lam": self.lam.value()}

    def _flow_shown(self) -> None:
        """Widgets follow the lab's (new or loaded) flow."""
        self._set_node_ranges(self.lab.L)
        self.mix_level.setRange(0, self.lab.levels)
        exact = self.lab.exact_free_energy()
        self.exact_line.setVisible(exact is not None)
        if exact is not None:
            self.exact_line.setValue(exact)
        self._show_history(self.history)

    def _set_node_ranges(self, L: int) -> None:
        for box in (self.node_i, self.node_j, self.patch_i, self.patch_j):
            box.setRange(0, L - 1)
        self.patch_size.setRange(1, L - 1)

    @Slot(int, int, int)
    def set_latent_site(self, i: int, j: int, L: int) -> None:
        """Select the latent at site (i, j) of an L x L bulk (as picked in the Bulk panel) and show
        its response; a pick in a bulk of another size than this flow's is ignored."""
        own = self.lab.L if self.density is not None else int(self.L.currentText())
        if L != own or not (0 <= i < L and 0 <= j < L):
            return
        self.node_i.setValue(i)
        self.node_j.setValue(j)
        if self.density is not None and self.weights_free():
            self.show_latent_response()

    # --- training ------------------------------------------------------------------------------
    def training(self) -> bool:
        return self.job is not None and self.job.is_running()

    def weights_free(self) -> bool:
        """True when no training job is writing the weights (none running, or parked by a pause)."""
        return not self.training() or self.parked.is_set()

    @Slot()
    def start_training(self) -> None:
        if self.training():
            return
        if self.mcmc_job is not None and self.mcmc_job.is_running():
            self._fail("Wait for the MCMC comparison to finish: it uses the current weights.")
            return
        try:
            name, L, params = self.target_spec()
            if self.density is None or not self.lab.same_target(name, L, params):
                self.lab.new_flow(name, L, params, self.couplings.value(), (self.width.value(), self.width.value()),
                                  seed=self.seed.value(), batch=self.batch.value())
                self.checkpoint = None
                self._flow_shown()
            else:
                self.lab.check_training(self.batch.value())
        except ParameterError as err:
            self._fail(str(err))
            return
        self.paused.clear()
        self.parked.clear()
        self.buttons["Pause"].setChecked(False)
        work = training_job(self.lab, self.steps.value(), self.batch.value(), self.lr.value(),
                            self.seed.value() + len(self.history.get("step", [])), self.paused, self.parked)
        self.job = Job(work, name="rgviz-train")
        self.job.partial.connect(self._show_history)
        self.job.finished.connect(self._on_trained)
        self.job.failed.connect(self._fail)
        self.job.stopped.connect(self._update_buttons)
        self.job.start()
        self.status.setText(f"Training {self.lab.target.name} L={self.lab.L} ...")
        self._update_buttons()

    @Slot(bool)
    def set_paused(self, paused: bool) -> None:
        (self.paused.set if paused else self.paused.clear)()
        if self.training():
            self.status.setText("Paused: sample, save, or resume." if paused else "Training ...")
        self._update_buttons()

    @Slot()
    def stop_training(self) -> None:
        if self.job is not None:
            self.job.cancel()
        self.paused.clear()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop every job and join its thread; True when none is left running."""
        self.paused.clear()
        return all(job.shutdown(timeout_ms) for job in (self.job, self.mcmc_job, self.explore_job) if job is not None)

    @Slot(object)
    def _show_history(self, history: dict) -> None:
        steps = np.asarray(history.get("step", []), float)
        for key, curve in self.curves.items():
            values = np.asarray(history.get(key, []), float)
            curve.setData(steps, values, connect="finite")
            finite = np.isfinite(values)
            self.trends[key].setData(steps[finite], running_mean(values[finite], TREND_WINDOW))

    @Slot(object)
    def _on_trained(self, history) -> None:
        self._show_history(self.history)
        self.buttons["Pause"].setChecked(False)
        done = len(self.history.get("step", []))
        last = self.history["loss"][-1] if done else float("nan")
        self.status.setText(f"{'Finished' if history is not None else 'Stopped'} after {done} steps; "
                            f"F_q = {last:.4g}")

    def _update_buttons(self) -> None:
        running = self.training()
        self.buttons["Train"].setEnabled(not running)
        self.buttons["Pause"].setEnabled(running)
        self.buttons["Stop"].setEnabled(running)
        self.buttons["Load..."].setEnabled(not running)
        self.buttons["Save..."].setEnabled(self.density is not None and (not running or self.paused.is_set()))

    # --- files ---------------------------------------------------------------------------------
    def load(self, path: str | os.PathLike) -> bool:
        """Load a checkpoint; on failure show why and keep the current flow."""
        if self.training():
            self._fail("Stop training before loading another flow.")
            return False
        try:
            target = self.lab.load(path)
        except CheckpointError as err:
            self._fail(str(err))
            return False
        self._show_flow(target, str(path), f"Loaded {path}")
        return True

    def _show_flow(self, target: dict, path: str | None, source: str) -> None:
        """The fields and the status line follow a flow just loaded (``target``: what the lab's load returns)."""
        self.target_box.setCurrentText(target["name"])
        self.L.setCurrentText(str(target["L"]))
        for name, value in target["params"].items():
            box = getattr(self, name, None)
            if isinstance(box, QDoubleSpinBox):
                box.setValue(value)
        # The architecture fields show the loaded flow's (training goes on with it); the width field
        # builds two equal hidden layers, so a checkpoint with others shows its widest and names them all.
        self.couplings.setValue(target["couplings"])
        self.width.setValue(max(target["hidden"]))
        self.checkpoint = path
        params = ", ".join(f"{name}={value:.4g}" for name, value in target["params"].items())
        self._flow_shown()
        self.status.setText(f"{source}: {target['name']} L={target['L']} ({params}), {target['couplings']} "
                            f"couplings per level, hidden widths {list(target['hidden'])}, "
                            f"{len(self.history.get('step', []))} training steps")
        self._update_buttons()

    def save(self, path: str | os.PathLike) -> Path | None:
        if self.density is None:
            self._fail("Nothing to save: train or load a flow first.")
            return None
        if not self.weights_free():
            self._fail("Pause or stop training before saving (the weights are changing).")
            return None
        try:
            written = self.lab.save(path)
        except (OSError, RuntimeError) as err:
            self._fail(f"Cannot save {path}: {err}")
            return None
        self.status.setText(f"Saved {written}")
        return written

    def _load_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load flow", str(RESOURCES),
                                              "rgviz flow checkpoint (*.pt);;All files (*)")
        if path:
            self.load(path)

    def _save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save flow", "flow.pt", "rgviz flow checkpoint (*.pt)")
        if path:
            self.save(path)

    # --- exploring the latent space ------------------------------------------------------------
    def _need_flow(self) -> None:
        if self.density is None:
            raise ParameterError("flow", "train or load a flow first")
        if not self.weights_free():
            raise ParameterError("flow", "pause or stop training first (the weights are changing)")

    def _explore(self, work: Callable[[], Any], show: Callable[[Any], None]) -> Job | None:
        """Run one latent-space operation of the lab in a job and draw its result with ``show``."""
        try:
            self._need_flow()
        except ParameterError as err:
            self._fail(str(err))
            return None
        if self.explore_job is not None and self.explore_job.is_running():
            self._fail("Wait for the running operation to finish.")
            return None
        def run(control: JobControl) -> Any:
            with self.lab.stoppable(control.check):
                return work()

        self.explore_job = Job(run, name="rgviz-latent", holds_live_run=False)  # brief
        self.explore_job.finished.connect(show)
        self.explore_job.failed.connect(self._fail)
        return self.explore_job.start()

    def field_rgb(self, x: np.ndarray) -> np.ndarray:
        return boundary_image(x, self.lab.target.name)

    @Slot()
    def generate(self) -> Job | None:
        """Draw flow samples ``[n, C, L, L]`` (kept as :attr:`samples`) and show them as lattices."""
        return self._explore(lambda: self.lab.generate(self.n_samples.value()), self._show_samples)

    @Slot(object)
    def _show_samples(self, samples) -> None:
        if samples is not None:
            self.sample_view.show_tiles([self.field_rgb(s) for s in samples],
                                        f"{len(samples)} flow samples of {self.lab.target.name}, L={self.lab.L}")

    @Slot()
    def show_latent_response(self) -> Job | None:
        i, j, eps = self.node_i.value(), self.node_j.value(), self.eps.value()
        return self._explore(lambda: {**self.lab.response(i, j, eps), "node": i * self.lab.L + j, "eps": eps},
                             self._show_response)

    @Slot(object)
    def _show_response(self, out) -> None:
        if out is None:
            return
        self.response_view.show_rgb(scalar_image(out["response"]), f"|dx| after z_k += {out['eps']:g}")
        self.response_text.setText(f"node {out['node']} (level {out['level']}) moves {out['footprint']} of "
                                   f"{self.lab.L ** 2} sites; footprint by level: "
                                   + ", ".join(f"{lev}: {n}" for lev, n in out["by_level"].items()))
        self.results["response"] = out["response"]

    @Slot()
    def show_mixing(self) -> Job | None:
        level = self.mix_level.value()
        return self._explore(lambda: (*self.lab.mix(level), level), self._show_mixing)

    @Slot(object)
    def _show_mixing(self, out) -> None:
        if out is None:
            return
        xa, xb, mixed, level = out
        self.mix_view.show_rgb(tile([self.field_rgb(v) for v in (xa, xb, mixed)], 3),
                               f"A | B | levels >= {level} of A with the finer ones of B")
        self.results["mixed"] = mixed

    @Slot()
    def show_error_correction(self) -> Job | None:
        i, j, size, proposals = (self.patch_i.value(), self.patch_j.value(), self.patch_size.value(),
                                 self.proposals.value())
        return self._explore(lambda: {**self.lab.error_correction(i, j, size, proposals), "at": (i, j, size)},
                             self._show_repair)

    @Slot(object)
    def _show_repair(self, out) -> None:
        if out is None:
            return
        L, levels = self.lab.L, self.lab.levels
        # The cone on the site grid, coloured by level (grey: latents kept); the patch outlined in green.
        cone_rgb = (lookup(self.lab.latent_levels().astype(float).ravel(), "viridis", 0.0, float(levels))[:, :3]
                    * 255).astype(np.uint8)
        cone_rgb[~out["cone"].any(axis=0).ravel()] = 200
        i, j, size = out["at"]
        images = [self.field_rgb(out[k]) for k in ("x", "corrupted", "repaired")] + [cone_rgb.reshape(L, L, 3)]
        self.repair_view.show_rgb(tile(images, 4), "original | corrupted | repaired | causal cone (by level)",
                                  [(n * (L + 1) + j, i, min(size, L - j), min(size, L - i)) for n in range(4)])
        self.repair_text.setText(f"patch of {out['patch_sites']} sites: resampled {int(out['cone'].sum())} of "
                                 f"{out['cone'].size} latent variables (Metropolis acceptance "
                                 f"{out['acceptance']:.2f})")
        self.results["repair"] = out

    def start_mcmc(self) -> None:
        self._need_flow()
        if self.training():
            raise ParameterError("flow", "stop training first: the chains need fixed weights")
        if self.mcmc_job is not None and self.mcmc_job.is_running():
            return
        seed = self.seed.value()
        steps, chains, leapfrog = self.mcmc_steps.value(), self.mcmc_chains.value(), self.leapfrog.value()
        self.lab.check_chains(steps, chains)

        def work(control: JobControl) -> dict:
            def progress(done: int, total: int) -> None:
                control.check()  # raises inside hmc when cancelled: the chains stop mid-run
                control.progress(done, total)

            with self.lab.stoppable(control.check):
                return self.lab.compare_chains(steps, chains, leapfrog, seed, progress)

        self.mcmc_job = Job(work, name="rgviz-mcmc")
        self.mcmc_job.finished.connect(self._show_mcmc)
        self.mcmc_job.failed.connect(self._fail)
        self.mcmc_job.progress.connect(lambda done, total: self.mcmc_text.setText(f"running: {done}/{total}"))
        self.mcmc_button.setEnabled(False)
        self.mcmc_job.stopped.connect(lambda: self.mcmc_button.setEnabled(True))
        self.mcmc_job.start()

    @Slot(object)
    def _show_mcmc(self, result) -> None:
        if result is None:
            return
        self.results["mcmc"] = result
        self.trace_plot.clear()
        self.rho_plot.clear()
        text = []
        for method, color in (("bulk", "#1f77b4"), ("physical", "#d62728")):
            r = result[method]
            self.trace_plot.plot(r["trace"][:, 0], pen=pg.mkPen(color), name=method)
            lags = min(len(r["rho"]), 100)
            self.rho_plot.plot(np.arange(lags), r["rho"][:lags], pen=pg.mkPen(color, width=2), name=method)
            cost = f"acceptance {r['acceptance']:.2f}, {1e3 * r['seconds_per_step']:.3g} ms/trajectory"
            tau = r["tau_int"]
            if r["warning"]:  # no tau_int or cost per sample from chains that have not mixed: the engine's words
                text.append(f"<span style='color:#b00'>{method}: {html.escape(r['warning'])}</span> ({cost})")
            elif tau is None or not math.isfinite(tau):
                text.append(f"{method}: tau_int undetermined, {cost}")
            else:
                text.append(f"{method}: tau_int = {tau:.3g}, {cost}, "
                            f"{2e3 * tau * r['seconds_per_step']:.3g} ms per independent sample")
        self.mcmc_text.setText("<br>".join(text))

    # --- errors and export ---------------------------------------------------------------------
    def _guarded(self, fn) -> None:
        try:
            fn()
        except (ParameterError, CheckpointError) as err:
            self._fail(str(err))

    @Slot(str)
    def _fail(self, message: str) -> None:
        self.status.setText(f"<span style='color:#b00'>{message}</span>")
        self.error.emit(message)

    def figure_widget(self) -> QWidget:
        return self.tabs.currentWidget()
