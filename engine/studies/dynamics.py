"""Critical slowing down measured: tau_int(T, L) per update algorithm, and the dynamic exponent z.

:func:`run_tau_scan` runs one 2D Ising simulation per (algorithm, L) with all temperatures as its
batch and measures the integrated autocorrelation time of |m| and E at each temperature. The
dynamic exponent z comes from tau_int(Tc) ~ L^z. Local updates (Metropolis, heat bath) slow down
as z ~ 2.17; cluster updates (Wolff, Swendsen-Wang) nearly not at all (z ~ 0.25), which is why
they are the right tool at Tc. Times are in sweeps (for Wolff: about N flipped sites, see
:mod:`engine.samplers`).

:func:`live_autocorrelation` does the same for one running chain: rho(t) and tau_int of the
samples taken since its parameters last changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .. import validate
from ..device import resolve_device
from ..errors import ParameterError
from ..exact import TC_ISING
from ..measure.fss import PowerLaw, power_law
from ..measure.stats import autocorrelation, tau_int
from ..models.ising import IsingModel
from ..progress import Progress
from ..session import Simulation
from .files import Table

#: (label, series key) of the observables whose autocorrelation is measured.
OBSERVABLES = (("|m|", "abs_m"), ("E", "energy"))
#: Sweeps between two looks at cancellation and progress.
CHUNK = 100
#: Fewer samples than this give no meaningful tau_int.
MIN_SAMPLES = 20


@dataclass
class TauScan:
    """tau_int and its error per (algorithm, L) and observable label, on the temperatures ``T``."""

    T: np.ndarray
    tau: dict[tuple[str, int], dict[str, tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)

    def at_tc(self, observable: str) -> dict[str, tuple[list[int], np.ndarray, np.ndarray]]:
        """Per algorithm: sizes, tau_int and error at the grid temperature closest to Tc."""
        i = int(np.argmin(np.abs(self.T - TC_ISING)))
        out = {}
        for alg in dict.fromkeys(alg for alg, _ in self.tau):
            sizes = sorted(L for a, L in self.tau if a == alg)
            tau, err = (np.array([self.tau[(alg, L)][observable][k][i] for L in sizes]) for k in (0, 1))
            out[alg] = (sizes, tau, err)
        return out

    def dynamic_exponents(self, observable: str) -> dict[str, PowerLaw]:
        """z per algorithm from a weighted power-law fit of tau_int(Tc) against L (2 sizes or more)."""
        return {alg: power_law(sizes, tau, err) for alg, (sizes, tau, err) in self.at_tc(observable).items()
                if len(sizes) >= 2 and np.all(tau > 0) and np.all(np.isfinite(err))}

    def table(self) -> Table:
        """CSV header and rows: one row per (algorithm, L, T) with tau_int and its error per observable."""
        header = ["algorithm", "L", "T"] + [f"tau_int_{key}{part}" for _, key in OBSERVABLES
                                            for part in ("", "_error")]
        rows = []
        for (alg, L), values in sorted(self.tau.items()):
            for i, T in enumerate(self.T):
                rows.append([alg, L, float(T)] + [float(values[label][k][i]) for label, _ in OBSERVABLES
                                                  for k in (0, 1)])
        return header, rows

    def to_dict(self) -> dict:
        """JSON: the grid, tau_int per algorithm, L and observable (series keys), z per observable."""
        tau = {}
        for (alg, L), values in sorted(self.tau.items()):
            tau.setdefault(alg, {})[str(L)] = {key: {"tau_int": values[label][0].tolist(),
                                                     "error": values[label][1].tolist()}
                                               for label, key in OBSERVABLES}
        i = int(np.argmin(np.abs(self.T - TC_ISING)))
        z = {key: {alg: {"mean": fit.exponent, "error": fit.exponent_error, "amplitude": fit.amplitude}
                   for alg, fit in self.dynamic_exponents(label).items()} for label, key in OBSERVABLES}
        return {"T": self.T.tolist(), "T_at_Tc": float(self.T[i]), "tau_int": tau, "z": z}


def with_tc(temperatures) -> np.ndarray:
    """The temperatures, sorted, with Tc itself added (where z is read off)."""
    return np.unique(np.append(np.asarray(temperatures, float), TC_ISING))


def scan_temperatures(t_from: float, t_to: float, n: int) -> np.ndarray:
    """An even grid from t_from to t_to, with Tc added."""
    return with_tc(np.linspace(t_from, t_to, n))


@dataclass
class TauScanConfig:
    """What to measure: sizes, temperatures (Tc is where z is read), algorithms, sweeps per run."""

    sizes: tuple[int, ...]
    temperatures: tuple[float, ...]
    algorithms: tuple[str, ...] = ("metropolis", "wolff")
    sweeps: int = 10_000
    thermalize: int = 1000
    seed: int = 0
    device: str = "auto"

    def validate(self) -> None:
        if not self.sizes or min(self.sizes) < 2:
            raise ParameterError("L", f"needs one or more sizes >= 2, got {list(self.sizes)}")
        if not self.temperatures or min(self.temperatures) <= 0:
            raise ParameterError("T", f"needs one or more temperatures > 0, got {list(self.temperatures)}")
        if not self.algorithms:
            raise ParameterError("algorithms", f"choose at least one of {', '.join(IsingModel.algorithms)}")
        unknown = [a for a in self.algorithms if a not in IsingModel.algorithms]
        if unknown:
            raise ParameterError("algorithms", f"unknown {unknown}; choose from {', '.join(IsingModel.algorithms)}")
        if self.sweeps < MIN_SAMPLES:
            raise ParameterError("sweeps", f"must be at least {MIN_SAMPLES} for an autocorrelation time, "
                                 f"got {self.sweeps}")
        if self.thermalize < 0:
            raise ParameterError("thermalize", f"must be >= 0, got {self.thermalize}")
        validate.integer("seed", self.seed)
        validate.numbers("T", self.temperatures, positive=True)
        validate.lattice_run(len(self.temperatures), max(self.sizes), self.sweeps, device=resolve_device(self.device))


def run_tau_scan(config: TauScanConfig, progress: Progress | None = None,
                 on_partial: Callable[[TauScan], None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> TauScan:
    """One Ising simulation per (algorithm, L), all temperatures as its batch; tau_int of each.

    Size k runs with seed ``seed + k``. After each run the scan so far goes to ``on_partial``;
    when ``cancelled()`` turns true the scan returns what it has at the next chunk of sweeps.
    """
    config.validate()
    temperatures = np.asarray(config.temperatures, float)
    scan = TauScan(temperatures)
    total = len(config.algorithms) * len(config.sizes) * (config.thermalize + config.sweeps)
    done = 0
    for alg in config.algorithms:
        for k, L in enumerate(config.sizes):
            sim = Simulation("ising", L, alg, seed=config.seed + k, device=config.device, T=tuple(temperatures))
            for advance, n in ((sim.thermalize, config.thermalize), (sim.step, config.sweeps)):
                while n > 0:
                    if cancelled is not None and cancelled():
                        return scan
                    m = min(CHUNK, n)
                    advance(m)
                    n -= m
                    done += m
                    if progress is not None:
                        progress(done, total)
            series = sim.series()
            scan.tau[(alg, L)] = {label: tuple(np.asarray(v) for v in tau_int(series[key])[:2])
                                  for label, key in OBSERVABLES}
            if on_partial is not None:
                on_partial(TauScan(temperatures, dict(scan.tau)))
    return scan


def equal_parameter_tail(series: dict, params: dict) -> int:
    """Index of the first sample taken at the current parameters (after the last change)."""
    start = 0
    for name, value in params.items():
        column = series.get(name)
        if column is None or len(column) == 0:
            continue
        changed = np.nonzero(np.asarray(column, float) != float(np.asarray(value)))[0]
        if len(changed):
            start = max(start, int(changed[-1]) + 1)
    return start


@dataclass
class LiveAutocorrelation:
    """rho(t) up to twice the Madras-Sokal window, and tau_int with its error, per observable label."""

    samples: int  # samples at the current parameters
    rho: dict[str, np.ndarray] = field(default_factory=dict)
    tau: dict[str, tuple[float, float]] = field(default_factory=dict)


def live_autocorrelation(series: dict, params: dict) -> LiveAutocorrelation:
    """Autocorrelations of a running chain's |m| and E since its parameters last changed.

    An observable with fewer than :data:`MIN_SAMPLES` finite samples, or constant, is left out.
    """
    start = equal_parameter_tail(series, params)
    out = LiveAutocorrelation(len(np.asarray(series.get("energy", ()))[start:]))
    for label, key in OBSERVABLES:
        y = np.asarray(series.get(key, ()), float)[start:]
        y = y[np.isfinite(y)]
        if len(y) < MIN_SAMPLES or np.ptp(y) == 0:
            continue
        tau, err, window = tau_int(y)
        t_max = min(len(y) - 1, max(2 * int(window), 10))  # the Madras-Sokal window sums up to W
        out.rho[label] = autocorrelation(y)[: t_max + 1]
        out.tau[label] = (float(tau), float(err))
    return out
