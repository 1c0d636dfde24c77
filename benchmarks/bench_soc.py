"""Topplings per second of the BTW sandpile: parallel waves over batched piles against the textbook loop.

The baseline is the stack-based sequential toppling loop in plain Python (tests/engine/soc_reference.py,
the oracle of the engine's tests), dropping grains on pile 0 of the same warmed-up configuration; the
engine (:class:`engine.soc.sandpile.Sandpile`) drops grains on ``--piles`` piles at once. Both are timed
in this process's CPU time (on a shared machine wall time mostly measures the neighbours), in the same
run, and the ratio of topplings per second is printed and written as JSON. Avalanche sizes differ grain by
grain, so each side runs long enough (``--grains``) for its mean to settle.

    python -m benchmarks.bench_soc                       # L = 32, 64, 128
    python -m benchmarks.bench_soc --sizes 64 --piles 16 64 256
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "engine"))
from soc_reference import drop_grain

from engine.soc.sandpile import Sandpile


def reference_rate(heights: np.ndarray, grains: int, seed: int) -> float:
    """Topplings per CPU second of the plain-Python loop on a copy of ``heights``."""
    h = heights.tolist()
    sites = np.random.default_rng(seed).integers(0, heights.size, grains).tolist()
    t0 = time.process_time()
    total = sum(drop_grain(h, site)[0] for site in sites)
    return total / (time.process_time() - t0)


def engine_rate(pile: Sandpile, grains: int) -> float:
    """Topplings per CPU second of the vectorised engine, ``grains`` grains on every pile."""
    t0 = time.process_time()
    av = pile.run(grains)
    return float(av.size.sum()) / (time.process_time() - t0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("--piles", type=int, nargs="+", default=[64])
    parser.add_argument("--grains", type=int, default=3000, help="grains of the reference (and in all per pile count)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results/bench_soc.json")
    args = parser.parse_args(argv)
    rows = []
    for L in args.sizes:
        for piles in args.piles:
            pile = Sandpile("btw", L, piles, seed=args.seed)
            pile.warm_up(L * L)
            ref = reference_rate(pile.heights[0], args.grains, args.seed + 1)
            vec = engine_rate(pile, max(1, args.grains // piles))
            rows.append({"L": L, "piles": piles, "reference_topplings_per_s": ref, "engine_topplings_per_s": vec,
                         "ratio": vec / ref})
            print(f"L={L:4d} piles={piles:4d}: reference {ref / 1e6:.3f} M topplings/s, engine {vec / 1e6:.3f} "
                  f"M topplings/s, ratio {vec / ref:.1f}", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": platform.processor() or platform.machine(), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
