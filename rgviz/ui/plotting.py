"""Grids of live plots for the panels.

Live panels redraw the same PlotItem whenever new data arrive (clear, then draw) with
:func:`rgviz.figures.draw_figure`, the same drawing the batch CLI's figures use; this module adds
the grids of styled plots the panels lay them out in.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QSize
from PySide6.QtWidgets import QGraphicsItem, QGraphicsView, QWidget

from ..figures import draw_figure, show_hint, style_plot

__all__ = ["GraphicsLayoutWidget", "PlotGrid", "PlotWidget", "draw_figure", "prepare_live_plot", "readable",
           "show_hint", "style_plot"]

#: The least room one plot gets, title and axes included: its data area stays at least about 150 x 120
#: pixels. A panel whose plots would get less scrolls instead (the main window puts every panel but
#: the lattice in a scroll area), and grids reflow into fewer columns first.
MIN_CELL = QSize(240, 250)


class _ScenePreparer(QObject):
    """Viewport event filter: tells the pyqtgraph scene it is about to be painted (deferred range
    and transform updates run then), as pyqtgraph's own ``paintEvent`` does."""

    def eventFilter(self, viewport: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            viewport.parent().scene().prepareForPaint()
        return False


class _PaintedWithoutGIL:
    """Mixin for pyqtgraph views: Qt paints the scene in C++ with the GIL released.

    Why: pyqtgraph's ``GraphicsView.paintEvent`` is a Python method, and PySide keeps the GIL
    through every C++ call made from Python, so the whole scene (the lattice image, text, cached
    axes) was painted holding the GIL that the engine thread needs between its torch calls. With
    the C++ method in its place PySide calls Qt directly and releases the GIL; only items that
    paint in Python (curves, axes redrawing their cache) take it, for their own ``paint``.
    Measured with ``py-spy record --gil`` on the live window (512 x 512 Ising): the GUI thread
    held the GIL 9.3% of the time before, 5.9% with this and the lattice drawn by a C++ item.
    """

    paintEvent = QGraphicsView.paintEvent  # a C++ method: PySide sees no Python override

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._scene_preparer = _ScenePreparer(self)
        self.viewport().installEventFilter(self._scene_preparer)


class PlotWidget(_PaintedWithoutGIL, pg.PlotWidget):
    """A pyqtgraph PlotWidget painted without the GIL (see :class:`_PaintedWithoutGIL`)."""


class GraphicsLayoutWidget(_PaintedWithoutGIL, pg.GraphicsLayoutWidget):
    """A pyqtgraph GraphicsLayoutWidget painted without the GIL (see :class:`_PaintedWithoutGIL`)."""


def readable(widget: QWidget, rows: int = 1, columns: int = 1) -> None:
    """Give ``widget`` (a view of ``rows`` x ``columns`` plots) room for every plot: :data:`MIN_CELL` each."""
    widget.setMinimumSize(columns * MIN_CELL.width(), rows * MIN_CELL.height())


class PlotGrid(GraphicsLayoutWidget):
    """A white grid of styled plots in rows of at most ``columns``, fewer where the widget is too narrow
    for them (each keeps :data:`MIN_CELL`); its minimum height grows with the rows, so a short panel
    scrolls rather than squashing its plots. Empty, it shows ``hint`` (what to run) instead of bare axes."""

    plots: list[pg.PlotItem] = []  # read only; pyqtgraph's __init__ resizes (and so reflows) before ours runs

    def __init__(self, hint: str = "", columns: int = 3, parent: QWidget | None = None):
        super().__init__(parent)
        self.setBackground("w")
        self.hint = hint
        self.columns = columns
        self.fill(0)

    def fill(self, n: int, columns: int | None = None) -> list[pg.PlotItem]:
        """Replace the contents by ``n`` styled PlotItems (in rows of ``columns``, if given)."""
        self.clear()
        self.columns = columns or self.columns
        self.plots = []
        for _ in range(n):
            plot = pg.PlotItem()
            style_plot(plot)
            self.plots.append(plot)
        if not n:
            hint = self.addPlot()
            show_hint(hint, self.hint)
        self._shown_columns = 0
        self._reflow()
        return self.plots

    def _reflow(self) -> None:
        """Lay the plots out in as many columns as fit the width (at least one)."""
        if not self.plots:
            self.setMinimumSize(MIN_CELL)
            return
        columns = max(1, min(self.columns, len(self.plots), self.width() // MIN_CELL.width()))
        if columns != self._shown_columns:
            for plot in self.plots:
                if plot in self.ci.items:  # laid out before
                    self.ci.removeItem(plot)
            for i, plot in enumerate(self.plots):
                self.ci.addItem(plot, row=i // columns, col=i % columns)
            self._shown_columns = columns
        readable(self, -(-len(self.plots) // columns), 1)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._reflow()


def prepare_live_plot(plot: pg.PlotItem) -> None:
    """Make a live plot cheap to repaint: its axes are drawn from cached pixmaps, redrawn only when
    an axis changes, and the plot and its view box, which draw nothing themselves (the view box's
    background and border are child items), are flagged as such.

    Why: for a live plot Qt repaints the axes with the data, and each AxisItem repaint runs
    Python (about 1 ms) in the GUI thread, holding the GIL that the engine thread needs. Qt calls
    the Python ``paint`` and ``boundingRect`` of every item it repaints, and each such call takes
    the GIL from the engine thread; flagged items are skipped (the lattice view: 11 -> 6 calls
    per frame).
    """
    for name in ("left", "bottom"):
        plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    for item in (plot, plot.getViewBox()):
        item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, True)


def running_mean(y: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values at each point (fewer at the start)."""
    c = np.cumsum(np.concatenate([[0.0], np.asarray(y, float)]))
    n = np.arange(1, len(y) + 1)
    lo = np.maximum(n - window, 0)
    return (c[n] - c[lo]) / (n - lo)
