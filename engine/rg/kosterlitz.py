"""Kosterlitz's RG flow of the 2D XY model, and measured XY trajectories to lay over it.

In the variables x = 1/K (K the spin-wave stiffness over T) and y (the vortex fugacity),

    dx/dl = 4 pi^3 y^2,        dy/dl = (2 - pi / x) y,

with l the logarithm of the length scale. The flow conserves
H(x, y) = 2x - pi ln x - 2 pi^3 y^2 (divide the two equations), so every flow line is a level set
of H. The fixed point x* = pi/2, y = 0 (K* = 2/pi: the universal jump) ends the line of fixed
points y = 0, x < pi/2 (the quasi-long-range-ordered phase); the separatrix H = H(pi/2, 0)
divides flows that end on that line from flows where y grows (free vortices, the disordered phase).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..cluster import run_tasks
from ..device import make_generator, resolve_device, task_seed
from ..errors import ParameterError
from ..figures import Figure, Series
from ..measure.stats import estimate
from ..measure.vortices import helicity_modulus, vortex_density
from ..models.xy import XYModel
from ..progress import Progress
from ..samplers import make_sampler
from .pseudolikelihood import jsonable
from .sampling import SamplingPlan, collect_blocked

X_STAR = math.pi / 2  #: 1/K at the KT fixed point


def kt_rhs(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(dx/dl, dy/dl) of the Kosterlitz equations."""
    return 4 * math.pi ** 3 * y * y, (2 - math.pi / x) * y


