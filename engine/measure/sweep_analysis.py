"""From the time series of a temperature sweep to curves and transition estimates.

Input: for each lattice size L, the grid of temperatures and the per-replica time series
(``energy`` per site, ``abs_m``, ``m2``, ``m4``; optionally ``helicity``, with ``mx`` and ``h`` when the
XY field is not zero). Output: smooth curves on a
fine temperature grid by multi-histogram reweighting, each with a jackknife error band, and the
estimates a user reads off them, each with a jackknife error:

- Tc from the Binder-cumulant crossing of each pair of neighbouring sizes (and that of the largest pair),
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
        t_run = np.repeat(np.asarray(data.T, float), [len(k) for k in keep])
        bond, current = _helicity_parts(data, col, t_run)
        out["helicity"] = w @ bond - (w @ current) / T
    return out


def _helicity_parts(data: SizeData, col, t_run: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per sample, the two parts of the XY helicity modulus that reweight separately.

    The session stores Upsilon_k = J c - (J^2 / T_k) s2 with its run's own T_k
    (:func:`engine.measure.vortices.helicity_modulus`), so reweighting Upsilon_k itself to another T
    keeps the wrong 1/T_k. ``t_run`` holds T_k for every sample. The bond part J c follows from the energy per site,
    e = -2 J c - h m_x, and the current part J^2 s2 = T_k (J c - Upsilon_k); then
    Upsilon(T) = <J c>_T - <J^2 s2>_T / T.
    """
    e = col("energy")
    field = col("mx") * col("h") if "h" in data.series and "mx" in data.series else 0.0
    bond = -0.5 * (e + field)
    return bond, t_run * (bond - col("helicity"))


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


PEAK_AT_EDGE = "maximum at the edge of the temperature range: the peak lies outside it; widen the range"


def _estimate(values, reason: str) -> dict[str, object]:
    """``values[0]`` from the full data with the jackknife error of the replicas ``values[1:]``.

    Not found (mean and error None, with ``reason``) when the full data or any replica gives NaN:
    a value that some replicas cannot produce has no honest error, and a number with a small error
    bar is read as measured.
    """
    v = np.asarray(values, dtype=np.float64)
    if np.all(np.isfinite(v)):
        return _value(v[0], jackknife_error(v[0], v[1:]))
    if np.isfinite(v[0]):
        reason = f"{reason} (in {int(np.sum(~np.isfinite(v)))} of {len(v) - 1} jackknife replicas)"
    return {"mean": None, "error": None, "reason": reason}


def _found(value: dict) -> bool:
    return value["mean"] is not None


def _estimates(sizes: list[SizeData], T: np.ndarray, replicas, n_rep: int) -> dict[str, object]:
    est: dict[str, object] = {}
    Ls = [d.L for d in sizes]
    first = replicas[Ls[0]][0]
    reps = range(n_rep)

    peaks = {name: {L: np.array([peak(T, replicas[L][r][name]) for r in reps]) for L in Ls}
             for name in ("specific_heat", "susceptibility") if name in first}
    for name, key in (("specific_heat", "C_peak"), ("susceptibility", "chi_peak")):
        if name in peaks:
            est[key] = {str(L): {"T": _estimate(peaks[name][L][:, 0], PEAK_AT_EDGE),
                                 "height": _estimate(peaks[name][L][:, 1], PEAK_AT_EDGE)} for L in Ls}

    if "binder" in first and len(Ls) >= 2:
        guess = T[np.argmax(replicas[Ls[-1]][0]["specific_heat"])]
        no_cross = "the Binder cumulants do not cross inside the temperature range"
        pairs = {f"{a}-{b}": _estimate([crossing(T, replicas[a][r]["binder"], replicas[b][r]["binder"], near=guess)
                                        for r in reps], no_cross) for a, b in zip(Ls[:-1], Ls[1:])}
        est["binder_crossings"] = pairs
        est["binder_crossing_Tc"] = _largest_pair(pairs)
        if _found(est["binder_crossing_Tc"]):
            tc = est["binder_crossing_Tc"]["mean"]

            def slope_exponent(r: int) -> float:
                slopes = [abs(np.interp(tc, T, np.gradient(replicas[L][r]["binder"], T))) for L in Ls]
                return power_law(Ls, slopes).exponent

            est["one_over_nu"] = _estimate([slope_exponent(r) for r in reps], "no finite Binder slope at Tc")
        else:
            est["one_over_nu"] = {"mean": None, "error": None, "reason": "not measured: needs the Binder-crossing Tc"}

    if "susceptibility" in peaks and len(Ls) >= 2:
        heights = np.stack([peaks["susceptibility"][L][:, 1] for L in Ls], axis=1)  # [n_rep, n_L]
        missing = [str(L) for L in Ls if not _found(est["chi_peak"][str(L)]["height"])]
        est["gamma_over_nu"] = _estimate(
            [power_law(Ls, h).exponent if np.all(np.isfinite(h)) else np.nan for h in heights],
            f"not measured: the susceptibility peak of L = {', '.join(missing)} was not found ({PEAK_AT_EDGE})")

    if "helicity" in first:
        est["T_KT"] = {str(L): _estimate([crossing(T, replicas[L][r]["helicity"], 2 * T / np.pi) for r in reps],
                                         "the helicity modulus does not cross 2T/pi inside the temperature range")
                       for L in Ls}
    return est


def _largest_pair(pairs: dict[str, dict]) -> dict[str, object]:
    """The crossing of the largest pair of sizes that cross, named in ``pair``.

    Not a weighted mean over pairs: neighbouring pairs share a size (8-16 and 16-24 both use
    L = 16), so their crossings are correlated, and they drift with L towards Tc, so weights from
    their noisy errors move a mean by more than its error (measured on exact samples of L = 2, 3, 4:
    over 30 seeds the scatter of such a mean was 1.1 - 1.9 times its error, with or without the pairs'
    covariance). The largest pair has the smallest finite-size shift, and its jackknife error is
    honest on its own.
    """
    found = [p for p, v in pairs.items() if _found(v)]
    if not found:
        return {"mean": None, "error": None, "reason": "no pair of sizes has a Binder crossing inside the range"}
    return {**pairs[found[-1]], "pair": found[-1]}
