"""Are the quoted errors honest? Pulls and seed-to-seed scatter against the quoted errors, over many seeds.

1. ``c``: Ising sweeps (five T in [2, 2.6]) against Kaufman's exact finite-lattice values: per T the rms pull of
   C / N and E / N, the mean pull, C's relative bias, the seed scatter of C over its rms quoted error, and the
   tails of C's pulls on either side (C's error scales with C, so its low tail is heavy in short runs).
2. ``xi``: xi_c of random tanh networks (sigma_b^2 = 0.05): the mean over seeds against the asymptotic mean-field
   xi_c and the same fit on the mean-field curve, and the seed scatter over the rms quoted (jackknife) error.

Usage: python benchmarks/validate_errors.py c [--L 8] [--sweeps 200] [--thermalize 50] [--seeds 200]
       [--algorithm swendsen-wang]; python benchmarks/validate_errors.py xi [--width 200] [--depth 50] [--draws 8]
       [--sw2 1.5] [--seeds 100]. Prints a table.
"""

from __future__ import annotations

import argparse

import numpy as np

from engine.deepnets.random_nets import propagate
from engine.device import configure_threads
from engine.exact import kaufman_energy, kaufman_specific_heat
from engine.sweep import SweepConfig, SweepRunner

TEMPERATURES = (2.0, 2.2, 2.3, 2.4, 2.6)


def rms(x, axis=None):
    return np.sqrt(np.mean(np.square(x), axis=axis))


def specific_heat(args) -> None:
    mean, error, pull_e = [], [], []
    for seed in range(args.seeds):
        config = SweepConfig("ising", (args.L,), TEMPERATURES, args.algorithm, args.sweeps, args.thermalize,
                             1000 + seed, "cpu")
        size = SweepRunner(config).run().sizes[args.L]
        c, e = size.estimates["specific_heat"], size.estimates["energy"]
        mean.append(c.mean)
        error.append(c.error)
        pull_e.append((e.mean - kaufman_energy(args.L, size.T)) / e.error)
    mean, error = np.array(mean), np.array(error)
    exact = kaufman_specific_heat(args.L, np.array(TEMPERATURES))
    pull = (mean - exact) / error
    print(f"Ising L = {args.L}, {args.algorithm}, {args.sweeps} sweeps after {args.thermalize}, {args.seeds} seeds")
    print(f"{'T':>6} {'rms pull C':>11} {'mean pull':>10} {'C bias':>16} {'scatter/rms err':>16} {'rms pull E':>11}")
    for j, T in enumerate(TEMPERATURES):
        bias, bias_err = mean[:, j].mean() / exact[j] - 1, mean[:, j].std(ddof=1) / np.sqrt(args.seeds) / exact[j]
        print(f"{T:6.2f} {rms(pull[:, j]):11.2f} {pull[:, j].mean():10.2f} {bias:+8.3f} +- {bias_err:5.3f}"
              f" {mean[:, j].std(ddof=1) / rms(error[:, j]):16.2f} {rms(np.array(pull_e)[:, j]):11.2f}")
    tails = "  ".join(f"<-{k:g}: {np.mean(pull < -k):.4f}  >+{k:g}: {np.mean(pull > k):.4f}" for k in (3, 4, 5))
    print(f"all {pull.size} pulls of C: rms {rms(pull):.2f}; {tails}")


def depth_scale(args) -> None:
    xi, error = [], []
    for seed in range(args.seeds):
        run = propagate("tanh", args.sw2, 0.05, args.width, args.depth, args.draws, 16, seed=seed)
        value, err, layers = run.xi_c()
        xi.append(value)
        error.append(err)
    xi, error = np.array(xi), np.array(error)
    ok = np.isfinite(xi) & np.isfinite(error)
    xi, error = xi[ok], error[ok]
    print(f"tanh sigma_w^2 = {args.sw2:g}, sigma_b^2 = 0.05: width {args.width}, depth {args.depth}, {args.draws} "
          f"networks, {ok.sum()} of {args.seeds} seeds with a fit over {layers} layers")
    print(f"xi_c {xi.mean():.2f} +- {xi.std(ddof=1) / np.sqrt(len(xi)):.2f}; mean field: asymptotic "
          f"{run.xi_c_theory:.2f}, the same fit on its curve {run.xi_c_fit_theory():.2f} (last seed's weights)")
    print(f"seed scatter {xi.std(ddof=1):.3f}, rms quoted error {rms(error):.3f}, ratio "
          f"{xi.std(ddof=1) / rms(error):.2f}; rms pull about the seeds' mean {rms((xi - xi.mean()) / error):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parts = parser.add_subparsers(dest="part", required=True)
    c = parts.add_parser("c", help="C and E of Ising sweeps against Kaufman")
    c.add_argument("--L", type=int, default=8)
    c.add_argument("--sweeps", type=int, default=200)
    c.add_argument("--thermalize", type=int, default=50)
    c.add_argument("--seeds", type=int, default=200)
    c.add_argument("--algorithm", default="swendsen-wang")
    xi = parts.add_parser("xi", help="xi_c of random networks: seed scatter against the quoted error")
    xi.add_argument("--width", type=int, default=200)
    xi.add_argument("--depth", type=int, default=50)
    xi.add_argument("--draws", type=int, default=8)
    xi.add_argument("--sw2", type=float, default=1.5)
    xi.add_argument("--seeds", type=int, default=100)
    args = parser.parse_args()
    configure_threads()
    {"c": specific_heat, "xi": depth_scale}[args.part](args)


if __name__ == "__main__":
    main()
