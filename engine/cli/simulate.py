"""``rgviz-batch simulate``: one Monte Carlo run (a batch of replicas) and its estimates as JSON.

Several values of a parameter (``--T 2.2 2.3 2.4``, or ``--t`` for phi^4) run as one batch, one
replica each. ``--out run.npz`` saves the whole session (time series, final lattices, generator
state), which ``engine.session.Simulation.load`` reads back and can continue. Parameters are echoed as given
(the model holds them as float32). torch is imported in ``run`` only, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import json
import time

from .. import validate
from ..errors import ParameterError
from ..names import DEVICE_CHOICES, MODEL_NAMES

#: command-line option -> model keyword, for the physical parameters (each takes one or more values)
PARAMETERS = {"T": "T", "J": "J", "h": "h", "t": "t", "mu": "mu", "lam": "lam"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=MODEL_NAMES, default="ising")
    parser.add_argument("--L", type=int, default=16, help="linear lattice size (even, >= 4)")
    for opt in PARAMETERS:
        parser.add_argument(f"--{opt}", type=float, nargs="+", default=None, metavar=opt.upper(),
                            help=f"{opt}: one value, or one per replica")
    parser.add_argument("--bond-disorder", type=float, default=None, metavar="P",
                        help="Ising: probability that a bond is antiferromagnetic")
    parser.add_argument("--algorithm", default=None, help="update algorithm (default: the model's first)")
    parser.add_argument("--sweeps", type=int, default=1000, help="measured sweeps")
    parser.add_argument("--thermalize", type=int, default=200, help="sweeps before measuring")
    parser.add_argument("--measure-every", type=int, default=1, help="sweeps between measurements")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", choices=("hot", "cold"), default="hot")
    parser.add_argument("--device", default="auto", help=f"one of {', '.join(DEVICE_CHOICES)}")
    parser.add_argument("--json", action="store_true", help="print one JSON document (default: a table)")
    parser.add_argument("--out", default=None, metavar="FILE.npz", help="save the session (series, lattices)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def _model_params(args: argparse.Namespace) -> dict:
    from ..session import model_options

    allowed = model_options(args.model)
    params = {}
    for opt, key in PARAMETERS.items():
        value = getattr(args, opt)
        if value is None:
            continue
        if key not in allowed:
            raise ParameterError(opt, f"is not a parameter of the {args.model} model; "
                                 f"allowed: {', '.join(k for k in PARAMETERS if k in allowed)}")
        params[key] = value if len(value) > 1 else value[0]
    if args.bond_disorder is not None:
        if "bond_disorder" not in allowed:
            raise ParameterError("bond-disorder", f"only the Ising model has bond disorder, not {args.model}")
        params["bond_disorder"] = args.bond_disorder
    return params


def _check(args: argparse.Namespace, device) -> None:
    """Ranges, finiteness and the memory the run needs on ``device``, before anything is built."""
    for name, value, low in (("L", args.L, 4), ("sweeps", args.sweeps, 1), ("thermalize", args.thermalize, 0),
                             ("measure-every", args.measure_every, 1), ("seed", args.seed, 0)):
        validate.integer(name, value, low)
    if args.sweeps < args.measure_every:
        raise ParameterError("sweeps", f"must be >= --measure-every ({args.measure_every}) to measure anything")
    for opt in PARAMETERS:
        validate.numbers(opt, getattr(args, opt))
    if args.bond_disorder is not None:
        validate.number("bond-disorder", args.bond_disorder, 0.0, 1.0)
    replicas = max([len(getattr(args, opt)) for opt in PARAMETERS if getattr(args, opt)], default=1)
    validate.lattice_run(replicas, args.L, args.sweeps // args.measure_every, 2 if args.model == "phi4" else 1,
                         device)


def run(args: argparse.Namespace) -> int:
    from ..device import configure_threads, resolve_device
    from ..progress import cli_bar
    from ..session import Simulation

    _check(args, resolve_device(args.device))
    params = _model_params(args)
    if args.out:
        args.outputs.file("out", args.out)
    t0 = time.perf_counter()
    configure_threads()
    sim = Simulation(args.model, args.L, args.algorithm, seed=args.seed, device=args.device,
                     start=args.start, **params)
    total = args.thermalize + args.sweeps
    with cli_bar(f"{args.model} L={args.L}", total, enabled=not args.no_progress) as bar:
        sim.thermalize(args.thermalize, progress=lambda done, _: bar(done, total))
        sim.step(args.sweeps, args.measure_every, progress=lambda done, _: bar(args.thermalize + done, total))
    if args.out:
        sim.save(args.out)
    doc = _document(sim, params, time.perf_counter() - t0)
    if args.json:
        print(json.dumps(doc, allow_nan=False))
    else:
        _print_table(doc)
    return 0


def _document(sim, given: dict, elapsed: float) -> dict:
    """The JSON document; parameters in ``given`` (one value, or one per replica) are echoed as typed."""
    from ..device import device_label

    estimates = sim.estimates()
    params = sim.model.params_dict()
    flips = sim.timing["flips_per_s"]
    results = []
    for j in range(sim.B):
        replica_params = {k: params[k][j if len(params[k]) > 1 else 0] for k in sim.model.param_names}
        replica_params.update({k: v[j] if isinstance(v, list) else v for k, v in given.items() if k in replica_params})
        observables = {name: est.as_dict(j) for name, est in estimates.items()}
        results.append({
            "T": replica_params.get("T"),
            "params": replica_params,
            "observables": observables,
            "acceptance": observables.get("acceptance", {}).get("mean"),
            "cluster_size": observables.get("cluster_size", {}).get("mean"),
            "flips_per_second": flips / sim.B,
        })
    return {"model": sim.model_name, "L": sim.L, "algorithm": sim.algorithm, "seed": sim.seed,
            "device": device_label(sim.device), "sweeps": sim.sweep, "results": results,
            "flips_per_second": flips, "elapsed_s": elapsed}


def _print_table(doc: dict) -> None:
    names = ("energy", "specific_heat", "abs_magnetization", "susceptibility", "binder")
    print(f"{doc['model']} L={doc['L']} {doc['algorithm']} seed={doc['seed']} on {doc['device']}, "
          f"{doc['elapsed_s']:.1f} s")
    print("  ".join(["params".ljust(24)] + [n[:14].rjust(22) for n in names]))
    for res in doc["results"]:
        label = " ".join(f"{k}={v:.4g}" for k, v in res["params"].items())
        cells = [_cell(res["observables"][n]).rjust(22) for n in names]
        print("  ".join([label[:24].ljust(24)] + cells))


def _cell(o: dict) -> str:
    if o["mean"] is None:
        return "-"
    return f"{o['mean']:.5g}" + (f" +- {o['error']:.2g}" if o["error"] is not None else "")
