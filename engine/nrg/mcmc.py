"""Markov chains that use a trained flow, measured with autocorrelation-aware errors.

Three ways to sample the target exactly, comparable at equal cost:

- ``independent``: independent Metropolis with flow proposals (one chain; a rejected proposal
  repeats the current state, so tau_int > 1/2 measures the cost of rejections),
- ``bulk``: HMC in latent space on S_eff(z) = S(G z) - ln|det dG/dz| (B parallel chains),
- ``physical``: the same HMC on S(x) directly, started from flow samples (the baseline).

Each returns the observables of the target (for the Ising model: of spins drawn given x, so the
Ising energy per site is exact), their errors sqrt(2 tau_int var / n) per chain combined over
chains, the acceptance rate, tau_int of the order parameter |m|, and wall time per step, so that
``tau_int * seconds_per_step`` compares methods at equal cost.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from ..errors import ParameterError
from ..measure.stats import estimate
from ..names import SAMPLE_METHODS
from .density import FlowDensity
from .sampling import bulk_potential, draw, effective_sample_size, hmc, metropolis_chain

METHODS = SAMPLE_METHODS
ORDER_PARAMETER = "abs_m"


def combine_chains(series: torch.Tensor | np.ndarray) -> dict[str, float]:
    """Mean, error and tau_int of ``[n_steps, chains]`` series: chains are independent, so the
    error of their average is sqrt(sum error^2) / chains."""
    est = estimate(np.asarray(torch.as_tensor(series).double().cpu()))
    mean, error, tau = (np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in (est.mean, est.error, est.tau_int))
    chains = len(mean)
    tau_finite = tau[np.isfinite(tau)]
    return {"mean": float(mean.mean()), "error": float(np.sqrt((error ** 2).sum()) / chains),
            "tau_int": float(tau_finite.mean()) if len(tau_finite) else None}


def _measure(target, gen: torch.Generator) -> Callable[[torch.Tensor], dict[str, torch.Tensor]]:
    return lambda x: target.observables(x, gen)


@torch.no_grad()
def run_chain(density: FlowDensity, target, method: str, n: int, gen: torch.Generator, *, chains: int = 16,
              burn: int | None = None, n_leapfrog: int = 10, step_size: float = 0.05,
              progress: Callable[[int, int], None] | None = None) -> dict:
    """Sample ``n`` configurations in total (``n // chains`` steps per chain for HMC)."""
    if method not in METHODS:
        raise ParameterError("mcmc", f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    for name, value in (("n", n), ("chains", chains), ("n_leapfrog", n_leapfrog)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ParameterError(name, f"must be a positive integer, got {value!r}")
    start = time.perf_counter()
    out: dict = {"method": method}
    if method == "independent":
        x, log_w = draw(density, target, n, gen)
        index, acceptance = metropolis_chain(log_w, gen)
        obs = target.observables(x[index], gen)
        series = {k: v[:, None] for k, v in obs.items()}
        out.update(acceptance=acceptance, ess=effective_sample_size(log_w), chains=1, steps=n)
        if progress is not None:
            progress(n, n)
    else:
        steps = max(n // chains, 2)
        burn = max(steps // 10, 20) if burn is None else burn
        x0, _ = density.sample(chains, gen)
        if method == "bulk":
            z0, _ = density.flow.inverse(x0)
            potential = bulk_potential(density, target)
            measure = lambda z: target.observables(density.flow(z)[0], gen)
            v0 = z0
        else:
            potential, measure, v0 = target.action, _measure(target, gen), x0
        _, series, acceptance, step_size = hmc(potential, v0, steps, gen, step_size=step_size,
                                               n_leapfrog=n_leapfrog, adapt_steps=burn, measure=measure,
                                               progress=progress)
        out.update(acceptance=acceptance, step_size=step_size, n_leapfrog=n_leapfrog, chains=chains,
                   steps=steps, burn=burn)
    seconds = time.perf_counter() - start
    out["observables"] = {k: combine_chains(v) for k, v in series.items()}
    out["tau_int"] = out["observables"][ORDER_PARAMETER]["tau_int"]
    out["seconds"] = seconds
    # One "step" advances every chain once; cost per chain-step is what equal-cost comparisons need.
    out["seconds_per_step"] = seconds / (out["steps"] * out["chains"])
    if out["tau_int"] is not None:
        out["cost_per_independent_sample"] = 2 * out["tau_int"] * out["seconds_per_step"]
    return out
