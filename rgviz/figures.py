"""Render the engine's plain-data :class:`engine.figures.Figure` with pyqtgraph, offscreen.

The batch CLI describes plots as data; this module draws them on a white PlotWidget (title,
axis labels, legend, optional log axes, y error bars) and writes ``<name>.png``, ``.svg`` and
``.pdf`` through the application's own exporters (:mod:`rgviz.export`), so batch figures and
figures exported from the GUI look the same. Needs a QApplication (``rgviz.batch`` makes one).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QSizePolicy

from engine.figures import Figure, Heatmap, Series

from . import export

SIZE = (800, 560)
PNG_SCALE = 2  # PNG at twice the on-screen size: crisp lines and text in papers and slides
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
FORMATS = (".png", ".svg", ".pdf")


#: Greek letters the engine's figure specs spell out (plain text for JSON and terminals), drawn as symbols.
GREEK = {"alpha": "\u03b1", "beta": "\u03b2", "gamma": "\u03b3", "delta": "\u03b4", "eta": "\u03b7",
         "theta": "\u03b8", "lambda": "\u03bb", "mu": "\u03bc", "nu": "\u03bd", "xi": "\u03be", "pi": "\u03c0",
         "rho": "\u03c1", "sigma": "\u03c3", "tau": "\u03c4", "phi": "\u03c6", "chi": "\u03c7",
         "Delta": "\u0394", "Upsilon": "\u03a5"}
_GREEK_WORD = re.compile(r"(?<![A-Za-z])(" + "|".join(GREEK) + r")(?![A-Za-z])")


#: Characters with a Unicode superscript form (there is none for q).
SUPERSCRIPT = dict(zip("0123456789+-=()abcdefghijklmnoprstuvwxyz",
                       "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u207a\u207b\u207c\u207d\u207e"
                       "\u1d43\u1d47\u1d9c\u1d48\u1d49\u1da0\u1d4d\u02b0\u2071\u02b2\u1d4f\u02e1\u1d50\u207f\u1d52\u1d56"
                       "\u02b3\u02e2\u1d57\u1d58\u1d5b\u02b7\u02e3\u02b8\u1dbb"))
_EXPONENT = re.compile(r"\^(\([^()]*\)|-?[0-9]+(?:\.[0-9]+)?(?![0-9.])|[a-z](?![a-z]))")


def symbols(text: str) -> str:
    """``text`` with spelled-out Greek letters as symbols ("gamma/nu" -> "\u03b3/\u03bd", "tau_int" ->
    "\u03c4_int") and exponents raised ("sigma_w^2" -> "\u03c3_w\u00b2", "q^(l+1)" -> "q\u207d\u02e1\u207a\u00b9\u207e"); words
    that merely contain a letter's name ("beta" in "alphabet") and exponents without a superscript form stay."""
    text = _GREEK_WORD.sub(lambda m: GREEK[m.group(1)], text)
    return _EXPONENT.sub(lambda m: "".join(SUPERSCRIPT[c] for c in m.group(1))
                         if all(c in SUPERSCRIPT for c in m.group(1)) else m.group(0), text)


