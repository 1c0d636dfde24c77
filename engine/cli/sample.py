"""``rgviz-batch sample``: exact sampling with a trained flow checkpoint; observables as JSON.

``--mcmc independent`` (Metropolis with flow proposals), ``bulk`` (HMC on the latent variables)
or ``physical`` (HMC on the field itself, the baseline). Errors include the integrated
autocorrelation time; ``tau_int`` and ``cost_per_independent_sample`` compare methods at equal
cost. For the Ising target the energy is the Ising energy per site of spins drawn given the field,
and the exact (Kaufman) value is printed beside it.
"""

from __future__ import annotations

import argparse
import json

from .. import validate
from ..errors import ParameterError
from ..names import DEVICE_CHOICES, SAMPLE_METHODS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, metavar="CKPT",
                        help="a checkpoint file, or a shipped one by name (phi4_L8_crit, phi4_L16_crit, ...)")
    parser.add_argument("--n", type=int, default=10000, help="samples in total (over all chains)")
    parser.add_argument("--mcmc", choices=SAMPLE_METHODS, default="independent")
    parser.add_argument("--chains", type=int, default=None, help="parallel HMC chains (bulk, physical; default 16)")
    parser.add_argument("--leapfrog", type=int, default=None,
                        help="leapfrog steps per HMC trajectory (bulk, physical; default 10)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help=f"one of {', '.join(DEVICE_CHOICES)}")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def _exact(target) -> dict:
    """Exact values where known (Ising: Kaufman's energy per site on the L x L torus)."""
    if target.name != "ising":
        return {}
    try:
        from ..exact import kaufman_energy
    except ImportError:
        return {}
    return {"energy": float(kaufman_energy(target.L, target.T))}


#: HMC options and their defaults; independent Metropolis takes neither.
HMC_OPTIONS = {"chains": 16, "leapfrog": 10}


def _check(args: argparse.Namespace) -> None:
    validate.integer("seed", args.seed)
    validate.sample_count("n", args.n)
    for name, default in HMC_OPTIONS.items():
        if getattr(args, name) is None:
            setattr(args, name, default)
        elif args.mcmc == "independent":
            raise ParameterError(name, "applies to --mcmc bulk and physical only (HMC chains)")
        validate.integer(name, getattr(args, name), 1)
    if args.mcmc != "independent" and args.chains > args.n:
        raise ParameterError("chains", f"must be <= --n ({args.n}): every chain gives at least one sample")


def run(args: argparse.Namespace) -> int:
    from ..device import configure_threads, device_label, make_generator, resolve_device
    from ..nrg.checkpoint import load_checkpoint, summary
    from ..nrg.mcmc import run_chain
    from ..progress import cli_bar

    _check(args)
    configure_threads()
    device = resolve_device(args.device)
    ckpt = load_checkpoint(args.checkpoint, device=device)
    # independent Metropolis keeps every draw and the chain's copy of them; HMC keeps only observables
    copies = 2 if args.mcmc == "independent" else 0
    validate.flow_samples("n", args.n, ckpt.flow.L, ckpt.flow.channels, copies, device)
    gen = make_generator(args.seed, device)
    with cli_bar(f"sample {args.mcmc}", args.n, enabled=not args.no_progress) as bar:
        result = run_chain(ckpt.density, ckpt.target, args.mcmc, args.n, gen, chains=args.chains,
                           n_leapfrog=args.leapfrog, progress=bar)
    doc = {"checkpoint": summary(ckpt), **result, "exact": _exact(ckpt.target), "seed": args.seed,
           "device": device_label(device)}
    if args.json:
        print(json.dumps(doc, allow_nan=False))
    else:
        _print(doc)
    return 0


def _print(doc: dict) -> None:
    print(f"{doc['method']} sampling of {doc['checkpoint']['target']} L={doc['checkpoint']['L']}: "
          f"acceptance {doc['acceptance']:.3f}, tau_int(|m|) {doc['tau_int']}, {doc['seconds']:.1f} s")
    for name, o in doc["observables"].items():
        exact = doc["exact"].get(name)
        print(f"  {name:8s} {o['mean']:.6g} +- {o['error']:.2g}" + (f"   (exact {exact:.6g})" if exact else ""))
