"""Acceptance validation of the real-space RG engine (engine.rg) against exact 2D Ising results.

Checks (each prints a row: measured, target, pass):

1. Pseudo-likelihood on unblocked Swendsen-Wang samples at T = 2.0, Tc, 2.6 recovers
   K_nn = 1/T and K_nnn = K_plaq = K_d2 = 0 within 3 standard errors.
2. Swendsen MCRG at Kc (2x2 majority rule, several independent chains): y_t within 0.05 of 1
   and y_h within 0.01 of 15/8 at blocking step 1 (level 1 -> 2) with all operators (>= 2).
3. Trajectories for a fan of temperatures that does not contain Tc (so the estimate is not pinned
   to it): K < Kc flows to 0, K > Kc grows; the separatrix estimate of Kc within 2% of 0.440687;
   the fan's MCRG exponents with their distance from the estimated Kc.
4. Teaching flows: the fBm structure-function slope equals the Hurst exponent.

Usage: ``python benchmarks/validate_rg.py [--quick] [--device auto] [--out FILE.json]``.
About 5-10 minutes on one CPU core with the default sizes; ``--quick`` is a smoke run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.device import configure_threads, make_generator, resolve_device  # noqa: E402
from engine.exact import KC_ISING, TC_ISING  # noqa: E402
from engine.models.ising import IsingModel  # noqa: E402
from engine.rg.ising_flow import Y_H_EXACT, Y_T_EXACT, RGFlowConfig, run_ising_rgflow  # noqa: E402
from engine.rg.mcrg import MCRG_EVEN, MCRG_ODD, level_values, mcrg_exponents  # noqa: E402
from engine.rg.operators import DEFAULT_COUPLINGS  # noqa: E402
from engine.rg.pseudolikelihood import fit_couplings  # noqa: E402
from engine.rg.sampling import SamplingPlan, collect_blocked  # noqa: E402
from engine.rg.teaching import fbm, hurst_from_paths  # noqa: E402
from engine.samplers import make_sampler  # noqa: E402

ROWS: list[dict] = []


def row(check: str, value: str, target: str, ok: bool, **data) -> None:
    ROWS.append({"check": check, "value": value, "target": target, "pass": bool(ok), **data})
    print(f"{check:<44} {value:<34} {target:<22} {'PASS' if ok else 'FAIL'}", flush=True)


def check_pseudolikelihood(L: int, n: int, device, seed: int) -> None:
    temps = [2.0, TC_ISING, 2.6]
    model = IsingModel(L, T=temps, device=device)
    levels = collect_blocked(model, make_sampler(model, "swendsen-wang"), make_generator(seed, device),
                             SamplingPlan(n, 200, 2), levels=0)
    for r, T in enumerate(temps):
        fit = fit_couplings(levels[0][r], DEFAULT_COUPLINGS)
        true = np.array([1 / T, 0, 0, 0])
        z = (fit.K - true) / fit.stderr
        row(f"PL couplings, unblocked, T={T:.4f}",
            "K=" + ",".join(f"{k:+.4f}" for k in fit.K) + f" max|z|={np.max(np.abs(z)):.2f}",
            "|z| < 3 for all 4", bool(np.all(np.abs(z) < 3)),
            T=T, K=fit.K.tolist(), stderr=fit.stderr.tolist(), K_true=true.tolist())


def check_mcrg(L: int, chains: int, n: int, device, seed: int) -> None:
    model = IsingModel(L, T=[TC_ISING] * chains, device=device)
    t0 = time.perf_counter()
    levels = collect_blocked(model, make_sampler(model, "swendsen-wang"), make_generator(seed, device),
                             SamplingPlan(n, 300, 2), levels=3)
    names = MCRG_EVEN + MCRG_ODD
    values = np.concatenate([level_values([x[r] for x in levels], names) for r in range(chains)])
    res = mcrg_exponents(values, names, 2, n_blocks=5 * chains)
    seconds = time.perf_counter() - t0
    print(f"\nMCRG at Kc, L={L}, {chains} chains x {n} samples ({seconds:.0f} s): y by step (rows) and "
          "number of operators (columns)")
    for key, sec in (("y_t", res.even), ("y_h", res.odd)):
        print(f"  {key}  operators: {', '.join(sec.names)}")
        for step in range(sec.y.shape[0]):
            cells = "  ".join(f"{y:.4f}({e:.4f})" for y, e in zip(sec.y[step], sec.error[step]))
            print(f"    step {step} (L {L >> step} -> {L >> (step + 1)}): {cells}")
    print()
    yt, et = res.exponent("even", 1)
    yh, eh = res.exponent("odd", 1)
    row(f"MCRG y_t, L={L}, step 1, {len(res.even.names)} ops", f"{yt:.4f} +- {et:.4f}", "|y_t - 1| < 0.05",
        abs(yt - Y_T_EXACT) < 0.05, detail=res.to_dict(), seconds=seconds)
    row(f"MCRG y_h, L={L}, step 1, {len(res.odd.names)} ops", f"{yh:.4f} +- {eh:.4f}", "|y_h - 15/8| < 0.01",
        abs(yh - Y_H_EXACT) < 0.01)


def check_flow(L: int, n: int, device, seed: int) -> None:
    cfg = RGFlowConfig(L=L, temperatures=(2.0, 2.2, 2.3, 2.35, 2.6), levels=3, n_samples=n, seed=seed,
                       device=str(device))
    t0 = time.perf_counter()
    res = run_ising_rgflow(cfg)
    seconds = time.perf_counter() - t0
    print(f"\nTrajectories, L={L}, {n} samples per T ({seconds:.0f} s): strength sum_a w_a K_a per level")
    for t in res.trajectories:
        cells = "  ".join(f"{s:.4f}" for s in t.strength)
        print(f"  T={t.T:.4f} K0={t.K0:.4f}: {cells}   -> {t.fate}")
    print()
    ok = all((t.fate == "K -> 0") if t.K0 < KC_ISING * 0.99 else (t.fate == "K -> inf")
             for t in res.trajectories if abs(t.K0 / KC_ISING - 1) > 0.01)
    row("flow directions (K<Kc -> 0, K>Kc -> inf)", ", ".join(t.fate for t in res.trajectories), "all off-Kc correct",
        ok, trajectories=[t.to_dict() for t in res.trajectories])
    sep = res.separatrix
    if sep is None:
        row("separatrix Kc", "none", "within 2% of 0.44069", False, notes=res.notes)
        return
    rel = abs(sep.Kc / KC_ISING - 1)
    row("separatrix Kc", f"{sep.Kc:.5f} +- {sep.error:.5f} ({100 * rel:.2f}%)", "within 2% of 0.44069",
        rel < 0.02, separatrix=sep.to_dict(), seconds=seconds)
    ex = res.exponents()
    d = ex["distance_from_Kc"]
    print(f"  fan MCRG at T={ex['T']:.4f}: y_t = {ex['y_t']['mean']:.4f} +- {ex['y_t']['error']:.4f}, "
          f"y_h = {ex['y_h']['mean']:.4f} +- {ex['y_h']['error']:.4f}; K - Kc = {d['K_minus_Kc']['mean']:+.4f} "
          f"+- {d['K_minus_Kc']['error']:.4f}, |K/Kc - 1| L = {d['scaled']:.2f}")
    for note in res.notes:
        print(f"  note: {note}")


def check_teaching(seed: int) -> None:
    for h in (0.3, 0.7):
        est, err = hurst_from_paths(fbm(8192, h, make_generator(seed), batch=40))
        row(f"fBm structure-function slope, h={h}", f"{est:.4f} +- {err:.4f}", "within 4 sigma",
            abs(est - h) < 4 * err)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke run of a minute")
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--out", default="out/validate_rg.json")
    args = p.parse_args()
    configure_threads()
    device = resolve_device(args.device)
    t0 = time.perf_counter()
    print(f"{'check':<44} {'value':<34} {'target':<22} result")
    if args.quick:
        check_pseudolikelihood(16, 400, device, args.seed)
        check_mcrg(32, 2, 300, device, args.seed)
        check_flow(32, 300, device, args.seed)
    else:
        check_pseudolikelihood(64, 1000, device, args.seed)
        check_mcrg(128, 4, 1000, device, args.seed)
        check_flow(64, 2000, device, args.seed)
    check_teaching(args.seed)
    total = time.perf_counter() - t0
    passed = sum(r["pass"] for r in ROWS)
    print(f"\n{passed}/{len(ROWS)} checks passed in {total:.0f} s on {device}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"device": str(device), "quick": args.quick, "seconds": total,
                                          "torch": torch.__version__, "rows": ROWS}, indent=1))
    return 0 if passed == len(ROWS) else 1


if __name__ == "__main__":
    sys.exit(main())
