"""Bijector blocks: stacks of RealNVP affine couplings acting on short vectors.

A block maps a vector of ``dim`` numbers (the 2 x 2 sites x channels of one lattice block) to
another, invertibly and with a cheap exact log-Jacobian. The flow reshapes every block of a layer
into the batch dimension, so one block object (one set of weights) serves all blocks of its layer:
that weight sharing is what makes the flow translation invariant.
"""

from __future__ import annotations

import torch
from torch import nn


def coupling_masks(sites: int, channels: int) -> list[torch.Tensor]:
    """Boolean masks over a flattened ``[channels, sites]`` vector, one per coupling in a cycle.

    Each mask marks the half of the variables that is *transformed*; the other half conditions it.
    For a 2 x 2 block (sites 0 1 / 2 3) the cycle pairs the diagonals, the rows and the columns,
    each followed by its complement, so that after six couplings every site has conditioned every
    other one. With two channels the real/imaginary split is added to the cycle.
    """
    site_sets = [(0, 3), (1, 2), (0, 1), (2, 3), (0, 2), (1, 3)] if sites == 4 else [
        tuple(range(0, sites, 2)), tuple(range(1, sites, 2))]
    masks = []
    for chosen in site_sets:
        m = torch.zeros(channels, sites, dtype=torch.bool)
        m[:, list(chosen)] = True
        masks.append(m.flatten())
    if channels == 2:
        m = torch.zeros(channels, sites, dtype=torch.bool)
        m[0] = True
        masks += [m.flatten(), ~m.flatten()]
    return masks


class AffineCoupling(nn.Module):
    """y_B = x_B * exp(s(x_A)) + t(x_A), y_A = x_A; log|det| = sum(s).

    ``s`` is bounded by a learnable multiple of tanh so that one bad step cannot blow the scale up.
    The last layer starts at zero: a fresh coupling is the identity, which keeps early training
    stable and makes an untrained flow map the prior onto itself.
    """

    def __init__(self, mask: torch.Tensor, hidden: tuple[int, ...]):
        super().__init__()
        self.register_buffer("idx_a", torch.nonzero(~mask).flatten(), persistent=False)
        self.register_buffer("idx_b", torch.nonzero(mask).flatten(), persistent=False)
        self.register_buffer("order", torch.argsort(torch.cat([self.idx_a, self.idx_b])), persistent=False)
        n_a, n_b = len(self.idx_a), len(self.idx_b)
        layers: list[nn.Module] = []
        width = n_a
        for h in hidden:
            layers += [nn.Linear(width, h), nn.Tanh()]
            width = h
        last = nn.Linear(width, 2 * n_b)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.net = nn.Sequential(*layers, last)
        self.s_scale = nn.Parameter(torch.ones(n_b))

    def _scale_shift(self, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, t = self.net(a).chunk(2, dim=-1)
        return self.s_scale * torch.tanh(s), t

    def forward(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = v[:, self.idx_a], v[:, self.idx_b]
        s, t = self._scale_shift(a)
        return torch.cat([a, b * torch.exp(s) + t], dim=-1)[:, self.order], s.sum(-1)

    def inverse(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = v[:, self.idx_a], v[:, self.idx_b]
        s, t = self._scale_shift(a)
        return torch.cat([a, (b - t) * torch.exp(-s)], dim=-1)[:, self.order], -s.sum(-1)


class CouplingBlock(nn.Module):
    """A stack of ``n_couplings`` affine couplings on ``[R, channels * sites]`` rows."""

    def __init__(self, sites: int, channels: int, n_couplings: int, hidden: tuple[int, ...]):
        super().__init__()
        masks = coupling_masks(sites, channels)
        self.couplings = nn.ModuleList(AffineCoupling(masks[i % len(masks)], hidden) for i in range(n_couplings))

    def forward(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (y, log|det dy/dv|) with log-det per row, ``[R]``."""
        logdet = v.new_zeros(v.shape[0])
        for c in self.couplings:
            v, ld = c(v)
            logdet = logdet + ld
        return v, logdet

    def inverse(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (x, log|det dx/dv|)."""
        logdet = v.new_zeros(v.shape[0])
        for c in reversed(self.couplings):
            v, ld = c.inverse(v)
            logdet = logdet + ld
        return v, logdet
