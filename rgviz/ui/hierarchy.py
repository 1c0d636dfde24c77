"""Hierarchy panel: the live lattice beside its coarse-grained copies L, L/b, L/b^2, ...

Watching the blocked levels while the temperature changes shows the RG at work: below Tc the
coarse levels order completely, above Tc they turn into noise, at Tc they look alike at every
scale. Each level is drawn on the same on-screen square (every image stretched to a unit square,
side by side in one view), so a coarse site is drawn b^n times larger and the eye compares
structures, not sizes. Colours are the lattice panel's (:func:`rgviz.ui.colors.colorize`).

Blocking uses the engine (:func:`engine.rg.blocking.coarse_levels`) on a copy of the snapshot. It is
cheap, but frames arrive up to 40 times a second (``EngineWorker.MAX_FPS``): the panel blocks the
newest frame at most :data:`MAX_RATE` times a second, and less often when blocking and drawing take more than
:data:`GUI_SHARE` of the time (a 1024^2 lattice on a loaded machine); frames in between are dropped.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QTimer, Slot
from PySide6.QtWidgets import QComboBox, QLabel, QSpinBox, QWidget

from engine.device import make_generator
from engine.rg.blocking import coarse_levels

from .colors import COLORMAPS, colorize, lookup_table
from .panel import Panel
from .widgets import view_with_bar

MAX_RATE = 4.0  # blockings per second at most
GAP = 0.08  # space between two levels, in units of the (common) level size
GUI_SHARE = 0.2  # and at most this fraction of the GUI thread's time (large lattices)
MAX_LEVELS = 6
#: Blocking rules offered per model: label -> (engine block map, block size b).
RULES = {
    "ising": {"majority, b = 2": ("majority", 2), "majority, b = 3": ("majority", 3),
              "decimation, b = 2": ("decimation", 2)},
    "xy": {"block direction, b = 2": ("xy-average", 2), "block direction, b = 3": ("xy-average", 3),
           "decimation, b = 2": ("decimation", 2)},
    "phi4": {"block average, b = 2": ("phi4-average", 2), "block average, b = 3": ("phi4-average", 3),
             "decimation, b = 2": ("decimation", 2)},
}


class HierarchyPanel(Panel, QWidget):
    """The live lattice and its blocked levels side by side; ``levels`` holds what is drawn."""

    def __init__(self, seed: int = 0, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = ""
        self.levels: list[np.ndarray] = []
        self._snapshot: dict | None = None  # newest frame, not yet blocked
        self._last_frame: dict | None = None  # the frame that ``levels`` show
        self._next_block = -np.inf  # time.monotonic() from which the next frame may be blocked
        self._gen = make_generator(seed)  # tie-breaks of the majority rule
        self._lut = None
        self.images: list[pg.ImageItem] = []
        self.labels: list[pg.TextItem] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._block_pending)

        self.rule_box = QComboBox()
        self.rule_box.setToolTip("Block-spin rule and block size b")
        self.rule_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.levels_box = QSpinBox()
        self.levels_box.setRange(1, MAX_LEVELS)
        self.levels_box.setValue(3)
        self.levels_box.setToolTip("Number of blockings (limited by the powers of b that divide L)")
        self.cmap_box = QComboBox()
        self.cmap_box.setToolTip("Colour map")
        self.note = QLabel(" ")
        self.rule_box.currentIndexChanged.connect(self._settings_changed)
        self.levels_box.valueChanged.connect(self._settings_changed)
        self.cmap_box.currentTextChanged.connect(self.set_colormap)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.view = self.graphics.addViewBox(lockAspect=True, enableMouse=False)
        self.view.invertY(True)  # row 0 at the top, as in the lattice panel
        view_with_bar(self, self.graphics, ["Rule:", self.rule_box, "Levels:", self.levels_box,
                                            "Colours:", self.cmap_box], self.note)
        self.set_model("ising")

    # --- settings -------------------------------------------------------------------------------
    def set_model(self, model: str) -> None:
        """Offer the model's blocking rules and colour maps (the lattice panel's)."""
        if model == self.model:
            return
        self.model = model
        for box, items in ((self.rule_box, RULES[model]), (self.cmap_box, COLORMAPS[model])):
            box.blockSignals(True)
            box.clear()
            box.addItems(list(items))
            box.blockSignals(False)
        self._lut = lookup_table(COLORMAPS[model][0])

    @Slot(str)
    def set_colormap(self, name: str) -> None:
        """Use colour map ``name`` (connected to the lattice panel's choice so both look alike)."""
        if not name or name not in COLORMAPS.get(self.model, ()):
            return
        if self.cmap_box.currentText() != name:
            self.cmap_box.setCurrentText(name)  # comes back here through the signal
            return
        self._lut = lookup_table(name)
        self._draw()

    def rule(self) -> tuple[str, int]:
        """The engine's block map name and b of the chosen rule."""
        return RULES[self.model][self.rule_box.currentText()]

    def _settings_changed(self) -> None:
        if self._last_frame is not None:
            self._block(self._last_frame)

    # --- frames ---------------------------------------------------------------------------------
    def show_frame(self, snapshot: dict) -> None:
        """Keep the newest frame; block it now or when the rate limit allows."""
        self._snapshot = snapshot
        wait = self._next_block - time.monotonic()
        if wait <= 0:
            self._block_pending()
        elif not self._timer.isActive():
            self._timer.start(int(wait * 1000) + 1)

    def _block_pending(self) -> None:
        if self._snapshot is not None:
            snapshot, self._snapshot = self._snapshot, None
            self._block(snapshot)

    def _block(self, snapshot: dict) -> None:
        start = time.monotonic()
        self._last_frame = snapshot
        self.set_model(snapshot["model"])
        rule, b = self.rule()
        wanted = self.levels_box.value()
        self.levels = coarse_levels(snapshot["lattice"], rule, b, wanted, self._gen)
        L = self.levels[0].shape[-1]
        shown = len(self.levels) - 1
        self.note.setText(" " if shown == wanted else f"L = {L} allows {shown} blocking(s) by {b}")
        self._draw()
        end = time.monotonic()
        self._next_block = end + max(1.0 / MAX_RATE, (end - start) / GUI_SHARE)

    def _draw(self) -> None:
        if not self.levels:
            return
        if len(self.images) != len(self.levels):
            self._build_items(len(self.levels))
        _, b = self.rule()
        for n, (level, image, label) in enumerate(zip(self.levels, self.images, self.labels)):
            image.setImage(colorize(level, self.model, self._lut), autoLevels=False, levels=(0, 255))
            image.setRect(QRectF(n * (1 + GAP), 0, 1, 1))
            power = "" if n == 0 else f"/{b}" if n == 1 else f"/{b}<sup>{n}</sup>"
            label.setHtml(f"<span style='color:black'>L{power} = {level.shape[-1]}</span>")

    def _build_items(self, n: int) -> None:
        """One image per level, side by side in one view: unit squares, so equal on screen."""
        self.view.clear()
        self.images = [pg.ImageItem(axisOrder="row-major") for _ in range(n)]
        self.labels = [pg.TextItem(anchor=(0.5, 1.0)) for _ in range(n)]
        for k, (image, label) in enumerate(zip(self.images, self.labels)):
            self.view.addItem(image)
            self.view.addItem(label)
            label.setPos(k * (1 + GAP) + 0.5, -0.02)
        self.view.setRange(QRectF(0, -0.15, n + (n - 1) * GAP, 1.15), padding=0.02)

    def figure_widget(self) -> QWidget:
        """What "Export figure" renders: the levels without the tool bar."""
        return self.graphics
