"""``rgviz-batch sample``: exact sampling with a trained flow checkpoint; observables as JSON.

``--mcmc independent`` (Metropolis with flow proposals), ``bulk`` (HMC on the latent variables)
or ``physical`` (HMC on the field itself, the baseline), each as ``--chains`` parallel chains that
discard ``--burn-in`` steps first. Errors are the larger of the within-chain error (with the
integrated autocorrelation time) and the error from the scatter of the chain means; chains whose
split R-hat or accepted moves say they have not mixed are reported as not converged, in the JSON
and in one warning line on stderr. ``tau_int`` and ``cost_per_independent_sample`` compare methods
at equal cost. For the Ising target the energy is the Ising energy per site of spins drawn given the
field, and the exact (Kaufman) value is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import sys

from .. import validate
from ..errors import ParameterError
from ..names import DEVICE_CHOICES, SAMPLE_BURN_IN, SAMPLE_METHODS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, metavar="CKPT",
                        help="a checkpoint file, or a shipped one by name (phi4_L8_crit, phi4_L16_crit, ...)")
    parser.add_argument("--n", type=int, default=10000, help="samples in total (over all chains)")
    parser.add_argument("--mcmc", choices=SAMPLE_METHODS, default="independent")
    parser.add_argument("--chains", type=int, default=16,
                        help="parallel chains (every method; default 16): their disagreement enters the error "
                             "and R-hat")
    parser.add_argument("--burn-in", type=int, default=SAMPLE_BURN_IN, metavar="N",
                        help=f"steps per chain discarded before measuring (default {SAMPLE_BURN_IN}; 0 allowed); HMC "
                             "tunes its step size during these trajectories, so with 0 it keeps 0.05")
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


#: leapfrog steps per HMC trajectory by default; independent Metropolis takes none.
LEAPFROG = 10


def _check(args: argparse.Namespace) -> None:
    validate.integer("seed", args.seed)
    validate.sample_count("n", args.n)
    validate.integer("chains", args.chains, 1)
    validate.integer("burn-in", args.burn_in, 0)
    if args.leapfrog is None:
        args.leapfrog = LEAPFROG
    elif args.mcmc == "independent":
        raise ParameterError("leapfrog", "applies to --mcmc bulk and physical only (HMC trajectories)")
    validate.integer("leapfrog", args.leapfrog, 1)
    if args.chains > args.n:
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
    # independent Metropolis keeps every draw, burn-in included, and the chains' copy of them; HMC keeps only
    # observables
    copies = 2 if args.mcmc == "independent" else 0
    draws = args.n + args.burn_in * args.chains
    validate.flow_samples("n", draws, ckpt.flow.L, ckpt.flow.channels, copies, device)
    gen = make_generator(args.seed, device)
    with cli_bar(f"sample {args.mcmc}", draws, enabled=not args.no_progress) as bar:
        result = run_chain(ckpt.density, ckpt.target, args.mcmc, args.n, gen, chains=args.chains,
                           burn=args.burn_in, n_leapfrog=args.leapfrog, progress=bar)
    if result["warning"]:
        print(f"rgviz-batch: warning: sample: {result['warning']}", file=sys.stderr)
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
        rhat = "n/a" if o["rhat"] is None else f"{o['rhat']:.3f}"
        print(f"  {name:8s} {o['mean']:.6g} +- {o['error']:.2g}  R-hat {rhat}"
              + (f"   (exact {exact:.6g})" if exact else ""))
    if doc["warning"]:
        print(f"  {doc['warning']}")
