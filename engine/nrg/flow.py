"""The hierarchical (MERA-like) bijective flow x = G(z) on an L x L torus.

Read in the RG direction (x -> z, :meth:`HierarchicalFlow.inverse`), level k works on the
sublattice of stride 2^k (the variables still "alive" at that scale):

1. a *disentangler* bijector acts on the 2 x 2 blocks offset by one sublattice site,
2. a *decimator* bijector acts on the aligned 2 x 2 blocks,
3. of each aligned block, the top-left variable lives on as a variable of level k + 1 (it is on
   the stride-2^(k+1) sublattice); the other three are frozen as latent variables of level k.

Because every variable stays at the lattice site it started from, z has the same shape as x and
a latent variable's bulk position is (its site, the level at which it froze): see
:meth:`HierarchicalFlow.latent_positions`. Generation (z -> x, :meth:`HierarchicalFlow.forward`)
runs the same steps backwards from the coarsest level. Each bijector's weights are shared by all
blocks of its layer, so G commutes with translations by 2^levels.

A bijector is a stack of RealNVP couplings (:class:`.coupling.CouplingBlock`, the default) or a
neural-ODE block (:class:`.ode.ODEBlock`, ``bijector="ode"``): the layout does not care which.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ParameterError
from ..names import BIJECTORS as BIJECTOR_NAMES
from .coupling import CouplingBlock
from .ode import ODEBlock

#: Bijector blocks the flow can be built of.
BIJECTORS = BIJECTOR_NAMES  # the names live in engine.names, free of torch, for --help


def _blocks(v: torch.Tensor) -> torch.Tensor:
    """``[B, C, n, n]`` -> ``[B * (n/2)^2, C * 4]``: every aligned 2 x 2 block becomes a row."""
    B, C, n, _ = v.shape
    m = n // 2
    return v.reshape(B, C, m, 2, m, 2).permute(0, 2, 4, 1, 3, 5).reshape(B * m * m, C * 4)


def _unblocks(rows: torch.Tensor, B: int, C: int, n: int) -> torch.Tensor:
    """Inverse of :func:`_blocks`."""
    m = n // 2
    return rows.reshape(B, m, m, C, 2, 2).permute(0, 3, 1, 4, 2, 5).reshape(B, C, n, n)


def _apply_blocks(bijector, v: torch.Tensor, offset: bool, inverse: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply one bijector to all 2 x 2 blocks of ``v`` at once; returns (v', log-det ``[B]``)."""
    B, C, n, _ = v.shape
    if offset:
        v = v.roll((-1, -1), dims=(-2, -1))
    rows, logdet = (bijector.inverse if inverse else bijector)(_blocks(v))
    v = _unblocks(rows, B, C, n)
    if offset:
        v = v.roll((1, 1), dims=(-2, -1))
    return v, logdet.reshape(B, -1).sum(-1)


def _validate(L: int, channels: int, levels: int | None) -> tuple[int, int]:
    if isinstance(L, bool) or not isinstance(L, int) or L < 2 or L & (L - 1):
        raise ParameterError("L", f"must be a power of 2 (>= 2) for the hierarchical flow, got {L!r}")
    if channels not in (1, 2):
        raise ParameterError("channels", f"must be 1 (real scalar) or 2 (complex field), got {channels!r}")
    max_levels = L.bit_length() - 1
    if levels is None:
        levels = max_levels
    if isinstance(levels, bool) or not isinstance(levels, int) or not 1 <= levels <= max_levels:
        raise ParameterError("levels", f"must be an integer in 1..{max_levels} for L={L}, got {levels!r}")
    return L, levels


