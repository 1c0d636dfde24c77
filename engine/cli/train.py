"""``rgviz-batch train``: train a neural-RG flow on a target action and save a checkpoint.

Reverse KL (the variational free energy F_q = E_q[ln q + S]) with Adam. The JSON reports F_q
and everything else in loss units: beta F, total over the lattice. For the Ising target the exact
-ln Z of its Hubbard-Stratonovich field (from Kaufman's solution) and the relative gap come with it.

Under ``torchrun`` (or with ``--ddp``) every process trains one share of the batch with DistributedDataParallel;
rank 0 writes the checkpoint, the log and the output, in the same format.

Only the arguments live here, free of torch, so that ``--help`` and argument errors answer at once;
:mod:`engine.cli.training` does the work.
"""

from __future__ import annotations

import argparse

from ..names import BIJECTORS, DEVICE_CHOICES, DTYPE_NAMES, FLOW_SYMMETRIES, NRG_PRESETS, NRG_TARGETS
from .args import layer_widths


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", choices=NRG_TARGETS, default=None, help="default ising (or --resume's)")
    parser.add_argument("--L", type=int, default=None, help="linear lattice size, a power of 2 (default 8)")
    parser.add_argument("--T", type=float, default=None, help="Ising temperature (J = 1)")
    parser.add_argument("--a", type=float, default=None, help="Ising HS shift (default 4/T + 0.1)")
    parser.add_argument("--preset", choices=NRG_PRESETS, default=None,
                        help="phi^4 parameter set: critical (t=0.44, near KT) or disordered (t=0.3), mu=-2, lam=1")
    parser.add_argument("--t", type=float, default=None, help="phi^4 hopping")
    parser.add_argument("--mu", type=float, default=None, help="phi^4 mass term")
    parser.add_argument("--lam", type=float, default=None, help="phi^4 quartic coupling")
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps of a new cosine schedule (default 1000; with --resume: continue "
                             "the checkpoint's unfinished schedule)")
    parser.add_argument("--batch", type=int, default=None, help="samples per training step (default 256)")
    parser.add_argument("--lr", type=float, default=None, help="initial learning rate, cosine decay (default 3e-3)")
    parser.add_argument("--clip", type=float, default=None, help="gradient-norm clip (default 10)")
    parser.add_argument("--mass-covering", type=float, default=None, metavar="W",
                        help="add W x the importance-weighted forward KL (fattens q's tails; default 0)")
    parser.add_argument("--save-every", type=int, default=25, metavar="K",
                        help="with --out: rewrite the checkpoint every K steps, resumable (0: only at the end)")
    parser.add_argument("--log", default=None, metavar="FILE.csv",
                        help="append every step's record (loss, ESS, acceptance, lr, CPU seconds) to this CSV")
    parser.add_argument("--levels", type=int, default=None, help="RG levels (default log2 L)")
    parser.add_argument("--couplings", type=int, default=None, help="affine couplings per bijector block (default 10)")
    parser.add_argument("--hidden", type=layer_widths, default=None, help="hidden widths (default 10,10,10)")
    parser.add_argument("--bijector", choices=BIJECTORS, default=None,
                        help="bijector blocks: RealNVP couplings (default) or a neural ODE (RK4; Hutchinson trace "
                             "estimator while training, exact trace for the final estimates)")
    parser.add_argument("--ode-steps", type=int, default=None, help="RK4 steps per ODE block (default 4)")
    parser.add_argument("--symmetry", choices=FLOW_SYMMETRIES, default=None,
                        help="symmetrise q (default: z2 for Ising, u1 for phi^4)")
    parser.add_argument("--resume", default=None, metavar="CKPT",
                        help="continue training this checkpoint (a file, or a shipped one by name)")
    parser.add_argument("--eval", type=int, default=4096, metavar="N", help="samples for the final estimates")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help=f"one of {', '.join(DEVICE_CHOICES)}")
    parser.add_argument("--dtype", choices=DTYPE_NAMES, default="float32")
    parser.add_argument("--out", default=None, metavar="CKPT.pt", help="write the trained checkpoint here")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument("--ddp", action="store_true",
                        help="one of the processes torchrun starts (implied under torchrun): each trains "
                             "--batch / N samples per step, gradients averaged (gloo on the CPU, NCCL on GPUs)")


def run(args: argparse.Namespace) -> int:
    from .training import run as train

    return train(args)
