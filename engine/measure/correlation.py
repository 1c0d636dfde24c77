"""Two-point correlation functions of lattice fields, by FFT, and the second-moment length.

Fields are batches on the L x L torus: scalar ``[B, L, L]`` (Ising spins, a phi component) or
multi-component ``[B, C, L, L]`` (complex phi^4 as real/imaginary parts; XY angles turned into
unit vectors by :func:`angles_to_vectors`). For a multi-component field the correlation is the
dot product s_i . s_j summed over components, e.g. cos(theta_i - theta_j) for XY.

All functions run on the input's device; a displacement x = (dy, dx) indexes the last two axes.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..errors import ParameterError


def angles_to_vectors(theta: torch.Tensor) -> torch.Tensor:
    """XY angles ``[B, L, L]`` -> unit vectors ``[B, 2, L, L]`` (cos, sin)."""
    return torch.stack((torch.cos(theta), torch.sin(theta)), dim=1)


def _components(field) -> torch.Tensor:
    """A field as ``[B, C, L, L]`` (C = 1 for scalar fields)."""
    field = torch.as_tensor(field)
    if field.dim() == 3:
        field = field.unsqueeze(1)
    if field.dim() != 4 or field.shape[-1] != field.shape[-2]:
        raise ParameterError("field", f"must be [B, L, L] or [B, C, L, L] on a square torus, "
                             f"got shape {tuple(field.shape)}")
    return field if field.is_floating_point() else field.to(torch.float32)


def correlation_function(field, connected: bool = False) -> torch.Tensor:
    """G(x) = (1/N) sum_i s_i . s_{i+x} for each configuration, ``[B, L, L]`` (x = (dy, dx)).

    Computed as |FFT(s)|^2 (Wiener-Khinchin), O(N log N). With ``connected=True`` each
    configuration's own mean (the magnetization) is subtracted first, so G tends to 0 at large
    distance even in the ordered phase, the per-configuration version of <s_0 s_x> - <s>^2.
    """
    s = _components(field)
    if connected:
        s = s - s.mean(dim=(-2, -1), keepdim=True)
    f = torch.fft.rfft2(s)
    power = (f.real**2 + f.imag**2).sum(dim=1)
    L = s.shape[-1]
    return torch.fft.irfft2(power, s=(L, L)) / (L * L)


def axial_average(G: torch.Tensor) -> torch.Tensor:
    """G along the lattice axes for r = 0 .. L/2, averaged over +-x and +-y: ``[B, L//2 + 1]``."""
    L = G.shape[-1]
    r = torch.arange(L // 2 + 1, device=G.device)
    back = (-r) % L
    return 0.25 * (G[..., r, 0] + G[..., 0, r] + G[..., back, 0] + G[..., 0, back])


def _torus_distances(L: int) -> np.ndarray:
    d = np.minimum(np.arange(L), L - np.arange(L))
    return np.sqrt(d[:, None] ** 2 + d[None, :] ** 2)


def radial_average(G: torch.Tensor) -> tuple[np.ndarray, torch.Tensor]:
    """G averaged over all displacements of equal torus (minimum-image) distance.

    Returns ``(r, G_r)``: the distinct distances (numpy, ascending) and ``[B, len(r)]``.
    """
    L = G.shape[-1]
    dist = _torus_distances(L)
    radii, inverse = np.unique(np.round(dist, 9), return_inverse=True)
    index = torch.as_tensor(inverse.reshape(-1), device=G.device)
    flat = G.reshape(*G.shape[:-2], L * L)
    sums = torch.zeros(*G.shape[:-2], len(radii), dtype=G.dtype, device=G.device)
    sums.index_add_(-1, index, flat)
    counts = torch.bincount(index, minlength=len(radii)).to(G.dtype)
    return radii, sums / counts


def fourier_moments(field) -> tuple[torch.Tensor, torch.Tensor]:
    """Per configuration, S(0) = |sum_i s_i|^2 / N and S(k_min) averaged over the two axes.

    S(k) = |sum_i s_i e^{i k.x_i}|^2 / N with k_min = 2 pi / L. Their ensemble means are the
    chi (up to the factor beta) and F of the second-moment correlation length. Only these two
    modes are needed, so they are projections of the row and column sums (O(N), no FFT).
    """
    s = _components(field)
    L = s.shape[-1]
    phase = (2 * math.pi / L) * torch.arange(L, device=s.device, dtype=s.dtype)
    waves = torch.stack((torch.cos(phase), torch.sin(phase)), dim=-1)          # [L, 2]

    def power_kmin(profile: torch.Tensor) -> torch.Tensor:                     # profile: [B, C, L]
        return ((profile @ waves) ** 2).sum(dim=(-2, -1))

    rows, columns = s.sum(dim=-1), s.sum(dim=-2)  # the lattice is read twice; the total comes from the rows
    s0 = (rows.sum(dim=-1) ** 2).sum(dim=-1)
    sk = 0.5 * (power_kmin(columns) + power_kmin(rows))
    return s0 / (L * L), sk / (L * L)


def xi_second_moment(s0, sk, L: int):
    """Second-moment correlation length xi = sqrt(chi / F - 1) / (2 sin(pi / L)).

    ``s0`` and ``sk`` are ensemble means of :func:`fourier_moments` (numpy or torch, any shape);
    chi = S(0) is the full (not connected) moment, the usual definition in the symmetric phase,
    where <s> = 0 on the torus. Where chi <= F (no correlation) xi is 0.
    """
    ratio = s0 / sk - 1.0
    lib = torch if isinstance(ratio, torch.Tensor) else np
    return lib.sqrt(lib.clip(ratio, 0.0, None)) / (2.0 * math.sin(math.pi / L))