class HierarchicalFlow(nn.Module):
    """G: z -> x for fields ``[B, channels, L, L]``; two bijector layers per RG level."""

    def __init__(self, L: int, channels: int = 1, levels: int | None = None, n_couplings: int = 10,
                 hidden: tuple[int, ...] = (10, 10, 10), bijector: str = "coupling", ode_steps: int = 4):
        super().__init__()
        self.L, self.levels = _validate(L, channels, levels)
        if isinstance(n_couplings, bool) or not isinstance(n_couplings, int) or n_couplings < 1:
            raise ParameterError("n_couplings", f"must be a positive integer, got {n_couplings!r}")
        hidden = tuple(hidden)
        if not hidden or any(not isinstance(h, int) or h < 1 for h in hidden):
            raise ParameterError("hidden", f"must be a non-empty list of positive layer widths, got {hidden!r}")
        if bijector not in BIJECTORS:
            raise ParameterError("bijector", f"must be one of {', '.join(BIJECTORS)}, got {bijector!r}")
        if isinstance(ode_steps, bool) or not isinstance(ode_steps, int) or not 1 <= ode_steps <= 1000:
            raise ParameterError("ode_steps", f"must be an integer in 1..1000, got {ode_steps!r}")
        self.channels = channels
        self.n_couplings = n_couplings
        self.hidden = hidden
        self.bijector, self.ode_steps = bijector, ode_steps

        def block() -> nn.Module:
            if bijector == "ode":
                return ODEBlock(4 * channels, hidden, ode_steps)
            return CouplingBlock(4, channels, n_couplings, hidden)
        self.disentanglers = nn.ModuleList(block() for _ in range(self.levels))
        self.decimators = nn.ModuleList(block() for _ in range(self.levels))

    def hyperparameters(self) -> dict:
        """Everything needed to rebuild this flow (weights aside)."""
        hp = {"L": self.L, "channels": self.channels, "levels": self.levels,
              "n_couplings": self.n_couplings, "hidden": list(self.hidden)}
        if self.bijector != "coupling":  # coupling flows keep the layout older files have
            hp.update(bijector=self.bijector, ode_steps=self.ode_steps)
        return hp

    def _check(self, v: torch.Tensor, name: str) -> None:
        if v.dim() != 4 or tuple(v.shape[1:]) != (self.channels, self.L, self.L):
            raise ParameterError(name, f"must have shape [B, {self.channels}, {self.L}, {self.L}], "
                                 f"got {list(v.shape)}")

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x = G(z) and log|det dG/dz| per configuration, ``[B]``."""
        self._check(z, "z")
        x, logdet = z, z.new_zeros(z.shape[0])
        for k in reversed(range(self.levels)):
            s = 2 ** k
            v = x[..., ::s, ::s]
            v, ld1 = _apply_blocks(self.decimators[k], v, offset=False, inverse=False)
            v, ld2 = _apply_blocks(self.disentanglers[k], v, offset=True, inverse=False)
            x = x.clone()
            x[..., ::s, ::s] = v
            logdet = logdet + ld1 + ld2
        return x, logdet

    def inverse(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z = G^-1(x) and log|det dG^-1/dx| per configuration (the RG direction)."""
        self._check(x, "x")
        z, logdet = x, x.new_zeros(x.shape[0])
        for k in range(self.levels):
            s = 2 ** k
            v = z[..., ::s, ::s]
            v, ld1 = _apply_blocks(self.disentanglers[k], v, offset=True, inverse=True)
            v, ld2 = _apply_blocks(self.decimators[k], v, offset=False, inverse=True)
            z = z.clone()
            z[..., ::s, ::s] = v
            logdet = logdet + ld1 + ld2
        return z, logdet

    def latent_levels(self) -> torch.Tensor:
        """``[L, L]`` int map: the level at which the variable at each site froze into z.

        A site lives on the stride-2^k sublattice while 2^k divides both coordinates, so its level
        is min(v2(i), v2(j), levels) with v2 the power of 2 dividing a coordinate (v2(0) = inf).
        Level ``levels`` holds the variables that survive the whole hierarchy (the "top").
        """
        v2 = torch.tensor([min((i & -i).bit_length() - 1 if i else self.levels, self.levels)
                           for i in range(self.L)])
        return torch.minimum(v2[:, None], v2[None, :])

    def latent_positions(self) -> torch.Tensor:
        """``[channels * L * L, 3]`` int rows (i, j, level) aligned with ``z.flatten(1)``."""
        i, j = torch.meshgrid(torch.arange(self.L), torch.arange(self.L), indexing="ij")
        rows = torch.stack([i, j, self.latent_levels()], dim=-1).reshape(-1, 3)
        return rows.repeat(self.channels, 1)
