"""Grids of live plots for the panels.

Live panels redraw the same PlotItem whenever new data arrive (clear, then draw) with
:func:`rgviz.figures.draw_figure`, the same drawing the batch CLI's figures use; this module adds
the grids of styled plots the panels lay them out in.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QGraphicsItem, QGraphicsView

from ..figures import draw_figure, style_plot

__all__ = ["GraphicsLayoutWidget", "PlotWidget", "draw_figure", "fill_grid", "grid_widget", "prepare_live_plot",
           "style_plot"]


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


def grid_widget() -> GraphicsLayoutWidget:
    """An empty white GraphicsLayoutWidget for :func:`fill_grid`."""
    widget = GraphicsLayoutWidget()
    widget.setBackground("w")
    return widget


def fill_grid(widget: pg.GraphicsLayoutWidget, n: int, columns: int = 3) -> list[pg.PlotItem]:
    """Replace the contents of ``widget`` by ``n`` styled PlotItems in rows of ``columns``."""
    widget.clear()
    plots = []
    for i in range(n):
        plot = widget.addPlot(row=i // columns, col=i % columns)
        style_plot(plot)
        plots.append(plot)
    return plots


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
