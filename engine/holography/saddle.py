"""The bulk at the classical saddle point: z* = argmin S_eff(z), its Hessian, and Gaussian correlations.

The claim (Hu, Li, Wang, You, PRR 2, 023369 (2020)) concerns the residual correlations of the bulk
variables under S_eff(z) = S(G z) - ln|det dG/dz| "at the classical saddle-point level". Expanding S_eff
to second order about its minimum z*, exp(-S_eff) is the Gaussian of covariance C = H^-1, H the Hessian
at z*. C has no sampling noise: rho_ij and the Gaussian mutual information follow from it exactly
(:func:`.estimators.exact_statistics`, the same connected and mutual-information forms as for samples,
the two real components of a complex node combined as documented there). For an exact flow
S_eff = |z|^2 / 2 + const, so H = 1 and every residual correlation vanishes: what remains measures how
the flow falls short of disentangling the boundary theory, and the claim is about its geometry.

Search. Batched L-BFGS (float64) from z = 0 and from draws of the prior N(0, 1), the latents of flow
samples; the distinct end points (equal S_eff: one minimum up to symmetry) are reported with the number
of starts that reached each. z* is the lowest end point inside the prior's typical set (the lowest of all,
flagged, when none is),
not the lowest overall: far out in the prior's tails, where the flow was never trained, it may map z onto
another copy of the ordered state at a lower S_eff. Seen on the shipped L = 8 critical flow, trained with
the U(1) symmetry average of :class:`engine.nrg.density.FlowDensity` (which covers one sector of the
field): a prior draw descended to S_eff = -166.7 at |z|^2 / 2 = 459 (the prior's typical |z|^2 / 2 is 64),
z = 0 to -106.4 at |z|^2 / 2 = 0.73. The symmetrised bulk never uses such points: the latents of a
configuration are those of the group image the flow generates with a non-negligible density.

Zero modes. An exact symmetry of S_eff (the U(1) phase of an ordered saddle when G commutes with it)
gives H a zero eigenvalue, and H^-1 does not exist. C is the pseudo-inverse over the eigenmodes with
eigenvalue above ZERO_MODE_RTOL times the largest |eigenvalue|; the modes left out are reported with their
eigenvalues. A negative eigenvalue beyond the same tolerance means z* is not a minimum: it is left out
of C too, counted, and the verdict says so. For a complex field the curvature of S_eff along the U(1)
orbit of x* (its tangent pulled back into z) is reported: a trained flow breaks the symmetry, so the
would-be Goldstone mode is soft rather than zero, and a soft mode dominates C.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import minimize

from ..nrg.density import FlowDensity
from ..nrg.sampling import bulk_potential
from .estimators import SADDLE_FORMS, PairStatistics, check_estimator, exact_statistics

#: Hessian eigenmodes with |eigenvalue| <= this fraction of the largest are zero modes (left out of C).
#: L-BFGS stops at a gradient of ~1e-9; along an exact symmetry orbit the Hessian's curvature is of the
#: order of |z*| times the gradient there, far below 1e-6 of the stiffest mode.
ZERO_MODE_RTOL = 1e-6
#: End points with |z|^2 beyond n + PRIOR_RANGE_SIGMAS sqrt(2 n) lie outside the prior's typical set (|z|^2 of
#: a draw has mean n and standard deviation sqrt(2 n)): the flow was never trained there.
PRIOR_RANGE_SIGMAS = 10.0
#: Starting points of the search: z = 0 and this many prior draws. S_eff of a trained flow has several local
#: minima in the prior's range (an L = 8 critical flow after 3575 steps: two, the lower reached from 8 of 15 draws).
PRIOR_STARTS = 7


@dataclass
class Saddle:
    """The minimum z* of S_eff, its Hessian spectrum and the covariance C = H^+ (module docstring)."""

    z: np.ndarray  # [C, m] z*, flattened like z.flatten(1) of one [C, L, L] latent field
    x: np.ndarray  # [C, L, L] x* = G(z*)
    action: float  # S_eff(z*)
    gradient_norm: float
    eigenvalues: np.ndarray  # [C m] of H, ascending
    covariance: np.ndarray  # [C, m, C, m] pseudo-inverse of H over the modes kept
    tolerance: float  # |eigenvalue| at or below it: a zero mode
    minima: list[dict]  # the distinct end points of the starts
    orbit: dict | None  # U(1) orbit of x* (complex fields)

    @property
    def zero_modes(self) -> np.ndarray:
        return self.eigenvalues[np.abs(self.eigenvalues) <= self.tolerance]

    @property
    def negative_modes(self) -> np.ndarray:
        return self.eigenvalues[self.eigenvalues < -self.tolerance]

    @property
    def is_minimum(self) -> bool:
        return len(self.negative_modes) == 0

    def statistics(self, estimator: str) -> PairStatistics:
        """Pair statistics of C for ``saddle`` (connected form) or ``saddle-mi`` (no errors: C is exact)."""
        check_estimator(estimator, tuple(SADDLE_FORMS))
        return dataclasses.replace(exact_statistics(self.covariance, self.z, SADDLE_FORMS[estimator]),
                                   estimator=estimator)

    def to_json(self) -> dict:
        kept = self.eigenvalues[self.eigenvalues > self.tolerance]
        modulus = np.sqrt((self.x ** 2).sum(axis=0))
        return {"s_eff": self.action, "gradient_norm": self.gradient_norm, "half_z2": 0.5 * float(np.sum(self.z ** 2)),
                "is_minimum": self.is_minimum, "in_prior_range": bool(in_prior_range(torch.from_numpy(self.z.ravel()))),
                "hessian": {"dimension": len(self.eigenvalues), "smallest": float(self.eigenvalues[0]),
                            "largest": float(self.eigenvalues[-1]),
                            "smallest_kept": float(kept[0]) if len(kept) else None,
                            "zero_mode_tolerance": self.tolerance,
                            "zero_modes_removed": [float(v) for v in self.zero_modes],
                            "negative_modes_removed": [float(v) for v in self.negative_modes]},
                "boundary": {"mean_modulus": float(modulus.mean()),
                             "abs_m": float(np.linalg.norm(self.x.mean(axis=(-2, -1))))},
                "orbit": self.orbit, "minima": self.minima}


def _flat_potential(density: FlowDensity, target):
    """S_eff on flat latent vectors ``[B, C L L]``."""
    flow = density.flow
    potential = bulk_potential(density, target)
    return lambda v: potential(v.reshape(-1, flow.channels, flow.L, flow.L))


def minimise(potential, starts: torch.Tensor, max_iter: int = 20000) -> torch.Tensor:
    """Local minima of ``potential`` from every row of ``starts`` at once (the sum separates per row).

    scipy's L-BFGS-B without bounds, on the float64 value and autograd gradient: torch.optim would import
    torch._dynamo, several seconds on first use.
    """
    shape = starts.shape

    def value_and_gradient(flat: np.ndarray) -> tuple[float, np.ndarray]:
        z = torch.from_numpy(flat).reshape(shape).requires_grad_(True)
        value = potential(z).sum()
        return float(value.detach()), torch.autograd.grad(value, z)[0].numpy().ravel()

    result = minimize(value_and_gradient, starts.double().numpy().ravel(), jac=True, method="L-BFGS-B",
                      options={"maxiter": max_iter, "maxfun": 2 * max_iter, "maxcor": 50, "gtol": 1e-9,
                               "ftol": 1e-15})
    return torch.from_numpy(result.x).reshape(shape)


def gradient(potential, z: torch.Tensor) -> torch.Tensor:
    with torch.enable_grad():
        v = z.detach().requires_grad_(True)
        return torch.autograd.grad(potential(v).sum(), v)[0]


def hessian(potential, z: torch.Tensor) -> torch.Tensor:
    """``[n, n]`` Hessian of ``potential`` at one flat point ``z`` ``[n]``, all rows in one batched pass.

    The potential is evaluated on n copies of z; row k of the Hessian is the gradient, with respect to copy
    k, of the k-th gradient component at copy k. Plain double backward: torch.func would import
    torch._dynamo, several seconds on first use.
    """
    n = z.numel()
    with torch.enable_grad():
        copies = z.detach().reshape(1, n).repeat(n, 1).requires_grad_(True)
        g = torch.autograd.grad(potential(copies).sum(), copies, create_graph=True)[0]
        return torch.autograd.grad(torch.diagonal(g).sum(), copies)[0].detach()


def in_prior_range(z: torch.Tensor) -> torch.Tensor:
    """``[B]`` bool: |z|^2 <= n + PRIOR_RANGE_SIGMAS sqrt(2 n), inside the typical set of the prior N(0, 1)."""
    n = z.shape[-1]
    return (z * z).sum(-1) <= n + PRIOR_RANGE_SIGMAS * np.sqrt(2 * n)


def pseudo_inverse(H: np.ndarray, rtol: float = ZERO_MODE_RTOL) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(eigenvalues ascending, eigenvectors, H^+ over the modes above the tolerance, the tolerance)."""
    eigenvalues, vectors = np.linalg.eigh(0.5 * (H + H.T))
    tolerance = rtol * float(np.abs(eigenvalues).max())
    keep = eigenvalues > tolerance
    return eigenvalues, vectors, (vectors[:, keep] / eigenvalues[keep]) @ vectors[:, keep].T, tolerance


