"""The RG-Flow images panel: the hierarchical flow trained on natural-image patches, taken apart.

A flow trained by maximum likelihood on grey 16 x 16 patches of the photographs scikit-learn ships
(``rgviz-batch images train``; the shipped one is ``images_L16``) with a sparse Laplace prior. Tabs:

- Samples: flow samples, and held-out bits/dim against a full-covariance Gaussian;
- Hierarchy: the image's response to one latent per level, with the receptive field's measured size;
- Mixing: the coarse latents of patch A with the fine latents of patch B;
- Error correction: a corrupted square refilled by resampling only the latents in its causal cone, given
  the pixels that survived; and the cone's latent count against N = L^2 over sizes (the O(log N) light cone).

Every operation is a method of :class:`engine.nrg.imagelab.ImageLab` run in a background job; the panel draws.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.errors import ParameterError
from engine.io import npz_stamp, write_json, write_npz
from engine.nrg.imagelab import ImageLab
from engine.resources import shipped

from ..jobs import Job
from .neuralrg import ImagePlot, page, tile
from .panel import Panel
from .widgets import int_spin

#: The shipped images checkpoints (file names start with ``images``).
DEFAULT = "images_L16"
CONE_SIZES = (4, 8, 16, 32, 64)


def grey_rgb(pixels: np.ndarray, lo: float = 0.0, hi: float = 255.0) -> np.ndarray:
    """``[L, L]`` values mapped from [lo, hi] to grey RGB ``[L, L, 3]`` (uint8)."""
    grey = (np.clip((np.asarray(pixels, float) - lo) / ((hi - lo) or 1.0), 0, 1) * 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)


def _tip(widget: QWidget, text: str) -> QWidget:
    widget.setToolTip(text)
    return widget


class ImagesPanel(Panel, QWidget):
    """Explore a flow trained on image patches; see the module docstring."""

    error = Signal(str)

    def __init__(self, device: str = "cpu", parent: QWidget | None = None):
        super().__init__(parent)
        self.lab = ImageLab(device)
        self.job: Job | None = None
        self.results: dict[str, Any] = {}
        self.checkpoint = QComboBox()
        self.checkpoint.addItems([name for name in shipped() if name.startswith("images")])
        _tip(self.checkpoint, "shipped flow trained on image patches (rgviz-batch images train)")
        load = _tip(QPushButton("Load..."), "load another images checkpoint (.pt) from a file")
        self.status = QLabel("Pick an operation: the selected flow loads with it.")
        self.status.setWordWrap(True)

        self.n_samples = _tip(int_spin(1, 64, 16, prefix="samples "), "flow samples to draw [patches]")
        generate = _tip(QPushButton("Generate"), "draw patches from the flow (Laplace latents through G)")
        photos = _tip(QPushButton("Held-out photos"), "take patches of the held-out photograph regions instead: "
                                                      "mixing and error correction then work on real images")
        evaluate = _tip(QPushButton("Bits/dim"), "held-out bits/dim of the flow and of a full-covariance Gaussian "
                                                 "fitted on the training patches (about 10 s)")
        self.sample_view = ImagePlot("flow samples")
        self.sample_text = QLabel("")
        samples_page = page([self.n_samples, generate, photos, evaluate], self.sample_text, self.sample_view)

        self.repeats = _tip(int_spin(1, 256, 16, prefix="repeats "),
                            "base images the response is averaged over [prior draws]")
        measure = _tip(QPushButton("Perturb one latent per level"),
                       "move one latent of each level by one prior standard deviation and show |dx|")
        self.hierarchy_view = ImagePlot("|dx| per level (each scaled to its maximum), level 0 on the left")
        self.hierarchy_text = QLabel("")
        self.hierarchy_text.setWordWrap(True)
        hierarchy_page = page([self.repeats, measure], self.hierarchy_text, self.hierarchy_view)

        self.mix_level = _tip(int_spin(0, 4, 2, prefix="coarse from level "),
                              "latents of this level and above come from A, the finer ones from B [level]")
        mix = _tip(QPushButton("Mix"), "two patches and the coarse latents of A with the fine latents of B")
        self.mix_view = ImagePlot("A | B | coarse of A + fine of B")
        mixing_page = page([self.mix_level, mix], self.mix_view)

        self.patch_i = _tip(int_spin(0, 15, 6, prefix="row "), "top row of the corrupted square [pixels]")
        self.patch_j = _tip(int_spin(0, 15, 6, prefix="col "), "left column of the corrupted square [pixels]")
        self.patch_size = _tip(int_spin(1, 15, 4, prefix="size "), "side of the corrupted square [pixels]")
        self.proposals = _tip(int_spin(1, 65536, 256, prefix="proposals "),
                              "independent-Metropolis proposals for the cone's latents [draws]")
        self.hmc_steps = _tip(int_spin(0, 10_000, 0, prefix="HMC "),
                              "HMC trajectories on the cone after the Metropolis pass (0: none; each costs a "
                              "second or more on a busy CPU) [trajectories]")
        correct = _tip(QPushButton("Corrupt and repair"),
                       "replace the square by noise, then resample only the latents in its causal cone")
        cone = _tip(QPushButton("Light cone over sizes"),
                    f"count the causal cone's latents for L = {', '.join(map(str, CONE_SIZES))}")
        self.repair_view = ImagePlot("original | corrupted | repaired | causal cone")
        self.repair_text = QLabel("")
        self.repair_text.setWordWrap(True)
        self.cone_plot = pg.PlotWidget(background="w", title="causal-cone latents against log2 N")
        self.cone_plot.setLabel("bottom", "log2 N")
        self.cone_plot.setLabel("left", "latents resampled")
        plots = QWidget()  # side by side: a docked panel is wider than it is high
        line = QHBoxLayout(plots)
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(self.repair_view, 2)
        line.addWidget(self.cone_plot, 1)
        repair_page = page([self.patch_i, self.patch_j, self.patch_size, self.proposals, self.hmc_steps],
                           [correct, cone], self.repair_text, plots)
        repair_page.layout().setStretchFactor(plots, 1)

        self.tabs = QTabWidget()
        for widget, title in ((samples_page, "Samples"), (hierarchy_page, "Hierarchy"), (mixing_page, "Mixing"),
                              (repair_page, "Error correction")):
            self.tabs.addTab(widget, title)
        layout = QVBoxLayout(self)
        layout.addWidget(page([QLabel("flow"), self.checkpoint, load]))
        layout.addWidget(self.status)
        layout.addWidget(self.tabs, 1)

        load.clicked.connect(self._load_dialog)
        self.checkpoint.currentTextChanged.connect(lambda _: self._forget())
        generate.clicked.connect(self.generate)
        photos.clicked.connect(self.show_photos)
        evaluate.clicked.connect(self.evaluate)
        measure.clicked.connect(self.show_hierarchy)
        mix.clicked.connect(self.show_mixing)
        correct.clicked.connect(self.show_error_correction)
        cone.clicked.connect(self.show_light_cone)
        self.path: str | None = None
        self.loaded: str | None = None  # the checkpoint the lab holds (written by jobs)

    # --- running operations --------------------------------------------------------------------
    def _forget(self) -> None:
        self.path = None

    def selected(self) -> str:
        """The checkpoint the next operation uses: a loaded file, or the shipped one selected."""
        return self.path or self.checkpoint.currentText() or DEFAULT

    def _ready(self, path: str) -> None:
        """(In the job) load ``path`` unless it is the flow already loaded."""
        if self.lab.density is None or self.loaded != path:
            self.lab.load(path)
            self.loaded = path

    def run_job(self, work: Callable[[], Any], show: Callable[[Any], None]) -> Job | None:
        """Load the selected flow if needed and run ``work`` in a background job; ``show`` draws its result."""
        if self.job is not None and self.job.is_running():
            self._fail("Wait for the running operation to finish.")
            return None
        path = self.selected()

        def job(control) -> Any:
            self._ready(path)
            return work()

        self.job = Job(job, name="rgviz-images", holds_live_run=False)
        self.job.finished.connect(show)
        self.job.failed.connect(self._fail)
        self.status.setText(f"Running on {Path(path).name} ...")
        return self.job.start()

    def busy(self) -> bool:
        return self.job is not None and self.job.is_running()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        return self.job is None or self.job.shutdown(timeout_ms)

    # --- samples and bits/dim ------------------------------------------------------------------
    @Slot()
    def generate(self) -> Job | None:
        n = self.n_samples.value()
        return self.run_job(lambda: self.lab.to_pixels(self.lab.generate(n))[:, 0], self._show_samples)

    @Slot()
    def show_photos(self) -> Job | None:
        n = self.n_samples.value()
        return self.run_job(lambda: self.lab.to_pixels(self.lab.photos(n))[:, 0], self._show_photos)

    @Slot(object)
    def _show_samples(self, pixels, what: str = "flow samples") -> None:
        if pixels is None:
            return
        self.results["samples"] = pixels
        self.sample_view.show_tiles([grey_rgb(p) for p in pixels], f"{len(pixels)} {what}")
        self._done()

    @Slot(object)
    def _show_photos(self, pixels) -> None:
        self._show_samples(pixels, "held-out photograph patches (used by mixing and error correction)")

    @Slot()
    def evaluate(self) -> Job | None:
        return self.run_job(self.lab.evaluation, self._show_evaluation)

    @Slot(object)
    def _show_evaluation(self, doc) -> None:
        if doc is None:
            return
        self.results["evaluation"] = doc
        f, g = doc["bits_per_dim"], doc["gaussian_bits_per_dim"]
        self.sample_text.setText(f"held-out bits/dim ({doc['held_out_patches']} patches): flow {f['mean']:.3f} "
                                 f"+- {f['error']:.3f}, full-covariance Gaussian {g['mean']:.3f} +- {g['error']:.3f}")
        self._done()

    # --- hierarchy -----------------------------------------------------------------------------
    @Slot()
    def show_hierarchy(self) -> Job | None:
        repeats = self.repeats.value()
        return self.run_job(lambda: self.lab.receptive_fields(repeats), self._show_hierarchy)

    @Slot(object)
    def _show_hierarchy(self, out) -> None:
        if out is None:
            return
        self.results["hierarchy"] = out
        images = [grey_rgb(r, 0.0, float(r.max()) or 1.0) for r in out["responses"]]
        self.hierarchy_view.show_rgb(tile(images, len(images)), "|dx| per level (each scaled to its maximum), "
                                     "level 0 on the left")
        self.hierarchy_text.setText("receptive field by level (sites moved / sites holding 90% of |dx|^2 / RMS "
                                    "radius): " + "; ".join(f"{r['level']}: {r['support']:.0f} / {r['area']:.1f} / "
                                                            f"{r['radius']:.2f}" for r in out["levels"]))
        self._done()

    # --- mixing --------------------------------------------------------------------------------
    @Slot()
    def show_mixing(self) -> Job | None:
        level = self.mix_level.value()

        def work():
            if level > self.lab.levels:
                raise ParameterError("level", f"must be at most {self.lab.levels} for this flow")
            return [self.lab.to_pixels(v[0]) for v in self.lab.mix(level)], level
        return self.run_job(work, self._show_mixing)

    @Slot(object)
    def _show_mixing(self, out) -> None:
        if out is None:
            return
        images, level = out
        self.results["mixing"] = np.stack(images)
        self.mix_view.show_rgb(tile([grey_rgb(v) for v in images], 3),
                               f"A | B | levels >= {level} of A with the finer ones of B")
        self._done()

    # --- error correction and the light cone ---------------------------------------------------
    @Slot()
    def show_error_correction(self) -> Job | None:
        i, j, size, proposals = (self.patch_i.value(), self.patch_j.value(), self.patch_size.value(),
                                 self.proposals.value())
        hmc_steps = self.hmc_steps.value()

        def work():
            if max(i, j) + size > self.lab.L:
                raise ParameterError("size", f"the square must fit in the {self.lab.L} x {self.lab.L} patch")
            return {**self.lab.error_correction(i, j, size, proposals, hmc_steps), "at": (i, j, size)}
        return self.run_job(work, self._show_repair)

    @Slot(object)
    def _show_repair(self, out) -> None:
        if out is None:
            return
        self.results["repair"] = out
        i, j, size = out["at"]
        L = out["x"].shape[-1]
        images = [grey_rgb(self.lab.to_pixels(out[k][0])) for k in ("x", "corrupted", "repaired")]
        levels = self.lab.latent_levels().astype(float)
        cone = np.where(out["cone"][0], 80 + 175 * levels / max(levels.max(), 1), 0)
        images.append(grey_rgb(cone))
        self.repair_view.show_rgb(tile(images, 4), "original | corrupted | repaired | causal cone (brighter: higher "
                                  "level)", [(n * (L + 1) + j, i, size, size) for n in range(4)])
        hmc = "" if out["hmc_acceptance"] is None else f", HMC acceptance {out['hmc_acceptance']:.2f}"
        self.repair_text.setText(f"square of {out['patch_sites']} pixels: resampled {int(out['cone'].sum())} of "
                                 f"{out['cone'].size} latents (Metropolis acceptance {out['acceptance']:.2f}{hmc})")
        self._done()

    @Slot()
    def show_light_cone(self) -> Job | None:
        size = self.patch_size.value()
        return self.run_job(lambda: self.lab.light_cone(CONE_SIZES, min(size, CONE_SIZES[0])), self._show_cone)

    @Slot(object)
    def _show_cone(self, out) -> None:
        if out is None:
            return
        self.results["cone"] = out
        log_n = np.log2([r["N"] for r in out["sizes"]])
        counts = np.array([r["count"] for r in out["sizes"]], float)
        fit = out["fit"]
        self.cone_plot.clear()
        self.cone_plot.plot(log_n, counts, pen=None, symbol="o", symbolBrush="#1f77b4")
        self.cone_plot.plot(log_n, fit["intercept"] + fit["per_log2_N"] * log_n,
                            pen=pg.mkPen("#d62728", style=pg.QtCore.Qt.PenStyle.DashLine))
        self.repair_text.setText("causal cone: " + ", ".join(f"N = {r['N']}: {r['count']}" for r in out["sizes"])
                                 + f" latents; fit {fit['intercept']:.3g} + {fit['per_log2_N']:.3g} log2 N (a fixed "
                                 "number per RG level: it grows like log N, not like N)")
        self._done()

    # --- files, errors, export -----------------------------------------------------------------
    def _done(self) -> None:
        self.status.setText(f"Flow {Path(self.selected()).name}: L = {self.lab.L}, prior {self.lab.density.prior}")

    def _load_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load images flow", "", "rgviz flow checkpoint (*.pt)")
        if path:
            self.load(path)

    def load(self, path: str | os.PathLike) -> Job | None:
        """Use the checkpoint at ``path`` from now on (loaded in a job; an unusable file says why)."""
        self.path = str(path)
        return self.run_job(lambda: None, lambda _: self._done())

    @Slot(str)
    def _fail(self, message: str) -> None:
        self.status.setText(f"<span style='color:#b00'>{message}</span>")
        self.error.emit(message)

    def figure_widget(self) -> QWidget:
        return self.tabs.currentWidget()

    def has_data(self) -> bool:
        return bool(self.results)

    def export_data(self, folder: str | Path) -> list[Path]:
        """Arrays of every result shown (NPZ) and the numbers (JSON: bits/dim, receptive fields, light cone)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {f"repair_{k}": v for k, v in self.results.get("repair", {}).items() if isinstance(v, np.ndarray)}
        for key in ("samples", "mixing"):
            if key in self.results:
                arrays[key] = self.results[key]
        if "hierarchy" in self.results:
            arrays["responses"] = self.results["hierarchy"]["responses"]
        doc = {"checkpoint": self.selected(), "evaluation": self.results.get("evaluation"),
               "receptive_fields": self.results.get("hierarchy", {}).get("levels"), "light_cone": self.results.get("cone")}
        return [write_npz(folder / "images.npz", {**npz_stamp("rgviz-images"), **arrays}),
                write_json(folder / "images.json", doc, "rgviz-images", indent=2)]

    def session_state(self) -> dict:
        return {"checkpoint": self.checkpoint.currentText()}

    def session_restorer(self, state: dict):
        name = state.get("checkpoint")
        if isinstance(name, str) and self.checkpoint.findText(name) >= 0:
            return lambda: self.checkpoint.setCurrentText(name)
        return lambda: None

