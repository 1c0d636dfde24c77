"""Figures of the RG flow: Ising trajectories in any plane of two couplings; the XY Kosterlitz diagram.

The Ising figures add, to the engine's own (:func:`engine.rg.ising_flow.flow_figures`), a
projection on a chosen pair of couplings with an arrow for every blocking step, the trivial fixed
points (K = 0 at the origin, K = infinity off to the right), the critical trajectory (the start
closest to the separatrix) and the point where it lingers (the critical fixed point's estimate),
and the separatrix estimate of Kc on the axis of starting couplings.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ParameterError
from ..exact import KC_ISING
from ..figures import Figure, Series
from ..rg.ising_flow import PALETTE, RGFlowResult, arrow_segments, flow_figures
from ..rg.kosterlitz import X_STAR, XYTrajectory, kt_figures

CRITICAL_COLOR = "#d62728"
TRAJECTORY_COLORS = tuple(c for c in PALETTE if c != CRITICAL_COLOR)


def critical_index(result: RGFlowResult) -> int:
    """The trajectory that starts closest to the separatrix (to the exact Kc without an estimate)."""
    kc = result.separatrix.Kc if result.separatrix is not None else KC_ISING * result.config.J
    return int(np.argmin([abs(t.K0 - kc) for t in result.trajectories]))


def projection_figure(result: RGFlowResult, x_name: str = "nn", y_name: str = "nnn") -> Figure:
    """Trajectories in the (K_x, K_y) plane with arrows per blocking step and the fixed points marked.

    Levels with unidentifiable couplings (fully ordered blocked lattices, K infinite) are left out.
    """
    names = list(result.config.couplings)
    for name in (x_name, y_name):
        if name not in names:
            raise ParameterError("projection", f"coupling {name!r} was not fitted; fitted: {', '.join(names)}")
    i, j = names.index(x_name), names.index(y_name)
    fig = Figure(f"rg_plane_{x_name}_{y_name}", "RG trajectories (arrows: one blocking step each)",
                 f"K_{x_name}", f"K_{y_name}")
    crit = critical_index(result)
    x_max = 0.0
    for k, t in enumerate(result.trajectories):
        K = t.K[np.isfinite(t.K).all(axis=1)]
        if not len(K):
            continue
        x_max = max(x_max, float(K[:, i].max()))
        color = CRITICAL_COLOR if k == crit else TRAJECTORY_COLORS[k % len(TRAJECTORY_COLORS)]
        role = "critical, " if k == crit else ""
        fig.series.append(Series(K[:, i], K[:, j], label=f"T = {t.T:.4g} ({role}{t.fate})", style="line+points",
                                 color=color))
        for a in range(len(K) - 1):
            for xs, ys in arrow_segments(K[a, i], K[a, j], K[a + 1, i], K[a + 1, j]):
                fig.series.append(Series(xs, ys, color=color))
    fig.series.append(Series([0.0], [0.0], label="K = 0: high-T fixed point (stable)", style="points", color="k"))
    if x_max > 0:
        fig.series.append(Series([x_max, 1.2 * x_max], [0.0, 0.0], label="towards K = inf: low-T fixed point",
                                 style="dashed", color="gray"))
    K_end = result.trajectories[crit].K
    K_end = K_end[np.isfinite(K_end).all(axis=1)]
    if len(K_end) > 1:
        fig.series.append(Series([K_end[-1, i]], [K_end[-1, j]], label="near K*: end of the critical trajectory",
                                 style="points", color="#ff7f0e"))
    sep = result.separatrix
    if sep is not None and x_name == "nn":  # the starts are (K0, 0, 0, ...): Kc lies on the K_nn axis
        fig.series.append(Series([sep.Kc - sep.error, sep.Kc + sep.error], [0.0, 0.0], style="line",
                                 color=CRITICAL_COLOR))
        fig.series.append(Series([sep.Kc], [0.0], label=f"separatrix Kc = {sep.Kc:.4f} +- {sep.error:.2g}",
                                 style="points", color=CRITICAL_COLOR))
    return fig


def ising_figures(result: RGFlowResult, x_name: str, y_name: str) -> list[Figure]:
    """The chosen projection and the engine's other flow figures (its fixed K_nn-K_nnn plane left out)."""
    return [projection_figure(result, x_name, y_name)] + [f for f in flow_figures(result)
                                                          if f.name != "rg_trajectories"]


def xy_figure(trajectories: Sequence[XYTrajectory] = ()) -> Figure:
    """The engine's Kosterlitz flow diagram with the line of fixed points y = 0, 1/K < pi/2 added."""
    fig = kt_figures(trajectories)[0]
    fig.series.insert(0, Series([0.5, X_STAR], [0.0, 0.0], label="fixed line (y = 0, 1/K < pi/2)", color="k"))
    fig.series.append(Series([X_STAR], [0.0], label="KT fixed point (1/K = pi/2)", style="points", color="k"))
    return fig
