"""Grids of live plots for the panels.

Live panels redraw the same PlotItem whenever new data arrive (clear, then draw) with
:func:`rgviz.figures.draw_figure`, the same drawing the batch CLI's figures use; this module adds
the grids of styled plots the panels lay them out in.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem

from ..figures import draw_figure, style_plot

__all__ = ["cache_axes", "draw_figure", "fill_grid", "grid_widget", "style_plot"]


def grid_widget() -> pg.GraphicsLayoutWidget:
    """An empty white GraphicsLayoutWidget for :func:`fill_grid`."""
    widget = pg.GraphicsLayoutWidget()
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


def cache_axes(plot: pg.PlotItem) -> None:
    """Draw the plot's axes from cached pixmaps, redrawn only when an axis changes.

    Why: for a live plot Qt repaints the axes with the data, and each AxisItem repaint runs
    Python (about 1 ms) in the GUI thread, holding the GIL that the engine thread needs.
    """
    for name in ("left", "bottom"):
        plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
