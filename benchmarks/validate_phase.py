"""Validate the phase-transition explorer against exact results (issue: phase-transition explorer).

1. Ising, Wolff, L = 16, 32, 64, 15 temperatures in [2.1, 2.45] (the README's sweep): the
   Binder-crossing Tc within 0.5% of 2.26919, gamma/nu within 5% of 7/4, and E/N, C/N at every
   temperature within 4 sigma of Kaufman's exact finite-lattice values. Reports the wall time.
2. XY, L = 8, 16, 32: T_KT(L) where the helicity modulus crosses 2T/pi, which should decrease
   towards 0.893 as L grows.

Usage: python benchmarks/validate_phase.py [--sweeps N] [--out benchmarks/results/validate_phase.json]
Prints a table and writes JSON; exits 1 if an Ising acceptance check fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from engine.device import configure_threads
from engine.exact import TC_ISING, T_KT_XY, kaufman_energy, kaufman_specific_heat
from engine.sweep import SweepConfig, SweepRunner


def ising(sweeps: int, thermalize: int, seed: int) -> dict:
    cfg = SweepConfig("ising", (16, 32, 64), tuple(np.linspace(2.1, 2.45, 15)), "wolff", sweeps, thermalize,
                      seed, "cpu")
    t0 = time.perf_counter()
    res = SweepRunner(cfg).run()
    res.analyse()
    elapsed = time.perf_counter() - t0
    est = res.analysis.estimates
    worst = {}
    for L, r in res.sizes.items():
        for key, exact in (("energy", kaufman_energy(L, r.T)), ("specific_heat", kaufman_specific_heat(L, r.T))):
            e = r.estimates[key]
            worst[f"{key}_L{L}"] = float(np.max(np.abs(e.mean - exact) / e.error))
    tc, gnu = est["binder_crossing_Tc"], est["gamma_over_nu"]
    checks = {  # an estimate that was not found (mean None, with a reason) fails its check
        "binder_Tc_within_0.5%": tc["mean"] is not None and abs(tc["mean"] - TC_ISING) / TC_ISING < 0.005,
        "gamma_over_nu_within_5%": gnu["mean"] is not None and abs(gnu["mean"] - 1.75) / 1.75 < 0.05,
        "kaufman_within_4_sigma": max(worst.values()) < 4.0,
    }
    return {"elapsed_s": elapsed, "binder_crossing_Tc": tc, "binder_crossings": est["binder_crossings"],
            "gamma_over_nu": gnu, "one_over_nu": est.get("one_over_nu"), "max_pull_vs_kaufman": worst,
            "checks": checks}


def xy(sweeps: int, thermalize: int, seed: int) -> dict:
    cfg = SweepConfig("xy", (8, 16, 32), tuple(np.linspace(0.8, 1.2, 11)), "wolff", sweeps, thermalize, seed, "cpu")
    t0 = time.perf_counter()
    res = SweepRunner(cfg).run()
    res.analyse()
    return {"elapsed_s": time.perf_counter() - t0, "T_KT": res.analysis.estimates["T_KT"],
            "reference_T_KT": T_KT_XY}


def fmt(v: dict, digits: int = 5) -> str:
    """mean +- error, or the reason an estimate was not found."""
    if v["mean"] is None:
        return f"not found ({v['reason']})"
    return f"{v['mean']:.{digits}f} +- {v['error']:.{digits}f}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sweeps", type=int, default=3000)
    p.add_argument("--thermalize", type=int, default=500)
    p.add_argument("--xy-sweeps", type=int, default=2000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--skip-xy", action="store_true")
    p.add_argument("--out", default="benchmarks/results/validate_phase.json")
    args = p.parse_args()
    configure_threads()
    report = {"ising": ising(args.sweeps, args.thermalize, args.seed)}
    i = report["ising"]
    print(f"Ising Wolff L=16,32,64, 15 T: {i['elapsed_s']:.0f} s")
    print(f"  Binder-crossing Tc (largest pair) = {fmt(i['binder_crossing_Tc'])}  (exact {TC_ISING:.5f}; pairs: "
          + ", ".join(f"{k}: {fmt(v, 4)}" for k, v in i["binder_crossings"].items()) + ")")
    print(f"  gamma/nu = {fmt(i['gamma_over_nu'], 4)}  (exact 1.75);  1/nu = {fmt(i['one_over_nu'], 4)}  (exact 1)")
    print(f"  max |pull| vs Kaufman: {max(i['max_pull_vs_kaufman'].values()):.2f} sigma")
    for name, ok in i["checks"].items():
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    if not args.skip_xy:
        report["xy"] = xy(args.xy_sweeps, args.thermalize, args.seed)
        x = report["xy"]
        print(f"XY Wolff L=8,16,32 ({x['elapsed_s']:.0f} s): T_KT(L) from Upsilon = 2T/pi: "
              + ", ".join(f"L={L}: {fmt(v, 4)}" for L, v in x["T_KT"].items())
              + f"  (L -> inf: {T_KT_XY})")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    return 0 if all(i["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
