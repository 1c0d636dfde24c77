"""Figures of a temperature sweep: observables against T, Binder crossings, scaling collapse."""

from __future__ import annotations

import numpy as np

from ..exact import TC_ISING, T_KT_XY, kaufman_energy, kaufman_specific_heat, onsager_energy, \
    onsager_magnetization, onsager_specific_heat
from ..figures import Figure, Series

#: One colour per lattice size, shared by its points and its reweighted curve.
SIZE_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")


def size_color(index: int) -> str:
    return SIZE_COLORS[index % len(SIZE_COLORS)]
from ..sweep import SweepResult

#: estimate key -> (figure name, axis label)
OBSERVABLES = {
    "energy": ("energy", "E / N"),
    "specific_heat": ("specific_heat", "C / N"),
    "abs_magnetization": ("magnetization", "<|m|>"),
    "susceptibility": ("susceptibility", "chi"),
    "binder": ("binder", "Binder U4"),
    "correlation_length": ("xi_over_L", "xi_2nd / L"),
    "helicity_modulus": ("helicity", "helicity modulus Upsilon"),
    "vortex_density": ("vortex_density", "vortex density"),
}


def _exact_overlays(key: str, result: SweepResult, T: np.ndarray) -> list[Series]:
    """Onsager (infinite lattice) and Kaufman (each L) curves where they exist (Ising, J = 1, h = 0)."""
    cfg = result.config
    if cfg.model != "ising" or cfg.params.get("h", 0.0) != 0.0 or cfg.params.get("J", 1.0) != 1.0 \
            or cfg.params.get("bond_disorder", 0.0):
        return []
    out = []
    onsager = {"energy": onsager_energy, "specific_heat": onsager_specific_heat,
               "abs_magnetization": onsager_magnetization}.get(key)
    if onsager is not None:
        out.append(Series(T, onsager(T), label="Onsager (L = inf)", style="dashed", color="#444444"))
    kaufman = {"energy": kaufman_energy, "specific_heat": kaufman_specific_heat}.get(key)
    if kaufman is not None:
        for i, L in enumerate(result.sizes):
            out.append(Series(T, kaufman(L, T), label=f"Kaufman L={L}", style="dashed", color=size_color(i)))
    return out


def observable_figures(result: SweepResult) -> list[Figure]:
    """One figure per observable: points with error bars per L, reweighted curves, exact overlays."""
    figs = []
    lo = min(float(r.T.min()) for r in result.sizes.values())
    hi = max(float(r.T.max()) for r in result.sizes.values())
    T_dense = np.linspace(lo, hi, 200)
    for key, (name, label) in OBSERVABLES.items():
        present = [r for r in result.sizes.values() if key in r.estimates]
        if not present:
            continue
        fig = Figure(name, f"{label} against T ({result.config.model})", "T", label)
        for i, r in enumerate(present):
            est = r.estimates[key]
            y, err = np.asarray(est.mean, float), np.asarray(est.error, float)
            if key == "correlation_length":
                y, err = y / r.L, err / r.L
            fig.series.append(Series(r.T, y, err, label=f"L={r.L}", style="points", color=size_color(i)))
            curve_key = {"helicity_modulus": "helicity"}.get(key, key)
            if result.analysis is not None and curve_key in result.analysis.curves.get(r.L, {}):
                mean, _ = result.analysis.curves[r.L][curve_key]
                fig.series.append(Series(result.analysis.T_fine, mean, style="line", color=size_color(i)))
        if key == "helicity_modulus":
            fig.series.append(Series(T_dense, 2 * T_dense / np.pi, label="2T/pi", style="dashed", color="#444444"))
        fig.series.extend(_exact_overlays(key, result, T_dense))
        figs.append(fig)
    tau = Figure("tau_int", "integrated autocorrelation time of |m|", "T", "tau_int (sweeps)", logy=True)
    for i, r in enumerate(result.sizes.values()):
        if "abs_magnetization" in r.estimates:
            tau.series.append(Series(r.T, r.estimates["abs_magnetization"].tau_int, label=f"L={r.L}",
                                     style="line+points", color=size_color(i)))
    figs.append(tau)
    return figs


def collapse_figure(result: SweepResult, tc: float, nu: float, exponent: float, key: str = "susceptibility",
                    ) -> Figure:
    """Data collapse of ``key``: y L^(-exponent) against (T - tc) L^(1/nu), from the reweighted curves."""
    label = OBSERVABLES.get(key, (key, key))[1]
    fig = Figure(f"collapse_{key}", f"scaling collapse of {label}", "(T - Tc) L^(1/nu)",
                 f"{label} L^(-{exponent:.3g})")
    if result.analysis is None:
        return fig
    for i, (L, curves) in enumerate(result.analysis.curves.items()):
        if key in curves:
            mean, err = curves[key]
            f = L ** (-exponent)
            fig.series.append(Series((result.analysis.T_fine - tc) * L ** (1 / nu), mean * f, err * f,
                                     label=f"L={L}", style="line", color=size_color(i)))
    return fig


def reference_temperature(model: str) -> float:
    """Where the transition is known to be: Tc (Ising) or T_KT (XY)."""
    return TC_ISING if model == "ising" else T_KT_XY
