"""Figures of the holographic bulk: correlation against hyperbolic and flat distance, boundary G(r)."""

from __future__ import annotations

import numpy as np

from ..figures import Figure, Series
from ..holography.bulk import BulkAnalysis, LinearFit


def _scatter_with_fit(name: str, title: str, xlabel: str, d: np.ndarray, analysis: BulkAnalysis,
                      fit: LinearFit) -> Figure:
    mask = analysis.resolved
    x, y = d[mask], np.log(np.abs(analysis.corr[mask]))
    line = np.linspace(0.0, float(x.max()), 50)
    return Figure(name, title, xlabel, "ln |C_ij|", [
        Series(x, y, label=f"{int(mask.sum())} resolved pairs", style="points"),
        Series(line, (fit.d0 - line) / fit.xi, label=f"fit: xi = {fit.xi:.3g}, R^2 = {fit.r2:.3f}", style="line"),
    ])


def bulk_figures(analysis: BulkAnalysis, boundary_G: np.ndarray | None = None) -> list[Figure]:
    figs = [
        _scatter_with_fit("bulk_vs_hyperbolic", "bulk correlation against hyperbolic distance",
                          "hyperbolic distance d_H", analysis.d_hyp, analysis, analysis.fit),
        _scatter_with_fit("bulk_vs_flat", "bulk correlation against flat distance (control)",
                          "flat distance", analysis.d_flat, analysis, analysis.fit_flat),
    ]
    if boundary_G is not None:
        mean = boundary_G.mean(axis=0)
        err = boundary_G.std(axis=0, ddof=1) / np.sqrt(len(boundary_G))
        r = np.arange(len(mean))
        figs.append(Figure("boundary_correlation", "boundary correlation G(r)", "r", "G(r)",
                           [Series(r[1:], mean[1:], err[1:], label="x (boundary)", style="line+points")],
                           logx=True, logy=True))
    return figs
