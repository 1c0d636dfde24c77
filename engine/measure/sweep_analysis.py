"""From the time series of a temperature sweep to curves and transition estimates.

Input: for each lattice size L, the grid of temperatures and the per-replica time series
(``energy`` per site, ``abs_m``, ``m2``, ``m4``; optionally ``helicity``). Output: smooth curves on a
fine temperature grid by multi-histogram reweighting, each with a jackknife error band, and the
estimates a user reads off them, each with a jackknife error:

- Tc from the Binder-cumulant crossing of each pair of neighbouring sizes (and their weighted mean),
- positions and heights of the specific-heat and susceptibility peaks,
- gamma/nu from chi_max ~ L^(gamma/nu), 1/nu from dU/dT at the crossing ~ L^(1/nu),
- for XY, T_KT(L) where the helicity modulus crosses 2T/pi.

Jackknife: the series of every run are cut into the same number of blocks (longer than the
autocorrelation time when the runs are long enough) and block b is left out of every run at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .fss import crossing, jackknife_error, peak, power_law
from .reweight import Reweighter

CURVES = ("energy", "specific_heat", "abs_magnetization", "susceptibility", "binder", "helicity")


@dataclass
class SizeData:
    """One lattice size of a sweep: temperatures ``[B]`` and time series ``{name: [n, B]}``."""

    L: int
    T: np.ndarray
    series: Mapping[str, np.ndarray]
    components: int = 1  # 1 for Ising, 2 for XY / complex phi^4 (changes the Binder normalisation)


@dataclass
class SweepAnalysis:
    """Curves ``{L: {name: (mean[n_fine], error[n_fine])}}`` on ``T_fine`` and the estimates."""

    T_fine: np.ndarray
    curves: dict[int, dict[str, tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    estimates: dict[str, object] = field(default_factory=dict)


def _value(mean: float, error: float) -> dict[str, float]:
    return {"mean": float(mean), "error": float(error)}


def _curves_one(rw: Reweighter, data: SizeData, keep: list[np.ndarray], T: np.ndarray) -> dict[str, np.ndarray]:
    """Reweighted thermodynamic curves of one size from the kept sample indices of each run."""
    N = data.L * data.L
    beta = 1.0 / T
    s = data.series

    def col(name: str) -> np.ndarray:
        return np.concatenate([s[name][k, i] for i, k in enumerate(keep)])

    e = col("energy")
    w = rw.weights(beta)
    e1, e2 = w @ e, w @ (e * e)
    out = {"energy": e1, "specific_heat": N * beta**2 * (e2 - e1**2)}
    if "abs_m" in s:
        am, m2 = w @ col("abs_m"), w @ col("m2")
        out["abs_magnetization"] = am
        out["susceptibility"] = N * beta * (m2 - am**2)
        if "m4" in s:
            c = data.components
            # U4 = 1 - <m^4> / (3 <m^2>^2) for a scalar order parameter; 1 - <m^4> / (2 <m^2>^2) for two components.
            out["binder"] = 1.0 - (w @ col("m4")) / ((1.0 + 2.0 / c) * m2**2)
    if "helicity" in s:
        out["helicity"] = w @ col("helicity")
    return out


def _reweighter(data: SizeData, keep: list[np.ndarray], ln_z: np.ndarray | None = None) -> Reweighter:
    N = data.L * data.L
    energies = [N * data.series["energy"][k, i] for i, k in enumerate(keep)]
    return Reweighter(energies, 1.0 / np.asarray(data.T, float), ln_z=ln_z)


def analyse_sweep(sizes: list[SizeData], n_fine: int = 101, n_blocks: int = 16) -> SweepAnalysis:
    """Curves and estimates for a sweep over one temperature grid and one or more sizes."""
    sizes = sorted(sizes, key=lambda d: d.L)
    t_lo = max(float(np.min(d.T)) for d in sizes)
    t_hi = min(float(np.max(d.T)) for d in sizes)
    T = np.linspace(t_lo, t_hi, n_fine)
    result = SweepAnalysis(T_fine=T)

    # replicas[L][r] are curve dicts: r = 0 is the full data, r >= 1 leave block r-1 out.
    replicas: dict[int, list[dict[str, np.ndarray]]] = {}
    for data in sizes:
        n = next(iter(data.series.values())).shape[0]
        nb = max(2, min(n_blocks, n // 2))
        blocks = np.array_split(np.arange(n), nb)
        full_keep = [np.arange(n)] * len(data.T)
        rw = _reweighter(data, full_keep)
        reps = [_curves_one(rw, data, full_keep, T)]
        for b in blocks:
            keep = [np.setdiff1d(np.arange(n), b)] * len(data.T)
            reps.append(_curves_one(_reweighter(data, keep, rw.ln_z), data, keep, T))
        replicas[data.L] = reps
        result.curves[data.L] = {
            name: (reps[0][name], np.array([jackknife_error(reps[0][name][i], [r[name][i] for r in reps[1:]])
                                            for i in range(n_fine)]))
            for name in reps[0]
        }

    n_rep = min(len(r) for r in replicas.values())
    result.estimates = _estimates(sizes, T, replicas, n_rep)
    return result


def _estimate(fn, n_rep: int) -> dict[str, float]:
    """Apply ``fn(r)`` to the full data (r = 0) and to each jackknife replica."""
    full = fn(0)
    return _value(full, jackknife_error(full, [fn(r) for r in range(1, n_rep)]))


def _estimates(sizes: list[SizeData], T: np.ndarray, replicas, n_rep: int) -> dict[str, object]:
    est: dict[str, object] = {}
    Ls = [d.L for d in sizes]
    first = replicas[Ls[0]][0]

    for name, key in (("specific_heat", "C_peak"), ("susceptibility", "chi_peak")):
        if name in first:
            est[key] = {str(L): {"T": _estimate(lambda r, L=L: peak(T, replicas[L][r][name])[0], n_rep),
                                 "height": _estimate(lambda r, L=L: peak(T, replicas[L][r][name])[1], n_rep)}
                        for L in Ls}

    if "binder" in first and len(Ls) >= 2:
        guess = T[np.argmax(replicas[Ls[-1]][0]["specific_heat"])]
        pairs = {}
        for a, b in zip(Ls[:-1], Ls[1:]):
            pairs[f"{a}-{b}"] = _estimate(
                lambda r, a=a, b=b: crossing(T, replicas[a][r]["binder"], replicas[b][r]["binder"], near=guess), n_rep)
        est["binder_crossings"] = pairs
        good = [v for v in pairs.values() if np.isfinite(v["mean"]) and v["error"] > 0]
        if good:
            w = np.array([1 / v["error"] ** 2 for v in good])
            m = np.array([v["mean"] for v in good])
            est["binder_crossing_Tc"] = _value(np.sum(w * m) / np.sum(w), np.sqrt(1 / np.sum(w)))
            tc = est["binder_crossing_Tc"]["mean"]

            def slope_exponent(r: int) -> float:
                slopes = [abs(np.interp(tc, T, np.gradient(replicas[L][r]["binder"], T))) for L in Ls]
                return power_law(Ls, slopes).exponent

            est["one_over_nu"] = _estimate(slope_exponent, n_rep)

    if "susceptibility" in first and len(Ls) >= 2:
        est["gamma_over_nu"] = _estimate(
            lambda r: power_law(Ls, [peak(T, replicas[L][r]["susceptibility"])[1] for L in Ls]).exponent, n_rep)

    if "helicity" in first:
        est["T_KT"] = {str(L): _estimate(
            lambda r, L=L: crossing(T, replicas[L][r]["helicity"], 2 * T / np.pi), n_rep) for L in Ls}
    return est
