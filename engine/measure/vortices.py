"""XY-model topology and stiffness: plaquette vortices and the helicity modulus.

Angles are ``[B, L, L]`` on the torus with x along the last axis (j) and y along the one before
(i). Vortices drive the Kosterlitz-Thouless transition: bound in +- pairs below T_KT, free above.
The helicity modulus (spin stiffness) jumps from 2 T_KT / pi to 0 there.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def _wrap(d: torch.Tensor) -> torch.Tensor:
    """Angle differences mapped to [-pi, pi)."""
    return torch.remainder(d + math.pi, 2 * math.pi) - math.pi


def vortex_map(theta: torch.Tensor) -> torch.Tensor:
    """Winding number of every plaquette, ``[B, L, L]`` int8: +1 vortex, -1 antivortex, 0 none.

    Plaquette (i, j) has corners (i, j), (i, j+1), (i+1, j+1), (i+1, j), walked anticlockwise in
    the (x = j, y = i) plane; the sum of the four wrapped angle differences is 2 pi times the
    winding number. Entry (i, j) sits at the plaquette centre (i + 1/2, j + 1/2).
    """
    a = theta
    b = theta.roll(-1, dims=-1)              # (i, j+1)
    c = b.roll(-1, dims=-2)                  # (i+1, j+1)
    d = theta.roll(-1, dims=-2)              # (i+1, j)
    total = _wrap(b - a) + _wrap(c - b) + _wrap(d - c) + _wrap(a - d)
    return torch.round(total / (2 * math.pi)).to(torch.int8)


def vortex_density(theta: torch.Tensor) -> torch.Tensor:
    """(vortices + antivortices) per site, ``[B]``, in theta's float dtype."""
    v = vortex_map(theta)
    return v.abs().sum(dim=(-2, -1)).to(theta.dtype) / (theta.shape[-1] * theta.shape[-2])


def vortex_positions(vmap: torch.Tensor, replica: int = 0) -> dict[str, np.ndarray]:
    """Plaquette-centre positions ``[k, 2]`` as (y, x) of the vortices and antivortices of one replica."""
    v = vmap[replica].detach().cpu().numpy()
    return {"vortex": np.argwhere(v > 0) + 0.5, "antivortex": np.argwhere(v < 0) + 0.5}


def helicity_terms(theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per configuration, averaged over the x and y bond directions: ``(c, s2)``, each ``[B]``.

    c = (1/N) sum_i cos(theta_i - theta_{i+mu}),  s2 = (1/N) (sum_i sin(theta_i - theta_{i+mu}))^2.
    """
    N = theta.shape[-1] * theta.shape[-2]
    c = torch.zeros(theta.shape[:-2], dtype=theta.dtype, device=theta.device)
    s2 = torch.zeros_like(c)
    for dim in (-1, -2):
        diff = theta - theta.roll(-1, dims=dim)
        c = c + torch.cos(diff).sum(dim=(-2, -1)) / N
        s2 = s2 + torch.sin(diff).sum(dim=(-2, -1)) ** 2 / N
    return 0.5 * c, 0.5 * s2


def helicity_modulus(theta: torch.Tensor, T, J=1.0) -> torch.Tensor:
    """Per-configuration estimator of the helicity modulus (Weber & Minnhagen, PRB 37, 5986 (1988)).

    For H = -J sum cos(theta_i - theta_j), the free-energy cost of a uniform twist gives

        Upsilon = J <c> - (J^2 / T) <s2>     (+ (J^2 / (T N)) <sum sin>^2, zero by symmetry)

    with c, s2 from :func:`helicity_terms` (both bond directions averaged). The time average of
    the returned ``[B]`` values is Upsilon; T and J are scalars or ``[B]`` per replica.
    """
    c, s2 = helicity_terms(theta)
    T = torch.as_tensor(T, dtype=theta.dtype, device=theta.device)
    J = torch.as_tensor(J, dtype=theta.dtype, device=theta.device)
    return J * c - J * J / T * s2
