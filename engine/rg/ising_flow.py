"""The whole real-space RG study of the 2D Ising model, as the CLI and the GUI's RG panel run it.

Each starting temperature of the fan is one independent task (:class:`FanTask`): a chain of its own,
seeded from the study's seed and the temperature's index (:func:`engine.device.task_seed`), so the
tasks run in this process one after another or on a Ray cluster (:mod:`engine.cluster`) with the same
numbers. Every recorded sample is blocked ``levels`` times; the pseudo-likelihood couplings of each
level give that temperature's trajectory, and the task hands back the trajectory and its blocked MCRG
operator values. The trajectories' last steps locate the separatrix (Kc), and Swendsen's MCRG at the
temperature closest to that estimate gives y_t and y_h, reported with its distance from it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from ..cluster import RayExecutor, run_tasks
from ..device import make_generator, resolve_device, task_seed
from ..errors import ParameterError
from ..exact import KC_ISING, TC_ISING
from ..figures import Figure, Series
from ..models.base import as_batch, validate_L
from ..models.ising import IsingModel
from ..progress import Progress
from ..samplers import make_sampler
from .blocking import check_levels
from .flow import TRIVIAL_FIXED_POINTS, Separatrix, Trajectory, separatrix, trajectory
from .mcrg import (
    MCRG_EVEN,
    MCRG_ODD,
    MCRGResult,
    SectorExponents,
    level_values,
    mcrg_exponents,
)
from .operators import DEFAULT_COUPLINGS, check_size, operators
from .pseudolikelihood import CouplingFit, jsonable
from .sampling import SamplingPlan, collect_blocked

#: Exact 2D Ising exponents, for comparison and plot overlays.
Y_T_EXACT = 1.0
Y_H_EXACT = 15.0 / 8.0
#: Largest scaled distance |K/Kc - 1| L^y_t (y_t = 1) from the estimated Kc at which the MCRG exponents are
#: reported without a warning. The scaled distance is the same at every blocking level (t grows by b^y_t
#: per blocking while L shrinks by b) and sets L / xi; beyond a few tenths the blocked lattices leave the
#: critical region, and the exponents drift from the fixed point's with errors too small to show it. Measured
#: (benchmarks/validate_rg.py, L = 64, 2000 samples): at T = 2.3, scaled distance 1.17, y_h = 1.8602 +- 0.0014,
#: 10 sigma from 15/8; a fan of 2.21 - 2.33 gave y_h = 1.8858 +- 0.0013 at T = 2.25, 8 sigma. The bound itself
#: is a judgement, not a fit: Tc in the fan gave 0.20 at L = 32, where the separatrix estimate is 2.5 sigma off.
MCRG_MAX_SCALED_DISTANCE = 0.3
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


@dataclass
class RGFlowConfig:
    """Parameters of an Ising RG-flow study (validated on construction)."""

    L: int = 64
    temperatures: Sequence[float] = (2.0, 2.2, TC_ISING, 2.35, 2.6)
    levels: int = 3
    n_samples: int = 1000
    seed: int = 0
    b: int = 2
    rule: str = "majority"
    algorithm: str = "swendsen-wang"
    thermalize: int = 200
    sweeps_between: int = 2
    couplings: Sequence[str] = DEFAULT_COUPLINGS
    mcrg_operators: Sequence[str] = MCRG_EVEN + MCRG_ODD
    mcrg_step: int = 1  # report y from blocking step level mcrg_step -> mcrg_step + 1
    n_blocks: int = 20
    J: float = 1.0
    h: float = 0.0
    device: str = "cpu"

    def __post_init__(self):
        self.temperatures = tuple(as_batch("T", list(self.temperatures), positive=True))
        self.J = as_batch("J", self.J)[0]
        self.h = as_batch("h", self.h)[0]
        if self.J <= 0:
            raise ParameterError("J", f"the RG flow study needs a ferromagnet, J > 0; got {self.J}")
        if self.rule not in ("majority", "decimation"):
            raise ParameterError("rule", f"Ising blocking rules: majority, decimation; got {self.rule!r}")
        self.couplings = tuple(op.name for op in operators(self.couplings))
        if self.h != 0 and "field" not in self.couplings:
            self.couplings = self.couplings + ("field",)
        self.mcrg_operators = tuple(op.name for op in operators(self.mcrg_operators))
        if isinstance(self.mcrg_step, bool) or not isinstance(self.mcrg_step, int) or not 0 <= self.mcrg_step:
            raise ParameterError("mcrg_step", f"must be an integer >= 0, got {self.mcrg_step!r}")
        coarsest = check_levels(validate_L(self.L), self.levels, self.b)
        if self.levels < 1:
            raise ParameterError("levels", f"an RG flow needs at least one blocking, got {self.levels}")
        check_size(operators(list(dict.fromkeys(self.couplings + self.mcrg_operators))), coarsest)  # before sampling
        self.plan = SamplingPlan(self.n_samples, self.thermalize, self.sweeps_between)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["temperatures"] = list(self.temperatures)
        return d


@dataclass
class RGFlowResult:
    """Trajectories, separatrix and MCRG exponents of one study."""

    config: RGFlowConfig
    trajectories: list[Trajectory]
    separatrix: Separatrix | None
    mcrg: MCRGResult | None
    mcrg_T: float
    notes: list[str] = field(default_factory=list)

    def distance(self) -> dict:
        """K0 - Kc of the MCRG temperature (Kc: the separatrix estimate, else exact) and |K0/Kc - 1| L."""
        K = self.config.J / self.mcrg_T
        kc, err, source = ((self.separatrix.Kc, self.separatrix.error, "separatrix") if self.separatrix
                           else (KC_ISING, 0.0, "exact"))
        return {"K": K, "Kc": kc, "Kc_source": source, "K_minus_Kc": {"mean": K - kc, "error": err},
                "scaled": abs(K / kc - 1) * self.config.L}

    def exponents(self) -> dict:
        """y_t and y_h at the configured blocking step with every operator of each sector."""
        if self.mcrg is None:
            return {}
        step = min(self.config.mcrg_step, self.config.levels - 1)
        out = {"T": self.mcrg_T, "step": step, "distance_from_Kc": self.distance()}
        for key, sector in (("y_t", "even"), ("y_h", "odd")):
            if getattr(self.mcrg, sector) is not None:
                mean, err = self.mcrg.exponent(sector, step)
                out[key] = {"mean": jsonable(mean), "error": jsonable(err)}
        return out

    def to_dict(self) -> dict:
        sep = self.separatrix.to_dict() if self.separatrix else {"mean": None, "error": None}
        return {
            "config": self.config.to_dict(),
            "mcrg": {**self.exponents(), "detail": self.mcrg.to_dict() if self.mcrg else None,
                     "exact": {"y_t": Y_T_EXACT, "y_h": Y_H_EXACT}},
            "Kc_estimate": {**sep, "exact": KC_ISING},
            "trivial_fixed_points": [{"K_nn": "inf" if math.isinf(p["K_nn"]) else p["K_nn"], "name": p["name"]}
                                     for p in TRIVIAL_FIXED_POINTS],
            "trajectories": [t.to_dict() for t in self.trajectories],
            "notes": self.notes,
        }

    def trajectory_table(self) -> tuple[list[str], list[list[float | str]]]:
        """CSV header and rows: one row per (temperature, level)."""
        names = list(self.config.couplings)
        header = ["T", "K0", "level", "L_level"] + [c for n in names for c in (f"K_{n}", f"K_{n}_err")] + ["fate"]
        rows = []
        for t in self.trajectories:
            for n, (K, err) in enumerate(zip(t.K, t.stderr)):
                vals = [x for pair in zip(K, err) for x in pair]
                rows.append([t.T, t.K0, n, self.config.L // self.config.b ** n, *vals, t.fate])
        return header, rows

    def figures(self) -> list[Figure]:
        return flow_figures(self)


def _fan_separatrix(trajectories: list[Trajectory], notes: list[str]) -> Separatrix | None:
    try:
        return separatrix(trajectories)
    except ParameterError as err:
        notes.append(f"no separatrix estimate: {err}")
        return None


@dataclass(frozen=True)
class FanTask:
    """One starting temperature of a study: ``config.temperatures[index]``, seeded with
    ``task_seed(config.seed, index)``."""

    config: RGFlowConfig
    index: int


@dataclass
class FanPart:
    """What a :class:`FanTask` hands back: its trajectory and, at h = 0, the blocked MCRG operator values
    ``[samples, levels + 1, operators]`` (small: the samples themselves stay on the worker)."""

    index: int
    trajectory: Trajectory
    mcrg_values: np.ndarray | None


def fan_tasks(config: RGFlowConfig) -> list[FanTask]:
    return [FanTask(config, r) for r in range(len(config.temperatures))]


def run_fan_task(task: FanTask, progress: Progress | None = None) -> FanPart:
    """Sample one temperature, block, fit its trajectory; ``progress`` counts sweeps, then fits (a plain
    function, so that a cluster can ship it to a worker)."""
    config, r = task.config, task.index
    T = config.temperatures[r]
    device = resolve_device(config.device)
    model = IsingModel(config.L, T=[T], J=config.J, h=config.h, device=device)
    sampler = make_sampler(model, config.algorithm)
    gen = make_generator(task_seed(config.seed, r), device)
    sweeps = config.plan.total_sweeps
    total = sweeps + config.levels + 1

    def report(done, _):
        if progress is not None:
            progress(done, total)

    levels = [x[0] for x in collect_blocked(model, sampler, gen, config.plan, levels=config.levels, b=config.b,
                                            rule=config.rule, progress=report)]
    fitted = trajectory(levels, T, config.couplings, J=config.J, n_blocks=config.n_blocks,
                        progress=lambda done, _: report(sweeps + done, total))
    return FanPart(r, fitted, level_values(levels, config.mcrg_operators) if config.h == 0 else None)


def run_ising_rgflow(config: RGFlowConfig, progress: Progress | None = None,
                     on_trajectory: Callable[[list[Trajectory]], None] | None = None,
                     executor: RayExecutor | None = None) -> RGFlowResult:
    """Sample, block, fit and analyse, one task per temperature (here, or on ``executor``).

    ``progress(done, total)`` counts sweeps and fits (on a cluster: finished temperatures).
    ``on_trajectory(trajectories_so_far)`` is called as each temperature's task finishes (in temperature
    order), so a viewer can draw trajectories as they stream in.
    """
    parts: dict[int, FanPart] = {}

    def arrived(_index: int, part: FanPart) -> None:
        parts[part.index] = part
        if on_trajectory is not None:
            on_trajectory([parts[r].trajectory for r in sorted(parts)])

    run_tasks(run_fan_task, fan_tasks(config), executor, progress, arrived)
    done = [parts[r] for r in sorted(parts)]  # all of them, unless a cluster run was cancelled
    trajectories = [p.trajectory for p in done]
    notes = []
    sep = _fan_separatrix(trajectories, notes)
    kc = sep.Kc if sep is not None else KC_ISING
    order = np.argsort([abs(config.J / t.T - kc) for t in trajectories])
    r_c, mcrg = int(order[0]), None
    if config.h != 0:
        notes.append("MCRG exponents need h = 0 (the field mixes the even and odd operators)")
    else:
        for r in order:  # the nearest temperature whose correlation matrices are regular
            try:
                mcrg = mcrg_exponents(done[r].mcrg_values, config.mcrg_operators, config.b, n_blocks=config.n_blocks)
                r_c = int(r)
                break
            except np.linalg.LinAlgError:
                notes.append(f"no MCRG exponents at T = {trajectories[r].T:.6g}: the blocked operators' "
                             "correlation matrix is singular (too few samples, or blocked lattices fully ordered)")
    result = RGFlowResult(config, trajectories, sep, mcrg, trajectories[r_c].T, notes)
    if mcrg is not None:
        d = result.distance()
        if d["scaled"] > MCRG_MAX_SCALED_DISTANCE:
            notes.append(f"MCRG exponents at T = {result.mcrg_T:.6g}, K - Kc = {d['K_minus_Kc']['mean']:+.4f} from the "
                         f"{d['Kc_source']} Kc ({d['Kc']:.4f}): |K/Kc - 1| L = {d['scaled']:.2f} > "
                         f"{MCRG_MAX_SCALED_DISTANCE}, off the critical point; they carry a bias their errors do "
                         "not show. Add a temperature closer to Kc.")
    return result


def arrow_segments(x0, y0, x1, y1, size=0.25) -> list[tuple[list[float], list[float]]]:
    """Two short segments forming an arrow head at (x1, y1), pointing from (x0, y0)."""
    dx, dy = x1 - x0, y1 - y0
    length = math.hypot(dx, dy)
    if length == 0 or not math.isfinite(length):
        return []
    ux, uy = dx / length, dy / length
    h = size * length
    out = []
    for sx, sy in ((-uy, ux), (uy, -ux)):
        out.append(([x1, x1 - h * (ux + 0.5 * sx)], [y1, y1 - h * (uy + 0.5 * sy)]))
    return out


def flow_figures(result: RGFlowResult) -> list[Figure]:
    """Plot specs: trajectories in (K_nn, K_nnn), strength per level, last step vs K0, MCRG exponents.

    Levels whose couplings are unidentifiable (fully ordered blocked lattices) are left out.
    """
    cfg = result.config
    figs = []
    names = list(cfg.couplings)
    if "nn" in names and "nnn" in names:
        i, j = names.index("nn"), names.index("nnn")
        plane = Figure("rg_trajectories", "RG trajectories (arrows: direction of blocking)", "K_nn", "K_nnn")
        for k, t in enumerate(result.trajectories):
            color = PALETTE[k % len(PALETTE)]
            K = t.K[np.isfinite(t.K).all(axis=1)]
            plane.series.append(Series(K[:, i], K[:, j], label=f"T = {t.T:.4g} ({t.fate})",
                                       style="line+points", color=color))
            for a in range(len(K) - 1):
                for xs, ys in arrow_segments(K[a, i], K[a, j], K[a + 1, i], K[a + 1, j]):
                    plane.series.append(Series(xs, ys, style="line", color=color))
        figs.append(plane)
    per_level = Figure("rg_strength_by_level", "Coupling strength sum_a w_a K_a under blocking",
                       "blocking level", "strength")
    for k, t in enumerate(result.trajectories):
        ok = np.isfinite(t.strength)
        per_level.series.append(Series(np.arange(len(ok))[ok], t.strength[ok], yerr=t.strength_err[ok],
                                       label=f"T = {t.T:.4g}", style="line+points", color=PALETTE[k % len(PALETTE)]))
    figs.append(per_level)
    steps = Figure("rg_separatrix", "Last blocking step of the coupling strength; its zero estimates Kc",
                   "K0 = J/T", "change of strength")
    pts = sorted((t.K0, *t.last_step()) for t in result.trajectories)
    pts = [p for p in pts if math.isfinite(p[1])]
    if pts:
        steps.series.append(Series([p[0] for p in pts], [p[1] for p in pts], yerr=[p[2] for p in pts],
                                   label="measured (saturated levels left out)", style="points"))
        lo, hi = min(p[1] - p[2] for p in pts), max(p[1] + p[2] for p in pts)
        steps.series.append(Series([KC_ISING, KC_ISING], [lo, hi], label="exact Kc", style="dashed", color="gray"))
        if result.separatrix is not None:
            kc = result.separatrix.Kc
            steps.series.append(Series([kc, kc], [lo, hi], label=f"separatrix {kc:.4f}", style="dashed",
                                       color="red"))
        figs.append(steps)
    if result.mcrg is not None:
        for sector, key, exact in (("even", "y_t", Y_T_EXACT), ("odd", "y_h", Y_H_EXACT)):
            sec = getattr(result.mcrg, sector)
            if sec is None:
                continue
            fig = Figure(f"mcrg_{key}", f"MCRG {key} at T = {result.mcrg_T:.6g} by blocking step",
                         "blocking step n -> n+1", key)
            n_steps = sec.y.shape[0]
            for m in range(sec.y.shape[1]):
                fig.series.append(Series(list(range(n_steps)), sec.y[:, m], yerr=sec.error[:, m],
                                         label=f"{m + 1} operator{'s' if m else ''}", style="line+points",
                                         color=PALETTE[m % len(PALETTE)]))
            fig.series.append(Series([0, max(1, n_steps - 1)], [exact, exact], label="exact", style="dashed",
                                     color="gray"))
            figs.append(fig)
    return figs


#: Every type an :class:`RGFlowResult` holds: what a session file may build for it (:mod:`engine.plain`).
RESULT_TYPES = (RGFlowResult, RGFlowConfig, Trajectory, Separatrix, CouplingFit, MCRGResult, SectorExponents)
