"""Exact sampling with a trained flow: reweighting, independent Metropolis, bulk and physical HMC.

- Importance reweighting: w = exp(-S(x)) / q(x) for x ~ q; the effective sample size
  ESS = (sum w)^2 / (n sum w^2) (as a fraction of n) says how good q is.
- Independent Metropolis: propose x' ~ q, accept with min(1, w(x') / w(x)); exact for any q
  with full support, and the acceptance rate is a direct quality measure.
- Bulk HMC: Hamiltonian Monte Carlo on the latent ("bulk") variables with
  S_eff(z) = S(G z) - ln|det dG/dz|, the pull-back of exp(-S) through G (no prior term: the
  target is exp(-S), not q). A good flow makes S_eff nearly Gaussian, so long trajectories
  decorrelate the order parameter quickly.
- Physical HMC: the same integrator on S(x) itself, the baseline for equal-cost comparisons.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch

from ..samplers.hmc import hmc_init, hmc_step
from .density import FlowDensity


@torch.no_grad()
def draw(density: FlowDensity, target, n: int, gen: torch.Generator, batch: int = 4096,
         progress: Callable[[int, int], None] | None = None):
    """n proposals x ~ q with ln w = -S(x) - ln q(x), drawn in chunks of ``batch`` (``progress(done, n)``
    after each, where a caller can also stop the draw by raising)."""
    xs, log_ws = [], []
    for start in range(0, n, batch):
        x, ln_q = density.sample(min(batch, n - start), gen)
        xs.append(x)
        log_ws.append(-target.action(x) - ln_q)
        if progress is not None:
            progress(start + len(x), n)
    return torch.cat(xs), torch.cat(log_ws)


def effective_sample_size(log_w: torch.Tensor) -> float:
    """(sum w)^2 / (n sum w^2), a fraction in (0, 1]; 1 means q equals the target."""
    log_w = log_w.double()
    return math.exp(2 * torch.logsumexp(log_w, 0).item() - torch.logsumexp(2 * log_w, 0).item()) / len(log_w)


def metropolis_chain(log_w: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, float]:
    """Independent Metropolis over proposals with log-weights ``log_w`` (in proposal order), one chain.

    Returns the index of the current state after each proposal (``[n]``; the chain starts in
    proposal 0) and the acceptance rate.
    """
    index = metropolis_chains(log_w[:, None], gen)[:, 0]
    return index, accepted_moves(index[:, None])[0] / max(len(log_w) - 1, 1)


def metropolis_chains(log_w: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Independent Metropolis in ``K`` parallel chains: column k of ``log_w [steps, K]`` holds the
    log-weights of chain k's proposals, and the chain starts in its first one.

    Returns ``[steps, K]``: the row (proposal) each chain is in after each step. The accept/reject
    pass is inherently sequential but costs a few scalar operations per proposal.
    """
    steps, chains = log_w.shape
    log_u = torch.log(torch.rand(steps, chains, generator=gen, device=log_w.device, dtype=torch.float64))
    index = []
    for u, lw in zip(log_u.T.tolist(), log_w.double().T.tolist()):  # chains one after another
        rows, current = [0] * steps, 0
        for i in range(1, steps):
            if u[i] < lw[i] - lw[current]:
                current = i
            rows[i] = current
        index.append(rows)
    return torch.tensor(index, device=log_w.device).T


def accepted_moves(index: torch.Tensor) -> list[int]:
    """Accepted moves per chain of a :func:`metropolis_chains` index ``[steps, K]`` (the state changes)."""
    return (index[1:] != index[:-1]).sum(0).tolist()


class HMCRun(NamedTuple):
    """What :func:`hmc` returns: final positions, ``[n_steps, B]`` measurement series, the acceptance rate
    and the accepted trajectories per chain (both after burn-in), and the step size reached."""

    position: torch.Tensor
    series: dict[str, torch.Tensor]
    acceptance: float
    step_size: float
    accepted: list[int]


def hmc(potential: Callable[[torch.Tensor], torch.Tensor], v0: torch.Tensor, n_steps: int, gen: torch.Generator,
        step_size: float = 0.1, n_leapfrog: int = 10, adapt_steps: int = 0, target_acceptance: float = 0.75,
        measure: Callable[[torch.Tensor], dict[str, torch.Tensor]] | None = None,
        progress: Callable[[int, int], None] | None = None) -> HMCRun:
    """Batched HMC (:func:`engine.samplers.hmc.hmc_step`): every row of ``v0`` is an independent chain
    with potential ``potential(v) [B]``, its gradient by autograd.

    The first ``adapt_steps`` trajectories tune the shared step size toward ``target_acceptance``
    (a multiplicative Robbins-Monro rule) and are discarded: they are the burn-in, and with none the step
    size stays as given.
    """
    value_and_gradient = autograd_value_and_gradient(potential)
    state = hmc_init(v0.detach(), value_and_gradient)
    series: dict[str, list[torch.Tensor]] = {}
    accepted = torch.zeros(v0.shape[0], dtype=torch.int64, device=v0.device)
    total = adapt_steps + n_steps
    for it in range(total):
        state, info = hmc_step(state, value_and_gradient, step_size, n_leapfrog, gen)
        if it < adapt_steps:
            step_size *= math.exp(0.5 * (info.accept_prob.mean().item() - target_acceptance) / math.sqrt(it + 1))
        else:
            accepted += info.accepted.to(torch.int64)
            if measure is not None:
                for key, value in measure(state.position).items():
                    series.setdefault(key, []).append(value.detach())
        if progress is not None:
            progress(it + 1, total)
    stacked = {k: torch.stack(vals) for k, vals in series.items()}
    counts = accepted.tolist()
    return HMCRun(state.position, stacked, sum(counts) / max(n_steps * len(counts), 1), step_size, counts)


def autograd_value_and_gradient(potential: Callable[[torch.Tensor], torch.Tensor]):
    """x -> (U(x), dU/dx) by autograd, for potentials without a hand-written gradient (the flow's S_eff)."""
    def value_and_gradient(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.enable_grad():
            v = v.detach().requires_grad_(True)
            u = potential(v)
            return u.detach(), torch.autograd.grad(u.sum(), v)[0]
    return value_and_gradient


def bulk_potential(density: FlowDensity, target) -> Callable[[torch.Tensor], torch.Tensor]:
    """S_eff(z) = S(G z) - ln|det dG/dz|: HMC on it samples z whose image G z is exact."""
    def potential(z: torch.Tensor) -> torch.Tensor:
        x, logdet = density.flow(z)
        return target.action(x) - logdet
    return potential
