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

A run splits into ``tasks`` independent parts (:class:`SamplePart`), each with its own random stream
(:func:`engine.device.task_seed` of the seed and the part's index; part 0 keeps the seed, so one part is
the unsplit run): independent Metropolis runs one chain per part over its share of the proposals, bulk HMC
one group of ``chains / tasks`` chains per part, each group tuning its own step size. The parts run here one
after another or on a Ray cluster (:mod:`engine.cluster`) and are gathered in part order (HMC: chain-major
within each step, as one batch of all the chains would lay them out), so the result depends on ``tasks``,
never on where the parts ran. Why groups of chains rather than one chain per task: one HMC chain costs
nearly what sixteen batched chains cost (0.62 against 0.74 s per trajectory at L = 16 on one core).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..cluster import run_tasks
from ..device import make_generator, task_seed
from ..errors import ParameterError
from ..measure.correlation import axial_average, correlation_function
from ..measure.linefit import line_fit
from ..names import BULK_METHODS
from ..nrg.checkpoint import Checkpoint, load_checkpoint
from ..nrg.sampling import (
    bulk_potential,
    draw,
    effective_sample_size,
    hmc,
    metropolis_chain,
)


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


@dataclass(frozen=True)
class SamplePart:
    """One independent part of a bulk run: a cluster task, or one step of the loop that runs them here."""

    checkpoint: Checkpoint | str  # the loaded checkpoint here; its path or shipped name on a cluster's worker
    method: str  # independent or bulk (resolved)
    seed: int
    n: int  # independent: proposals of this part's chain; bulk: HMC trajectories per chain
    chains: int  # bulk: this part's chains (independent: 1)
    batch: int
    device: str


@torch.no_grad()
def sample_part(part: SamplePart, progress: Callable[[int, int], None] | None = None) -> dict:
    """One part's latents ``z``, boundary correlations ``G`` and acceptance, as numpy (independent: in chain
    order, with the log-weights; bulk: ``[steps, chains, ...]``)."""
    ckpt = part.checkpoint if isinstance(part.checkpoint, Checkpoint) else load_checkpoint(part.checkpoint,
                                                                                          device=part.device)
    density, target, flow = ckpt.density, ckpt.target, ckpt.flow
    gen = make_generator(part.seed, next(density.parameters()).device)
    n, batch = part.n, part.batch
    if part.method == "independent":
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
        z, G = torch.cat(zs), axial_average(correlation_function(chain))
        return {"z": _numpy(z), "G": _numpy(G), "log_w": _numpy(log_w), "acceptance": acceptance}
    z0, _ = flow.inverse(density.sample(part.chains, gen)[0])

    def measure(v: torch.Tensor) -> dict[str, torch.Tensor]:
        # The chain moves z under p(G z)|det dG/dz|; a flow trained symmetrised maps only one sector of
        # the field near the prior's centre, so the latents are read off x = G z as for exact samples.
        x = flow(v)[0]
        return {"z": density.latents(x, gen), "G": axial_average(correlation_function(x))}

    run = hmc(bulk_potential(density, target), z0, n, gen, step_size=0.05, adapt_steps=max(n // 10, 20),
              measure=measure, progress=progress)
    return {"z": _numpy(run.series["z"]), "G": _numpy(run.series["G"]), "acceptance": run.acceptance}


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.double().cpu().numpy()


def check_parts(method: str, chains: int, tasks: int) -> None:
    """Bulk HMC splits its chains evenly over the parts."""
    if method == "bulk" and chains % tasks:
        raise ParameterError("tasks", f"{tasks} does not divide the {chains} chains: every part runs as many")


def sample_bulk(ckpt: Checkpoint, n: int, seed: int, batch: int = 2048, n_blocks: int = 20, *,
                method: str = "independent", chains: int = 16, tasks: int = 1, executor=None,
                source: str | None = None, progress: Callable[[int, int], None] | None = None) -> BulkSamples:
    """``n`` exact samples of ``ckpt``'s target with their latent variables, in ``tasks`` parts (the module
    docstring) run here or on ``executor``, whose workers load the checkpoint from ``source`` (a path or a
    shipped name)."""
    method = choose_method(ckpt, method)
    flow = ckpt.flow
    device = str(next(ckpt.density.parameters()).device)
    where = ckpt if executor is None or source is None else str(source)
    if method == "independent":
        sizes = [len(a) for a in np.array_split(np.arange(n), tasks)]
        parts = [SamplePart(where, method, task_seed(seed, k), size, 1, batch, device) for k, size in enumerate(sizes)]
    else:
        check_parts(method, chains, tasks)
        steps = max(n // chains, 2)
        parts = [SamplePart(where, method, task_seed(seed, k), steps, chains // tasks, batch, device)
                 for k in range(tasks)]
    done = [r for r in run_tasks(sample_part, parts, executor, progress) if r is not None]
    if method == "independent":
        z, G = (np.concatenate([r[key] for r in done]) for key in ("z", "G"))
        moves = [len(r["z"]) - 1 for r in done]
        acceptance = sum(r["acceptance"] * m for r, m in zip(done, moves)) / max(sum(moves), 1)
        ess = effective_sample_size(torch.from_numpy(np.concatenate([r["log_w"] for r in done])))
    else:  # every part's [steps, chains, ...] side by side, then step-major: blocks are time windows
        z, G = (np.concatenate([r[key] for r in done], axis=1) for key in ("z", "G"))
        z, G = z.reshape(-1, *z.shape[2:]), G.reshape(-1, *G.shape[2:])
        acceptance, ess = float(np.mean([r["acceptance"] for r in done])), None
    n = z.shape[0]
    z = z.reshape(n, flow.channels, flow.L * flow.L)
    positions = flow.latent_positions()[: flow.L * flow.L].cpu().numpy()
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
