"""Neural-RG speed and quality benchmarks; prints a table and writes JSON.

``speed`` (default): seconds per reverse-KL training step and peak memory at the published
NeuralRG settings (Ising HS field, batch 512, 10 couplings per bijector with 3 x 10 hidden units),
L = 8 and 16, each size in a fresh subprocess so that its peak RSS is its own. The baseline is
the published code's reported cost on one core (1.6 s and 5.0 s per step, 3.8 GB at L = 16); the
ratios say how much faster / leaner this implementation is, and the targets are <= 0.5 s, <= 1.6 s
and <= 1.2 GB.

``ising8``: the quality validation: train L = 8 Ising at Tc and report F_q against the exact
bound (target: within 1% after at most 15 minutes on 2 cores).

``tau``: bulk against physical MCMC on a checkpoint (default: the shipped critical phi^4 one):
HMC in latent space and HMC on the lattice field, same chains, steps and leapfrog count, each
with its step size tuned during burn-in; tau_int of the order parameter |m|, seconds per step
and their product per independent sample, with the bulk / physical ratios. Both chains must
agree on the observables (printed with errors), else one of them is wrong.

    python benchmarks/bench_nrg.py speed --threads 1 --out out/bench_nrg.json
    python benchmarks/bench_nrg.py ising8 --steps 1000 --batch 128 --out out/bench_nrg_ising8.json
    python benchmarks/bench_nrg.py tau --steps 400 --chains 16 --out out/bench_nrg_tau.json
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PUBLISHED = {8: {"seconds_per_step": 1.6}, 16: {"seconds_per_step": 5.0, "peak_gb": 3.8}}
TARGETS = {8: {"seconds_per_step": 0.5}, 16: {"seconds_per_step": 1.6, "peak_gb": 1.2}}


def one_size(L: int, batch: int, steps: int, threads: int, device: str) -> dict:
    """Time ``steps`` training steps after two warm-up steps (run inside the subprocess)."""
    import torch

    from engine.device import make_generator
    from engine.exact import TC_ISING
    from engine.nrg.density import FlowDensity
    from engine.nrg.flow import HierarchicalFlow
    from engine.nrg.targets import make_target
    from engine.nrg.train import train_reverse_kl

    torch.set_num_threads(threads)
    target = make_target("ising", L, T=TC_ISING)
    density = FlowDensity(HierarchicalFlow(L, 1, n_couplings=10, hidden=(10, 10, 10))).to(device)
    gen = make_generator(0, device)
    train_reverse_kl(density, target, steps=2, batch=batch, gen=gen)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start, cpu = time.perf_counter(), time.process_time()
    train_reverse_kl(density, target, steps=steps, batch=batch, gen=gen)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    wall = (time.perf_counter() - start) / steps
    out = {"L": L, "batch": batch, "steps": steps, "threads": threads, "device": device,
           "seconds_per_step": wall, "cpu_seconds_per_step": (time.process_time() - cpu) / steps,
           "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20,
           "peak_gb_after_warmup": rss_before}
    if device.startswith("cuda"):
        out["gpu_peak_gb"] = torch.cuda.max_memory_allocated() / 2 ** 30
    return out


def speed(args) -> dict:
    rows = []
    for L in (8, 16):
        cmd = [sys.executable, __file__, "_one", "--L", str(L), "--batch", str(args.batch), "--steps",
               str(args.steps), "--threads", str(args.threads), "--device", args.device]
        row = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        row["published_seconds_per_step"] = PUBLISHED[L]["seconds_per_step"]
        row["speedup_vs_published"] = PUBLISHED[L]["seconds_per_step"] / row["seconds_per_step"]
        row["meets_time_target"] = row["seconds_per_step"] <= TARGETS[L]["seconds_per_step"]
        if "peak_gb" in TARGETS[L]:
            row["meets_memory_target"] = row["peak_gb"] <= TARGETS[L]["peak_gb"]
            row["memory_ratio_vs_published"] = PUBLISHED[L]["peak_gb"] / row["peak_gb"]
        rows.append(row)
        print(f"L={L:3d} batch {row['batch']}: {row['seconds_per_step']:.3f} s/step (published "
              f"{row['published_seconds_per_step']} s: x{row['speedup_vs_published']:.1f}), "
              f"cpu {row['cpu_seconds_per_step']:.3f} s/step, peak RSS {row['peak_gb']:.2f} GB", flush=True)
    return {"benchmark": "nrg_speed", "rows": rows, "note": "shared CPU: wall times include contention; "
            "cpu_seconds_per_step is the process's own CPU time"}


def ising8(args) -> dict:
    import torch

    from engine.device import make_generator
    from engine.exact import TC_ISING
    from engine.nrg.density import FlowDensity
    from engine.nrg.flow import HierarchicalFlow
    from engine.nrg.targets import make_target
    from engine.nrg.train import evaluate, train_reverse_kl

    torch.set_num_threads(args.threads)
    target = make_target("ising", 8, T=TC_ISING)
    density = FlowDensity(HierarchicalFlow(8, 1, n_couplings=args.couplings, hidden=(16, 16)), "z2")
    gen = make_generator(args.seed, "cpu")
    start, cpu = time.perf_counter(), time.process_time()
    history = train_reverse_kl(density, target, steps=args.steps, batch=args.batch, gen=gen, lr=args.lr,
                               mass_covering=args.mass_covering)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    result = evaluate(density, target, 20000, gen)
    print(f"Ising L=8 at Tc: F_q = {result['free_energy']['mean']:.4f} +- {result['free_energy']['error']:.4f}, "
          f"exact {result['exact_free_energy']:.4f}, relative gap {result['relative_gap']:.3%}, "
          f"ESS {result['ess']:.3f}, acceptance {result['acceptance']:.3f}; {wall:.0f} s wall, {cpu:.0f} s CPU")
    return {"benchmark": "nrg_ising8", "steps": args.steps, "batch": args.batch, "lr": args.lr,
            "couplings": args.couplings, "mass_covering": args.mass_covering, "wall_seconds": wall,
            "cpu_seconds": cpu, "threads": args.threads, **result, "loss_history": history["loss"][::10]}


def tau(args) -> dict:
    import torch

    from engine.device import make_generator
    from engine.nrg.checkpoint import load_checkpoint
    from engine.nrg.mcmc import ORDER_PARAMETER, run_chain

    torch.set_num_threads(args.threads)
    ckpt = load_checkpoint(args.checkpoint, device=args.device)
    rows = {}
    for method in ("physical", "bulk", "independent"):
        gen = make_generator(args.seed, args.device)
        row = run_chain(ckpt.density, ckpt.target, method, args.steps * args.chains, gen, chains=args.chains)
        obs = row["observables"]
        rows[method] = row
        print(f"{method:11s}: tau_int(|m|) {obs[ORDER_PARAMETER]['tau_int']:7.2f}, {row['seconds_per_step'] * 1e3:8.3f} "
              f"ms/step, acceptance {row['acceptance']:.3f}; |m| {obs['abs_m']['mean']:.4f} +- {obs['abs_m']['error']:.4f}, "
              f"energy {obs['energy']['mean']:.4f} +- {obs['energy']['error']:.4f}, "
              f"{row['cost_per_independent_sample'] * 1e3:.3g} ms per independent sample", flush=True)
    phys = rows["physical"]
    ratios = {method: {key: rows[method][key] / phys[key]
                       for key in ("tau_int", "seconds_per_step", "cost_per_independent_sample")}
              for method in ("bulk", "independent")}
    for method, r in ratios.items():
        print(f"{method} / physical: tau_int x{r['tau_int']:.2f}, time per step x{r['seconds_per_step']:.2g}, "
              f"cost per independent sample x{r['cost_per_independent_sample']:.2g}")
    return {"benchmark": "nrg_tau", "checkpoint": str(args.checkpoint), "info": ckpt.info, "steps": args.steps,
            "chains": args.chains, "threads": args.threads, "device": args.device, **rows,
            "over_physical": ratios}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("speed", "ising8", "tau", "_one"), nargs="?", default="speed")
    parser.add_argument("--L", type=int, default=16)
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--couplings", type=int, default=6)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--mass-covering", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chains", type=int, default=16, help="tau: parallel HMC chains")
    parser.add_argument("--checkpoint", default="phi4_L16_crit", help="tau: the flow (a path or a shipped name)")
    parser.add_argument("--out", default=None, help="write the JSON here")
    args = parser.parse_args()
    if args.mode == "_one":
        print(json.dumps(one_size(args.L, args.batch, args.steps, args.threads, args.device)))
        return
    if args.mode == "speed":
        args.batch, args.steps = args.batch or 512, args.steps or 5
        doc = speed(args)
    elif args.mode == "tau":
        args.steps = args.steps or 400
        doc = tau(args)
    else:
        args.batch, args.steps = args.batch or 256, args.steps or 2000
        doc = ising8(args)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
