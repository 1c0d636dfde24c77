"""Temperature sweeps: a grid of temperatures as one batch, for one or several lattice sizes.

One :class:`~engine.session.Simulation` per size holds the whole temperature grid as its replica
batch. Sizes advance in rounds of ``chunk`` sweeps so that a viewer sees every size's statistics
grow together; after each round ``on_update`` receives the results so far. With parallel
tempering, neighbouring temperatures exchange configurations after every round of sweeps
(alternating even and odd pairs), which keeps low-temperature replicas from getting stuck.

The same code serves the Phase panel (streaming, cancellable) and ``rgviz-batch sweep``. On a cluster
(:mod:`engine.cluster`) the sweep is split into one task per size (:func:`size_tasks`, each a one-size
sweep run by :func:`run_size_task`), and :func:`merge_sizes` joins what comes back into the result the
runner here would have given; :func:`run_size_tasks` does all three through an executor.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from . import validate
from .device import resolve_device
from .errors import ParameterError
from .measure.stats import Estimate
from .measure.sweep_analysis import SizeData, SweepAnalysis, analyse_sweep
from .names import SWEEP_MODELS
from .progress import Progress
from .session import COMPONENTS, Simulation

ANALYSIS_SERIES = ("energy", "abs_m", "m2", "m4", "helicity", "mx", "h")  # mx, h: the XY helicity's bond part


@dataclass
class SweepConfig:
    """What to sweep. ``params`` holds the other model parameters (J, h, bond_disorder, ...)."""

    model: str = "ising"
    sizes: tuple[int, ...] = (16, 32)
    temperatures: tuple[float, ...] = (2.2, 2.25, 2.3)
    algorithm: str | None = None
    sweeps: int = 1000
    thermalize: int = 200
    seed: int = 0
    device: str = "auto"
    tempering: bool = False
    chunk: int = 50
    params: dict = field(default_factory=dict)

    def stage(self, step: int) -> tuple[str, int, int]:
        """Where a run is after ``step`` of :meth:`SweepRunner.run`'s progress steps (one per chunk and
        size): ("thermalizing" or "measuring", sweeps per temperature done in that stage, of how many)."""
        per_round = len(self.sizes)
        thermalizing = -(-self.thermalize // self.chunk) * per_round
        if step < thermalizing:
            return "thermalizing", step // per_round * self.chunk, self.thermalize
        return "measuring", min(self.sweeps, (step - thermalizing) // per_round * self.chunk), self.sweeps

    def validate(self) -> None:
        if self.model not in SWEEP_MODELS:
            raise ParameterError("model", f"sweeps support {', '.join(SWEEP_MODELS)}, got {self.model!r}")
        if not self.sizes:
            raise ParameterError("L", "needs at least one lattice size")
        if len(set(self.sizes)) != len(self.sizes):
            raise ParameterError("L", f"sizes must be distinct, got {list(self.sizes)}")
        if len(self.temperatures) < 1:
            raise ParameterError("T", "needs at least one temperature")
        for name in ("sweeps", "thermalize", "chunk"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < (1 if name != "thermalize" else 0):
                raise ParameterError(name, f"must be a positive integer, got {v!r}")
        if self.tempering and len(self.temperatures) < 2:
            raise ParameterError("tempering", "parallel tempering needs at least two temperatures")
        validate.integer("seed", self.seed)
        for L in self.sizes:
            validate.integer("L", L, 4)
        validate.numbers("T", self.temperatures, positive=True)
        for name, value in self.params.items():
            validate.number(name, value)
        # every size records its series for every temperature; the largest lattice batch dominates
        validate.lattice_run(len(self.temperatures), max(self.sizes), self.sweeps * len(self.sizes),
                             device=resolve_device(self.device))


@dataclass
class SizeResult:
    """One size: temperatures, per-temperature estimates, raw series and exchange rates."""

    L: int
    T: np.ndarray
    estimates: dict[str, Estimate]
    series: dict[str, np.ndarray]
    exchange_rate: np.ndarray | None  # [B-1] acceptance of swaps between T_i and T_i+1
    flips_per_second: float


@dataclass
class SweepResult:
    config: SweepConfig
    sizes: dict[int, SizeResult]
    sweeps_done: int
    elapsed_s: float
    analysis: SweepAnalysis | None = None

    def analyse(self, n_fine: int = 101) -> SweepAnalysis:
        """Reweighted curves and transition estimates (needs at least a few samples per size)."""
        data = [SizeData(L, r.T, {k: v for k, v in r.series.items() if k in ANALYSIS_SERIES},
                         COMPONENTS[self.config.model]) for L, r in self.sizes.items()]
        self.analysis = analyse_sweep(data, n_fine=n_fine)
        return self.analysis


class Tempering:
    """Replica exchange between neighbouring temperatures of one simulation's batch.

    Swapping configurations i and i+1 is accepted with min(1, exp((beta_i - beta_j)(E_i - E_j))),
    which keeps the joint distribution of all replicas stationary. Pairs alternate between even
    and odd i, so every pair is tried every second round.
    """

    def __init__(self, sim: Simulation):
        self.sim = sim
        self.attempts = np.zeros(sim.B - 1)
        self.accepts = np.zeros(sim.B - 1)
        self._parity = 0

    def exchange(self) -> None:
        sim = self.sim
        beta = 1.0 / sim.model.param("T").double()
        energy = sim.model.energy(sim.state).double()
        first = torch.arange(self._parity, sim.B - 1, 2, device=energy.device)
        self._parity ^= 1
        if len(first) == 0:
            return
        delta = (beta[first] - beta[first + 1]) * (energy[first] - energy[first + 1])
        u = torch.rand(len(first), generator=sim.gen, device=sim.gen.device, dtype=torch.float64)
        accept = u.to(energy.device) < torch.exp(torch.clamp(delta, max=0.0))
        perm = torch.arange(sim.B, device=energy.device)
        i = first[accept]
        perm[i], perm[i + 1] = i + 1, i
        sim.state = sim.state[perm].contiguous()
        f = first.cpu().numpy()
        self.attempts[f] += 1
        self.accepts[f] += accept.cpu().numpy()

    @property
    def rates(self) -> np.ndarray:
        return np.divide(self.accepts, self.attempts, out=np.full_like(self.accepts, np.nan),
                         where=self.attempts > 0)


class SweepRunner:
    """Runs a :class:`SweepConfig`; ``cancel()`` from another thread stops it after the current round."""

    def __init__(self, config: SweepConfig):
        config.validate()
        self.config = config
        config.temperatures = temps = tuple(sorted(float(t) for t in config.temperatures))
        self.sims = {L: Simulation(config.model, L, config.algorithm, seed=config.seed + k, device=config.device,
                                   T=temps, **config.params)
                     for k, L in enumerate(sorted(config.sizes))}
        config.algorithm = next(iter(self.sims.values())).algorithm  # the model's default when None
        self.tempering = {L: Tempering(s) for L, s in self.sims.items()} if config.tempering else {}
        self._cancelled = False
        self._elapsed = 0.0
        self._flips = {L: 0.0 for L in self.sims}

    def cancel(self) -> None:
        self._cancelled = True

    def _advance(self, L: int, n: int, record: bool) -> None:
        sim = self.sims[L]
        done = 0
        t0 = time.perf_counter()
        while done < n and not self._cancelled:
            k = min(n - done, self.config.chunk) if L not in self.tempering else 1
            sim.step(k) if record else sim.thermalize(k)
            if L in self.tempering:
                self.tempering[L].exchange()
            done += k
        self._flips[L] = sim.timing["flips_per_s"]
        self._elapsed += time.perf_counter() - t0

    def run(self, progress: Progress | None = None,
            on_update: Callable[[SweepResult], None] | None = None) -> SweepResult:
        """Thermalise, then accumulate in rounds; returns the (possibly partial, if cancelled) result."""
        cfg = self.config
        rounds_th = -(-cfg.thermalize // cfg.chunk)
        rounds = -(-cfg.sweeps // cfg.chunk)
        total = (rounds_th + rounds) * len(self.sims)
        step = 0
        for phase, n_total, n_rounds in (("thermalize", cfg.thermalize, rounds_th), ("measure", cfg.sweeps, rounds)):
            for r in range(n_rounds):
                n = min(cfg.chunk, n_total - r * cfg.chunk)
                for L in self.sims:
                    if self._cancelled:
                        return self.result()
                    self._advance(L, n, record=phase == "measure")
                    step += 1
                    if progress is not None:
                        progress(step, total)
                if phase == "measure" and on_update is not None:
                    on_update(self.result())
        return self.result()

    def result(self) -> SweepResult:
        sizes = {}
        for L, sim in self.sims.items():
            t = self.tempering.get(L)
            sizes[L] = SizeResult(L, sim.temperatures, sim.estimates(), sim.series(),
                                  t.rates if t else None, self._flips[L])
        done = min(len(s.series.get("energy", ())) for s in sizes.values())
        return SweepResult(self.config, sizes, done, self._elapsed)


def size_tasks(config: SweepConfig) -> list[SweepConfig]:
    """The sweep as independent one-size sweeps, each the exact run :class:`SweepRunner` makes for that size.

    The runner seeds size k (ascending) with ``seed + k`` and advances it in rounds of ``chunk`` sweeps; a
    size's run depends only on its own generator, so running it alone with that seed reproduces it (the
    interleaving of sizes never touches another size's random stream).
    """
    config.validate()
    temps = tuple(sorted(float(t) for t in config.temperatures))
    return [replace(config, sizes=(L,), temperatures=temps, seed=config.seed + k, params=dict(config.params))
            for k, L in enumerate(sorted(config.sizes))]


def run_size_task(config: SweepConfig) -> SweepResult:
    """One task of :func:`size_tasks` (a plain function, so that a cluster can ship it to a worker)."""
    return SweepRunner(config).run()


def merge_sizes(config: SweepConfig, parts: list[SweepResult]) -> SweepResult:
    """The whole sweep's result from its finished one-size parts (all of them, or those done so far).

    ``elapsed_s`` is the parts' summed run time (the work done, wherever it ran).
    """
    parts = sorted(parts, key=lambda r: r.config.sizes[0])
    merged = replace(config, temperatures=tuple(sorted(float(t) for t in config.temperatures)),
                     algorithm=parts[0].config.algorithm if parts else config.algorithm)
    sizes = {L: s for r in parts for L, s in r.sizes.items()}
    done = min((r.sweeps_done for r in parts), default=0)
    return SweepResult(merged, sizes, done, sum(r.elapsed_s for r in parts))


def run_size_tasks(config: SweepConfig, executor,
                   on_part: Callable[[SweepResult, int, int], None] | None = None) -> SweepResult:
    """The sweep, one task per size through ``executor`` (``map(fn, tasks, on_done)``, e.g.
    :class:`engine.cluster.RayExecutor`); ``on_part(result of the sizes done so far, done, total)`` as each
    size arrives. A cancelled executor gives the sizes that finished."""
    tasks = size_tasks(config)
    parts: list[SweepResult] = []

    def on_done(_index: int, part: SweepResult) -> None:
        parts.append(part)
        if on_part is not None:
            on_part(merge_sizes(config, parts), len(parts), len(tasks))

    executor.map(run_size_task, tasks, on_done)
    return merge_sizes(config, parts)


#: Every type a :class:`SweepResult` holds: what a session file may build for it (:mod:`engine.plain`).
RESULT_TYPES = (SweepResult, SweepConfig, SizeResult, Estimate, SweepAnalysis)
