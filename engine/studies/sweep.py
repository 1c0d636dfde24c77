"""The sweep study's summary: transition estimates, the best scaling collapse, its table and its files.

:class:`engine.sweep.SweepRunner` measures; :meth:`engine.sweep.SweepResult.analyse` reweights and
estimates; this module turns an analysed result into what ``rgviz-batch sweep`` and the Phase
panel both show and write: ``estimates.json`` (:func:`summarise`), the table of estimates against
exact values (:func:`estimate_rows`), ``results.csv`` / ``results.npz`` (:func:`write_results`)
and the figures (:func:`figures`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..exact import T_KT_XY, TC_ISING
from ..figures import Figure
from ..io import npz_stamp, write_csv, write_json, write_npz
from ..measure.fss import best_collapse
from ..plots.sweep import collapse_figure, observable_figures, reference_temperature
from ..sweep import SweepResult


def summarise(result: SweepResult) -> dict:
    """estimates.json: the analysis estimates, the best collapse, exchange rates and throughput."""
    est = dict(result.analysis.estimates) if result.analysis else {}
    cfg = result.config
    if result.analysis is not None and len(result.sizes) >= 2 and "susceptibility" in next(
            iter(result.analysis.curves.values())):
        tc0 = est.get("binder_crossing_Tc", {}).get("mean") or reference_temperature(cfg.model)  # None: not found
        g0 = est.get("gamma_over_nu", {}).get("mean") or 1.75
        curves = [(L, result.analysis.T_fine, *c["susceptibility"]) for L, c in result.analysis.curves.items()]
        points = [(L, r.T, r.estimates["susceptibility"].mean, r.estimates["susceptibility"].error)
                  for L, r in result.sizes.items()]
        try:
            fit = best_collapse(points, start=(tc0, 1.0, g0), curves=curves)
            est["collapse_susceptibility"] = {"Tc": {"mean": fit.tc, "error": fit.errors[0]},
                                              "nu": {"mean": fit.nu, "error": fit.errors[1]},
                                              "gamma_over_nu": {"mean": fit.exponent, "error": fit.errors[2]},
                                              "quality": fit.quality}
        except (ValueError, np.linalg.LinAlgError):
            pass
    est["sizes"] = {str(L): {"flips_per_second": r.flips_per_second,
                             "exchange_rate": None if r.exchange_rate is None else r.exchange_rate.tolist()}
                    for L, r in result.sizes.items()}
    est["config"] = {"model": cfg.model, "L": list(cfg.sizes), "T": list(cfg.temperatures),
                     "algorithm": cfg.algorithm, "sweeps": cfg.sweeps,
                     "thermalize": cfg.thermalize, "seed": cfg.seed, "tempering": cfg.tempering, **cfg.params}
    return est


def figures(result: SweepResult, estimates: dict) -> list:
    figs = observable_figures(result)
    col = estimates.get("collapse_susceptibility")
    if col:
        figs.append(collapse_figure(result, col["Tc"]["mean"], col["nu"]["mean"], col["gamma_over_nu"]["mean"]))
    return figs


def estimate_rows(result: SweepResult) -> list[tuple[str, float, float, float | None]]:
    """(quantity, value, error, exact or reference value) for the estimates table."""
    est = result.analysis.estimates if result.analysis else {}
    ising = result.config.model == "ising"
    rows = []

    def add(label, value, reference=None):
        if value["mean"] is None:  # not found: the reason in place of the value
            rows.append((f"{label}: not found: {value['reason']}", math.nan, math.nan, reference))
        else:
            rows.append((label, value["mean"], value["error"], reference))

    if "binder_crossing_Tc" in est:
        add("Tc (Binder crossing, largest pair)", est["binder_crossing_Tc"], TC_ISING if ising else None)
    for pair, v in est.get("binder_crossings", {}).items():
        add(f"Binder crossing L={pair}", v, TC_ISING if ising else None)
    if "one_over_nu" in est:
        add("1/nu (dU4/dT at Tc)", est["one_over_nu"], 1.0 if ising else None)
    if "gamma_over_nu" in est:
        add("gamma/nu (chi peak)", est["gamma_over_nu"], 1.75 if ising else None)
    for key, name in (("C_peak", "C"), ("chi_peak", "chi")):
        for L, v in est.get(key, {}).items():
            add(f"{name} peak T, L={L}", v["T"])
            add(f"{name} peak height, L={L}", v["height"])
    for L, v in est.get("T_KT", {}).items():
        add(f"T_KT(L={L}) (Upsilon = 2T/pi)", v, T_KT_XY)
    return rows



def write_results(result: SweepResult, out: Path) -> None:
    """results.csv (wide: one row per L and T) and results.npz (series and curves)."""
    keys = sorted({k for r in result.sizes.values() for k in r.estimates})
    rows = []
    for L, r in result.sizes.items():
        for b, T in enumerate(r.T):
            row = [L, f"{T:.10g}"]
            for k in keys:
                e = r.estimates.get(k)
                row += ["" if e is None else f"{float(np.asarray(getattr(e, p))[b]):.10g}"
                        for p in ("mean", "error", "tau_int")]
            rows.append(row)
    write_csv(out / "results.csv", ["L", "T"] + [f"{k}_{p}" for k in keys for p in ("mean", "error", "tau_int")], rows)
    arrays = npz_stamp("rgviz-sweep")
    for L, r in result.sizes.items():
        arrays[f"L{L}_T"] = r.T
        for k, v in r.series.items():
            arrays[f"L{L}_series_{k}"] = v
        if result.analysis is not None:
            for k, (mean, err) in result.analysis.curves.get(L, {}).items():
                arrays[f"L{L}_curve_{k}"] = mean
                arrays[f"L{L}_curve_{k}_error"] = err
    if result.analysis is not None:
        arrays["T_fine"] = result.analysis.T_fine
    write_npz(out / "results.npz", arrays)


def write_sweep(result: SweepResult, estimates: dict, out: Path,
                write_figures: Callable[[Sequence[Figure], Path], list[Path]]) -> list[Path]:
    """Everything a sweep writes into ``out``: results.csv/.npz, estimates.json, then the figures
    through ``write_figures`` (the CLI's writes their data and images, the GUI's images only)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_results(result, out)
    write_json(out / "estimates.json", estimates, "rgviz-sweep", indent=2)
    written = [out / "results.csv", out / "results.npz", out / "estimates.json"]
    return written + list(write_figures(figures(result, estimates), out))
