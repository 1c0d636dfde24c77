"""``rgviz-batch bulk``: the holographic bulk of a trained neural RG, measured.

Draws exact samples of the checkpoint's target (flow proposals with independent-Metropolis
correction, or HMC in the bulk with ``--mcmc bulk``), maps them to the latent bulk, and fits ln|C_ij| of resolved latent pairs against the
hyperbolic distance of their nodes and, on the same pairs, against their flat distance. Writes
``DIR/bulk.json``, ``DIR/correlations.npz`` and the figures.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ..device import configure_threads, make_generator
from ..errors import ParameterError
from ..figures import write_figures
from ..holography.sampling import METHODS, bulk_report, sample_bulk
from ..nrg.checkpoint import load_checkpoint
from ..plots.bulk import bulk_figures
from ..progress import cli_bar

NAME = "bulk"
HELP = "bulk geometry of a trained neural RG: latent correlations against hyperbolic distance"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="a checkpoint from rgviz-batch train or resources/")
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--mcmc", choices=METHODS, default="auto",
                        help="exact sampler: flow proposals + independent Metropolis, HMC on the latents, or auto "
                             "(HMC when the flow's recorded acceptance is below 0.05)")
    parser.add_argument("--chains", type=int, default=16, help="parallel HMC chains (--mcmc bulk)")
    parser.add_argument("--threshold", type=float, default=3.0, help="resolved pairs: |C| > threshold * error")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, metavar="DIR")
    parser.add_argument("--json", action="store_true", help="also print bulk.json to stdout")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def run(args: argparse.Namespace) -> int:
    if args.samples < 100:
        raise ParameterError("samples", f"must be >= 100, got {args.samples}")
    if args.threshold <= 0:
        raise ParameterError("threshold", f"must be > 0, got {args.threshold}")
    if args.chains < 1:
        raise ParameterError("chains", f"must be >= 1, got {args.chains}")
    configure_threads()
    ckpt = load_checkpoint(args.checkpoint)
    with cli_bar(f"bulk {args.mcmc}", args.samples, enabled=not args.no_progress) as bar:
        samples = sample_bulk(ckpt, args.samples, make_generator(args.seed), method=args.mcmc, chains=args.chains,
                              progress=bar)
    analysis, doc = bulk_report(samples, args.threshold)
    doc["checkpoint"] = str(args.checkpoint)
    doc["target"] = {"name": ckpt.target.name, "L": ckpt.target.L, **ckpt.target.params()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bulk.json").write_text(json.dumps(doc, indent=2))
    np.savez_compressed(out / "correlations.npz", corr=analysis.corr, corr_error=analysis.corr_err,
                        coords=analysis.coords, levels=analysis.levels, d_hyperbolic=analysis.d_hyp,
                        d_flat=analysis.d_flat, resolved=analysis.resolved, boundary_G=samples.boundary_G)
    write_figures(bulk_figures(analysis, samples.boundary_G), out)
    if args.json:
        print(json.dumps(doc))
    return 0
