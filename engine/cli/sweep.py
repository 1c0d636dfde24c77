"""``rgviz-batch sweep``: a temperature sweep over one or more sizes, with transition estimates.

Writes, into ``--out DIR``: ``results.csv`` (one row per L and T: every observable's mean, error
and tau_int), ``results.npz`` (temperatures, time series and reweighted curves per size),
``estimates.json`` (Binder-crossing Tc, peak positions, gamma/nu, 1/nu, for XY T_KT(L), each
with an error, and the best scaling collapse), and the figures (PNG, SVG, PDF). The Phase panel
runs the same code.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np

from ..device import DEVICE_CHOICES, configure_threads, device_label, resolve_device
from ..errors import ParameterError
from ..figures import write_figures
from ..measure.fss import best_collapse
from ..plots.sweep import collapse_figure, observable_figures, reference_temperature
from ..progress import cli_bar
from ..sweep import SWEEP_MODELS, SweepConfig, SweepResult, SweepRunner
from .args import flatten, value_range

NAME = "sweep"
HELP = "temperature sweep over several sizes: curves, Binder crossings, finite-size scaling"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=SWEEP_MODELS, default="ising")
    parser.add_argument("--L", type=int, nargs="+", default=[16, 32], help="lattice sizes")
    parser.add_argument("--T", type=value_range, nargs="+", default=[[2.1, 2.45, 15]],
                        help="temperatures: values and/or ranges a:b:n")
    parser.add_argument("--algorithm", default=None, help="update algorithm (default: the model's first)")
    parser.add_argument("--sweeps", type=int, default=2000, help="measured sweeps per temperature")
    parser.add_argument("--thermalize", type=int, default=500, help="sweeps before measuring")
    parser.add_argument("--tempering", action="store_true", help="parallel tempering between temperatures")
    parser.add_argument("--J", type=float, default=None)
    parser.add_argument("--h", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help=f"one of {', '.join(DEVICE_CHOICES)}")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for results and figures")
    parser.add_argument("--json", action="store_true", help="also print estimates.json to stdout")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def run(args: argparse.Namespace) -> int:
    temps = flatten(args.T) if isinstance(args.T[0], list) else args.T
    if args.seed < 0:
        raise ParameterError("seed", f"must be >= 0, got {args.seed}")
    params = {k: v for k, v in (("J", args.J), ("h", args.h)) if v is not None}
    cfg = SweepConfig(args.model, tuple(args.L), tuple(temps), args.algorithm, args.sweeps, args.thermalize,
                      args.seed, args.device, args.tempering, params=params)
    cfg.validate()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    configure_threads()
    t0 = time.perf_counter()
    runner = SweepRunner(cfg)
    with cli_bar("sweep", 1, enabled=not args.no_progress) as bar:
        result = runner.run(progress=bar)
    result.analyse()
    estimates = summarise(result)
    estimates["elapsed_s"] = time.perf_counter() - t0
    estimates["device"] = device_label(resolve_device(args.device))
    write_results(result, out)
    (out / "estimates.json").write_text(json.dumps(estimates, indent=2))
    write_figures(figures(result, estimates), out)
    if args.json:
        print(json.dumps(estimates))
    return 0


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


def write_results(result: SweepResult, out: Path) -> None:
    """results.csv (wide: one row per L and T) and results.npz (series and curves)."""
    keys = sorted({k for r in result.sizes.values() for k in r.estimates})
    with open(out / "results.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["L", "T"] + [f"{k}_{p}" for k in keys for p in ("mean", "error", "tau_int")])
        for L, r in result.sizes.items():
            for b, T in enumerate(r.T):
                row = [L, f"{T:.10g}"]
                for k in keys:
                    e = r.estimates.get(k)
                    row += ["" if e is None else f"{float(np.asarray(getattr(e, p))[b]):.10g}"
                            for p in ("mean", "error", "tau_int")]
                w.writerow(row)
    arrays = {}
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
    np.savez_compressed(out / "results.npz", **arrays)
