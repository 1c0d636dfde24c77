"""Print a flow checkpoint's learning curve as a Markdown table: F_q and acceptance against CPU hours.

    python scripts/learning_curve.py engine/resources/phi4_L16_crit.pt [--rows 10] [--window 100]
    python scripts/learning_curve.py engine/resources/images_L16.pt --images

A flow learnt from image patches (``--images``) shows its training loss as bits/dim (of the dequantised
training batches) in place of F_q, and no acceptance.

Each row averages ``--window`` training steps ending at that row's step: the batch's F_q (total
over the lattice, in kT) and the acceptance of an independent-Metropolis pass over the batch (the
per-step values are noisy; their window mean is what the curve shows). CPU hours are the
cumulative process time the training run recorded (``cpu_seconds`` in the checkpoint's history).
"""

from __future__ import annotations

import argparse
import math

import torch

from engine.nrg.checkpoint import load_checkpoint


def curve(history: dict, rows: int, window: int) -> list[dict]:
    n = len(history.get("step", []))
    ends = sorted({min(n, max(window, round(n * (k + 1) / rows))) for k in range(rows)}) if n else []
    out = []
    for end in ends:
        lo = max(0, end - window)
        loss, acceptance = (sum(history[key][lo:end]) / (end - lo) for key in ("loss", "acceptance"))
        cpu = history.get("cpu_seconds", [math.nan] * n)[end - 1]
        out.append({"step": int(history["step"][end - 1]) + 1, "cpu_hours": cpu / 3600,
                    "free_energy": loss, "acceptance": acceptance, "lr": history["lr"][end - 1]})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--rows", type=int, default=10)
    parser.add_argument("--window", type=int, default=100, help="steps averaged per row")
    parser.add_argument("--images", action="store_true", help="a flow learnt from image patches")
    args = parser.parse_args()
    ckpt = load_checkpoint(args.checkpoint, target="images" if args.images else None)
    print(f"{args.checkpoint}: {ckpt.target.name} L={ckpt.target.L} {ckpt.target.params()}")
    if args.images:
        print("| steps | CPU hours | training bits/dim (window mean) | lr |")
        print("|---|---|---|---|")
    else:
        print("| steps | CPU hours | F_q (window mean) | batch acceptance | lr |")
        print("|---|---|---|---|---|")
    for row in curve(ckpt.history, args.rows, args.window):
        if args.images:
            bits = ckpt.target.bits_per_dim(-torch.tensor([row["free_energy"]])).item()
            print(f"| {row['step']} | {row['cpu_hours']:.2f} | {bits:.3f} | {row['lr']:.2g} |")
        else:
            print(f"| {row['step']} | {row['cpu_hours']:.2f} | {row['free_energy']:.2f} | {row['acceptance']:.3f} "
                  f"| {row['lr']:.2g} |")


if __name__ == "__main__":
    main()
