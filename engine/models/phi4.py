"""Complex phi^4 lattice field theory (placeholder: the model class follows).

Convention (per configuration, no temperature: the weight is exp(-S)):

    S = -t sum_<ij> (phi_i^* phi_j + c.c.) + sum_i (mu |phi_i|^2 + lambda |phi_i|^4)

with the sum over nearest-neighbour pairs of the L x L torus, each pair once. A field is stored
as ``[B, 2, L, L]`` (real and imaginary parts).
"""

from __future__ import annotations

import torch


def action(phi: torch.Tensor, t: torch.Tensor | float, mu: torch.Tensor | float,
           lam: torch.Tensor | float) -> torch.Tensor:
    """S(phi) per configuration, ``[B]``. ``phi``: ``[B, 2, L, L]``; parameters scalar or ``[B]``."""
    def per_replica(p):
        return p.reshape(-1, 1, 1) if isinstance(p, torch.Tensor) else p

    hop = (phi * (phi.roll(-1, dims=-1) + phi.roll(-1, dims=-2))).sum(dim=1)  # Re(phi_i^* phi_j)
    r2 = (phi * phi).sum(dim=1)
    dens = -2.0 * per_replica(t) * hop + per_replica(mu) * r2 + per_replica(lam) * r2 * r2
    return dens.sum(dim=(-2, -1))
