"""Figures of the deep-network study: the chi_1 phase diagram with the order-to-chaos line, the length and
correlation maps, the cut through the plane, depth scales against measured xi_c, q^l and c^l measured against
the mean-field iteration, and the trainability heat map with the 6 xi_c line."""

from __future__ import annotations

import numpy as np

from ..deepnets import meanfield
from ..deepnets.trainability import Trainability
from ..figures import Figure, Heatmap, Series
from ..studies.deepnets import (
    LINE_POINTS,
    TRAINABLE_XI,
    Measurement,
    PhaseDiagram,
    six_xi_line,
)
from .sweep import size_color

#: Values of chi_1 at the ends of the phase diagram's colour scale (1, the line, in the middle).
CHI_LEVELS = (0.0, 2.0)


def phase_figure(phase: PhaseDiagram) -> Figure:
    """chi_1 over the (sigma_w^2, sigma_b^2) plane with the line chi_1 = 1 and the cut's sigma_b^2."""
    grid = phase.grid
    fig = Figure("phase_diagram", f"{grid.activation}: chi_1 (order < 1 < chaos)", "sigma_w^2", "sigma_b^2",
                 heatmap=Heatmap(grid.sw2, grid.sb2, grid.chi_1, "chi_1", CHI_LEVELS, "CET-D1"))
    inside = (phase.line_sw2 >= grid.sw2[0]) & (phase.line_sw2 <= grid.sw2[-1])
    fig.series.append(Series(phase.line_sw2[inside], phase.line_sb2[inside], label="chi_1 = 1",
                             color="k"))
    fig.series.append(Series([grid.sw2[0], grid.sw2[-1]], [phase.config.cut_sb2] * 2, style="dashed",
                             color="#444444", label="cut"))
    return fig


def maps_figure(activation: str, sw2: float, sb2: float) -> Figure:
    """The length map q -> q' and the correlation map c -> c' (at q*) at one point, with the diagonal."""
    act = meanfield.activation(activation)
    mf = meanfield.mean_field(activation, sw2, sb2)
    q_star, c_star = float(mf.q_star[0, 0]), float(mf.c_star[0, 0])
    top = max(1.0, 2.0 * q_star) if np.isfinite(q_star) else 2.0
    q = np.linspace(0.0, top, 120)
    c = np.linspace(0.0, 1.0, 120)
    q_at = q_star if np.isfinite(q_star) and q_star > 0 else 1.0
    fig = Figure("maps", f"maps at sigma_w^2 = {sw2:g}", "q^l or c^l", "q^(l+1) or c^(l+1)")
    fig.series.append(Series(q, meanfield.length_map(act, q, sw2, sb2), label="q -> q'"))
    fig.series.append(Series(c, meanfield.correlation_map(act, q_at, c, sw2, sb2, q_next=q_at),
                             label=f"c -> c' (q = {q_at:.3g})"))
    fig.series.append(Series([0.0, top], [0.0, top], style="dashed", color="#888888"))
    fixed = [(x, x) for x in (q_star, c_star) if np.isfinite(x) and x <= top]
    fig.series.append(Series([p[0] for p in fixed], [p[1] for p in fixed], style="points", color="k",
                             label="q*, c*"))
    return fig


def cut_figure(phase: PhaseDiagram) -> Figure:
    """q*, c* and chi_1 against sigma_w^2 at the cut's sigma_b^2, the critical sigma_w^2 marked."""
    cut = phase.cut
    fig = Figure("cut", f"fixed points, sigma_b^2 = {phase.config.cut_sb2:g}", "sigma_w^2", "value")
    for name, label in (("q_star", "q*"), ("c_star", "c*"), ("chi_1", "chi_1")):
        fig.series.append(Series(cut.sw2, np.where(np.isfinite(getattr(cut, name)[0]), getattr(cut, name)[0],
                                                    np.nan), label=label))
    if np.isfinite(phase.cut_critical_sw2):
        fig.series.append(Series([phase.cut_critical_sw2] * 2, [0.0, 2.0], style="dashed", color="#888888",
                                 label=f"chi_1 = 1: {phase.cut_critical_sw2:.4g}"))
    return fig


