"""Latent ("bulk") samples of a trained neural RG under the exact target distribution.

Proposals x ~ q from the flow are corrected by independent Metropolis, so the chain samples
exp(-S) exactly; each chain state is mapped back to the bulk with z = G^-1(x). Correlations of z
then describe the bulk of the *target* theory, not only of the variational approximation.
The boundary field x of the same chain gives the boundary correlations for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..measure.correlation import axial_average, correlation_function
from ..nrg.checkpoint import Checkpoint
from ..nrg.sampling import draw, effective_sample_size, metropolis_chain
from .bulk import BulkAnalysis, analyse_bulk


@dataclass
class BulkSamples:
    z: np.ndarray  # [n, C, m] latent variables, m = L * L nodes
    positions: np.ndarray  # [m, 3] (i, j, level)
    boundary_G: np.ndarray  # [n_blocks, L//2 + 1] axial correlation of x, per block of the chain
    acceptance: float
    ess: float
    L: int


@torch.no_grad()
def sample_bulk(ckpt: Checkpoint, n: int, gen: torch.Generator, batch: int = 2048, n_blocks: int = 20) -> BulkSamples:
    """``n`` independent-Metropolis chain states of ``ckpt``'s target, with their latent variables."""
    density, target = ckpt.density, ckpt.target
    flow = density.flow
    x, log_w = draw(density, target, n, gen, batch)
    index, acceptance = metropolis_chain(log_w, gen)
    chain = x[index]
    zs = [flow.inverse(chain[a:a + batch])[0] for a in range(0, n, batch)]
    z = torch.cat(zs).reshape(n, flow.channels, flow.L * flow.L).double().cpu().numpy()
    positions = flow.latent_positions()[: flow.L * flow.L].cpu().numpy()
    G = axial_average(correlation_function(chain)).double().cpu().numpy()
    boundary = np.stack([G[b].mean(axis=0) for b in np.array_split(np.arange(n), n_blocks)])
    return BulkSamples(z, positions, boundary, acceptance, effective_sample_size(log_w), flow.L)


@dataclass
class BoundaryFit:
    """G(r) ~ A r^(-eta) on 1 <= r <= L/4 (log-log), and an exponential fit for contrast."""

    eta: float
    eta_error: float
    r2_power: float
    xi: float
    r2_exponential: float


def _line(x: np.ndarray, y: np.ndarray, sigma: np.ndarray) -> tuple[float, float, float]:
    w = 1 / sigma**2
    A = np.stack([np.ones_like(x), x], axis=1)
    cov = np.linalg.inv(A.T @ (w[:, None] * A))
    a, b = cov @ (A.T @ (w * y))
    resid = y - a - b * x
    ybar = np.sum(w * y) / np.sum(w)
    r2 = 1 - np.sum(w * resid**2) / np.sum(w * (y - ybar) ** 2)
    chi2 = max(float(np.sum(w * resid**2)) / max(len(x) - 2, 1), 1.0)
    return float(b), float(np.sqrt(cov[1, 1] * chi2)), float(r2)


def fit_boundary(G_blocks: np.ndarray, L: int) -> BoundaryFit | None:
    """Fits of the boundary correlation function over 1 <= r <= L/4 (NaN-safe; None if too noisy)."""
    mean = G_blocks.mean(axis=0)
    err = G_blocks.std(axis=0, ddof=1) / np.sqrt(len(G_blocks))
    r = np.arange(len(mean), dtype=float)
    keep = (r >= 1) & (r <= max(2, L // 4)) & (mean > 3 * err) & (err > 0)
    if keep.sum() < 3:
        return None
    y, s = np.log(mean[keep]), err[keep] / mean[keep]
    slope, slope_err, r2_pow = _line(np.log(r[keep]), y, s)
    slope_e, _, r2_exp = _line(r[keep], y, s)
    return BoundaryFit(-slope, slope_err, r2_pow, -1 / slope_e if slope_e < 0 else float("inf"), r2_exp)


def bulk_report(samples: BulkSamples, threshold: float = 3.0) -> tuple[BulkAnalysis, dict]:
    """The analysis and the JSON summary written by ``rgviz-batch bulk``."""
    analysis = analyse_bulk(samples.z, samples.positions, samples.L, threshold=threshold)
    boundary = fit_boundary(samples.boundary_G, samples.L)
    doc = {
        "fit": analysis.fit.to_json(),
        "fit_boundary_distance": analysis.fit_flat.to_json(),
        "fit_same_level": analysis.fit_same_level.to_json() if analysis.fit_same_level else None,
        "fit_cross_level": analysis.fit_cross_level.to_json() if analysis.fit_cross_level else None,
        "pairs_used": int(analysis.resolved.sum()),
        "pairs_total": int(len(analysis.levels) * (len(analysis.levels) - 1) // 2),
        "threshold_sigma": threshold,
        "boundary_correlation": None if boundary is None else boundary.__dict__,
        "acceptance": samples.acceptance,
        "ess": samples.ess,
        "samples": int(samples.z.shape[0]),
    }
    return analysis, doc