@torch.no_grad()
def _orbit(flow, x: torch.Tensor, H: np.ndarray, softest: np.ndarray, h: float = 1e-5) -> dict | None:
    """Curvature of S_eff along the U(1) orbit of x* (tangent v = d G^-1(e^{i theta} x*) / d theta, a central
    difference in float64) and the tangent's overlap with the softest eigenmode; None for a real field or a
    symmetric saddle (x* = 0)."""
    if flow.channels != 2:
        return None

    def rotated(theta: float) -> torch.Tensor:
        c, s = np.cos(theta), np.sin(theta)
        return flow.inverse(torch.stack([c * x[:, 0] - s * x[:, 1], s * x[:, 0] + c * x[:, 1]], dim=1))[0]

    v = ((rotated(h) - rotated(-h)) / (2 * h)).flatten().numpy()
    norm2 = float(v @ v)
    if norm2 == 0:
        return None
    return {"curvature": float(v @ H @ v) / norm2, "overlap_softest": abs(float(v @ softest)) / np.sqrt(norm2)}


def _distinct(z: torch.Tensor, values: torch.Tensor, grad_norm: torch.Tensor, in_range: torch.Tensor,
              best: int) -> list[dict]:
    """The starts' end points grouped into distinct minima (S_eff equal to 1e-7 relative), lowest first."""
    groups: list[list[int]] = []
    for k in torch.argsort(values).tolist():
        if groups and abs(values[k] - values[groups[-1][0]]) <= 1e-7 * (1 + abs(values[k])):
            groups[-1].append(k)
        else:
            groups.append([k])
    return [{"s_eff": float(values[g[0]]), "half_z2": 0.5 * float(z[g[0]] @ z[g[0]]),
             "gradient_norm": float(grad_norm[g].max()), "in_prior_range": bool(in_range[g[0]]), "starts": len(g),
             "from_zero": 0 in g, "chosen": best in g} for g in groups]