def _log_safe(series: Series, logx: bool, logy: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Finite points, and only positive ones along log axes (log of <= 0 is undefined)."""
    x = np.asarray(series.x, dtype=float)
    y = np.asarray(series.y, dtype=float)
    err = None if series.yerr is None else np.asarray(series.yerr, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    if logx:
        keep &= x > 0
    if logy:
        keep &= y > 0
    return x[keep], y[keep], None if err is None else np.nan_to_num(err[keep])


def _error_bars(x: np.ndarray, y: np.ndarray, err: np.ndarray, logx: bool, logy: bool, pen) -> pg.ErrorBarItem:
    """Error bars in the plot's own coordinates: pyqtgraph's log mode maps curves, not error bars."""
    ex = np.log10(x) if logx else x
    if logy:
        ey = np.log10(y)
        top = np.log10(y + err) - ey
        bottom = ey - np.log10(np.maximum(y - err, y * 1e-6))
    else:
        ey, top, bottom = y, err, err
    return pg.ErrorBarItem(x=ex, y=ey, top=top, bottom=bottom, beam=0.0, pen=pen)


class OutsideLegend(pg.LegendItem):
    """A plot's legend beside its data, never over it: on small plots a legend inside the data area
    covered curves and points. Under the bottom axis, its entries flowing into as many columns as the
    data area's width holds (a long legend stays a compact block); in one column right of the data
    when the plot is more than twice as wide as tall (rows under it would eat its little height).
    With no entry it leaves the layout (a QGraphicsGridLayout keeps room for a hidden item)."""

    SPACING = 6  # pixels between a sample and its label, and between entries
    # Cells of PlotItem's layout: title row 0, top axis 1, view box 2 (columns: left axis 0, view box 1,
    # right axis 2), bottom axis 3
    UNDER, RIGHT = (4, 1), (2, 3)

    def __init__(self, plot: pg.PlotItem):
        super().__init__(labelTextColor="k", labelTextSize="8pt", verSpacing=0, horSpacing=self.SPACING,
                         frame=False)
        self._plot = plot
        self._cell = None
        self.layout.setContentsMargins(0, 0, 0, 0)
        plot.geometryChanged.connect(self.place)
        plot.getViewBox().sigResized.connect(self._fit_columns)

    def addItem(self, item, name: str) -> None:
        """pyqtgraph's entry with the label's text margins trimmed: rows of 8 pt text about 15 px apart."""
        super().addItem(item, name)
        sample, label = self.items[-1]
        label.item.document().setDocumentMargin(1)
        label.updateMin()
        sample.setMaximumHeight(label.minimumHeight())

    def place(self) -> None:
        """Into the plot's layout (under or right of the data) when it has entries, out of it when it has none."""
        rect = self._plot.geometry()
        widths = self._entry_widths()
        wide = rect.width() > 2 * rect.height() and max(widths, default=0) <= 0.45 * rect.width()
        cell = None if not self.items else self.RIGHT if wide else self.UNDER
        if cell != self._cell:
            if self._cell is not None:
                self._plot.layout.removeItem(self)
            if cell is not None:
                # under: its rows' own height and any width the plot has (the entries reflow into it, a long
                # legend never widens the plot beyond its cell); right: one column of its whole text, at the top
                under = cell == self.UNDER
                self.setSizePolicy(QSizePolicy.Policy.Ignored if under else QSizePolicy.Policy.Maximum,
                                   QSizePolicy.Policy.Fixed)
                self._plot.layout.addItem(self, *cell)
                self._plot.layout.setAlignment(self, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            self._cell = cell
        self.setVisible(cell is not None)
        self.setMinimumWidth(max(widths) if cell == self.RIGHT else 1)
        self._fit_columns()

    def _entry_widths(self) -> list[float]:
        return [sample.boundingRect().width() + label.item.boundingRect().width() + 2 * self.SPACING
                for sample, label in self.items]

    def _fit_columns(self, *_) -> None:
        if self._cell != self.UNDER:
            self.setColumnCount(1)
            return
        widths = self._entry_widths()
        room = self._plot.getViewBox().width()
        # the most columns that fit, each as wide as its widest entry (entry i goes to column i % n)
        self.setColumnCount(next((n for n in range(len(widths), 1, -1)
                                  if sum(max(widths[j::n]) for j in range(n)) <= room), 1))

    def updateSize(self) -> None:
        """Tell the plot's layout the legend's size changed (pyqtgraph's sets its geometry, moving it to the
        plot's top left corner until the next relayout)."""
        self.updateGeometry()

    def mouseDragEvent(self, ev) -> None:
        ev.ignore()  # its place is in the layout (pyqtgraph's legend would be dragged over the data)


def style_plot(plot: pg.PlotItem) -> None:
    """Black axes and text on a white background, a faint grid, a legend (once per PlotItem; :func:`draw_figure`
    shows it beside the data, under or right of it, when a series is labelled)."""
    for side in ("bottom", "left"):
        axis = plot.getAxis(side)
        axis.setPen("k")
        axis.setTextPen("k")
        axis.enableAutoSIPrefix(False)  # a Binder cumulant of 0.6 is not "600 (x0.001)"
    plot.showGrid(x=True, y=True, alpha=0.15)
    # the title spans the data and a legend right of them: a long title and a legend would widen the plot
    plot.layout.removeItem(plot.titleLabel)
    plot.layout.addItem(plot.titleLabel, 0, 1, 1, 3)
    plot.legend = OutsideLegend(plot)  # PlotItem.plot(name=...) adds to it, PlotItem.clear() empties it


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges halfway between centres, the outer ones half a spacing beyond the ends (one cell: +-0.5)."""
    if len(centres) == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    mid = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[2 * centres[0] - mid[0]], mid, [2 * centres[-1] - mid[-1]]])


def _draw_heatmap(plot: pg.PlotItem, heatmap: Heatmap) -> None:
    """The cells as a colour mesh with a colour bar at the plot's right (replacing the last one drawn)."""
    values = np.asarray(heatmap.values, dtype=float)
    finite = values[np.isfinite(values)]
    levels = heatmap.levels or ((float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0))
    if levels[1] <= levels[0]:
        levels = (levels[0], levels[0] + 1.0)
    xe, ye = np.meshgrid(_edges(np.asarray(heatmap.x, float)), _edges(np.asarray(heatmap.y, float)))
    cmap = pg.colormap.get(heatmap.colormap)
    # no gaps in a mesh: a missing value is drawn at the low end of the scale, an infinite one at its end
    mesh = pg.PColorMeshItem(xe, ye, np.nan_to_num(values, nan=levels[0], posinf=levels[1], neginf=levels[0]),
                             colorMap=cmap, levels=levels, enableAutoLevels=False)
    plot.addItem(mesh)
    bar = pg.ColorBarItem(values=levels, colorMap=cmap, interactive=False, width=12)
    bar.axis.setPen("k")
    bar.axis.setTextPen("k")
    bar.axis.setLabel(escape(heatmap.label), color="k")
    plot.layout.addItem(bar, 2, 5)
    plot._rgviz_colorbar = bar


def _remove_colorbar(plot: pg.PlotItem) -> None:
    bar = getattr(plot, "_rgviz_colorbar", None)
    if bar is not None:
        plot.layout.removeItem(bar)
        if bar.scene() is not None:
            bar.scene().removeItem(bar)
        plot._rgviz_colorbar = None


def show_hint(plot: pg.PlotItem, text: str) -> None:
    """An empty plot says, in one line, what to run to fill it (bare 0-1 axes say nothing)."""
    plot.clear()
    plot.setTitle(escape(text), color="#555555", size="10pt")
    for side in ("left", "bottom"):
        plot.hideAxis(side)
    if plot.legend is not None:
        plot.legend.place()


def draw_figure(plot: pg.PlotItem, fig: Figure) -> None:
    """Replace what ``plot`` shows by ``fig``: title, labels, log axes, series, errors.

    Points get error bars; a line with errors (a reweighted curve) gets a translucent band,
    which stays readable where bars every few pixels would turn into hatching. A series with
    neither label nor colour belongs to the series before it (e.g. the reweighted curve after
    the points of one L) and takes its colour. Text is HTML-escaped: pyqtgraph renders labels
    as HTML, where "<|m|>" would vanish as a tag.
    """
    plot.clear()
    _remove_colorbar(plot)
    if fig.heatmap is not None:
        _draw_heatmap(plot, fig.heatmap)
    # the grid is drawn over the data: over a heat map's cells its lines read as marks in the colours
    plot.showGrid(x=fig.heatmap is None, y=fig.heatmap is None)
    for side in ("left", "bottom"):
        plot.showAxis(side)
    plot.setTitle(escape(symbols(fig.title)), color="k", size="10pt")
    plot.setLabel("bottom", escape(symbols(fig.xlabel)), color="k")
    plot.setLabel("left", escape(symbols(fig.ylabel)), color="k")
    plot.setLogMode(x=fig.logx, y=fig.logy)
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
                  name=escape(symbols(series.label)) or None)
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
    if plot.legend is not None:
        plot.legend.place()


def plot_widget(fig: Figure) -> pg.PlotWidget:
    """A PlotWidget (not shown) drawing ``fig`` exactly as the live panels draw it."""
    widget = pg.PlotWidget(background="w")
    widget.resize(*SIZE)
    plot = widget.getPlotItem()
    style_plot(plot)
    plot.layout.setContentsMargins(8, 8, 24, 8)  # room for the last tick label
    draw_figure(plot, fig)
    return widget


def render(fig: Figure, out_dir: Path) -> list[Path]:
    """Write ``fig`` as PNG, SVG and PDF into ``out_dir``; the renderer for ``engine.figures``."""
    out_dir = Path(out_dir)
    widget = plot_widget(fig)
    # Laid out only when shown: show it off-screen so that axes and ranges match SIZE.
    widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    widget.show()
    QApplication.processEvents()
    try:
        width, height = SIZE
        return [export.export_figure(widget, out_dir / f"{fig.name}{suffix}",
                                     width * PNG_SCALE if suffix == ".png" else None,
                                     height * PNG_SCALE if suffix == ".png" else None)
                for suffix in FORMATS]
    finally:
        widget.deleteLater()


def render_all(figures: Sequence[Figure], out_dir: Path) -> list[Path]:
    """Every figure as PNG, SVG and PDF (no figure data): what the panels' exports write."""
    return [path for fig in figures for path in render(fig, out_dir)]
