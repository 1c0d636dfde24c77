"""Attempted spin flips per second of the Ising checkerboard Metropolis sampler.

Measured beside a textbook numpy checkerboard (full-lattice ``np.roll`` neighbour sums, one
``exp`` and one random number per site, a colour mask) in the same run, so the printed ratio
depends little on how busy the machine is. On the CPU rates are per second of this process's
CPU time (on a shared machine wall time mostly measures the neighbours); on CUDA wall time.
Each rate is the best of ``--repeats`` rounds, torch and numpy interleaved; each ratio is the
median over rounds of torch's rate over numpy's in the same round (this machine's speed drifts
between rounds, which a ratio of two bests does not cancel). On CUDA the rate is also given in
flips per nanosecond.

torch is measured two ways: one ``sweep`` call per sweep, each returning a new ``[B, L, L]``
lattice (what a run that measures after every sweep does), and ``run_sweeps`` of
``--per-call`` sweeps (thermalisation, measuring every k-th sweep), where the spins stay
packed in between. The textbook numpy sweep updates its array in place.

    python -m benchmarks.bench_mc                      # CPU, L = 256 and 1024, B = 1 and 16
    python -m benchmarks.bench_mc --device cuda --out benchmarks/results/bench_mc_cuda.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from engine.device import configure_threads, device_label, make_generator, resolve_device
from engine.models.ising import IsingModel
from engine.samplers import make_sampler, run_sweeps

T = 2.269185314213022


def numpy_textbook_sweep(s: np.ndarray, beta: float, masks: list[np.ndarray], rng: np.random.Generator) -> None:
    """One checkerboard Metropolis sweep of ``s`` ([B, L, L] float32 +-1), in place."""
    for mask in masks:
        nb = np.roll(s, 1, -1) + np.roll(s, -1, -1) + np.roll(s, 1, -2) + np.roll(s, -1, -2)
        accept = rng.random(s.shape, dtype=np.float32) < np.exp(-2.0 * beta * s * nb)
        np.negative(s, out=s, where=accept & mask)


def rate(step, sites: int, sweeps: int, clock, sync=lambda: None) -> float:
    """Attempted flips per second (of ``clock``) of ``sweeps`` calls of ``step``."""
    sync()
    t0 = clock()
    for _ in range(sweeps):
        step()
    sync()
    return sweeps * sites / (clock() - t0)


def _median_ratio(rates: list[float], baseline: list[float]) -> float:
    return float(np.median(np.array(rates) / np.array(baseline)))


def measure(L: int, B: int, device: torch.device, repeats: int, seconds: float, per_call: int) -> dict:
    model = IsingModel(L, T=[T] * B, device=device)
    gen = make_generator(0, device)
    sampler = make_sampler(model, "metropolis")
    state = {"s": model.hot_state(gen)}
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def torch_step():
        state["s"] = sampler.sweep(state["s"], gen)

    def torch_steps():
        state["s"] = run_sweeps(sampler, state["s"], gen, per_call)

    rng = np.random.default_rng(0)
    spins = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=(B, L, L))
    parity = np.add.outer(np.arange(L), np.arange(L)) % 2
    masks = [parity == 0, parity == 1]

    def numpy_step():
        numpy_textbook_sweep(spins, 1.0 / T, masks, rng)

    sites = B * L * L
    clock = time.perf_counter if device.type == "cuda" else time.process_time
    torch_step(), torch_steps(), numpy_step(), sync()  # warm-up
    # calls per round: about `seconds` of work for each
    calls = {step: max(1, int(seconds * rate(step, sites * n, 2, clock, sync) / (sites * n)))
             for step, n in ((torch_step, 1), (torch_steps, per_call))}
    np_sweeps = max(1, int(seconds * rate(numpy_step, sites, 1, time.process_time) / sites))
    rates: dict[str, list[float]] = {"single": [], "batched": [], "numpy": []}
    for _ in range(repeats):
        rates["single"].append(rate(torch_step, sites, calls[torch_step], clock, sync))
        rates["batched"].append(rate(torch_steps, sites * per_call, calls[torch_steps], clock, sync))
        rates["numpy"].append(rate(numpy_step, sites, np_sweeps, time.process_time))
    best = {k: max(v) for k, v in rates.items()}
    out = {"L": L, "B": B, "flips_per_s": best["single"], "flips_per_s_run_sweeps": best["batched"],
           "sweeps_per_call": per_call, "numpy_flips_per_s": best["numpy"],
           "ratio": _median_ratio(rates["single"], rates["numpy"]),
           "ratio_run_sweeps": _median_ratio(rates["batched"], rates["numpy"]),
           "ratio_of_bests": best["single"] / best["numpy"],
           "ratio_of_bests_run_sweeps": best["batched"] / best["numpy"],
           "rounds": rates,
           "acceptance": float(sampler.stats["acceptance"].mean())}
    if device.type == "cuda":
        out["flips_per_ns"] = best["single"] * 1e-9
        out["flips_per_ns_run_sweeps"] = best["batched"] * 1e-9
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0, help="approximate length of one timing round")
    parser.add_argument("--per-call", type=int, default=10, help="sweeps per run_sweeps call (default 10)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--out", default="benchmarks/results/bench_mc.json")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    threads = configure_threads(args.threads)
    rows = []
    for L in args.sizes:
        for B in args.batches:
            row = measure(L, B, device, args.repeats, args.seconds, args.per_call)
            rows.append(row)
            ns = (f"  {row['flips_per_ns']:.3f} / {row['flips_per_ns_run_sweeps']:.3f} flips/ns"
                  if "flips_per_ns" in row else "")
            print(f"L={L:5d} B={B:3d}  numpy {row['numpy_flips_per_s'] / 1e6:6.1f} M/s"
                  f"  torch sweep {row['flips_per_s'] / 1e6:7.1f} M/s (x{row['ratio']:.2f})"
                  f"  run_sweeps({args.per_call}) {row['flips_per_s_run_sweeps'] / 1e6:7.1f} M/s"
                  f" (x{row['ratio_run_sweeps']:.2f}){ns}  [ratios of the bests x{row['ratio_of_bests']:.2f},"
                  f" x{row['ratio_of_bests_run_sweeps']:.2f}]", flush=True)
    result = {"benchmark": "ising checkerboard metropolis, attempted flips", "T": T, "device": device_label(device),
              "clock": "wall" if device.type == "cuda" else "process CPU time",
              "threads": threads, "torch": torch.__version__, "numpy": np.__version__,
              "machine": platform.machine(), "processor": platform.processor(), "results": rows}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
