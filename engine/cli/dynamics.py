"""``rgviz-batch dynamics``: tau_int(T, L) of the 2D Ising model per algorithm, and the dynamic exponent z.

Runs :func:`engine.studies.dynamics.run_tau_scan` (the Dynamics panel's scan; Tc is added to the
temperatures, z is read there from tau_int(Tc) ~ L^z) and prints its JSON: the temperatures,
tau_int with errors per algorithm, L and observable (``abs_m``, ``energy``), and z per observable
and algorithm. ``--out DIR`` also writes ``dynamics.json``, ``tau_int.csv`` (one row per
algorithm, L and T) and the figures.
"""

from __future__ import annotations

import argparse
import json
import time

from ..names import DEVICE_CHOICES, ISING_ALGORITHMS
from .args import flatten, value_range


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--L", type=int, nargs="+", default=[8, 16, 24], help="lattice sizes")
    parser.add_argument("--T", type=value_range, nargs="+", default=[[2.1, 2.5, 5]],
                        help="temperatures: values and/or ranges a:b:n (Tc is always added)")
    parser.add_argument("--algorithms", nargs="+", default=["metropolis", "wolff"],
                        choices=ISING_ALGORITHMS, metavar="ALG",
                        help=f"update algorithms, from {', '.join(ISING_ALGORITHMS)}")
    parser.add_argument("--sweeps", type=int, default=10_000, help="measured sweeps per run")
    parser.add_argument("--thermalize", type=int, default=1000, help="sweeps before measuring")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first size (size k uses seed + k)")
    parser.add_argument("--device", default="auto", help=f"one of {', '.join(DEVICE_CHOICES)}")
    parser.add_argument("--out", default=None, metavar="DIR", help="also write dynamics.json, tau_int.csv, figures")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def run(args: argparse.Namespace) -> int:
    from ..device import configure_threads, device_label, resolve_device
    from ..figures import write_figures
    from ..io import write_json
    from ..plots.dynamics import scan_figures
    from ..progress import cli_bar
    from ..studies.dynamics import OBSERVABLES, TauScanConfig, run_tau_scan, with_tc
    from ..studies.files import write_table

    config = TauScanConfig(tuple(args.L), tuple(with_tc(flatten(args.T))), tuple(args.algorithms), args.sweeps,
                           args.thermalize, args.seed, args.device)
    config.validate()
    out = None if args.out is None else args.outputs.folder("out", args.out)
    configure_threads()
    t0 = time.perf_counter()
    with cli_bar("dynamics", 1, enabled=not args.no_progress) as bar:
        scan = run_tau_scan(config, progress=bar)
    doc = {**scan.to_dict(), "config": {"L": list(config.sizes), "algorithms": list(config.algorithms),
                                        "sweeps": config.sweeps, "thermalize": config.thermalize,
                                        "seed": config.seed},
           "elapsed_s": time.perf_counter() - t0, "device": device_label(resolve_device(args.device))}
    if out is not None:
        write_json(out / "dynamics.json", doc, "rgviz-dynamics", indent=1)
        write_table(out / "tau_int.csv", scan.table())
        write_figures([fig for label, _ in OBSERVABLES for fig in scan_figures(scan, label)], out)
    print(json.dumps(doc))
    return 0
