"""Fused XY Metropolis half-sweeps: one Triton kernel per colour of the checkerboard.

The same chain as :class:`~engine.samplers.xy.XYMetropolis` (proposal theta + w U(-1, 1) wrapped
into [0, 2 pi), accepted with probability min(1, exp(beta dE)) from the local field
F = J sum_j s_j + h x_hat, per-replica widths from :class:`~engine.samplers.xy.StepWidth`), with
the angles in the colour layout of :mod:`.colours` in the model's dtype and two random words per
site from :func:`.tiles.site_words` (stream 0: the proposal, stream 1: the acceptance), keyed by a
draw from the run's generator once per ``sweeps`` call. Uniforms are the top 24 bits of a word
times 2^-24, exact in float32.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from ...models.xy import XYModel
from ..xy import XYMetropolis
from . import interpreting
from .colours import join_colours, split_colours
from .tiles import GPU_TILE, checkerboard_tile, interpreter_tile, site_words


@triton.jit(do_not_specialize=["counter"])
def xy_metropolis_half_sweep(theta, other, coupling, field, width, key, counts, counter, colour, rows, L, W,
                             groups, BY: tl.constexpr, BQ: tl.constexpr):
    """Update one colour of angles ``theta`` ``[rows, W]`` in place; ``coupling``, ``field``: beta J, beta h."""
    row, r, q, k, inside, here, up, down, side = checkerboard_tile(colour, rows, L, W, BY, BQ)
    t = tl.load(theta + here, mask=inside, other=0.0)
    a = tl.load(other + up, mask=inside, other=0.0)
    fx, fy = tl.cos(a), tl.sin(a)
    a = tl.load(other + down, mask=inside, other=0.0)
    fx, fy = fx + tl.cos(a), fy + tl.sin(a)
    a = tl.load(other + here, mask=inside, other=0.0)
    fx, fy = fx + tl.cos(a), fy + tl.sin(a)
    a = tl.load(other + side, mask=inside, other=0.0)
    fx, fy = fx + tl.cos(a), fy + tl.sin(a)
    b = r // L
    beta_j = tl.load(coupling + b)
    u = (site_words(key, r, q, k, groups, counter, 0) >> 8).to(tl.float32) * (1.0 / 16777216.0)
    v = (site_words(key, r, q, k, groups, counter, 1) >> 8).to(tl.float32) * (1.0 / 16777216.0)
    two_pi = tl.full([], 6.283185307179586, t.dtype)  # a bare float literal would be rounded to float32
    new = t + tl.load(width + b) * (2.0 * u - 1.0)
    new = new - two_pi * tl.floor(new / two_pi)
    new = tl.where(new >= two_pi, new - two_pi, new)  # rounding of a tiny negative angle
    gain = (beta_j * fx + tl.load(field + b)) * (tl.cos(new) - tl.cos(t)) + beta_j * fy * (tl.sin(new) - tl.sin(t))
    accept = (v < tl.exp(tl.minimum(gain, 0.0))) & inside  # min(1, exp(gain)); no overflow
    tl.store(theta + here, tl.where(accept, new, t), mask=inside)
    accepted = tl.sum(tl.sum(accept.to(tl.int32), axis=2), axis=1)
    tl.atomic_add(counts + row // L, accepted, mask=row < rows)


class FusedXYMetropolis(XYMetropolis):
    """:class:`~engine.samplers.xy.XYMetropolis` with the fused kernel: same options, ``stats`` and
    step tuning (a different random stream). ``tile`` as for :class:`.ising.FusedIsingSampler`."""

    def __init__(self, model: XYModel, *, step: float | None = None, adapt_sweeps: int = 100,
                 tile: tuple[int, int] | None = None):
        super().__init__(model, step=step, adapt_sweeps=adapt_sweeps)
        B, L = model.B, model.L
        W = L // 2
        groups = -(-W // 4)
        self.tile = tile or (GPU_TILE if not interpreting() else interpreter_tile(B * L, groups))
        self._work = {
            "theta": torch.empty((2, B * L, W), device=model.device, dtype=model.dtype),
            "counts": torch.zeros(B, device=model.device, dtype=torch.int32),
            "key": torch.zeros(1, device=model.device, dtype=torch.int64),
            "shape": (B * L, L, W, groups),
        }
        self._cache: tuple[torch.Tensor, int] | None = None  # (returned state, its version counter)

    def sweep(self, state: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return self.sweeps(state, gen, 1)

    def sweeps(self, state: torch.Tensor, gen: torch.Generator, n: int) -> torch.Tensor:
        """``n`` sweeps in one call (angles stay in the colour layout in between); ``stats`` of the last."""
        work = self._work
        theta, counts, key = work["theta"], work["counts"], work["key"]
        rows, L, W, groups = work["shape"]
        B = self.model.B
        if self._cache is None or self._cache[0] is not state or state._version != self._cache[1]:
            split_colours(state, theta.view(2, B, L, W))
        beta = 1.0 / self.model.param("T")
        coupling, field = beta * self.model.param("J"), beta * self.model.param("h")
        by, bq = self.tile
        grid = (triton.cdiv(rows, by), triton.cdiv(groups, bq))
        key.random_(generator=gen)
        for k in range(n):
            counts.zero_()
            for c in (0, 1):
                xy_metropolis_half_sweep[grid](theta[c], theta[1 - c], coupling, field, self.step.width, key, counts,
                                               2 * k + c, c, rows, L, W, groups, BY=by, BQ=bq)
            acceptance = counts.to(self.model.dtype) / self.model.N
            self.step.update(acceptance)
        self.stats = {"acceptance": acceptance, "step": self.step.width.clone()}
        out = join_colours(theta.view(2, B, L, W), torch.empty_like(state))
        self._cache = (out, out._version)
        return out

