"""Latent ("bulk") samples of a trained neural RG under the exact target distribution.

Two exact samplers, so that correlations of z describe the bulk of the *target* theory, not
only of the variational approximation:

- ``independent``: proposals x ~ q from the flow corrected by independent Metropolis, each
  chain state mapped back to the bulk with z = G^-1(x). Cheap, but only as good as the flow:
  at an acceptance of a few per mille the chain holds a handful of distinct states.
- ``bulk``: HMC directly on z with S_eff(z) = S(G z) - ln|det dG/dz| (parallel chains, step
  size tuned during burn-in), which stays exact and mixes even when the flow is mediocre.
  Samples are stored step-major, so the consecutive blocks behind every error bar are windows
  in Monte Carlo time (batch means).

``auto`` picks bulk HMC for a flow whose recorded independent-Metropolis acceptance is below
:data:`MIN_INDEPENDENT_ACCEPTANCE`. The boundary field x of the same chain gives the boundary
correlations for comparison.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import ParameterError
from ..names import BULK_METHODS
from ..measure.correlation import axial_average, correlation_function
from ..measure.linefit import line_fit
from ..nrg.checkpoint import Checkpoint
from ..nrg.sampling import bulk_potential, draw, effective_sample_size, hmc, metropolis_chain


@dataclass
class BulkSamples:
    z: np.ndarray  # [n, C, m] latent variables, m = L * L nodes
    positions: np.ndarray  # [m, 3] (i, j, level)
    boundary_G: np.ndarray  # [n_blocks, L//2 + 1] axial correlation of x, per block of the chain
    acceptance: float
    ess: float | None  # of the flow's importance weights (independent sampling only)
    L: int
    method: str = "independent"


METHODS = BULK_METHODS
#: below this independent-Metropolis acceptance (recorded in the checkpoint at the end of training)
#: ``auto`` samples by bulk HMC: a chain with fewer accepted moves holds too few distinct states
MIN_INDEPENDENT_ACCEPTANCE = 0.05


def choose_method(ckpt: Checkpoint, method: str = "auto") -> str:
    """``method``, with ``auto`` resolved from the flow's recorded acceptance (unknown: independent)."""
    if method not in METHODS:
        raise ParameterError("mcmc", f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    if method != "auto":
        return method
    acceptance = ckpt.info.get("acceptance")
    return "bulk" if acceptance is not None and acceptance < MIN_INDEPENDENT_ACCEPTANCE else "independent"


@torch.no_grad()
def sample_bulk(ckpt: Checkpoint, n: int, gen: torch.Generator, batch: int = 2048, n_blocks: int = 20, *,
                method: str = "independent", chains: int = 16,
                progress: Callable[[int, int], None] | None = None) -> BulkSamples:
    """``n`` exact samples of ``ckpt``'s target with their latent variables (see the module docstring)."""
    method = choose_method(ckpt, method)
    density, target = ckpt.density, ckpt.target
    flow = density.flow
    if method == "independent":
        def report(done: int, _total: int) -> None:  # drawing is the first half of the work, latents the second
            if progress is not None:
                progress(done, 2 * n)

        x, log_w = draw(density, target, n, gen, batch, report)
        index, acceptance = metropolis_chain(log_w, gen)
        chain = x[index]
        zs = []
        for a in range(0, n, batch):
            zs.append(density.latents(chain[a:a + batch], gen))
            report(n + a + len(zs[-1]), 2 * n)
        z = torch.cat(zs)
        G = axial_average(correlation_function(chain))
        ess = effective_sample_size(log_w)
    else:
        steps = max(n // chains, 2)
        z0, _ = flow.inverse(density.sample(chains, gen)[0])

        def measure(v: torch.Tensor) -> dict[str, torch.Tensor]:
            # The chain moves z under p(G z)|det dG/dz|; a flow trained symmetrised maps only one sector of
            # the field near the prior's centre, so the latents are read off x = G z as for exact samples.
            x = flow(v)[0]
            return {"z": density.latents(x, gen), "G": axial_average(correlation_function(x))}

        run = hmc(bulk_potential(density, target), z0, steps, gen, step_size=0.05,
                  adapt_steps=max(steps // 10, 20), measure=measure, progress=progress)
        series, acceptance = run.series, run.acceptance
        z, G = series["z"].flatten(0, 1), series["G"].flatten(0, 1)  # step-major: blocks are time windows
        n, ess = z.shape[0], None
    z = z.reshape(n, flow.channels, flow.L * flow.L).double().cpu().numpy()
    positions = flow.latent_positions()[: flow.L * flow.L].cpu().numpy()
    G = G.double().cpu().numpy()
    boundary = np.stack([G[b].mean(axis=0) for b in np.array_split(np.arange(n), n_blocks)])
    return BulkSamples(z, positions, boundary, acceptance, ess, flow.L, method)


@dataclass
class BoundaryFit:
    """G(r) ~ A r^(-eta) on 1 <= r <= L/4 (log-log), and an exponential fit for contrast."""

    eta: float
    eta_error: float
    r2_power: float
    xi: float
    r2_exponential: float


def fit_boundary(G_blocks: np.ndarray, L: int) -> BoundaryFit | None:
    """Fits of the boundary correlation function over 1 <= r <= L/4 (NaN-safe; None if too noisy)."""
    mean = G_blocks.mean(axis=0)
    err = G_blocks.std(axis=0, ddof=1) / np.sqrt(len(G_blocks))
    r = np.arange(len(mean), dtype=float)
    keep = (r >= 1) & (r <= max(2, L // 4)) & (mean > 3 * err) & (err > 0)
    if keep.sum() < 3:
        return None
    y, s = np.log(mean[keep]), err[keep] / mean[keep]
    power, exponential = line_fit(np.log(r[keep]), y, s), line_fit(r[keep], y, s)
    slope, slope_err, r2_pow = power.slope, power.slope_error, power.r2
    slope_e, r2_exp = exponential.slope, exponential.r2
    return BoundaryFit(-slope, slope_err, r2_pow, -1 / slope_e if slope_e < 0 else float("inf"), r2_exp)
