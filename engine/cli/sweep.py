"""``rgviz-batch sweep``: a temperature sweep over one or more sizes, with transition estimates.

Writes, into ``--out DIR``: ``results.csv`` (one row per L and T: every observable's mean, error
and tau_int), ``results.npz`` (temperatures, time series and reweighted curves per size),
``estimates.json`` (Binder-crossing Tc, peak positions, gamma/nu, 1/nu, for XY T_KT(L), each
with an error, and the best scaling collapse), and the figures (PNG, SVG, PDF). The Phase panel
runs the same code (:mod:`engine.studies.sweep`). ``--executor ray`` runs one task per size on a Ray
cluster (:mod:`engine.cluster`) with the same seeds, so the numbers are those of a local run.
"""

from __future__ import annotations

import argparse
import json
import time

from ..names import DEVICE_CHOICES, SWEEP_MODELS
from .args import add_executor_arguments, executor, flatten, value_range


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
    add_executor_arguments(parser, "size")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for results and figures")
    parser.add_argument("--json", action="store_true", help="also print estimates.json to stdout")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def run(args: argparse.Namespace) -> int:
    from ..device import configure_threads, device_label, resolve_device
    from ..figures import write_figures
    from ..progress import cli_bar
    from ..studies.sweep import summarise, write_sweep
    from ..sweep import SweepConfig, SweepRunner

    temps = flatten(args.T) if isinstance(args.T[0], list) else args.T
    params = {k: v for k, v in (("J", args.J), ("h", args.h)) if v is not None}
    cfg = SweepConfig(args.model, tuple(args.L), tuple(temps), args.algorithm, args.sweeps, args.thermalize,
                      args.seed, args.device, args.tempering, params=params)
    cfg.validate()
    remote = executor(args, cfg.device)
    out = args.outputs.folder("out", args.out)
    configure_threads()
    t0 = time.perf_counter()
    with cli_bar("sweep", 1, enabled=not args.no_progress) as bar:
        if remote is None:
            result = SweepRunner(cfg).run(progress=bar)
        else:
            result = _run_on_cluster(cfg, remote, bar, lines=not args.no_progress)
    result.analyse()
    estimates = summarise(result)
    estimates["elapsed_s"] = time.perf_counter() - t0
    estimates["device"] = device_label(resolve_device(args.device))
    estimates["executor"] = {"name": args.executor, "address": args.address}
    write_sweep(result, estimates, out, write_figures)
    if args.json:
        print(json.dumps(estimates))
    return 0


def _run_on_cluster(cfg, remote, bar, lines: bool):
    """One task per size on a Ray cluster; the bar counts finished sizes, and a line on stderr names each."""
    from ..progress import cli_line
    from ..sweep import run_size_tasks

    def on_part(result, done, total):
        bar(done, total)
        if lines:
            cli_line(f"sweep: {done} of {total} sizes done (L = {', '.join(map(str, result.sizes))})")

    return run_size_tasks(cfg, remote, on_part)
