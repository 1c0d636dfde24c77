"""Markov chains that use a trained flow, measured with errors that see autocorrelation and mixing.

Three ways to sample the target exactly, comparable at equal cost, all run as K parallel chains:

- ``independent``: independent Metropolis with flow proposals (each chain starts in its own
  proposal; a rejected proposal repeats the current state, so tau_int > 1/2 measures the cost of
  rejections),
- ``bulk``: HMC in latent space on S_eff(z) = S(G z) - ln|det dG/dz|,
- ``physical``: the same HMC on S(x) directly, started from flow samples (the baseline).

Every chain first takes ``burn`` steps that are discarded (HMC tunes its step size during them).
Each method returns the observables of the target (for the Ising model: of spins drawn given x, so
the Ising energy per site is exact) with one estimator for all of them,
:func:`engine.measure.chains.chains_estimate`: the larger of the within-chain error (tau_int) and
the error from the scatter of the chain means, and the split R-hat. With them come the accepted
moves per chain, whether the chains converged (and if not, a one-line warning), the acceptance
rate, tau_int of the order parameter |m|, and wall time per step, so that
``tau_int * seconds_per_step`` compares methods at equal cost.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from .. import validate
from ..errors import ParameterError
from ..measure.chains import chains_estimate, convergence_warning
from ..names import SAMPLE_BURN_IN, SAMPLE_METHODS
from .density import FlowDensity
from .sampling import accepted_moves, bulk_potential, draw, effective_sample_size, hmc, metropolis_chains

METHODS = SAMPLE_METHODS
ORDER_PARAMETER = "abs_m"


def _measure(target, gen: torch.Generator) -> Callable[[torch.Tensor], dict[str, torch.Tensor]]:
    return lambda x: target.observables(x, gen)


def summarise(series: dict[str, torch.Tensor], accepted: list[int] | None = None) -> dict:
    """``observables`` (mean, error, error_within, error_between, tau_int, rhat of every ``[steps, chains]``
    series), ``accepted`` moves per chain, ``converged`` and ``warning`` (None when converged)."""
    estimates = {k: chains_estimate(torch.as_tensor(v).double().cpu().numpy()) for k, v in series.items()}
    warning = convergence_warning({k: e.rhat for k, e in estimates.items()}, accepted)
    return {"observables": {k: e.as_dict() for k, e in estimates.items()}, "accepted": accepted,
            "converged": warning is None, "warning": warning}


@torch.no_grad()
def run_chain(density: FlowDensity, target, method: str, n: int, gen: torch.Generator, *, chains: int = 16,
              burn: int = SAMPLE_BURN_IN, n_leapfrog: int = 10, step_size: float = 0.05,
              progress: Callable[[int, int], None] | None = None) -> dict:
    """Sample ``n`` configurations in total, ``n // chains`` (at least 2) steps per chain after ``burn``
    discarded steps per chain."""
    if method not in METHODS:
        raise ParameterError("mcmc", f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    for name, value, least in (("n", n, 1), ("chains", chains, 1), ("n_leapfrog", n_leapfrog, 1), ("burn", burn, 0)):
        validate.integer(name, value, least)
    steps = max(n // chains, 2)
    start = time.perf_counter()
    out: dict = {"method": method, "chains": chains, "steps": steps, "burn_in": burn}
    if method == "independent":
        x, log_w = draw(density, target, (burn + steps) * chains, gen, progress=progress)
        index = metropolis_chains(log_w.reshape(burn + steps, chains), gen)
        # moves into the kept states: with a burn-in the first kept state may itself be a move
        accepted = accepted_moves(index[max(burn - 1, 0):])
        kept = index[burn:]
        states = x.reshape(burn + steps, chains, *x.shape[1:])[kept, torch.arange(chains, device=kept.device)]
        series = {k: v.reshape(steps, chains) for k, v in target.observables(states.flatten(0, 1), gen).items()}
        moves = chains * (steps - (burn == 0))
        out.update(acceptance=sum(accepted) / max(moves, 1), ess=effective_sample_size(log_w))
    else:
        x0, _ = density.sample(chains, gen)
        if method == "bulk":
            z0, _ = density.flow.inverse(x0)
            potential = bulk_potential(density, target)
            measure = lambda z: target.observables(density.flow(z)[0], gen)
            v0 = z0
        else:
            potential, measure, v0 = target.action, _measure(target, gen), x0
        run = hmc(potential, v0, steps, gen, step_size=step_size, n_leapfrog=n_leapfrog, adapt_steps=burn,
                  measure=measure, progress=progress)
        series, accepted = run.series, run.accepted
        out.update(acceptance=run.acceptance, step_size=run.step_size, n_leapfrog=n_leapfrog)
    seconds = time.perf_counter() - start
    out.update(summarise(series, accepted))
    out["tau_int"] = out["observables"][ORDER_PARAMETER]["tau_int"]
    out["seconds"] = seconds
    # One "step" advances every chain once; cost per chain-step is what equal-cost comparisons need.
    out["seconds_per_step"] = seconds / ((burn + steps) * chains)
    if out["tau_int"] is not None:
        out["cost_per_independent_sample"] = 2 * out["tau_int"] * out["seconds_per_step"]
    return out
