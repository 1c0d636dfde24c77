"""Figures of the dynamics study: live rho(t), tau_int against T per algorithm and L, z from tau_int(Tc) ~ L^z."""

from __future__ import annotations

import numpy as np

from ..figures import Figure, Series
from ..studies.dynamics import OBSERVABLES, LiveAutocorrelation, TauScan
from .sweep import size_color


def live_figure(live: LiveAutocorrelation) -> Figure:
    """rho(t) of the live chain per observable, labelled with its tau_int."""
    fig = Figure("autocorrelation", "autocorrelation of the live chain", "t (sweeps)", "rho(t)")
    for label, rho in live.rho.items():
        fig.series.append(Series(np.arange(len(rho)), rho, label=f"{label}: tau_int = {live.tau[label][0]:.3g}",
                                 style="line"))
    return fig


def scan_figures(scan: TauScan, observable: str = "|m|") -> list[Figure]:
    """tau_int(T) per algorithm and L; tau_int(Tc) against L per algorithm with the fitted L^z."""
    key = dict(OBSERVABLES)[observable]
    tau_fig = Figure(f"tau_vs_T_{key}", f"integrated autocorrelation time of {observable}", "T", "tau_int (sweeps)",
                     logy=True)
    for (alg, L), values in sorted(scan.tau.items()):
        tau, err = values[observable]
        tau_fig.series.append(Series(scan.T, tau, err, label=f"{alg} L={L}", style="line+points"))
    z_fig = Figure(f"tau_vs_L_{key}", f"critical slowing down of {observable} at Tc: tau ~ L^z", "L",
                   "tau_int(Tc) (sweeps)", logx=True, logy=True)
    exponents = scan.dynamic_exponents(observable)
    for k, (alg, (sizes, tau, err)) in enumerate(scan.at_tc(observable).items()):
        color = size_color(k)
        z_fig.series.append(Series(sizes, tau, err, label=f"{alg}", style="points", color=color))
        fit = exponents.get(alg)
        if fit is not None:
            Ls = np.linspace(min(sizes), max(sizes), 20)
            z_fig.series.append(Series(Ls, fit.amplitude * Ls ** fit.exponent, style="dashed", color=color,
                                       label=f"z = {fit.exponent:.2f} +- {fit.exponent_error:.2f}"))
    return [tau_fig, z_fig]