def kt_invariant(x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray:
    """H = 2x - pi ln x - 2 pi^3 y^2, constant along every flow line."""
    x = np.asarray(x, dtype=np.float64)
    return 2 * x - math.pi * np.log(x) - 2 * math.pi ** 3 * np.asarray(y, dtype=np.float64) ** 2


def kt_flow(x0: float, y0: float, *, l_max: float = 10.0, dl: float = 0.01, y_max: float = 1.0) -> np.ndarray:
    """One flow line by classical RK4: ``[steps, 3]`` rows (l, x, y), stopping early once y > y_max."""
    if not x0 > 0:
        raise ParameterError("x0", f"1/K must be > 0, got {x0!r}")
    if not (dl > 0 and l_max > 0):
        raise ParameterError("dl", f"dl and l_max must be > 0, got {dl!r}, {l_max!r}")
    rows = [(0.0, float(x0), float(y0))]
    x, y = float(x0), float(y0)
    for k in range(1, int(math.ceil(l_max / dl)) + 1):
        k1 = kt_rhs(x, y)
        k2 = kt_rhs(x + dl / 2 * k1[0], y + dl / 2 * k1[1])
        k3 = kt_rhs(x + dl / 2 * k2[0], y + dl / 2 * k2[1])
        k4 = kt_rhs(x + dl * k3[0], y + dl * k3[1])
        x += dl / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        y += dl / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
        rows.append((k * dl, x, y))
        if abs(y) > y_max:
            break
    return np.array(rows)


def kt_separatrix(x: np.ndarray) -> np.ndarray:
    """y on the separatrix that flows into the KT fixed point, for x = 1/K <= pi/2 (NaN beyond)."""
    x = np.asarray(x, dtype=np.float64)
    gap = kt_invariant(x, 0.0) - kt_invariant(X_STAR, 0.0)
    return np.where(x <= X_STAR, np.sqrt(np.clip(gap, 0.0, None) / (2 * math.pi ** 3)), np.nan)


def kt_flow_lines(starts: Sequence[tuple[float, float]], **options) -> list[np.ndarray]:
    """Flow lines from several starting points (x0, y0), for a flow-diagram plot."""
    return [kt_flow(x0, y0, **options) for x0, y0 in starts]


@dataclass
class XYTrajectory:
    """Measured (x = 1/K, y) per blocking level of XY samples at temperature T, with errors."""

    T: float
    x: np.ndarray
    x_err: np.ndarray
    y: np.ndarray
    y_err: np.ndarray

    def to_dict(self) -> dict:
        return {"T": self.T, "x": jsonable(self.x), "x_err": jsonable(self.x_err), "y": jsonable(self.y),
                "y_err": jsonable(self.y_err)}


def xy_trajectory(levels: Sequence[torch.Tensor], T: float, J: float = 1.0) -> XYTrajectory:
    """(1/K, y) of each blocking level of one chain's angles (``levels[n]`` ``[N, L_n, L_n]``).

    1/K is infinite (JSON: null) where the measured stiffness is <= 0.

    K = Upsilon / T, with the helicity-modulus estimator of each blocked lattice evaluated as if
    it carried the original coupling (a heuristic: the blocked Hamiltonian is not known), and
    y = sqrt(n_v / 2) from the vortex density n_v, since a dilute gas of +- pairs has about two
    vortices per pair of weight y^2 per site. Errors account for autocorrelation
    (:func:`engine.measure.stats.estimate`).
    """
    xs, xe, ys, ye = [], [], [], []
    for theta in levels:
        ups = estimate(helicity_modulus(theta, T, J).double().cpu().numpy())
        nv = estimate(vortex_density(theta).double().cpu().numpy())
        K, K_err = ups.mean / T, ups.error / T
        xs.append(1 / K if K > 0 else math.inf)
        xe.append(K_err / K ** 2 if K > 0 else math.nan)
        y = math.sqrt(max(nv.mean, 0.0) / 2)
        ys.append(y)
        ye.append(nv.error / (4 * y) if y > 0 else nv.error)
    return XYTrajectory(float(T), np.array(xs), np.array(xe), np.array(ys), np.array(ye))


@dataclass(frozen=True)
class XYFanTask:
    """One temperature of a measured XY fan, with the seed of its own chain."""

    L: int
    T: float
    plan: SamplingPlan
    levels: int
    b: int
    seed: int
    algorithm: str
    device: str


def run_xy_fan_task(task: XYFanTask, progress: Progress | None = None) -> XYTrajectory:
    """Sample the XY model at one temperature, block by block-average direction, measure (1/K, y)."""
    model = XYModel(task.L, T=[task.T], device=resolve_device(task.device))
    sampler = make_sampler(model, task.algorithm)
    gen = make_generator(task.seed, model.device)
    levels = collect_blocked(model, sampler, gen, task.plan, levels=task.levels, b=task.b, rule="xy-average",
                             dtype=model.dtype, progress=progress)
    return xy_trajectory([x[0] for x in levels], task.T)


def run_xy_rgflow(L: int, temperatures: Sequence[float], plan: SamplingPlan, *, levels: int = 2, b: int = 2,
                  seed: int = 0, algorithm: str = "overrelax", device: str = "cpu",
                  progress: Progress | None = None, executor=None) -> list[XYTrajectory]:
    """One trajectory per temperature, each an independent task (its seed: ``task_seed(seed, index)``) run
    here or on ``executor`` (:func:`engine.cluster.run_tasks`) with the same numbers."""
    tasks = [XYFanTask(L, float(T), plan, levels, b, task_seed(seed, r), algorithm, device)
             for r, T in enumerate(temperatures)]
    return [t for t in run_tasks(run_xy_fan_task, tasks, executor, progress) if t is not None]


def kt_figures(trajectories: Sequence[XYTrajectory] = (), *, y0: float = 0.06,
               x_starts: Sequence[float] = (0.6, 0.9, 1.2, 1.4, 1.55, 1.7, 2.0)) -> list[Figure]:
    """The Kosterlitz flow diagram in (1/K, y): theory flow lines, the separatrix, measured trajectories."""
    fig = Figure("kt_flow", "Kosterlitz RG flow of the XY model", "1/K = T/Upsilon", "vortex fugacity y")
    for line in kt_flow_lines([(x0, y0) for x0 in x_starts], l_max=8.0, dl=0.01, y_max=0.12):
        fig.series.append(Series(line[:, 1], line[:, 2], style="dashed", color="gray"))
    xs = np.linspace(0.9, X_STAR, 60)
    fig.series.append(Series(xs, kt_separatrix(xs), label="separatrix", style="line", color="red"))
    for t in trajectories:
        ok = np.isfinite(t.x)
        fig.series.append(Series(t.x[ok], t.y[ok], yerr=t.y_err[ok], label=f"T = {t.T:.4g} (blocked levels)",
                                 style="line+points"))
    return [fig]
