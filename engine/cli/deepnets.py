"""``rgviz-batch deepnets``: critical initialisation of deep networks, in three parts.

- ``phase``: the mean-field phase diagram of a tanh or ReLU network over a (sigma_w^2, sigma_b^2) grid: q*, c*,
  chi_1, xi_q, xi_c, the order-to-chaos line chi_1 = 1, and a cut at ``--cut-sb2``.
- ``measure``: q^l and c^l on random torch networks (``--width``, ``--depth``, ``--draws`` networks with
  ``--pairs`` input pairs each) beside the mean-field iteration, and xi_c fitted to the decay of c^l against
  the theory's.
- ``train``: tanh networks on scikit-learn's digits, test accuracy after ``--steps`` SGD steps against depth and
  sigma_w^2, with the line depth = 6 xi_c.

Each prints its JSON; ``--out DIR`` also writes
``deepnets.json``, ``<part>.csv``, ``deepnets.npz`` and the figures.
"""

from __future__ import annotations

import argparse
import json
import time

from ..names import DEEPNET_ACTIVATIONS, DEEPNET_PARTS, TRAIN_DEPTHS
from .args import flatten, value_range


def grid_range(token: str) -> tuple[float, float, int]:
    """``a:b:n`` (n points from a to b) or one number (a grid of one point)."""
    values = value_range(token)
    return (values[0], values[-1], len(values))


def _common(parser: argparse.ArgumentParser, seeded: bool = True) -> None:
    if seeded:
        parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--out", default=None, metavar="DIR", help="also write deepnets.json, a CSV, an NPZ, figures")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parts = parser.add_subparsers(dest="part", required=True, metavar="{" + ",".join(DEEPNET_PARTS) + "}")
    phase = parts.add_parser("phase", help="mean-field phase diagram: q*, c*, chi_1, xi_q, xi_c, order-to-chaos line")
    phase.add_argument("--activation", choices=DEEPNET_ACTIVATIONS, default="tanh", help="the nonlinearity phi")
    phase.add_argument("--sw2", type=grid_range, default=(0.5, 4.0, 50), metavar="A:B:N",
                       help="sigma_w^2 grid: N points from A to B")
    phase.add_argument("--sb2", type=grid_range, default=(0.0, 0.3, 31), metavar="A:B:N",
                       help="sigma_b^2 grid: N points from A to B")
    phase.add_argument("--cut-sb2", type=float, default=0.05, help="sigma_b^2 of the cut (q*, c*, chi_1, xi)")
    _common(phase, seeded=False)  # the mean-field theory draws no random numbers

    measure = parts.add_parser("measure", help="q^l, c^l and xi_c measured on random networks against theory")
    measure.add_argument("--activation", choices=DEEPNET_ACTIVATIONS, default="tanh", help="the nonlinearity phi")
    measure.add_argument("--sw2", type=value_range, nargs="+", default=[[1.0, 1.5, 2.5, 3.0]],
                         help="sigma_w^2 values and/or ranges a:b:n")
    measure.add_argument("--sb2", type=float, default=0.05, help="sigma_b^2")
    measure.add_argument("--width", type=int, default=1000, help="units per layer N")
    measure.add_argument("--depth", type=int, default=50, help="layers")
    measure.add_argument("--draws", type=int, default=8, help="independent networks (errors are over these)")
    measure.add_argument("--pairs", type=int, default=16, help="input pairs per network")
    measure.add_argument("--q0", type=float, default=1.0, help="length of the inputs' pre-activations")
    measure.add_argument("--c0", type=float, default=None, help="correlation of each input pair (default: c* -+ 0.2)")
    _common(measure)

    train = parts.add_parser("train", help="trainability on the digits: accuracy against depth and sigma_w^2")
    train.add_argument("--depths", type=int, nargs="+", default=list(TRAIN_DEPTHS), help="hidden layers")
    train.add_argument("--sw2", type=value_range, nargs="+", default=None,
                       help="sigma_w^2 values and/or ranges a:b:n (default: 11 values from 0.5 to 4)")
    train.add_argument("--sb2", type=float, default=0.05, help="sigma_b^2")
    train.add_argument("--width", type=int, default=64, help="units per hidden layer")
    train.add_argument("--steps", type=int, default=300, help="SGD steps per network")
    train.add_argument("--batch", type=int, default=64, help="minibatch size")
    train.add_argument("--lr", type=float, default=0.05, help="SGD learning rate")
    train.add_argument("--test-fraction", type=float, default=0.25, help="fraction of the digits held out")
    train.add_argument("--seeds", type=int, default=1, help="repetitions (seed, seed + 1, ...): errors over these")
    _common(train)


def run(args: argparse.Namespace) -> int:
    from ..deepnets.trainability import TrainabilityConfig, run_trainability
    from ..device import configure_threads
    from ..figures import write_figures
    from ..plots import deepnets as plots
    from ..progress import cli_bar
    from ..studies import deepnets as study

    if args.part == "phase":
        config = study.PhaseConfig(args.activation, args.sw2, args.sb2, args.cut_sb2)
    elif args.part == "measure":
        config = study.MeasureConfig(args.activation, tuple(flatten(args.sw2)), args.sb2, args.width, args.depth,
                                     args.draws, args.pairs, args.q0, args.c0, args.seed)
    else:
        sw2 = TrainabilityConfig.sw2 if args.sw2 is None else tuple(flatten(args.sw2))
        config = TrainabilityConfig(tuple(args.depths), sw2, args.sb2, args.width, args.steps,
                                    args.batch, args.lr, args.test_fraction, args.seeds, args.seed)
    (study.validate_trainability if args.part == "train" else type(config).validate)(config)
    out = None if args.out is None else args.outputs.folder("out", args.out)
    configure_threads()
    t0 = time.perf_counter()
    with cli_bar(f"deepnets {args.part}", 1, enabled=not args.no_progress) as bar:
        if args.part == "phase":
            result = study.run_phase(config)
            doc, table, arrays = result.to_dict(), result.table(), result.arrays()
            figures = plots.phase_figures(result, float(result.cut_critical_sw2))
        elif args.part == "measure":
            result = study.run_measurement(config, progress=bar)
            doc, table, arrays = result.to_dict(), result.table(), result.arrays()
            figures = plots.measurement_figures(result)
        else:
            result = run_trainability(config, progress=bar)
            doc, table, arrays = (study.trainability_dict(result), study.trainability_table(result),
                                  study.trainability_arrays(result))
            figures = [plots.trainability_figure(result)]
    doc = {**doc, "elapsed_s": time.perf_counter() - t0}
    if out is not None:
        study.write_deepnets(out, doc, table, arrays, figures, write_figures)
    print(json.dumps(doc))
    return 0
