"""Figures of the two-point function: G(r) with its exponential and power-law fits, lin-log and log-log."""

from __future__ import annotations

import numpy as np

from ..figures import Figure, Series
from ..studies.correlation import CorrelationResult, fit_window


def correlation_figures(result: CorrelationResult, T: float | None = None) -> list[Figure]:
    """The same data and fits on lin-log axes (exponential straight) and log-log axes (power law straight)."""
    where = f" at T = {float(T):.4g}" if T is not None else ""
    lo, hi = fit_window(result.L)
    rr = np.linspace(lo, hi, 50)
    figs = []
    for name, logx in (("correlation_linlog", False), ("correlation_loglog", True)):
        fig = Figure(name, f"G(r){where}, {result.frames} frames", "r", "G(r)", logx=logx, logy=True)
        fig.series.append(Series(result.r, result.G, result.error, label="G(r)", style="points"))
        if result.exponential is not None:
            e = result.exponential
            fig.series.append(Series(rr, np.exp(e.intercept - rr / e.value),
                                     label=f"exp(-r/xi), xi = {e.value:.3g}", style="line"))
        if result.power_law is not None:
            p = result.power_law
            fig.series.append(Series(rr, np.exp(p.intercept) * rr ** (-p.value),
                                     label=f"r^-eta, eta = {p.value:.3g}", style="dashed"))
        figs.append(fig)
    return figs
