"""Complex phi^4 lattice field theory on an L x L torus.

Convention (per configuration, no temperature: the weight is exp(-S)):

    S = -t sum_<ij> (phi_i^* phi_j + c.c.) + sum_i (mu |phi_i|^2 + lambda |phi_i|^4)

with the sum over nearest-neighbour pairs of the L x L torus, each pair once. A field is stored
as ``[B, 2, L, L]`` (real and imaginary parts), so phi_i^* phi_j + c.c. = 2 phi_i . phi_j.

Link to the XY model. With mu = -2 lambda the on-site potential is lambda (|phi|^2 - 1)^2 - lambda:
as lambda -> infinity the modulus is pinned to |phi| = 1, phi_i = exp(i theta_i), and

    S -> -2t sum_<ij> cos(theta_i - theta_j) + const,

the XY model at beta J = 2t (T_KT = 0.893 J puts the transition near t = 0.56 in that limit; at
finite lambda the modulus fluctuates and the transition moves to larger t).

Temperature. The model has none: t, mu and lambda are the couplings. Code that treats all models
alike may pass ``T=1`` (accepted and ignored); any other T is rejected with a ParameterError,
because silently rescaling S would make the same (t, mu, lambda) mean two different theories.

Allowed parameters (per replica, finite): lambda > 0 with any t and mu (the quartic term bounds
the weight); lambda = 0 only with mu > 4|t|, the Gaussian theory, whose quadratic form
mu - 2t (cos k_x + cos k_y) is then positive for every momentum so that exp(-S) is normalisable.
"""

from __future__ import annotations

import torch

from ..errors import ParameterError
from .base import LatticeModel, ParamValue, as_batch
from .xy import bond_sum, neighbour_sum, vector_moments


def _per_replica(p: torch.Tensor | float, like: torch.Tensor) -> torch.Tensor | float:
    """A scalar or ``[B]`` parameter shaped to broadcast against ``like`` (``[B, ...]``)."""
    return p.reshape(-1, *(1,) * (like.dim() - 1)) if isinstance(p, torch.Tensor) else p


def action(phi: torch.Tensor, t: torch.Tensor | float, mu: torch.Tensor | float,
           lam: torch.Tensor | float) -> torch.Tensor:
    """S(phi) per configuration, ``[B]``. ``phi``: ``[B, 2, L, L]``; parameters scalar or ``[B]``."""
    r2 = (phi * phi).sum(dim=1)
    potential = (_per_replica(mu, r2) * r2 + _per_replica(lam, r2) * r2 * r2).sum(dim=(-2, -1))
    return -2.0 * _per_replica(t, potential) * bond_sum(phi) + potential


def action_gradient(phi: torch.Tensor, t: torch.Tensor | float, mu: torch.Tensor | float,
                    lam: torch.Tensor | float) -> torch.Tensor:
    """dS/dphi, ``[B, 2, L, L]``: -2t sum_{j~i} phi_j + (2 mu + 4 lambda |phi_i|^2) phi_i.

    Written out rather than taken by autograd so HMC's leapfrog costs a few elementwise kernels
    per step and keeps no graph.
    """
    r2 = (phi * phi).sum(dim=1, keepdim=True)
    t, mu, lam = (_per_replica(p, phi) for p in (t, mu, lam))
    return -2.0 * t * neighbour_sum(phi) + (2.0 * mu + 4.0 * lam * r2) * phi


