"""Block-spin maps: one coarse-graining step L -> L/b, and the tower L, L/b, L/b^2, ...

All maps act on the last two (spatial) dimensions of a batched tensor, so ``[L, L]``,
``[B, L, L]``, ``[N, B, L, L]`` and phi^4's ``[B, 2, L, L]`` are all fine. Random tie-breaks
draw from the caller's ``torch.Generator`` so that a seed fixes the blocked configuration.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from ..errors import ParameterError

#: A block map ``(x, b, gen) -> x'`` on the last two dimensions.
BlockMap = Callable[[torch.Tensor, int, "torch.Generator | None"], torch.Tensor]


def _check_b(b: int) -> int:
    if isinstance(b, bool) or not isinstance(b, int) or b < 2:
        raise ParameterError("b", f"block size must be an integer >= 2, got {b!r}")
    return b


def _check_factor(x: torch.Tensor, b: int) -> None:
    _check_b(b)
    if x.dim() < 2 or x.shape[-1] != x.shape[-2]:
        raise ParameterError("state", f"needs square lattices in the last two dimensions, got {tuple(x.shape)}")
    if x.shape[-1] % b:
        raise ParameterError("b", f"block size {b} does not divide the lattice size {x.shape[-1]}")


def block_sum(x: torch.Tensor, b: int) -> torch.Tensor:
    """Sum over b x b blocks of the last two dimensions: ``[..., L, L] -> [..., L/b, L/b]``."""
    _check_factor(x, b)
    L = x.shape[-1]
    return x.reshape(*x.shape[:-2], L // b, b, L // b, b).sum(dim=(-3, -1))


def majority(s: torch.Tensor, b: int, gen: torch.Generator | None = None) -> torch.Tensor:
    """Majority rule for +-1 spins; a tied block (even b) gets a random sign from ``gen``.

    The random tie-break keeps the map symmetric under s -> -s, which MCRG relies on to
    separate the even (thermal) from the odd (magnetic) operators.
    """
    total = block_sum(s, b)
    out = torch.sign(total)
    if b % 2 == 0:
        if gen is None:
            raise ParameterError("gen", "majority rule with an even block size needs a generator for ties")
        coin = torch.randint(0, 2, out.shape, generator=gen, device=s.device).to(s.dtype) * 2 - 1
        out = torch.where(total == 0, coin, out)
    return out


def decimate(s: torch.Tensor, b: int, gen: torch.Generator | None = None) -> torch.Tensor:
    """Keep one site (the top-left one) of every b x b block; works for any field."""
    _check_factor(s, b)
    return s[..., ::b, ::b].contiguous()


def xy_block(theta: torch.Tensor, b: int, gen: torch.Generator | None = None) -> torch.Tensor:
    """XY angles -> the direction of the block's summed unit vectors, in [0, 2 pi).

    (An exactly cancelling block, measure zero for continuous angles, maps to angle 0.)
    """
    c = block_sum(torch.cos(theta), b)
    s = block_sum(torch.sin(theta), b)
    return torch.remainder(torch.atan2(s, c), 2 * math.pi)


def phi4_block(phi: torch.Tensor, b: int, gen: torch.Generator | None = None, *, eta: float = 0.25) -> torch.Tensor:
    """phi^4 field -> block average rescaled by b^Delta, Delta = eta / 2 (the field's dimension in 2D).

    Rescaling by the scaling dimension keeps the blocked field's distribution fixed at a critical
    point; eta = 1/4 is the XY (Kosterlitz-Thouless) value, the universality class of complex phi^4.
    """
    return block_sum(phi, b) * (b ** (eta / 2 - 2))


#: Block maps by name, as the CLI and GUI offer them.
BLOCK_MAPS: dict[str, BlockMap] = {
    "majority": majority,
    "decimation": decimate,
    "xy-average": xy_block,
    "phi4-average": phi4_block,
}


def block_map(name: str) -> BlockMap:
    """The block map called ``name`` (see :data:`BLOCK_MAPS`)."""
    try:
        return BLOCK_MAPS[name]
    except KeyError:
        raise ParameterError("rule", f"unknown block rule {name!r}; allowed: {', '.join(BLOCK_MAPS)}") from None


def check_levels(L: int, levels: int, b: int) -> int:
    """Validate that an L x L lattice can be blocked ``levels`` times by b; return the coarsest size."""
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 0:
        raise ParameterError("levels", f"must be an integer >= 0, got {levels!r}")
    _check_b(b)
    if L % (b ** levels):
        raise ParameterError("levels", f"{levels} blockings by {b} need L divisible by {b ** levels}, got L={L}")
    return L // b ** levels


def block_levels(x: torch.Tensor, levels: int, *, b: int = 2, rule: str | BlockMap = "majority",
                 gen: torch.Generator | None = None) -> list[torch.Tensor]:
    """The configuration and its ``levels`` successive blockings: sizes L, L/b, ..., L/b^levels."""
    fn = block_map(rule) if isinstance(rule, str) else rule
    check_levels(x.shape[-1], levels, b)
    out = [x]
    for _ in range(levels):
        out.append(fn(out[-1], b, gen))
    return out


def possible_levels(L: int, b: int, wanted: int) -> int:
    """How many of ``wanted`` blockings by b an L x L lattice allows (b^n must divide L)."""
    n = 0
    while n < wanted and L % b ** (n + 1) == 0:
        n += 1
    return n


def coarse_levels(lattice: np.ndarray, rule: str, b: int, levels: int,
                  gen: torch.Generator | None = None) -> list[np.ndarray]:
    """A snapshot lattice and up to ``levels`` blockings of it, numpy in and out (fewer if b^n does
    not divide L): what a viewer of the live lattice shows."""
    x = torch.as_tensor(np.asarray(lattice), dtype=torch.float32)
    n = possible_levels(x.shape[-1], b, levels)
    return [level.numpy() for level in block_levels(x, n, b=b, rule=rule, gen=gen)]
