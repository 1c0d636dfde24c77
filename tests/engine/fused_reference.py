"""A plain-torch replay of the fused Ising kernel's Markov chain: the oracle its tests compare against.

It is written independently of the kernel: on the full ``[B, L, L]`` lattice (not the colour
layout), neighbour sums from the model itself, Philox4x32-10 in 64-bit integer arithmetic, and
the random word of site (b, y, x) found from its definition in :mod:`engine.samplers.fused.tiles`
(colour-array row r = b L + y, column j = x // 2, word j % 4 of Philox call r G + j // 4).
Only the flip-threshold table is shared, and it is tested on its own against exp and sigmoid.

Importing this module also picks the device of the fused-kernel tests: without CUDA it sets
``TRITON_INTERPRET=1``, which Triton reads when a kernel is defined, so the test modules import
it before any kernel module.
"""

from __future__ import annotations

import os

import torch

from engine.models.ising import IsingModel, neighbour_sum

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
if DEVICE == "cpu":
    os.environ.setdefault("TRITON_INTERPRET", "1")

MASK = 0xFFFFFFFF
KEY_A, KEY_B = 0x9E3779B9, 0xBB67AE85
ROUND_A, ROUND_B = 0xD2511F53, 0xCD9E8D57


def _mul(a: int, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """High and low 32-bit words of a * b for a 32-bit constant ``a`` and ``b`` < 2^32, in int64 without overflow."""
    high, low = a * (b >> 16), a * (b & 0xFFFF)  # both < 2^48
    return (high + (low >> 16)) >> 16, (((high & 0xFFFF) << 16) + low) & MASK


def philox(key: int, c0: torch.Tensor, c1: int, c2: int = 0, rounds: int = 10) -> list[torch.Tensor]:
    """Philox4x32 of counters (c0, c1, c2, 0) under the 64-bit ``key``: four int64 tensors of 32-bit words."""
    c = [c0.to(torch.int64)] + [torch.full_like(c0, v, dtype=torch.int64) for v in (c1, c2, 0)]
    k0, k1 = key & MASK, (key >> 32) & MASK
    for _ in range(rounds):
        hi_b, lo_b = _mul(ROUND_B, c[2])
        hi_a, lo_a = _mul(ROUND_A, c[0])
        c = [hi_b ^ c[1] ^ k0, lo_b, hi_a ^ c[3] ^ k1, lo_a]
        k0, k1 = (k0 + KEY_A) & MASK, (k1 + KEY_B) & MASK
    return c


def site_words(key: int, B: int, L: int, counter: int, stream: int = 0) -> torch.Tensor:
    """The kernels' random word for every site of the lattice at half-sweep ``counter``, ``[B, L, L]`` int64."""
    groups = -(-(L // 2) // 4)
    b, y, x = torch.meshgrid(torch.arange(B), torch.arange(L), torch.arange(L), indexing="ij")
    j = x // 2
    words = torch.stack(philox(key, (b * L + y) * groups + j // 4, counter, stream))
    return words.gather(0, (j % 4).unsqueeze(0)).squeeze(0)


def reference_sweeps(model: IsingModel, table: torch.Tensor, state: torch.Tensor, key: int, n: int
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` sweeps of the kernel's chain from ``state`` (CPU) under ``key``; (new state, flips per replica
    in the last sweep)."""
    B, L = model.B, model.L
    s = state.clone()
    colour = (torch.arange(L).view(-1, 1) + torch.arange(L).view(1, -1)) % 2
    replica = torch.arange(B).view(-1, 1, 1).expand(B, L, L)
    flips = torch.zeros(B, dtype=torch.int64)
    for k in range(n):
        flips.zero_()
        for c in (0, 1):
            n_sum = neighbour_sum(s, model.disorder_signs).round().long()
            threshold = table[replica, (s > 0).long(), (n_sum + 4) // 2]
            flip = (site_words(key, B, L, 2 * k + c) < threshold) & (colour == c)
            s = torch.where(flip, -s, s)
            flips += flip.sum(dim=(-2, -1))
    return s, flips
