"""Figures of the sandpile study: P(s), P(a), P(T) with fits; the collapse; the moment analysis; S(f); <s | T>."""

from __future__ import annotations

import math

import numpy as np

from ..figures import Figure, Series
from ..studies.soc import QUANTITIES, SocAnalysis
from .sweep import size_color

LABELS = {"size": "size s (topplings)", "area": "area a (sites toppled)", "duration": "duration T (waves)"}


def distribution_figure(analysis: SocAnalysis, quantity: str) -> Figure:
    """P(x) per L on log-log axes, each with its fitted x^-tau over its window (dashed)."""
    symbol = dict(QUANTITIES)[quantity]
    fig = Figure(f"P_{symbol}", f"{analysis.model.upper()}: P({symbol})",
                 LABELS[quantity], f"P({symbol})", logx=True, logy=True)
    for k, L in enumerate(analysis.sizes):
        hist, color = analysis.histograms[(quantity, L)], size_color(k)
        fig.series.append(Series(hist.x, hist.p, hist.error, label=f"L={L}", style="points", color=color))
        fit = analysis.fits.get((quantity, L))
        if fit is not None:
            x = np.geomspace(fit.lo, fit.hi, 12)
            fig.series.append(Series(x, fit.amplitude * x ** -fit.tau, style="dashed", color=color,
                                     label=f"tau={fit.tau:.2f}+-{fit.error:.2f}"))
    return fig


def collapse_figure(analysis: SocAnalysis) -> Figure:
    """s^tau P(s) against s / L^D with D and tau of the moment analysis: one curve when the scaling holds."""
    m = analysis.moments.get("size")
    tau, D = (m.tau, m.D) if m is not None else (float("nan"), float("nan"))
    title = "collapse (needs two sizes)" if m is None else f"collapse: tau_s={tau:.3f}, D={D:.3f}"
    fig = Figure("collapse_s", title, "s / L^D", "s^tau P(s)", logx=True, logy=True)
    if m is not None:
        for k, L in enumerate(analysis.sizes):
            hist = analysis.histograms[("size", L)]
            fig.series.append(Series(hist.x / L ** D, hist.p * hist.x ** tau, label=f"L={L}", style="line+points",
                                     color=size_color(k)))
    return fig


def moments_figure(analysis: SocAnalysis) -> Figure:
    """sigma_k of <x^k> ~ L^sigma_k against k for s, a, T, with the lines D (1 + k - tau)."""
    fig = Figure("moments", "moments: <x^k> ~ L^sigma_k", "k", "sigma_k = D (1 + k - tau)")
    for j, (quantity, symbol) in enumerate(QUANTITIES):
        m = analysis.moments.get(quantity)
        if m is None:
            continue
        color = size_color(j)
        fig.series.append(Series(m.k, m.sigma, m.sigma_error, label=f"{symbol}", style="points", color=color))
        fig.series.append(Series(m.k, m.D * (1 + m.k - m.tau), style="dashed", color=color,
                                 label=f"D={m.D:.2f}, tau={m.tau:.2f}"))
    return fig


def spectrum_figure(analysis: SocAnalysis) -> Figure:
    """S(f) of the activity signal per L, with the fitted f^-alpha over its window."""
    fig = Figure("spectrum", "activity spectrum", "f (1 / waves)", "S(f) of topplings per wave",
                 logx=True, logy=True)
    for k, L in enumerate(analysis.sizes):
        s = analysis.spectra.get(L)
        if s is None:
            continue
        color = size_color(k)
        fig.series.append(Series(s.f, s.power, label=f"L={L}", style="line", color=color))
        if math.isfinite(s.alpha):
            sel = (s.f >= s.lo) & (s.f <= s.hi)
            f = s.f[sel]
            anchor = np.exp(np.mean(np.log(s.power[sel]) + s.alpha * np.log(f)))
            fig.series.append(Series(f, anchor * f ** -s.alpha, style="dashed", color=color,
                                     label=f"alpha={s.alpha:.2f}"))
    return fig


def conditional_figure(analysis: SocAnalysis) -> Figure:
    """<s | T> per L on log-log axes with gamma of <s | T> ~ T^gamma."""
    fig = Figure("size_given_duration", "<s|T> ~ T^gamma", "T (waves)", "<s|T>", logx=True, logy=True)
    for k, L in enumerate(analysis.sizes):
        c = analysis.conditional[L]
        fig.series.append(Series(c.T, c.mean, c.error, style="points", color=size_color(k),
                                 label=f"L={L}: gamma={c.gamma:.2f}"))
    return fig


def mean_size_figure(analysis: SocAnalysis) -> Figure:
    """Measured <s> against L with its error, beside the exact value from the lattice Green's function."""
    fig = Figure("mean_size", "<s>: measured and exact", "L", "<s>", logx=True, logy=True)
    sizes = analysis.sizes
    measured = np.array([analysis.mean_size[L][:2] for L in sizes]).reshape(-1, 2)
    fig.series.append(Series(sizes, measured[:, 0], measured[:, 1], label="measured", style="points"))
    fig.series.append(Series(sizes, [analysis.mean_size[L][2] for L in sizes], label="exact", style="dashed"))
    return fig


def soc_figures(analysis: SocAnalysis) -> list[Figure]:
    """Every figure of the study: the three distributions and <s | T>, then the collapse, the moment analysis,
    the spectrum and <s> against its exact value (the panel's two tabs, in that order)."""
    return ([distribution_figure(analysis, q) for q, _ in QUANTITIES] + [conditional_figure(analysis)]
            + [collapse_figure(analysis), moments_figure(analysis), spectrum_figure(analysis),
               mean_size_figure(analysis)])
