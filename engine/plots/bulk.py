"""Figures of the holographic bulk: class-averaged correlation against hyperbolic and flat distance (one
colour per level), the same-level collapse against displacement / 2^level, and the boundary G(r).

The y axis is the squared correlation q of the chosen estimator on a log scale, where an exponential
decay is a straight line. Classes whose bias-corrected average is <= 0 are consistent with zero: the
fit uses them, a log axis cannot show them, and the legend counts them.
"""

from __future__ import annotations

import numpy as np

from ..figures import Figure, Series
from ..holography.bulk import BulkAnalysis
from ..holography.fit import DecayFit

Y_LABEL = "class average of q (squared correlation)"
#: one hue per level (tab20 pairs): same-level classes in the full colour, pairs to coarser levels in its tint
LEVEL_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
LEVEL_TINTS = ("#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2")


def _points(x: np.ndarray, y: np.ndarray, err: np.ndarray | None, label: str, color: str) -> Series:
    shown = y > 0
    hidden = int((~shown).sum())
    note = f" ({hidden} at <= 0 not shown)" if hidden else ""
    return Series(x[shown], y[shown], None if err is None else err[shown], label=label + note, style="points",
                  color=color)


def _class_figure(name: str, title: str, xlabel: str, d: np.ndarray, analysis: BulkAnalysis, fit: DecayFit) -> Figure:
    series = []
    lo, hi = analysis.classes.level_a, analysis.classes.level_b
    for level in np.unique(lo):
        for same, kind, colors in ((True, "same level", LEVEL_COLORS), (False, "to coarser levels", LEVEL_TINTS)):
            mask = (lo == level) & ((lo == hi) == same)
            if mask.any():
                series.append(_points(d[mask], analysis.class_value[mask],
                                      None if analysis.class_error is None else analysis.class_error[mask],
                                      f"level {level}, {kind}", colors[level % len(colors)]))
    line = np.linspace(float(d.min()), float(d.max()), 60)
    if fit.decays:
        error = "" if fit.xi_error is None else f" +- {fit.xi_error:.2g}"
        label = f"fit: xi = {fit.xi:.3g}{error}, R^2 = {fit.r2:.3f}"
        series.append(Series(line, fit.curve(line), label=label, style="line", color="k"))
    return Figure(name, title if fit.decays else f"{title}: no decay", xlabel, Y_LABEL, series, logy=True)


def collapse_figure(analysis: BulkAnalysis) -> Figure | None:
    """Same-level classes against displacement / 2^level, one series per level (None: < 3 levels)."""
    c = analysis.collapse
    if c is None:
        return None
    series = [_points(c.u[c.level == level], c.value[c.level == level],
                      None if c.error is None else c.error[c.level == level], f"level {level}",
                      LEVEL_COLORS[level % len(LEVEL_COLORS)])
              for level in c.levels_compared]
    quality = ("" if c.quality is None else f"chi^2/dof = {c.quality:.2f} +- {c.quality_error:.2f}, ") + \
        f"spread {c.relative_spread:.2f}"
    return Figure("bulk_collapse", f"same-level collapse: {quality}", "displacement / 2^level", Y_LABEL, series,
                  logy=True)


def boundary_figure(boundary_G: np.ndarray) -> Figure:
    mean = boundary_G.mean(axis=0)
    err = boundary_G.std(axis=0, ddof=1) / np.sqrt(len(boundary_G))
    r = np.arange(len(mean))
    return Figure("boundary_correlation", "boundary correlation G(r)", "r", "G(r)",
                  [Series(r[1:], mean[1:], err[1:], label="x (boundary)", style="line+points")],
                  logx=True, logy=True)


def bulk_figures(analysis: BulkAnalysis, boundary_G: np.ndarray | None = None) -> list[Figure]:
    figs = [
        _class_figure("bulk_vs_hyperbolic", "bulk correlation against hyperbolic distance", "hyperbolic distance d_H",
                      analysis.class_d_hyperbolic, analysis, analysis.fit),
        _class_figure("bulk_vs_flat", "bulk correlation against flat distance (control)", "flat distance",
                      analysis.class_d_flat, analysis, analysis.fit_flat),
    ]
    collapsed = collapse_figure(analysis)
    if collapsed is not None:
        figs.append(collapsed)
    if boundary_G is not None:
        figs.append(boundary_figure(boundary_G))
    return figs
