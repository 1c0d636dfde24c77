"""``rgviz-batch train``: train a neural-RG flow on a target action and save a checkpoint.

Reverse KL (the variational free energy F_q = E_q[ln q + S]) with Adam. The JSON reports F_q
and everything else in loss units: beta F, total over the lattice. For the Ising target the exact
-ln Z of its Hubbard-Stratonovich field (from Kaufman's solution) and the relative gap come with it.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from ..device import (
    DEVICE_CHOICES,
    configure_threads,
    device_label,
    make_generator,
    resolve_device,
)
from ..errors import ParameterError
from ..nrg.checkpoint import load_checkpoint, save_checkpoint
from ..nrg.density import SYMMETRIES, FlowDensity
from ..nrg.flow import HierarchicalFlow
from ..nrg.targets import PRESETS, TARGETS, make_target
from ..nrg.train import evaluate, new_history, train_reverse_kl
from ..progress import cli_bar

NAME = "train"
HELP = "train a hierarchical normalizing flow (neural RG) on phi^4 or Ising; prints F_q as JSON"

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _hidden(token: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(w) for w in token.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated layer widths like 10,10,10, got {token!r}") \
            from None
    return widths


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", choices=TARGETS, default=None, help="default ising (or --resume's)")
    parser.add_argument("--L", type=int, default=None, help="linear lattice size, a power of 2 (default 8)")
    parser.add_argument("--T", type=float, default=None, help="Ising temperature (J = 1)")
    parser.add_argument("--a", type=float, default=None, help="Ising HS shift (default 4/T + 0.1)")
    parser.add_argument("--preset", choices=tuple(PRESETS), default=None,
                        help="phi^4 parameter set: critical (t=0.8) or disordered (t=0.3), mu=-2, lam=1")
    parser.add_argument("--t", type=float, default=None, help="phi^4 hopping")
    parser.add_argument("--mu", type=float, default=None, help="phi^4 mass term")
    parser.add_argument("--lam", type=float, default=None, help="phi^4 quartic coupling")
    parser.add_argument("--steps", type=int, default=1000, help="training steps")
    parser.add_argument("--batch", type=int, default=256, help="samples per training step")
    parser.add_argument("--lr", type=float, default=3e-3, help="initial learning rate (cosine decay)")
    parser.add_argument("--clip", type=float, default=10.0, help="gradient-norm clip")
    parser.add_argument("--mass-covering", type=float, default=0.0, metavar="W",
                        help="add W x the importance-weighted forward KL (fattens q's tails)")
    parser.add_argument("--levels", type=int, default=None, help="RG levels (default log2 L)")
    parser.add_argument("--couplings", type=int, default=10, help="affine couplings per bijector block")
    parser.add_argument("--hidden", type=_hidden, default=(10, 10, 10), help="hidden widths, e.g. 10,10,10")
    parser.add_argument("--symmetry", choices=SYMMETRIES, default=None,
                        help="symmetrise q (default: z2 for Ising, u1 for phi^4)")
    parser.add_argument("--resume", default=None, metavar="CKPT", help="continue training this checkpoint")
    parser.add_argument("--eval", type=int, default=4096, metavar="N", help="samples for the final estimates")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help=f"one of {', '.join(DEVICE_CHOICES)}")
    parser.add_argument("--dtype", choices=tuple(DTYPES), default="float32")
    parser.add_argument("--out", default=None, metavar="CKPT.pt", help="write the trained checkpoint here")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def _target(args: argparse.Namespace):
    args.target = args.target or "ising"
    args.L = 8 if args.L is None else args.L
    if args.target == "ising":
        for opt in ("t", "mu", "lam", "preset"):
            if getattr(args, opt) is not None:
                raise ParameterError(opt, "is a phi^4 option; the Ising target takes --T (and --a)")
        return make_target("ising", args.L, T=args.T, a=args.a)
    if args.T is not None or args.a is not None:
        raise ParameterError("T", "is an Ising option; phi^4 takes --t, --mu, --lam or --preset")
    params = dict(PRESETS[args.preset]) if args.preset else {}
    params.update({k: getattr(args, k) for k in ("t", "mu", "lam") if getattr(args, k) is not None})
    return make_target("phi4", args.L, **params)


def run(args: argparse.Namespace) -> int:
    if args.seed < 0:
        raise ParameterError("seed", f"must be >= 0, got {args.seed}")
    configure_threads()
    device, dtype = resolve_device(args.device), DTYPES[args.dtype]
    gen = make_generator(args.seed, device)
    if args.resume:
        ckpt = load_checkpoint(args.resume, target=args.target, L=args.L, device=device, dtype=dtype)
        density, target, history = ckpt.density, ckpt.target, ckpt.history
    else:
        target = _target(args)
        flow = HierarchicalFlow(args.L, target.channels, args.levels, args.couplings, args.hidden)
        density = FlowDensity(flow, args.symmetry or target.symmetry).to(device=device, dtype=dtype)
        history = new_history()
    start = time.perf_counter()
    with cli_bar(f"train {target.name} L={target.L}", args.steps, enabled=not args.no_progress) as bar:
        history = train_reverse_kl(density, target, steps=args.steps, batch=args.batch, gen=gen, lr=args.lr,
                                   clip=args.clip, mass_covering=args.mass_covering, history=history, progress=bar)
    seconds = time.perf_counter() - start
    doc = {"target": target.name, "L": target.L, "params": target.params(),
           "flow": density.flow.hyperparameters(), "symmetry": density.symmetry,
           **evaluate(density, target, args.eval, gen),
           "steps": args.steps, "batch": args.batch, "seed": args.seed, "seconds": seconds,
           "seconds_per_step": seconds / args.steps, "device": device_label(device)}
    if args.out:
        info = {k: doc[k] for k in ("free_energy", "ess", "acceptance", "seed", "seconds", "device")}
        info["command"] = "rgviz-batch train " + " ".join(_replay(args))
        doc["checkpoint"] = str(save_checkpoint(args.out, density, target, history, info))
    if args.json:
        print(json.dumps(doc, allow_nan=False))
    else:
        _print(doc)
    return 0


def _replay(args: argparse.Namespace) -> list[str]:
    """The options of this run, to store with the checkpoint (a resumed run keeps its flow's shape)."""
    keys = ["target", "L", "T", "a", "preset", "t", "mu", "lam", "steps", "batch", "lr", "clip", "mass_covering",
            "resume", "seed", "device", "dtype"]
    if not args.resume:
        keys += ["levels", "couplings", "symmetry", "hidden"]
    out = []
    for key in keys:
        value = getattr(args, key)
        if value is not None:
            value = ",".join(str(h) for h in value) if key == "hidden" else value
            out += [f"--{key.replace('_', '-')}", str(value)]
    return out


def _print(doc: dict) -> None:
    f = doc["free_energy"]
    print(f"{doc['target']} L={doc['L']} {doc['params']}: F_q = {f['mean']:.6g} +- {f['error']:.2g}")
    if "exact_free_energy" in doc:
        print(f"  exact F = {doc['exact_free_energy']:.6g}, relative gap {doc['relative_gap']:.3%}")
    print(f"  ESS {doc['ess']:.3f}, acceptance {doc['acceptance']:.3f}, "
          f"{doc['seconds_per_step']:.3f} s/step on {doc['device']}")
    if "checkpoint" in doc:
        print(f"  saved {doc['checkpoint']}")
