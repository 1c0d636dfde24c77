"""The classical XY model: planar unit spins s_i = (cos theta_i, sin theta_i) on an L x L torus.

    H = -J sum_<ij> cos(theta_i - theta_j) - h sum_i cos(theta_i),   weight exp(-H / T),

with each nearest-neighbour pair counted once and the field h along the x axis. J may have
either sign (the torus is bipartite, so J < 0 is the antiferromagnet); h is any finite number.
A state is a ``[B, L, L]`` tensor of angles; samplers keep them in [0, 2 pi).

Everything a local update needs is the *local field* F_i = J sum_{j~i} s_j + h x_hat: the part
of H that involves site i is -F_i . s_i, so Metropolis, heat bath and overrelaxation all act on
(F_i, theta_i) alone.
"""

from __future__ import annotations

import math

import torch

from .base import LatticeModel, ParamValue
from .ising import neighbour_sum  # sums over the last two dimensions, so vector fields work too

__all__ = ["TWO_PI", "XYModel", "bond_sum", "neighbour_sum", "spin_vectors", "vector_moments"]

TWO_PI = 2.0 * math.pi


def bond_sum(v: torch.Tensor) -> torch.Tensor:
    """sum_<ij> v_i . v_j per configuration for a vector field ``[B, C, L, L]`` (pairs once)."""
    return (v * (v.roll(-1, -1) + v.roll(-1, -2))).sum(dim=(1, 2, 3))


def spin_vectors(theta: torch.Tensor) -> torch.Tensor:
    """Angles ``[B, L, L]`` as unit vectors ``[B, 2, L, L]`` (cos, sin)."""
    return torch.stack((theta.cos(), theta.sin()), dim=1)


def vector_moments(v: torch.Tensor) -> dict[str, torch.Tensor]:
    """Magnetisation observables of a vector field ``[B, 2, L, L]``: the site-averaged vector
    (mx, my), its length m (= abs_m: the order parameter of an O(2) model has no sign), m2, m4.
    """
    mx, my = v.mean(dim=(-2, -1)).unbind(dim=1)
    m2 = mx * mx + my * my
    m = m2.sqrt()
    return {"m": m, "abs_m": m, "m2": m2, "m4": m2 * m2, "mx": mx, "my": my}


class XYModel(LatticeModel):
    """Batched XY model with per-replica T (> 0), J and h (defaults 1, 1, 0)."""

    name = "xy"
    algorithms = ("metropolis", "heatbath", "overrelax", "wolff")
    param_names = ("T", "J", "h")

    def __init__(self, L: int, *, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
                 T: ParamValue = 1.0, J: ParamValue = 1.0, h: ParamValue = 0.0, **unknown: ParamValue):
        super().__init__(L, device=device, dtype=dtype, T=T, J=J, h=h, **unknown)  # unknown names are rejected

    def _per_site(self, name: str) -> torch.Tensor:
        """Parameter shaped ``[B, 1, 1]`` to broadcast against ``[B, L, L]``."""
        return self.param(name).view(-1, 1, 1)

    def hot_state(self, gen: torch.Generator) -> torch.Tensor:
        """Independent uniform angles (T = infinity)."""
        return TWO_PI * torch.rand((self.B, self.L, self.L), generator=gen, device=self.device,
                                   dtype=self.dtype)

    def cold_state(self) -> torch.Tensor:
        """All spins along +x: the ground state when J >= 0 and h >= 0."""
        return torch.zeros((self.B, self.L, self.L), device=self.device, dtype=self.dtype)

    def local_field(self, theta: torch.Tensor) -> torch.Tensor:
        """F_i = J sum_{j~i} s_j + h x_hat as ``[B, 2, L, L]``."""
        F = self._per_site("J").unsqueeze(1) * neighbour_sum(spin_vectors(theta))
        F[:, 0] += self._per_site("h")
        return F

    def energy(self, theta: torch.Tensor) -> torch.Tensor:
        """Total H per replica, ``[B]``."""
        return -self.param("J") * bond_sum(spin_vectors(theta)) - self.param("h") * theta.cos().sum(dim=(-2, -1))

    def measure(self, theta: torch.Tensor) -> dict[str, torch.Tensor]:
        """energy per site, m = |sum_i s_i| / N (= abs_m), m2, m4, and the components mx, my."""
        out = {"energy": self.energy(theta) / self.N}
        out.update(vector_moments(spin_vectors(theta)))
        return out
