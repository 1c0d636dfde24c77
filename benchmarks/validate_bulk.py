"""Does the neural RG's bulk look hyperbolic? (issue: holographic bulk geometry)

For the shipped critical and disordered phi^4 checkpoints: exact samples (bulk HMC by default,
or independent Metropolis), latent correlations, and the fit of ln|C_ij| against the hyperbolic
distance of the nodes and, on the same resolved pairs, against their flat distance. Prints both
R^2 (block-jackknife errors) and their difference, the fitted xi and d0 (with errors) for each
checkpoint, and a plain verdict.

Usage: python benchmarks/validate_bulk.py [--mcmc bulk|independent] [--samples N] [--chains C]
                                          [--out benchmarks/results/validate_bulk.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.device import configure_threads, make_generator
from engine.holography.sampling import bulk_report, sample_bulk
from engine.nrg.checkpoint import load_checkpoint

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
#: below this independent-Metropolis acceptance the chain holds too few distinct states to trust
MIN_ACCEPTANCE = 0.05
#: a fit that explains less than this of the variance of ln|C| supports no geometry
MIN_R2 = 0.5


def find(tag: str) -> Path:
    hits = sorted(p for p in RESOURCES.glob("phi4*.pt") if tag in p.name)
    if not hits:
        raise SystemExit(f"no shipped phi4 checkpoint with {tag!r} in its name under {RESOURCES}")
    return hits[0]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mcmc", choices=("bulk", "independent"), default="bulk")
    p.add_argument("--samples", type=int, default=None, help="default: 9600 (bulk), 40000 (independent)")
    p.add_argument("--chains", type=int, default=16, help="bulk: parallel HMC chains")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="benchmarks/results/validate_bulk.json")
    args = p.parse_args()
    configure_threads()
    report = {}
    for tag in ("crit", "disord"):
        path = find(tag)
        ckpt = load_checkpoint(path)
        n = args.samples or (9600 if args.mcmc == "bulk" else 40000)
        samples = sample_bulk(ckpt, n, make_generator(args.seed), method=args.mcmc, chains=args.chains)
        _, doc = bulk_report(samples)
        doc["checkpoint"] = path.name
        report[tag] = doc
        h, f = doc["fit"], doc["fit_boundary_distance"]
        gap = doc["r2_gap"]
        print(f"{path.name}: {args.mcmc} sampling, acceptance {doc['acceptance']:.3f}, {doc['samples']} samples, "
              f"{doc['pairs_used']}/{doc['pairs_total']} pairs resolved")
        print(f"  hyperbolic: xi = {h['xi']:.3f} +- {h['xi_error']:.3f}, d0 = {h['d0']:.3f} +- {h['d0_error']:.3f}, "
              f"R^2 = {h['r2']:.4f} +- {h['r2_error']:.4f}")
        print(f"  flat:       xi = {f['xi']:.3f} +- {f['xi_error']:.3f}, R^2 = {f['r2']:.4f} +- {f['r2_error']:.4f}")
        print(f"  R^2 hyperbolic - flat = {gap['value']:.4f} +- {gap['error']:.4f}")
        b = doc["boundary_correlation"]
        if b:
            print(f"  boundary G(r): power law eta = {b['eta']:.3f} +- {b['eta_error']:.3f} (R^2 {b['r2_power']:.3f}),"
                  f" exponential R^2 {b['r2_exponential']:.3f}")
    crit, dis = report["crit"], report["disord"]
    healthy = crit["acceptance"] >= MIN_ACCEPTANCE
    better = crit["r2_gap"]["value"] > 2 * crit["r2_gap"]["error"]
    supports = healthy and crit["fit"]["r2"] >= MIN_R2 and better
    verdict = (f"critical: hyperbolic R^2 {crit['fit']['r2']:.3f} +- {crit['fit']['r2_error']:.3f} vs flat "
               f"{crit['fit_boundary_distance']['r2']:.3f} (acceptance {crit['acceptance']:.3f}); disordered: "
               f"hyperbolic R^2 {dis['fit']['r2']:.3f} +- {dis['fit']['r2_error']:.3f} vs flat "
               f"{dis['fit_boundary_distance']['r2']:.3f} (acceptance {dis['acceptance']:.3f}). ")
    if supports:
        verdict += "The hyperbolic distance explains the critical bulk correlations, and better than the flat one."
    elif not healthy:
        verdict += (f"The data do NOT support the hyperbolic claim: the sampler's acceptance is below "
                    f"{MIN_ACCEPTANCE}, so the samples are a handful of distinct configurations and the "
                    f"correlations are not resolved; the checkpoint needs more training first.")
    else:
        verdict += (f"The data do NOT support the hyperbolic claim: the hyperbolic fit explains too little "
                    f"(R^2 < {MIN_R2}) or not more than the flat one by two standard errors.")
    report["verdict"] = verdict
    print(verdict)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