class Phi4Model(LatticeModel):
    """Batched complex phi^4 with per-replica t, mu, lam (defaults 0.5, -2, 1: an XY-like regime)."""

    name = "phi4"
    algorithms = ("metropolis", "hmc")
    param_names = ("t", "mu", "lam")
    positive_params = frozenset()
    site_shape = (2,)

    def __init__(self, L: int, *, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
                 t: ParamValue = 0.5, mu: ParamValue = -2.0, lam: ParamValue = 1.0, T: ParamValue | None = None,
                 **unknown: ParamValue):
        _check_no_temperature(T)
        super().__init__(L, device=device, dtype=dtype, t=t, mu=mu, lam=lam, **unknown)  # unknown names are rejected
        self._check_stable()

    def set_params(self, **params: ParamValue) -> None:
        """As the base class, plus T = 1 only and the stability check (failed changes are undone)."""
        _check_no_temperature(params.pop("T", None))
        before = dict(self._params)
        super().set_params(**params)
        try:
            self._check_stable()
        except ParameterError:
            self._params = before
            raise

    def _check_stable(self) -> None:
        t, mu, lam = (self.param(k) for k in ("t", "mu", "lam"))
        if bool((lam < 0).any()):
            raise ParameterError("lam", f"must be >= 0 (the weight exp(-S) needs a bounded-below "
                                 f"potential), got {lam.min().item():g}")
        gaussian_unstable = (lam == 0) & (mu <= 4 * t.abs())
        if bool(gaussian_unstable.any()):
            i = int(gaussian_unstable.nonzero()[0])
            raise ParameterError("lam", f"lam = 0 (Gaussian theory) needs mu > 4|t|, got mu={mu[i].item():g}, "
                                 f"t={t[i].item():g}; use lam > 0 otherwise")

    def _s_args(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.param("t"), self.param("mu"), self.param("lam")

    def hot_state(self, gen: torch.Generator) -> torch.Tensor:
        """Independent standard normal components: a disordered field."""
        return torch.randn((self.B, 2, self.L, self.L), generator=gen, device=self.device, dtype=self.dtype)

    def cold_state(self) -> torch.Tensor:
        """A uniform real field at the minimum of the mean-field action per site,
        (mu - 4t) r^2 + lam r^4, i.e. r^2 = max(0, (4t - mu) / (2 lam)) (zero for lam = 0)."""
        t, mu, lam = self._s_args()
        r2 = torch.where(lam > 0, (4 * t - mu) / (2 * lam.clamp_min(1e-30)), torch.zeros_like(lam))
        phi = torch.zeros((self.B, 2, self.L, self.L), device=self.device, dtype=self.dtype)
        phi[:, 0] = r2.clamp_min(0).sqrt().view(-1, 1, 1)
        return phi

    def energy(self, phi: torch.Tensor) -> torch.Tensor:
        """The action S per replica, ``[B]``."""
        return action(phi, *self._s_args())

    def gradient(self, phi: torch.Tensor) -> torch.Tensor:
        """dS/dphi, ``[B, 2, L, L]``."""
        return action_gradient(phi, *self._s_args())

    def site_action(self, phi: torch.Tensor, neighbours: torch.Tensor) -> torch.Tensor:
        """The part of S that involves phi_i, ``[B, L, L]``, given the sum of its four neighbours:
        -2t phi_i . neighbours + mu |phi_i|^2 + lam |phi_i|^4 (local updates need only this)."""
        t, mu, lam = (p.view(-1, 1, 1) for p in self._s_args())
        r2 = (phi * phi).sum(dim=1)
        return -2.0 * t * (phi * neighbours).sum(dim=1) + mu * r2 + lam * r2 * r2

    def measure(self, phi: torch.Tensor) -> dict[str, torch.Tensor]:
        """energy = S / N, m = |mean phi| (= abs_m), m2, m4, mx, my and phi2 = mean |phi|^2."""
        out = {"energy": self.energy(phi) / self.N}
        out.update(vector_moments(phi))
        out["phi2"] = (phi * phi).sum(dim=1).mean(dim=(-2, -1))
        return out


def _check_no_temperature(T: ParamValue | None) -> None:
    if T is None:
        return
    values = as_batch("T", T)
    if any(v != 1.0 for v in values):
        raise ParameterError("T", "phi4 has no temperature (the weight is exp(-S)); omit T or pass 1, "
                             "and change t, mu, lam instead")
