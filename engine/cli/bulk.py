"""``rgviz-batch bulk``: the holographic bulk of a trained neural RG, measured.

Draws exact samples of the checkpoint's target (flow proposals with independent-Metropolis correction,
or HMC in the bulk), maps them to the latent bulk (or, with ``--estimator saddle|saddle-mi``, takes the
correlations from the Gaussian at the minimum of S_eff) and runs :func:`engine.holography.pipeline.run_bulk`:
pair classes of the chosen estimator fitted against hyperbolic and flat distance, the same-level
collapse, same- against cross-level xi, the height-scale scan and the flow's quality. Writes
``DIR/bulk.json``, ``DIR/correlations.npz`` and the figures. ``--tasks K`` splits the sampling into K
independent parts (:mod:`engine.holography.sampling`), which ``--executor ray`` runs on a Ray cluster.
"""

from __future__ import annotations

import argparse
import json

from .. import validate
from ..holography.estimators import ESTIMATORS
from ..names import BULK_METHODS
from .args import add_executor_arguments, executor


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True,
                        help="a checkpoint file from rgviz-batch train, or a shipped one by name (phi4_L16_crit)")
    parser.add_argument("--samples", type=int, default=20000,
                        help="exact samples (with a saddle estimator they only measure the flow's quality and the "
                             "boundary G(r))")
    parser.add_argument("--mcmc", choices=BULK_METHODS, default="auto",
                        help="exact sampler: flow proposals + independent Metropolis, HMC on the latents, or auto "
                             "(HMC when the flow's recorded acceptance is below 0.05)")
    parser.add_argument("--chains", type=int, default=16, help="parallel HMC chains (--mcmc bulk)")
    parser.add_argument("--tasks", type=int, default=1,
                        help="independent parts, each with its own random stream (--seed and its index): "
                             "independent Metropolis runs one chain per part over its share of the samples, HMC "
                             "one group of chains/tasks chains; the numbers depend on --tasks, not on --executor")
    add_executor_arguments(parser, "part (--tasks)")
    parser.add_argument("--estimator", choices=ESTIMATORS, default="connected",
                        help="pair correlation: connected normalised correlation, Gaussian mutual information, "
                             "the raw second moment (a diagnostic), or the connected correlation (saddle) or mutual "
                             "information (saddle-mi) of the Gaussian at the minimum of S_eff, without sampling noise")
    parser.add_argument("--w0", type=float, default=1.0, help="bulk height scale: a level-l node sits at w0 2^l")
    parser.add_argument("--blocks", type=int, default=20,
                        help="jackknife blocks (consecutive windows of the chain; with a saddle estimator also the "
                             "groups of equivalent pairs whose scatter gives the class errors)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, metavar="DIR")
    parser.add_argument("--json", action="store_true", help="also print bulk.json to stdout")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def run(args: argparse.Namespace) -> int:
    from ..device import configure_threads
    from ..figures import write_figures
    from ..holography.pipeline import check_bulk, run_bulk
    from ..holography.sampling import check_parts, choose_method
    from ..io import npz_stamp, write_json, write_npz
    from ..nrg.checkpoint import load_checkpoint
    from ..plots.bulk import bulk_figures
    from ..progress import cli_bar

    validate.integer("seed", args.seed)
    validate.sample_count("samples", args.samples, 100)
    validate.integer("chains", args.chains, 1, args.samples)
    validate.integer("tasks", args.tasks, 1, args.samples // 2)
    remote = executor(args)
    validate.number("w0", args.w0, positive=True)
    validate.integer("blocks", args.blocks, 2, args.samples // 2)
    ckpt = load_checkpoint(args.checkpoint)
    check_bulk(ckpt.flow, args.samples)
    check_parts(choose_method(ckpt, args.mcmc), args.chains, args.tasks)
    out = args.outputs.folder("out", args.out)
    configure_threads()
    with cli_bar(f"bulk {args.mcmc}", args.samples, enabled=not args.no_progress) as bar:
        result = run_bulk(args.checkpoint, args.samples, args.seed, method=args.mcmc, chains=args.chains,
                          tasks=args.tasks, executor=remote, estimator=args.estimator, w0=args.w0,
                          n_blocks=args.blocks, progress=bar)
    doc = {**result.doc, "verdict": result.verdict, "tasks": args.tasks,
           "executor": {"name": args.executor, "address": args.address}}
    write_json(out / "bulk.json", doc, "rgviz-bulk", indent=2)
    an = result.analysis
    write_npz(out / "correlations.npz", {**npz_stamp("rgviz-bulk"), **an.arrays(), "boundary_G": result.samples.boundary_G})
    write_figures(bulk_figures(an, result.samples.boundary_G), out)
    if args.json:
        print(json.dumps(doc))
    return 0
