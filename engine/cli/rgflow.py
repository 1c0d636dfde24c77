"""``rgviz-batch rgflow``: real-space RG: Ising trajectories, Kc, MCRG exponents; XY Kosterlitz flow.

Writes to ``--out``: ``rgflow.json`` (Ising: MCRG y_t and y_h at the temperature closest to the
separatrix estimate of Kc, that distance, the estimate, every trajectory with errors; XY: the measured (1/K, y) per
level), ``trajectories.csv`` (one row per temperature and blocking level) and the figures
through :func:`engine.figures.write_figures` (their data as JSON always; PNG, SVG and PDF when
the application's renderer is installed). A short summary goes to stdout as JSON. ``--executor ray`` runs one
task per starting temperature on a Ray cluster (:mod:`engine.cluster`); each temperature's chain has its own
seed (the study's seed and its index), so the numbers are those of a local run.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from .. import validate
from ..errors import ParameterError
from ..names import DEVICE_CHOICES, MCRG_EVEN, MCRG_ODD, RG_COUPLINGS, RG_OPERATORS
from .args import add_executor_arguments, executor

# The work's modules (torch) are imported where they are used, so that --help answers without torch.


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=("ising", "xy"), default="ising")
    parser.add_argument("--L", type=int, default=64, help="linear lattice size (divisible by b^levels)")
    parser.add_argument("--T", type=float, nargs="+", default=None,
                        help="starting temperatures, one trajectory each (default: a fan around Tc or T_KT)")
    parser.add_argument("--J", type=float, default=None, help="Ising coupling (default 1)")
    parser.add_argument("--h", type=float, default=None,
                        help="Ising field (default 0; adds the field coupling to the fit)")
    parser.add_argument("--levels", type=int, default=3, help="number of blockings")
    parser.add_argument("--b", type=int, default=2, help="block size")
    parser.add_argument("--rule", choices=("majority", "decimation"), default=None,
                        help="Ising block rule (default majority)")
    parser.add_argument("--samples", type=int, default=1000, help="recorded samples per temperature")
    parser.add_argument("--thermalize", type=int, default=200)
    parser.add_argument("--sweeps-between", type=int, default=2, help="sweeps between recorded samples")
    parser.add_argument("--algorithm", default=None, help="sampler (default: swendsen-wang; XY: overrelax)")
    parser.add_argument("--couplings", nargs="+", default=None, metavar="OP",
                        help=f"operators of the fitted Hamiltonian; from {', '.join(RG_OPERATORS)}")
    parser.add_argument("--mcrg-even", type=int, default=None,
                        help=f"even MCRG operators (first n of {', '.join(MCRG_EVEN)})")
    parser.add_argument("--mcrg-odd", type=int, default=None,
                        help=f"odd MCRG operators (first n of {', '.join(MCRG_ODD)})")
    parser.add_argument("--mcrg-step", type=int, default=None, help="report y from blocking step n -> n+1 (default 1)")
    parser.add_argument("--blocks", type=int, default=None, help="sample blocks for the error estimates (default 20)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help=f"one of {', '.join(DEVICE_CHOICES)}")
    add_executor_arguments(parser, "starting temperature")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for rgflow.json, CSV and figures")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def _write(args: argparse.Namespace, out: Path, doc: dict, table, figures: list, t0: float) -> dict:
    """``rgflow.json``, the trajectories' ``table`` (:class:`engine.studies.files.Table`) and ``figures``."""
    from ..figures import write_figures
    from ..studies.rgflow import write_rgflow

    doc["seconds"] = time.perf_counter() - t0
    doc["executor"] = {"name": args.executor, "address": args.address}
    written = write_rgflow(out, doc, table, figures, write_figures)
    return {"files": [str(p) for p in written], "seconds": doc["seconds"]}


