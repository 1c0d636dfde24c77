"""An exact control that needs no training: a Gaussian free field under a linear hierarchical flow.

The field x on the L x L torus has the action S = 1/2 sum_x x (-Laplacian + m^2) x per component, so its
covariance is Sigma = (-Laplacian + m^2)^-1 (correlation length 1/m; m^2 -> 0 is the massless, critical
field). The flow is :class:`engine.nrg.flow.HierarchicalFlow` itself, the same block and level layout as
a trained one, with its bijectors replaced by fixed linear maps: the decimator is the orthonormal 2 x 2
Haar transform of each block (the surviving top-left site keeps the block sum / 2, the three frozen
latents the differences), the disentangler a rotation by ``angle`` between the diagonal sites of the
offset blocks. The RG direction z = G^-1(x) is then a matrix W, read off by pushing the unit vectors
through the flow, and the latent covariance W Sigma W^T is exact: the analysis sees it with no sampling
noise at all.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..nrg.flow import HierarchicalFlow

#: the orthonormal 2D Haar transform of a 2 x 2 block, sites ordered (0,0), (0,1), (1,0), (1,1)
HAAR = 0.5 * np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]], dtype=np.float64)


class LinearBlock(nn.Module):
    """A bijector block v -> v M^T (the RG direction applies M; generation applies M^-1)."""

    def __init__(self, matrix: np.ndarray):
        super().__init__()
        m = torch.as_tensor(matrix, dtype=torch.float64)
        self.register_buffer("rg", m)
        self.register_buffer("gen", torch.linalg.inv(m))
        self.logdet = float(torch.linalg.slogdet(m)[1])

    def forward(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return v @ self.gen.T.to(v.dtype), v.new_full((v.shape[0],), -self.logdet)

    def inverse(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return v @ self.rg.T.to(v.dtype), v.new_full((v.shape[0],), self.logdet)


def linear_flow(L: int, channels: int = 2, angle: float = 0.3) -> HierarchicalFlow:
    """A :class:`HierarchicalFlow` whose bijectors are Haar decimators and rotating disentanglers."""
    flow = HierarchicalFlow(L, channels, n_couplings=1, hidden=(1,))
    rotation = np.eye(4)
    c, s = math.cos(angle), math.sin(angle)
    rotation[np.ix_([0, 3], [0, 3])] = [[c, -s], [s, c]]
    per_channel = lambda m: np.kron(np.eye(channels), m)  # noqa: E731  (rows are channel-major: c * 4 + site)
    flow.decimators = nn.ModuleList(LinearBlock(per_channel(HAAR)) for _ in range(flow.levels))
    flow.disentanglers = nn.ModuleList(LinearBlock(per_channel(rotation)) for _ in range(flow.levels))
    return flow.double()


class FreeField:
    """The free field as a target: S = 1/2 sum_c x_c (-Laplacian + m^2) x_c on ``[B, C, L, L]``.

    The saddle point of S_eff for it under :func:`linear_flow` is z = 0 with the Hessian (W Sigma W^T)^-1:
    the saddle-point estimator's exact oracle.
    """

    name = "free field"

    def __init__(self, L: int, mass2: float, channels: int = 2):
        self.L, self.mass2, self.channels = L, mass2, channels

    def params(self) -> dict[str, float]:
        return {"mass2": self.mass2}

    def action(self, x: torch.Tensor) -> torch.Tensor:
        laplacian = 4 * x - x.roll(1, -1) - x.roll(-1, -1) - x.roll(1, -2) - x.roll(-1, -2)
        return 0.5 * (x * (laplacian + self.mass2 * x)).flatten(1).sum(-1)


def free_field_covariance(L: int, mass2: float) -> np.ndarray:
    """``[L*L, L*L]`` covariance (-Laplacian + m^2)^-1 of a one-component free field on the torus."""
    k = 2 * np.pi * np.arange(L) / L
    eigen = mass2 + 4 - 2 * np.cos(k)[:, None] - 2 * np.cos(k)[None, :]
    G = np.real(np.fft.ifft2(1.0 / eigen))  # G(r) for displacement r = (di, dj) mod L
    i, j = np.divmod(np.arange(L * L), L)
    return G[(i[:, None] - i[None, :]) % L, (j[:, None] - j[None, :]) % L]


@torch.no_grad()
def rg_matrix(flow: HierarchicalFlow) -> np.ndarray:
    """``[C*L*L, C*L*L]`` matrix W of the linear map z = G^-1(x), on flattened (channel, site) vectors."""
    n = flow.channels * flow.L * flow.L
    basis = torch.eye(n, dtype=torch.float64).reshape(n, flow.channels, flow.L, flow.L)
    return flow.inverse(basis)[0].reshape(n, n).T.numpy()


def free_field_control(L: int, mass2: float, channels: int = 2, angle: float = 0.3):
    """(latent covariance ``[C, m, C, m]``, node positions ``[m, 3]``, flow) of the free-field control."""
    flow = linear_flow(L, channels, angle)
    sigma = np.kron(np.eye(channels), free_field_covariance(L, mass2))
    W = rg_matrix(flow)
    m = L * L
    cov = (W @ sigma @ W.T).reshape(channels, m, channels, m)
    return cov, flow.latent_positions()[:m].numpy(), flow
