"""The lattice panel: one pixel per site, zoom and pan, a colour map per model, a cursor readout.

Colouring uses a 256-entry lookup table of the chosen colour map: Ising and XY lattices become
8-bit indices into it, looked up as Qt's RGB32 words for the screen and as RGB for movies:

- Ising: the two end colours of the chosen map (-1 and +1),
- XY: the angle on a cyclic map, optionally with vortex (white disc, black rim) and antivortex
  (black disc, white rim) markers at the plaquette centres that the engine's snapshot lists
  (computed in the worker thread); a change of model removes them,
- complex phi^4: the phase as hue on a cyclic map and the amplitude as brightness.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QCheckBox, QComboBox, QGraphicsPixmapItem, QLabel, QWidget

from .colors import COLORMAPS, TWO_PI, colorize, color_indices, lookup_table, model_table, rgb32
from .lattice_figure import LatticeFigure
from .panel import Panel
from .plotting import PlotWidget, prepare_live_plot
from .widgets import view_with_bar

#: Vortex markers: (fill, rim) per charge; diameter 0.8 sites on screen, within MARKER_PX pixels.
VORTEX_COLOURS = {"vortex": ("w", "k"), "antivortex": ("k", "w")}
MARKER_PX = (5, 12)


def marker_size(site_px: float) -> int:
    """Marker diameter in screen pixels when one site spans ``site_px`` pixels: markers grow as
    the user zooms in, and zoomed out they stay small enough to leave the lattice visible."""
    lo, hi = MARKER_PX
    return int(min(hi, max(lo, round(0.8 * site_px))))


def site_value(lattice: np.ndarray, model: str, x: int, y: int) -> str:
    """Text for the cursor readout at site (x, y)."""
    if model == "ising":
        return f"s = {int(lattice[y, x]):+d}"
    if model == "xy":
        return f"theta = {float(np.mod(lattice[y, x], TWO_PI)):.3f}"
    re, im = float(lattice[0, y, x]), float(lattice[1, y, x])
    return f"|phi| = {np.hypot(re, im):.3f}, arg = {np.arctan2(im, re):+.3f}"


class LatticeView(Panel, QWidget):
    """Shows the latest snapshot's lattice; ``rgb`` holds the image as displayed."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = ""
        self.lattice: np.ndarray | None = None
        self._rgb: np.ndarray | None = None
        self._lut = self._table = None
        self._table32 = np.zeros(256, np.uint32)  # self._table as Qt's RGB32 words
        self._vortices = None
        self._shown = ({}, 0)  # the parameters and sweep of the lattice shown (for the figure's title)
        self._figure: LatticeFigure | None = None

        self.plot = PlotWidget()
        self.plot.setAspectLocked(True)
        self.plot.invertY(True)  # row 0 at the top, as in a matrix
        # the range is set when the lattice size changes (show_frame); automatic ranging would
        # recompute the image bounds in the GUI thread on every frame
        self.plot.disableAutoRange()
        prepare_live_plot(self.plot.getPlotItem())
        self.plot.setLabel("bottom", "x")
        self.plot.setLabel("left", "y")
        # a C++ item, painted with the GIL released (pyqtgraph's ImageItem paints in Python: the
        # scaled image was drawn holding the GIL that the engine thread needs, every frame)
        self.image = QGraphicsPixmapItem()
        self.plot.addItem(self.image)
        # One marker shape and size for both charges, told apart by swapped colours: a filled disc
        # with a contrasting rim stays readable on every hue of a cyclic map (a thin ring or a
        # cross disappears on light or busy regions)
        self.vortex_items = {
            kind: pg.ScatterPlotItem(symbol="o", size=MARKER_PX[0], pen=pg.mkPen(rim, width=1.5), brush=pg.mkBrush(fill))
            for kind, (fill, rim) in VORTEX_COLOURS.items()
        }
        self.plot.getViewBox().sigRangeChanged.connect(self._on_zoom)
        for item in self.vortex_items.values():
            self.plot.addItem(item)
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)

        self.cmap_box = QComboBox()
        self.cmap_box.setToolTip("Colour map: Ising -1 and +1 take its two ends; XY angles and phi^4 phases "
                                 "take a cyclic map (phi^4: brightness is the amplitude)")
        self.cmap_box.currentTextChanged.connect(self._on_cmap_changed)
        self.vortex_box = QCheckBox("vortices")
        self.vortex_box.setToolTip("Mark the XY model's vortices (winding +1: white disc with black rim) and "
                                   "antivortices (winding -1: black disc with white rim) at plaquette centres")
        self.vortex_box.toggled.connect(self._on_vortex_toggled)
        self.readout = QLabel(" ")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        view_with_bar(self, self.plot, ["Colours:", self.cmap_box, self.vortex_box], self.readout)

    def set_model(self, model: str) -> None:
        """Offer the model's colour maps and show or hide the vortex option."""
        if model == self.model:
            return
        self.model = model
        self.cmap_box.blockSignals(True)
        self.cmap_box.clear()
        self.cmap_box.addItems(COLORMAPS[model])
        self.cmap_box.blockSignals(False)
        self._set_lut(lookup_table(COLORMAPS[model][0]))
        self.vortex_box.setVisible(model == "xy")
        self._vortices = None  # markers belong to the lattice they were found in
        self._set_vortices(None)

    def figure_widget(self) -> QWidget:
        """What "Export figure" renders: the lattice as shown, with a title and a colour key, on white
        (:class:`rgviz.ui.lattice_figure.LatticeFigure`); the live view before the first frame."""
        if self.lattice is None:
            return self.plot
        if self._figure is not None:
            self._figure.deleteLater()
        params, sweep = self._shown
        vortices = self._vortices if self.vortex_box.isChecked() and self.model == "xy" else None
        self._figure = LatticeFigure(self.rgb, self.model, self.cmap_box.currentText(), params, sweep,
                                     vortices, VORTEX_COLOURS)
        return self._figure

    def show_frame(self, snapshot: dict) -> None:
        self.set_model(snapshot["model"])
        first = self.lattice is None or self.lattice.shape != snapshot["lattice"].shape
        self.lattice = snapshot["lattice"]
        self._shown = (snapshot.get("params", {}), snapshot.get("sweep", 0))
        self._redraw()
        if first:
            self.plot.autoRange(padding=0.02)
        self._vortices = snapshot.get("vortices")
        self._set_vortices(self._vortices if self.vortex_box.isChecked() else None)

    @property
    def rgb(self) -> np.ndarray | None:
        """The lattice as displayed, ``[L, L, 3]`` uint8 (for movies and tests)."""
        if self.lattice is None:
            return None
        if self._rgb is None:
            self._rgb = colorize(self.lattice, self.model, self._lut)
        return self._rgb

    def _redraw(self) -> None:
        """The displayed colours are computed here, with numpy, as RGB32 words for Qt.

        Why not Qt's own conversion (an indexed or RGB888 image to RGB32): Qt converts images
        above 2^17 pixels on its thread pool, and the GUI thread waits for it holding the GIL
        that the engine thread needs; numpy's table lookup releases the GIL. Measured with the
        worker in its thread and a hidden lattice view at L = 512 (paired 2 s segments against
        the same worker without the view): the view cost the engine 0.085 +- 0.042 of headless
        with Qt's conversion, 0.033 +- 0.030 with numpy's.
        """
        if self.lattice is None:
            return
        self._rgb = None
        if self.model == "phi4":
            words = rgb32(self.rgb)
        else:
            words = np.take(self._table32, color_indices(self.lattice, self.model))
        rows, cols = words.shape
        image = QImage(words.data, cols, rows, 4 * cols, QImage.Format.Format_RGB32)
        self.image.setPixmap(QPixmap.fromImage(image))  # a copy: ``words`` may go

    def _set_vortices(self, vortices: dict | None) -> None:
        """Markers from (y, x) plaquette centres in site units; pixel (y, x) spans [x, x+1]."""
        for kind, item in self.vortex_items.items():
            points = None if vortices is None else np.asarray(vortices.get(kind, ()), float).reshape(-1, 2)
            if points is None or not len(points):
                if len(item.data):  # clearing an empty item still costs a scene update
                    item.clear()
                item.setVisible(False)  # an empty scatter item is still painted, in Python, every frame
            else:
                item.setData(points[:, 1] + 0.5, points[:, 0] + 0.5)
                item.setVisible(True)

    def _set_lut(self, lut: np.ndarray) -> None:
        """The colour map's table, and the model's 256-entry table built from it once (not per frame)."""
        self._lut = lut
        self._table = model_table(self.model, lut)
        self._table32 = rgb32(self._table)

    def _on_cmap_changed(self, name: str) -> None:
        if name:
            self._set_lut(lookup_table(name))
            self._redraw()

    def _on_zoom(self) -> None:
        site_px = 1.0 / max(self.plot.getViewBox().viewPixelSize()[0], 1e-9)
        size = marker_size(site_px)
        for item in self.vortex_items.values():
            if item.opts["size"] != size:
                item.setSize(size)

    def _on_vortex_toggled(self, on: bool) -> None:
        self._set_vortices(self._vortices if on else None)

    def _on_mouse_moved(self, pos) -> None:
        if self.lattice is None:
            return
        p = self.plot.getViewBox().mapSceneToView(pos)
        x, y = int(np.floor(p.x())), int(np.floor(p.y()))
        L = self.lattice.shape[-1]
        if 0 <= x < L and 0 <= y < L:
            self.readout.setText(f"site ({x}, {y}): {site_value(self.lattice, self.model, x, y)}")
        else:
            self.readout.setText(" ")
