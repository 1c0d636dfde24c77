"""Does the neural RG's bulk look hyperbolic? Every number of the bulk analysis, with errors, and a verdict.

For the shipped critical and disordered phi^4 checkpoints (or the ones given): exact samples (bulk HMC or
independent Metropolis), the flow's quality (independent-Metropolis acceptance, ESS, per-level latent
variance against the prior's 1), then on pair classes of the chosen estimator (``engine.holography``):
(a) the same-level collapse against displacement / 2^level, (b) same- against cross-level xi, (c) R^2
against hyperbolic and flat distance and their gap, (d) the height-scale scan. With ``--estimator saddle``
(or ``saddle-mi``) the correlations come from the Gaussian at the minimum of S_eff (no sampling noise; errors
from the scatter of equivalent pairs) and the samples only measure the flow's quality. The exact free-field
control (no training, no sampling noise) is printed first, as the reference for what the pipeline returns.
Each checkpoint ends with one plain sentence: whether the data support the hyperbolic reading at this
size, and how strongly; below the quality targets it says the flow is too weak for a geometric reading.

Usage: python benchmarks/validate_bulk.py [--checkpoint PATH ...] [--mcmc bulk|independent|auto]
                                          [--samples N] [--estimator connected|mi|raw|saddle|saddle-mi]
                                          [--out benchmarks/results/validate_bulk.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.device import configure_threads
from engine.holography.bulk import analyse_bulk
from engine.holography.control import FreeField, free_field_control
from engine.holography.estimators import ESTIMATORS, SADDLE_FORMS, exact_statistics
from engine.holography.pipeline import run_bulk, verdict
from engine.holography.saddle import find_saddle
from engine.nrg.density import FlowDensity
from engine.resources import FOLDER



def pm(entry: dict | None, key: str, digits: int = 4) -> str:
    """``value +- error`` of ``entry[key]`` and ``entry[key + '_error']`` ("n/a" where absent)."""
    if entry is None or entry.get(key) is None:
        return "n/a"
    error = entry.get(f"{key}_error")
    return f"{entry[key]:.{digits}g}" + ("" if error is None else f" +- {error:.2g}")


def fit_line(name: str, fit: dict | None) -> str:
    if fit is None:
        return f"  {name:<22} too few classes"
    if fit["result"] == "no decay":
        return f"  {name:<22} no decay (R^2 {pm(fit, 'r2')}, {fit['classes']} classes)"
    chi2 = "" if fit["chi2_per_dof"] is None else f"chi^2/dof = {fit['chi2_per_dof']:.3g}, "
    return (f"  {name:<22} xi = {pm(fit, 'xi')}, d0 = {pm(fit, 'd0')}, R^2 = {pm(fit, 'r2')}, {chi2}"
            f"{fit['classes']} classes / {fit['pairs']} pairs")


def print_analysis(doc: dict) -> None:
    print(fit_line("(c) hyperbolic", doc["fit"]))
    print(fit_line("(c) flat", doc["fit_boundary_distance"]))
    gap = doc["r2_gap"]
    print(f"  (c) R^2 gap hyperbolic - flat = {pm({'g': gap['value'], 'g_error': gap['error']}, 'g')}")
    print(fit_line("(b) same level", doc["fit_same_level"]))
    print(fit_line("(b) cross level", doc["fit_cross_level"]))
    diff = doc["xi_difference"]
    if diff is None:
        print("  (b) xi difference: n/a (a fit without decay)")
    else:
        sigma = "" if diff["sigma"] is None else f" = {diff['sigma']:.1f} sigma"
        print(f"  (b) xi same - cross = {pm({'d': diff['value'], 'd_error': diff['error']}, 'd')}{sigma}")
    c = doc["collapse"]
    if "result" in c:
        print(f"  (a) collapse: {c['result']}")
    else:
        print(f"  (a) collapse over levels {c['levels']} ({c['dof']} dof): chi^2/dof = {pm(c, 'quality')}, "
              f"relative spread = {pm(c, 'relative_spread')}")
    w0 = doc["w0"]
    rows = ", ".join(f"{r['w0']:.2g}: {pm(r, 'r2', 3)}" for r in w0["scan"])
    span = lambda pair, fmt: "n/a" if pair is None else f"{pair[0]:{fmt}}-{pair[1]:{fmt}}"  # noqa: E731
    print(f"  (d) w0 scan (w0: R^2 hyperbolic) {rows}; best w0 = {w0['best']}, R^2 range "
          f"{span(w0['r2_range'], '.3f')}, xi range {span(w0['xi_range'], '.3g')}")
    dep = doc["departure"]
    levels = ", ".join(f"{r['level']}: {'n/a' if r['sigma'] is None else format(r['sigma'], '+.1f')}"
                       for r in dep["levels"])
    where = f" from level {dep['first_level']}" if dep["first_level"] is not None else ""
    print(f"  (e) levels against the line of the finer ones (level: gap in sigma) {levels}; {dep['result']}{where}")


def free_field(estimator: str) -> dict:
    """The exact control at L = 16: massive (m^2 = 1) and nearly massless (m^2 = 1e-3). A saddle estimator
    finds the covariance as the inverse Hessian of S_eff (exact for a Gaussian) and takes its errors from the
    pair scatter, as on a checkpoint."""
    out = {}
    for mass2 in (1.0, 1e-3):
        cov, positions, flow = free_field_control(16, mass2)
        if estimator in SADDLE_FORMS:
            stats = find_saddle(FlowDensity(flow), FreeField(16, mass2)).statistics(estimator)
            doc = analyse_bulk(stats, positions, 16, pair_groups=20).to_json()
            source = "saddle point of S_eff (errors: scatter of equivalent pairs)"
        else:
            doc = analyse_bulk(exact_statistics(cov, estimator=estimator), positions, 16).to_json()
            source = "exact covariance (no errors)"
        print(f"free field m^2 = {mass2:g}, L = 16, linear Haar flow, {source}:")
        print_analysis(doc)
        out[f"m2={mass2:g}"] = doc
    return out


def default_checkpoints() -> list[Path]:
    found = [sorted(p for p in FOLDER.glob("phi4*.pt") if tag in p.name) for tag in ("crit", "disord")]
    return [hits[0] for hits in found if hits]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", nargs="+", type=Path, default=None,
                   help="default: the shipped critical and disordered phi^4 checkpoints")
    p.add_argument("--mcmc", choices=("auto", "bulk", "independent"), default="auto")
    p.add_argument("--samples", type=int, default=9600)
    p.add_argument("--chains", type=int, default=16, help="bulk HMC: parallel chains")
    p.add_argument("--estimator", choices=ESTIMATORS, default="connected")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="benchmarks/results/validate_bulk.json")
    args = p.parse_args()
    configure_threads()
    report = {"estimator": args.estimator, "free_field": free_field(args.estimator)}
    for path in args.checkpoint or default_checkpoints():
        run = run_bulk(path, args.samples, args.seed, method=args.mcmc, chains=args.chains, estimator=args.estimator)
        doc = run.doc
        q = doc["flow_quality"]
        variance = ", ".join(f"{lv}: {v:.3g}" for lv, v in q["latent_variance"].items())
        print(f"\n{path.name} ({doc['target']['name']} L = {doc['target']['L']}, t = {doc['target'].get('t')}): "
              f"{doc['mcmc']} sampling, {doc['samples']} samples, sampler acceptance {doc['acceptance']:.3f}")
        print(f"  flow quality: independent-Metropolis acceptance {q['acceptance']:.3g} (target >= "
              f"{q['targets']['acceptance']}), ESS {q['ess']:.3g}, latent variance per level {{{variance}}} "
              f"(prior 1, target within {q['targets']['variance_tolerance']:.0%})")
        saddle = doc.get("saddle")
        if saddle:
            h = saddle["hessian"]
            print(f"  saddle: S_eff = {saddle['s_eff']:.6g} at |z|^2/2 = {saddle['half_z2']:.3g}, |grad| = "
                  f"{saddle['gradient_norm']:.2g}; Hessian eigenvalues {h['smallest']:.3g} .. {h['largest']:.3g}, "
                  f"{len(h['zero_modes_removed'])} zero and {len(h['negative_modes_removed'])} negative modes removed; "
                  f"{'a minimum' if saddle['is_minimum'] else 'NOT a minimum'}; |m| of x* = "
                  f"{saddle['boundary']['abs_m']:.3g}")
        print(f"  errors: {doc['errors']}")
        print_analysis(doc)
        b = doc["boundary_correlation"]
        if b:
            print(f"  boundary G(r): eta = {pm(b, 'eta')} (power-law R^2 {b['r2_power']:.3f}, "
                  f"exponential R^2 {b['r2_exponential']:.3f})")
        doc["verdict"] = verdict(doc)
        print(f"  verdict: {doc['verdict']}")
        report[path.name] = doc
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