def _run_ising(args: argparse.Namespace, out: Path, t0: float, remote) -> dict:
    from ..progress import cli_bar
    from ..rg.ising_flow import RGFlowConfig, run_ising_rgflow
    from ..rg.mcrg import default_mcrg_operators
    from ..studies.rgflow import ISING_FAN

    config = RGFlowConfig(
        L=args.L, temperatures=args.T or ISING_FAN, levels=args.levels, n_samples=args.samples, seed=args.seed,
        b=args.b, rule=args.rule, algorithm=args.algorithm or "swendsen-wang", thermalize=args.thermalize,
        sweeps_between=args.sweeps_between, couplings=args.couplings,
        mcrg_operators=default_mcrg_operators(args.mcrg_even, args.mcrg_odd), mcrg_step=args.mcrg_step,
        n_blocks=args.blocks, J=args.J, h=args.h, device=args.device)
    with cli_bar(f"rgflow ising L={args.L}", 1, enabled=not args.no_progress) as bar:
        result = run_ising_rgflow(config, progress=bar, executor=remote)
    doc = result.to_dict()
    files = _write(args, out, doc, result.trajectory_table(), result.figures(), t0)
    return {"mcrg": {k: doc["mcrg"].get(k) for k in ("T", "step", "y_t", "y_h", "distance_from_Kc")},
            "Kc_estimate": doc["Kc_estimate"], "fates": {t["T"]: t["fate"] for t in doc["trajectories"]},
            "notes": result.notes, **files}


def _run_xy(args: argparse.Namespace, out: Path, t0: float, remote) -> dict:
    from ..progress import cli_bar
    from ..rg.kosterlitz import kt_figures, run_xy_rgflow
    from ..rg.sampling import SamplingPlan
    from ..studies.rgflow import XY_FAN, xy_document, xy_table

    plan = SamplingPlan(args.samples, args.thermalize, args.sweeps_between)
    with cli_bar(f"rgflow xy L={args.L}", 1, enabled=not args.no_progress) as bar:
        trajectories = run_xy_rgflow(args.L, args.T or XY_FAN, plan, levels=args.levels, b=args.b, seed=args.seed,
                                     algorithm=args.algorithm or "overrelax", device=args.device, progress=bar,
                                     executor=remote)
    doc = xy_document(trajectories, args.L, args.b)
    table = xy_table(trajectories, args.L, args.b)
    return {"trajectories": doc["trajectories"], **_write(args, out, doc, table, kt_figures(trajectories), t0)}


#: Options of the Ising flow (block rule, fitted Hamiltonian, MCRG) and their defaults; the XY flow takes none.
ISING_OPTIONS = {"J": 1.0, "h": 0.0, "rule": "majority", "couplings": list(RG_COUPLINGS),
                 "mcrg_even": len(MCRG_EVEN), "mcrg_odd": len(MCRG_ODD), "mcrg_step": 1, "blocks": 20}


def _check(args: argparse.Namespace) -> None:
    """Ranges, options that apply to the model, and the memory of the recorded block-spin samples."""
    from ..studies.rgflow import ISING_FAN, XY_FAN

    for name, value, low in (("seed", args.seed, 0), ("L", args.L, 4), ("levels", args.levels, 1), ("b", args.b, 2),
                             ("samples", args.samples, 1), ("thermalize", args.thermalize, 0),
                             ("sweeps-between", args.sweeps_between, 1)):
        validate.integer(name, value, low)
    given = [key for key in ISING_OPTIONS if getattr(args, key) is not None]
    if args.model == "xy" and given:
        raise ParameterError(given[0].replace("_", "-"), "applies to the Ising flow only; the XY flow takes "
                             "--L --T --levels --b --samples --thermalize --sweeps-between --algorithm --seed")
    for key, default in ISING_OPTIONS.items():
        if getattr(args, key) is None:
            setattr(args, key, default)
    validate.numbers("T", args.T, positive=True)
    validate.number("J", args.J)
    validate.number("h", args.h)
    temps = len(args.T or (XY_FAN if args.model == "xy" else ISING_FAN))
    from ..device import resolve_device  # torch: only once the arguments are parsed

    validate.blocked_samples(args.samples, temps, args.L, 4 if args.model == "xy" else 1, resolve_device(args.device))


def run(args: argparse.Namespace) -> int:
    from ..device import configure_threads

    _check(args)
    remote = executor(args, args.device)
    out = args.outputs.folder("out", args.out)
    configure_threads()
    t0 = time.perf_counter()
    summary = (_run_xy if args.model == "xy" else _run_ising)(args, out, t0, remote)
    print(json.dumps(summary, indent=1))
    return 0