def find_saddle(density: FlowDensity, target, seed: int = 0, prior_starts: int = PRIOR_STARTS) -> Saddle:
    """z* of S_eff for ``density``'s flow and ``target``, with its Hessian and covariance (float64, CPU)."""
    density = copy.deepcopy(density).to("cpu", torch.float64)
    flow = density.flow
    potential = _flat_potential(density, target)
    n = flow.channels * flow.L * flow.L
    gen = torch.Generator().manual_seed(seed)
    starts = torch.cat([torch.zeros(1, n, dtype=torch.float64),
                        torch.randn(prior_starts, n, generator=gen, dtype=torch.float64)])
    z = minimise(potential, starts)
    with torch.no_grad():
        values = potential(z)
    grad_norm = gradient(potential, z).norm(dim=1)
    in_range = in_prior_range(z)
    candidates = torch.nonzero(in_range).flatten() if in_range.any() else torch.arange(len(z))
    best = int(candidates[values[candidates].argmin()])
    H = hessian(potential, z[best]).detach().numpy()
    eigenvalues, vectors, cov, tolerance = pseudo_inverse(H)
    with torch.no_grad():
        x = flow(z[best].reshape(1, flow.channels, flow.L, flow.L))[0]
    C, m = flow.channels, flow.L * flow.L
    return Saddle(z[best].reshape(C, m).numpy(), x[0].numpy(), float(values[best]), float(grad_norm[best]),
                  eigenvalues, cov.reshape(C, m, C, m), tolerance, _distinct(z, values, grad_norm, in_range, best),
                  _orbit(flow, x, H, vectors[:, 0]))

