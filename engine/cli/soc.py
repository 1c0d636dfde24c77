"""``rgviz-batch soc``: self-organised criticality of a sandpile (BTW or Manna) at several L.

Runs :func:`engine.studies.soc.run_soc` (the Sandpile panel's study) and prints a short summary, or with
``--json`` the whole analysis as JSON: exponents from fits of the log-binned P(s), P(a), P(T) and from the
moment analysis across L (D, tau), the mean avalanche size against its exact value, the mean height, the
activity spectrum, each with the literature's reference and spread. ``--out DIR`` also writes
``soc.json``, ``distributions.csv``, ``avalanches.npz`` and the figures.
"""

from __future__ import annotations

import argparse
import json
import time

from ..names import SOC_MODELS


def sizes(token: str) -> list[int]:
    """``32,64`` or ``32``: lattice sizes separated by commas."""
    try:
        return [int(t) for t in token.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas, got {token!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=SOC_MODELS, default="btw",
                        help="btw: Bak-Tang-Wiesenfeld (threshold 4); manna: stochastic, threshold 2")
    parser.add_argument("--L", type=sizes, nargs="+", default=[[16, 32, 64]],
                        help="lattice sizes, e.g. 32,64 or 32 64 (two or more for the moment analysis)")
    parser.add_argument("--grains", type=int, default=20_000, help="grains dropped (avalanches recorded) per size")
    parser.add_argument("--warmup", type=int, default=None,
                        help="grains per pile dropped before recording (default: L^2)")
    parser.add_argument("--piles", type=int, default=16, help="independent piles per size, relaxed together")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first size (size k uses seed + k)")
    parser.add_argument("--json", action="store_true", help="print the whole analysis as JSON")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="also write soc.json, distributions.csv, avalanches.npz and the figures")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def run(args: argparse.Namespace) -> int:
    from ..figures import write_figures
    from ..plots.soc import soc_figures
    from ..progress import cli_bar
    from ..studies.soc import SocConfig, analyse, finite, run_soc, write_soc

    config = SocConfig(args.model, tuple(L for group in args.L for L in group), args.grains, args.warmup,
                       args.piles, args.seed)
    config.validate()
    out = None if args.out is None else args.outputs.folder("out", args.out)
    t0 = time.perf_counter()
    with cli_bar("soc", 1, enabled=not args.no_progress) as bar:
        result = run_soc(config, progress=bar)
    analysis = analyse(result)
    extra = {"elapsed_s": time.perf_counter() - t0}
    if out is not None:
        write_soc(out, result, analysis, soc_figures(analysis), write_figures, extra)
    if args.json:
        print(json.dumps(finite({"config": config.to_dict(), **analysis.to_dict(), **extra}), allow_nan=False))
    else:
        for label, value, error, reference in analysis.estimate_rows():
            ref = "" if reference is None else f"   (reference {reference:.4g})"
            print(f"{label}: {value:.4g} +- {error:.2g}{ref}")
    return 0