def depth_figure(phase: PhaseDiagram) -> Figure:
    """xi_q and xi_c against sigma_w^2 at the cut (log axis)."""
    cut = phase.cut
    fig = Figure("depth_scales", f"depth scales, sigma_b^2 = {phase.config.cut_sb2:g}", "sigma_w^2",
                 "xi (layers)", logy=True)
    for name in ("xi_q", "xi_c"):
        values = getattr(cut, name)[0]
        fig.series.append(Series(cut.sw2, np.where(np.isfinite(values), values, np.nan), label=name))
    return fig


def xi_figure(measurement: Measurement) -> Figure:
    """xi_c fitted on random networks (points, jackknife errors) on the mean-field xi_c(sigma_w^2) curve, beside the
    same fit on the mean-field c^l (what a measurement should match: the fitted layers are not l -> infinity)."""
    config = measurement.config
    sw2 = np.asarray(config.sw2, float)
    lo, hi = max(0.05, 0.8 * sw2.min()), 1.2 * sw2.max()
    curve_sw2 = np.linspace(lo, hi, LINE_POINTS)
    theory = meanfield.mean_field(config.activation, curve_sw2, config.sb2).xi_c[0]
    fig = Figure("xi_c", "depth scale xi_c", "sigma_w^2", "xi_c (layers)", logy=True)
    fig.series.append(Series(curve_sw2, np.where(np.isfinite(theory), theory, np.nan), label="mean field"))
    # a fit whose jackknife error exceeds its value says nothing about xi_c: the table has it, the plot not
    rows = [r for r in measurement.summary() if np.isfinite(r["xi_c"]) and r["xi_c_error"] < r["xi_c"]]
    fig.series.append(Series([r["sw2"] for r in rows], [r["xi_c"] for r in rows], [r["xi_c_error"] for r in rows],
                             label=f"fit, N = {config.width}", style="points", color="k"))
    fig.series.append(Series([r["sw2"] for r in rows], [r["xi_c_fit_theory"] for r in rows],
                             label="same fit on mean field", style="points", color="#d62728"))
    return fig


def measurement_figures(measurement: Measurement) -> list[Figure]:
    """q^l and c^l against the layer, measured (points, errors over draws) and mean-field (lines); xi_c."""
    figs = [Figure("q_layers", "length q^l", "layer l", "q^l"), Figure("c_layers", "correlation c^l", "layer l", "c^l")]
    for k, run in enumerate(measurement.runs):
        color = size_color(k)
        layers = np.arange(len(run.q_theory))
        for fig, values, theory in ((figs[0], run.q, run.q_theory), (figs[1], run.c, run.c_theory)):
            mean, err = run.mean(values)
            fig.series.append(Series(layers, mean, err, label=f"{run.sw2:g}", style="points", color=color))
            fig.series.append(Series(layers, theory, style="line", color=color))
    return figs + [xi_figure(measurement)]


def trainability_figure(result: Trainability) -> Figure:
    """Test accuracy over (sigma_w^2, depth) with the line depth = 6 xi_c and the critical sigma_w^2."""
    config = result.config
    rows = result.rows_done
    depths = np.asarray(config.depths[:rows], float)
    fig = Figure("trainability", f"test accuracy after {config.steps} SGD steps (sigma_b^2 = {config.sb2:g})",
                 "sigma_w^2", "depth",
                 heatmap=Heatmap(config.sw2, depths if rows else [0.0], result.accuracy[:max(rows, 1)],
                                 "test accuracy", (0.0, 1.0)))
    sw2, line = six_xi_line(config.sb2, (min(config.sw2), max(config.sw2)))
    top = max(config.depths) * 1.05
    critical = float(meanfield.critical_line("tanh", config.sb2)[0])
    # one curve per side of the transition, each cut where it leaves the plot (joined, they would cross the top)
    for side, label in ((sw2 < critical, f"depth = {TRAINABLE_XI:g} xi_c"), (sw2 > critical, "")):
        shown = side & np.isfinite(line) & (line <= top)
        if shown.any():
            fig.series.append(Series(sw2[shown], line[shown], label=label, color="#d62728"))
    fig.series.append(Series([critical] * 2, [0.0, top], style="dashed", color="k",
                             label="chi_1 = 1"))
    return fig


def phase_figures(phase: PhaseDiagram, sw2: float) -> list[Figure]:
    """The theory's four figures: phase diagram, maps at (sw2, cut sigma_b^2), cut, depth scales."""
    return [phase_figure(phase), maps_figure(phase.config.activation, sw2, phase.config.cut_sb2),
            cut_figure(phase), depth_figure(phase)]
