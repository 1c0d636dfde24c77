"""Attempted spin flips per second of the Ising checkerboard Metropolis sampler.

On the CPU it is measured beside a textbook numpy checkerboard (full-lattice ``np.roll``
neighbour sums, one ``exp`` and one random number per site, a colour mask) in the same run, so
the printed ratio depends little on how busy the machine is; rates are per second of this
process's CPU time (on a shared machine wall time mostly measures the neighbours). On CUDA the
baseline is the unfused torch sampler and the fused Triton kernel
(:mod:`engine.samplers.fused.ising`) is measured against it, in wall time and flips per ns; the
fused kernel's tile shape is chosen as the fastest of ``--tiles`` first. Each rate is the best
of ``--repeats`` rounds, the paths interleaved; each ratio is the median over rounds of one
path's rate over the baseline's in the same round (this machine's speed drifts between rounds,
which a ratio of two bests does not cancel).

Every sampler is measured two ways: one ``sweep`` call per sweep, each returning a new ``[B, L,
L]`` lattice (what a run that measures after every sweep does), and ``run_sweeps`` of
``--per-call`` sweeps (thermalisation, measuring every k-th sweep), where the spins stay packed
in between. The textbook numpy sweep updates its array in place.

    python -m benchmarks.bench_mc                      # CPU, L = 256 and 1024, B = 1 and 16
    python -m benchmarks.bench_mc --device cuda --sizes 1024 4096 --out benchmarks/results/bench_mc_cuda.json
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
from engine.samplers.fused import use_fused

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


def sampler_steps(model: IsingModel, gen: torch.Generator, start: torch.Tensor, per_call: int,
                  fused: bool) -> tuple[dict, object]:
    """{name: (step, attempted flips per call)} for one sweep and ``run_sweeps`` per call, and the sampler."""
    sampler = make_sampler(model, "metropolis", fused=fused)
    state = {"s": start.clone()}

    def one():
        state["s"] = sampler.sweep(state["s"], gen)

    def many():
        state["s"] = run_sweeps(sampler, state["s"], gen, per_call)

    name = "fused" if fused else "torch"
    return {name: (one, model.B * model.N), f"{name}_run_sweeps": (many, model.B * model.N * per_call)}, sampler


def best_tile(sampler, step, sites: int, tiles: list[tuple[int, int]], sync) -> dict[str, float]:
    """Set ``sampler.tile`` to the fastest of ``tiles`` (flips per second of a few calls each); all rates."""
    rates = {}
    for tile in tiles:
        sampler.tile = tile
        step(), sync()  # compiles this shape
        rates[tile] = rate(step, sites, 3, time.perf_counter, sync)
    sampler.tile = max(rates, key=rates.get)
    return {f"{by}x{4 * bq}": r for (by, bq), r in rates.items()}


def measure(L: int, B: int, device: torch.device, repeats: int, seconds: float, per_call: int,
            tiles: list[tuple[int, int]]) -> dict:
    model = IsingModel(L, T=[T] * B, device=device)
    gen = make_generator(0, device)
    start = model.hot_state(gen)
    cuda = device.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    clock = time.perf_counter if cuda else time.process_time
    steps, sampler = sampler_steps(model, gen, start, per_call, fused=False)
    out = {"L": L, "B": B, "sweeps_per_call": per_call}
    if use_fused(model, None):
        fused_steps, fused = sampler_steps(model, gen, start, per_call, fused=True)
        out["fused_tiles_flips_per_s"] = best_tile(fused, *fused_steps["fused_run_sweeps"], tiles, sync)
        out["fused_tile"] = list(fused.tile)
        steps.update(fused_steps)
    if not cuda:
        rng = np.random.default_rng(0)
        spins = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=(B, L, L))
        parity = np.add.outer(np.arange(L), np.arange(L)) % 2
        masks = [parity == 0, parity == 1]
        steps["numpy"] = (lambda: numpy_textbook_sweep(spins, 1.0 / T, masks, rng), B * L * L)
    for step, _ in steps.values():
        step()  # warm-up
    sync()
    # calls per round: about `seconds` of work for each
    calls = {name: max(1, int(seconds * rate(step, n, 2, clock, sync) / n)) for name, (step, n) in steps.items()}
    rates: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, (step, n) in steps.items():
            rates[name].append(rate(step, n, calls[name], clock, sync))
    best = {k: max(v) for k, v in rates.items()}
    baseline = "torch" if cuda else "numpy"
    for name in best:
        out[f"{name}_flips_per_s"] = best[name]
        if cuda:
            out[f"{name}_flips_per_ns"] = best[name] * 1e-9
        if name != baseline and not name.startswith(baseline + "_"):
            base = baseline + ("_run_sweeps" if name.endswith("_run_sweeps") and cuda else "")
            out[f"{name}_ratio"] = _median_ratio(rates[name], rates[base])
            out[f"{name}_ratio_of_bests"] = best[name] / best[base]
    out["baseline"] = baseline
    out["rounds"] = rates
    out["acceptance"] = float(sampler.stats["acceptance"].mean())
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
    parser.add_argument("--tiles", nargs="+", default=["8x128", "4x256", "16x64", "2x512", "32x32"],
                        help="fused kernel tiles to try, ROWSxCOLUMNS of one colour (columns a multiple of 4)")
    parser.add_argument("--out", default="benchmarks/results/bench_mc.json")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    threads = configure_threads(args.threads)
    tiles = [tuple(int(t) for t in spec.split("x")) for spec in args.tiles]
    tiles = [(by, cols // 4) for by, cols in tiles]
    rows = []
    for L in args.sizes:
        for B in args.batches:
            row = measure(L, B, device, args.repeats, args.seconds, args.per_call, tiles)
            rows.append(row)
            parts = []
            for name in ("numpy", "torch", "torch_run_sweeps", "fused", "fused_run_sweeps"):
                if f"{name}_flips_per_s" in row:
                    ns = f" = {row[name + '_flips_per_ns']:.3f}/ns" if f"{name}_flips_per_ns" in row else ""
                    ratio = f" (x{row[name + '_ratio']:.2f})" if f"{name}_ratio" in row else ""
                    parts.append(f"{name} {row[name + '_flips_per_s'] / 1e6:.1f} M/s{ns}{ratio}")
            tile = f"  [fused tile {row['fused_tile'][0]}x{4 * row['fused_tile'][1]}]" if "fused_tile" in row else ""
            print(f"L={L:5d} B={B:3d}  " + "  ".join(parts) + tile, flush=True)
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
