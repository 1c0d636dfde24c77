"""Latent-space ("bulk") operations on a trained hierarchical flow.

- Latent response: x = G(z + eps e_k) - G(z) for one latent node k; its footprint (the sites it
  moves) grows with the node's level, the RG's notion of scale.
- Multi-scale mixing: the coarse latents (level >= l) of one configuration with the fine ones of
  another: large structures from the first, local texture from the second.
- Error correction: corrupt a patch of x, then resample only the latents in the patch's causal
  cone, exactly from the target conditioned on the others (independent Metropolis, optionally
  followed by HMC on the cone).
- Bulk vs physical MCMC: HMC on S_eff(z) against HMC on S(x), traces and autocorrelations of the
  order parameter.

Used by the Neural RG panel; scripts can use them directly.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from ..errors import ParameterError
from ..measure.stats import autocorrelation
from .density import FlowDensity, prior_log_density, prior_sample
from .flow import HierarchicalFlow
from .mcmc import ORDER_PARAMETER, summarise
from .sampling import bulk_potential, hmc, metropolis_chain


def node_site(flow: HierarchicalFlow, k: int) -> tuple[int, int]:
    """Site (i, j) of bulk node ``k`` (the index into ``z.flatten(1)`` of one channel)."""
    if not 0 <= k < flow.L * flow.L:
        raise ParameterError("node", f"must be in 0..{flow.L * flow.L - 1}, got {k}")
    return divmod(int(k), flow.L)


@torch.no_grad()
def latent_response(flow: HierarchicalFlow, z: torch.Tensor, k: int, eps: float = 1.0) -> np.ndarray:
    """``[L, L]`` |G(z + eps e_k) - G(z)| (norm over channels) for node ``k`` of the first configuration."""
    i, j = node_site(flow, k)
    dz = torch.zeros_like(z[:1])
    dz[:, :, i, j] = eps
    dx = flow(z[:1] + dz)[0] - flow(z[:1])[0]
    return dx.norm(dim=1)[0].cpu().numpy()


def footprint(response: np.ndarray, rel: float = 1e-5) -> int:
    """Sites a perturbation moved (above ``rel`` of the largest change: float round-off is not a move)."""
    top = float(response.max())
    return int((response > rel * top).sum()) if top > 0 else 0


def footprints_by_level(flow: HierarchicalFlow, z: torch.Tensor, eps: float = 1.0) -> dict[int, int]:
    """The footprint of one node per level (the last node of the level, away from the origin)."""
    levels = flow.latent_levels().flatten()
    return {lev: footprint(latent_response(flow, z, int(torch.nonzero(levels == lev)[-1]), eps))
            for lev in range(flow.levels + 1)}


@torch.no_grad()
def mix_latents(flow: HierarchicalFlow, z_coarse: torch.Tensor, z_fine: torch.Tensor, level: int) -> torch.Tensor:
    """G of the latents of level >= ``level`` from ``z_coarse`` and the finer ones from ``z_fine``."""
    coarse = (flow.latent_levels() >= level).to(z_coarse.device)
    return flow(torch.where(coarse, z_coarse, z_fine))[0]


def causal_cone(flow: HierarchicalFlow, patch: torch.Tensor, gen: torch.Generator, probes: int = 2) -> torch.Tensor:
    """``[C, L, L]`` bool: the latents that the patch's sites depend on (dx_P/dz_k != 0) or that
    depend on the patch (dz_k/dx_P != 0).

    Both directions count: the first set is what must be redrawn to refill the patch, the second
    is what a corruption of the patch reaches through z = G^-1(x); with both resampled, every
    latent kept is exactly the uncorrupted one. The zeros are structural (the flow's blocks are
    local), so random probes find them: a vector-Jacobian product with a random cotangent on the
    patch for the first set; for the second, a random change of the patch pushed through G^-1
    (latents outside its reach are computed from identical inputs, so they do not move at all).
    """
    p = next(flow.parameters())
    shape = (probes, flow.channels, flow.L, flow.L)
    mask = patch.to(p.device, torch.bool).expand(shape)
    z = torch.randn(shape, generator=gen, device=p.device, dtype=p.dtype).requires_grad_(True)
    x = flow(z)[0]
    weights = torch.randn(shape, generator=gen, device=p.device, dtype=p.dtype) * mask
    (grad,) = torch.autograd.grad((x * weights).sum(), z)
    with torch.no_grad():
        x = x.detach()
        kick = torch.randn(shape, generator=gen, device=p.device, dtype=p.dtype) * mask
        moved = flow.inverse(x + kick)[0] != flow.inverse(x)[0]
    return ((grad != 0) | moved).any(dim=0)


def corrupt(x: torch.Tensor, patch: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """``x`` with the patch's sites replaced by Gaussian noise of the field's own spread."""
    noise = torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype) * x.std()
    return torch.where(patch.to(x.device, torch.bool), noise, x)


@torch.no_grad()
def repair(flow: HierarchicalFlow, target, x: torch.Tensor, cone: torch.Tensor, gen: torch.Generator,
           proposals: int = 64, prior: str = "normal") -> tuple[torch.Tensor, float]:
    """Resample the ``cone`` latents of ``x`` (``[1, C, L, L]``) from the target given the others.

    Proposals draw the cone from the flow's prior p; independent Metropolis with weights
    exp(-S(G z)) |det dG/dz| / p(z_cone) makes the chain's last state a draw from the target
    conditioned on the latents kept. Returns (repaired x ``[1, C, L, L]``, acceptance).
    """
    z = flow.inverse(x)[0].expand(proposals, -1, -1, -1)
    fresh = prior_sample(prior, z.shape, gen, z)
    cone = cone.to(z.device)
    zs = torch.where(cone, fresh, z)
    xs, logdet = flow(zs)
    log_w = -target.action(xs) + logdet - (prior_log_density(prior, fresh) * cone).flatten(1).sum(-1)
    index, acceptance = metropolis_chain(log_w, gen)
    return xs[index[-1]][None], acceptance


def refine(flow: HierarchicalFlow, target, x: torch.Tensor, cone: torch.Tensor, gen: torch.Generator, steps: int,
           n_leapfrog: int = 10) -> tuple[torch.Tensor, float]:
    """HMC on the ``cone`` latents of ``x`` (``[1, C, L, L]``) with the others held, on
    S_eff(z) = S(G z) - ln|det dG/dz| (:func:`.sampling.bulk_potential`): the same conditional density as
    :func:`repair`, explored by local moves. Independent proposals from the prior rarely land where a few
    hundred cone latents fit the rest of the field; HMC from the chain's state walks there. The first half
    of ``steps`` tunes the step size. Returns (x ``[1, C, L, L]``, acceptance of the kept trajectories).
    """
    with torch.no_grad():
        z0 = flow.inverse(x)[0].flatten(1)
    where = torch.nonzero(cone.to(z0.device).flatten()).flatten()

    def latents(v: torch.Tensor) -> torch.Tensor:  # the cone's latents v [B, k], the others held at z0
        z = z0.expand(len(v), -1).clone()
        z[:, where] = v
        return z.reshape(len(v), *x.shape[1:])

    def potential(v: torch.Tensor) -> torch.Tensor:
        xs, logdet = flow(latents(v))
        return target.action(xs) - logdet

    run = hmc(potential, z0[:, where], steps, gen, step_size=0.02, n_leapfrog=n_leapfrog,
              adapt_steps=max(steps // 2, 1))
    with torch.no_grad():
        return flow(latents(run.position))[0], run.acceptance


@torch.no_grad()
def compare_chains(density: FlowDensity, target, steps: int, chains: int, gen: torch.Generator,
                   n_leapfrog: int = 10, burn: int = 20, progress=None) -> dict[str, dict]:
    """Bulk HMC on S_eff(z) and physical HMC on S(x) from the same flow samples: order-parameter
    traces ``[steps, chains]``, their autocorrelation (mean over chains), tau_int, acceptance and
    wall time per trajectory (a bulk trajectory costs more: 2 tau_int x time compares at equal cost),
    and the chains' diagnosis (:func:`engine.nrg.mcmc.summarise`: ``accepted``, ``converged``, ``warning``)."""
    x0, _ = density.sample(chains, gen)
    setups = {"bulk": (bulk_potential(density, target), density.flow.inverse(x0)[0],
                       lambda z: target.observables(density.flow(z)[0], gen)),
              "physical": (target.action, x0, lambda x: target.observables(x, gen))}
    out = {}
    for n, (method, (potential, v0, measure)) in enumerate(setups.items()):
        def report(done, total, n=n):
            if progress is not None:
                progress(n * total + done, 2 * total)
        start = time.perf_counter()
        run = hmc(potential, v0, steps, gen, n_leapfrog=n_leapfrog, adapt_steps=burn, step_size=0.05,
                  measure=measure, progress=report)
        trace = run.series[ORDER_PARAMETER].double().cpu().numpy()
        diagnosis = summarise(run.series, run.accepted)
        out[method] = {"trace": trace, "rho": np.nanmean(autocorrelation(trace), axis=1),
                       "tau_int": diagnosis["observables"][ORDER_PARAMETER]["tau_int"], "acceptance": run.acceptance,
                       "step_size": run.step_size, "seconds_per_step": (time.perf_counter() - start) / (steps + burn),
                       **{k: diagnosis[k] for k in ("accepted", "converged", "warning")}}
    return out
