"""Fused Ising Metropolis and heat-bath half-sweeps: one Triton kernel per colour of the checkerboard.

The spins are int8 in the colour layout of :mod:`.colours`, the replicas stacked along the rows
(row r = b L + y of an ``[B L, L/2]`` array per colour). One kernel call updates one colour of
every replica: each program loads a tile of its spins and their four neighbours from the other
colour, forms the bond-weighted neighbour sum n in {-4, -2, 0, 2, 4} (random +-J bonds enter as
four sign bits per site, one byte), draws a 32-bit random word per site, flips, stores, and adds
its flip count per row to the replica's counter with one atomic add.

Why a table of thresholds: both rules flip a spin s with a probability that depends only on the
replica, s and n: Metropolis min(1, exp(-2 s x)), heat bath sigmoid(-2 s x) (the probability
that the new spin differs from s), x = beta (J n + h). The kernel looks up t = floor(p 2^32)
in a ``[B, 2, 5]`` int64 table computed in float64 by torch, and flips iff word < t. So a field,
antiferromagnetic J and random bonds cost nothing extra, P(flip) is p to 2^-32, and the
kernel's decisions are exactly reproducible from the random words (the tests replay them).

Random numbers: one word per site from :func:`.tiles.site_words` (Philox4x32-10, stream 0,
half-sweep 2 sweep + colour), keyed by a 63-bit word drawn from the sampler's
``torch.Generator`` once per ``sweeps`` call. Because the key comes from the generator, a seed
fixes the run and a restored generator state resumes it exactly, as for every other sampler.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...models.ising import IsingModel
from ..state import Stateful
from . import interpreting
from .colours import join_colours, split_colours
from .tiles import GPU_TILE, checkerboard_tile, interpreter_tile, site_words


@triton.jit(do_not_specialize=["counter"])
def ising_half_sweep(spins, other, bonds, table, key, counts, counter, colour, rows, L, W, groups,
                     DISORDER: tl.constexpr, BY: tl.constexpr, BQ: tl.constexpr):
    """Update one colour: ``spins`` ``[rows, W]`` int8 in place from the other colour ``other``."""
    row, r, q, k, inside, here, up, down, side = checkerboard_tile(colour, rows, L, W, BY, BQ)
    s = tl.load(spins + here, mask=inside, other=1)
    n_up = tl.load(other + up, mask=inside, other=0).to(tl.int32)
    n_down = tl.load(other + down, mask=inside, other=0).to(tl.int32)
    n_beside = tl.load(other + here, mask=inside, other=0).to(tl.int32)
    n_side = tl.load(other + side, mask=inside, other=0).to(tl.int32)
    if DISORDER:  # bit i set: the bond to neighbour i (up, down, beside, side) is -J
        bits = tl.load(bonds + (r % L) * W + (here - r * W), mask=inside, other=0).to(tl.int32)  # at (y, j)
        n_up *= 1 - 2 * (bits & 1)
        n_down *= 1 - 2 * ((bits >> 1) & 1)
        n_beside *= 1 - 2 * ((bits >> 2) & 1)
        n_side *= 1 - 2 * ((bits >> 3) & 1)
    n = n_up + n_down + n_beside + n_side
    index = (r // L) * 10 + (s > 0).to(tl.int32) * 5 + (n + 4) // 2
    threshold = tl.load(table + index, mask=inside, other=0)
    word = site_words(key, r, q, k, groups, counter, 0)
    flip = ((word.to(tl.int64) & 0xFFFFFFFF) < threshold) & inside
    tl.store(spins + here, tl.where(flip, -s, s), mask=inside)
    flips = tl.sum(tl.sum(flip.to(tl.int32), axis=2), axis=1)
    tl.atomic_add(counts + row // L, flips, mask=row < rows)


def flip_thresholds(model: IsingModel, rule: str) -> torch.Tensor:
    """``[B, 2, 5]`` int64: floor(2^32 P(flip)) for s = -1, +1 and n = -4, -2, 0, 2, 4 (see the module doc)."""
    T, J, h = (model.param(k).double().view(-1, 1, 1) for k in ("T", "J", "h"))
    n = torch.arange(-4, 5, 2, device=model.device, dtype=torch.float64)
    s = torch.tensor([-1.0, 1.0], device=model.device, dtype=torch.float64).view(2, 1)
    z = -2.0 * s * (J * n + h) / T
    p = z.exp().clamp(max=1.0) if rule == "metropolis" else z.sigmoid()
    return torch.floor(p * 2.0 ** 32).to(torch.int64)


def bond_bits(model: IsingModel) -> torch.Tensor:
    """``[2, L, L/2]`` uint8 per colour: bit i set where the bond to neighbour i is -J.

    The neighbours are ordered as in the kernel: up (y - 1), down (y + 1), beside (same packed
    column j: x + 1 when x is even, x - 1 when odd) and side (the other one). A site's left and
    upper bonds are the right and lower bonds of those neighbours (``bond_signs`` holds those).
    """
    right, down = (model.bond_signs[0, k] < 0 for k in (0, 1))
    left, up = right.roll(1, dims=-1), down.roll(1, dims=-2)
    even = (torch.arange(model.L, device=model.device) % 2 == 0).view(1, -1)
    beside, side = torch.where(even, right, left), torch.where(even, left, right)
    bits = sum(b.to(torch.uint8) << i for i, b in enumerate((up, down, beside, side)))
    out = torch.empty((2, 1, model.L, model.L // 2), device=model.device, dtype=torch.uint8)
    return split_colours(bits.unsqueeze(0), out).squeeze(1)


class FusedIsingSampler(Stateful):
    """Checkerboard Metropolis or heat bath for Ising with the fused kernel; same interface and
    ``stats`` as :class:`~engine.samplers.checkerboard.CheckerboardSampler` (a different random stream).

    ``tile``: (rows, groups of four columns) per program; None picks :data:`GPU_TILE` on a GPU and
    as few programs as possible in the interpreter.
    """

    RULES = ("metropolis", "heatbath")
    STATS = {"acceptance": (0.0, 1.0)}

    def __init__(self, model: IsingModel, rule: str = "metropolis", tile: tuple[int, int] | None = None):
        if rule not in self.RULES:
            raise ValueError(f"unknown checkerboard rule {rule!r}")
        self.model = model
        self.rule = rule
        self.stats: dict[str, torch.Tensor] = {}
        B, L = model.B, model.L
        W = L // 2
        groups = -(-W // 4)
        if tile is None:
            tile = GPU_TILE if not interpreting() else interpreter_tile(B * L, groups)
        self.tile = tile
        spins = torch.empty((2, B * L, W), device=model.device, dtype=torch.int8)
        disorder = model.disorder_signs is not None
        self._work = {
            "spins": spins, "bonds": bond_bits(model) if disorder else spins, "disorder": disorder,
            "counts": torch.zeros(B, device=model.device, dtype=torch.int32),
            "key": torch.zeros(1, device=model.device, dtype=torch.int64),
            "shape": (B * L, L, W, groups),
        }
        self._cache: tuple[torch.Tensor, int] | None = None  # (returned state, its version counter)
        self._table: tuple[list, torch.Tensor] | None = None

    def thresholds(self) -> torch.Tensor:
        """The flip-threshold table, recomputed only when a parameter tensor was replaced or changed."""
        params = [self.model.param(k) for k in ("T", "J", "h")]
        seen = [(p, p._version) for p in params]
        if self._table is None or any(p is not q or v != w for (p, v), (q, w) in zip(seen, self._table[0])):
            self._table = (seen, flip_thresholds(self.model, self.rule))
        return self._table[1]

    def _load(self, state: torch.Tensor) -> torch.Tensor:
        """The int8 colour arrays of ``state``: already in the work space when it is our last, unmodified output."""
        spins = self._work["spins"]
        if self._cache is not None and self._cache[0] is state and state._version == self._cache[1]:
            return spins
        B, L = self.model.B, self.model.L
        split_colours(state, spins.view(2, B, L, L // 2))
        return spins

    def sweep(self, state: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """One sweep of both colours; returns the new state (``state`` itself is not modified)."""
        return self.sweeps(state, gen, 1)

    def sweeps(self, state: torch.Tensor, gen: torch.Generator, n: int) -> torch.Tensor:
        """``n`` sweeps in one call (spins stay int8 on the device in between); ``stats`` of the last."""
        work = self._work
        spins, counts, key = self._load(state), work["counts"], work["key"]
        table = self.thresholds()
        rows, L, W, groups = work["shape"]
        by, bq = self.tile
        grid = (triton.cdiv(rows, by), triton.cdiv(groups, bq))
        key.random_(generator=gen)
        for k in range(n):
            if k == n - 1:
                counts.zero_()
            for c in (0, 1):
                ising_half_sweep[grid](spins[c], spins[1 - c], work["bonds"][c], table, key, counts, 2 * k + c, c,
                                       rows, L, W, groups, DISORDER=work["disorder"], BY=by, BQ=bq)
        self.stats = {"acceptance": counts.to(self.model.dtype) / self.model.N}
        out = torch.empty((self.model.B, L, L), device=spins.device, dtype=self.model.dtype)
        join_colours(spins.view(2, self.model.B, L, W), out)
        self._cache = (out, out._version)
        return out

