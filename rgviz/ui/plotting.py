"""Draw the engine's plain-data :class:`engine.figures.Figure` into an existing pyqtgraph PlotItem.

Live panels redraw the same PlotItem whenever new data arrive (clear, then draw), inside the
panel's own layout. The palette, the log-axis filtering and the error bars are those of the batch
CLI's figures (the helpers of :mod:`rgviz.figures` are reused); :func:`draw_figure` adds what small
live plots need (error bands on curves, companion colours, escaped text; see there).
"""

from __future__ import annotations

from html import escape

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from engine.figures import Figure

from ..figures import PALETTE, _error_bars, _log_safe


def style_plot(plot: pg.PlotItem) -> None:
    """Black axes and text on a white background, a faint grid, a legend (once per PlotItem)."""
    for side in ("bottom", "left"):
        axis = plot.getAxis(side)
        axis.setPen("k")
        axis.setTextPen("k")
        axis.enableAutoSIPrefix(False)  # a Binder cumulant of 0.6 is not "600 (x0.001)"
    plot.showGrid(x=True, y=True, alpha=0.15)
    legend = plot.addLegend(offset=(-10, 10), labelTextColor="k", labelTextSize="8pt", verticalSpacing=-4,
                            brush=pg.mkBrush(255, 255, 255, 170), pen=pg.mkPen(160, 160, 160))
    legend.setZValue(10)
    legend.setVisible(False)  # until a figure with labelled series is drawn


def draw_figure(plot: pg.PlotItem, fig: Figure) -> None:
    """Replace what ``plot`` shows by ``fig``: title, labels, log axes, series, errors.

    Points get error bars; a line with errors (a reweighted curve) gets a translucent band,
    which stays readable where bars every few pixels would turn into hatching. A series with
    neither label nor colour belongs to the series before it (e.g. the reweighted curve after
    the points of one L) and takes its colour. Text is HTML-escaped: pyqtgraph renders labels
    as HTML, where "<|m|>" would vanish as a tag.
    """
    plot.clear()
    plot.setTitle(escape(fig.title), color="k", size="10pt")
    plot.setLabel("bottom", escape(fig.xlabel), color="k")
    plot.setLabel("left", escape(fig.ylabel), color="k")
    plot.setLogMode(x=fig.logx, y=fig.logy)
    if plot.legend is not None:
        plot.legend.setVisible(any(s.label for s in fig.series))
    next_color, color = 0, PALETTE[0]
    for series in fig.series:
        if series.color is not None:
            color = series.color
        elif series.label or series is fig.series[0]:
            color = PALETTE[next_color % len(PALETTE)]
            next_color += 1
        x, y, err = _log_safe(series, fig.logx, fig.logy)
        line = series.style in ("line", "line+points", "dashed")
        style = Qt.PenStyle.DashLine if series.style == "dashed" else Qt.PenStyle.SolidLine
        points = series.style in ("points", "line+points")
        plot.plot(x, y, pen=pg.mkPen(color, width=2, style=style) if line else None,
                  symbol="o" if points else None, symbolSize=6, symbolBrush=color, symbolPen=color,
                  name=escape(series.label) or None)
        if err is None or not len(x):
            continue
        if points:
            plot.addItem(_error_bars(x, y, err, fig.logx, fig.logy, pg.mkPen(color, width=1.5)))
        else:
            low = np.maximum(y - err, y * 1e-6) if fig.logy else y - err
            edges = [plot.plot(x, v, pen=None) for v in (low, y + err)]
            band = pg.mkColor(color)
            band.setAlpha(50)
            plot.addItem(pg.FillBetweenItem(*edges, brush=band), ignoreBounds=True)


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
