"""The flow-based samplers are exact: checked on targets with known answers."""

import math

import pytest
import torch

from engine.errors import ParameterError
from engine.nrg.density import FlowDensity
from engine.nrg.flow import HierarchicalFlow
from engine.nrg.mcmc import run_chain
from engine.nrg.sampling import (
    bulk_potential,
    effective_sample_size,
    hmc,
    metropolis_chain,
)

torch.set_num_threads(1)


class GaussianTarget:
    """S(x) = sum_i x_i^2 / (2 var_i) on a 4 x 4 lattice with site-dependent variances."""

    name, channels, L = "gauss", 1, 4

    def __init__(self):
        self.var = torch.linspace(0.3, 3.0, 16, dtype=torch.float64).reshape(1, 1, 4, 4)

    def action(self, x):
        return (0.5 * x * x / self.var.to(x.dtype)).flatten(1).sum(-1)

    def observables(self, x, gen=None):
        m = x.mean(dim=(1, 2, 3))
        return {"x0sq": x[:, 0, 0, 0] ** 2, "x15sq": x[:, 0, 3, 3] ** 2, "m": m, "abs_m": m.abs()}


def random_flow(seed: int) -> FlowDensity:
    gen = torch.Generator().manual_seed(seed)
    flow = HierarchicalFlow(4, 1, n_couplings=2, hidden=(6,)).double()
    with torch.no_grad():
        for p in flow.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return FlowDensity(flow)


def test_metropolis_chain_samples_the_reweighted_distribution():
    gen = torch.Generator().manual_seed(0)
    q = torch.tensor([0.5, 0.3, 0.2])
    p = torch.tensor([0.2, 0.3, 0.5])
    n = 100000
    states = torch.multinomial(q, n, replacement=True, generator=gen)
    index, acceptance = metropolis_chain(torch.log(p / q)[states], gen)
    freq = torch.bincount(states[index], minlength=3).double() / n
    # tau_int of an indicator is at most a few here (acceptance ~0.6): allow 2 tau = 10
    tol = 5 * torch.sqrt(p * (1 - p) * 10 / n)
    assert torch.all((freq - p).abs() < tol)
    assert 0.4 < acceptance < 0.9


def test_effective_sample_size():
    assert effective_sample_size(torch.zeros(100)) == pytest.approx(1.0)
    assert effective_sample_size(torch.tensor([0.0] + [-50.0] * 99)) == pytest.approx(0.01, rel=1e-6)


@pytest.mark.parametrize("method", ["physical", "bulk"])
def test_hmc_reproduces_a_gaussian(method):
    target = GaussianTarget()
    density = random_flow(1)
    out = run_chain(density, target, method, 32 * 120, torch.Generator().manual_seed(2), chains=32, n_leapfrog=6,
                    step_size=0.3)
    for key, var in (("x0sq", 0.3), ("x15sq", 3.0)):
        est = out["observables"][key]
        assert abs(est["mean"] - var) < 4 * est["error"], (key, est)
        assert est["error"] < 0.15 * var
    assert 0.5 < out["acceptance"] < 1
    assert out["tau_int"] is not None and out["seconds_per_step"] > 0


def test_bulk_potential_is_the_pulled_back_action():
    """exp(-S_eff(z)) must be the density of z = G^-1 x for x ~ exp(-S): check one point exactly."""
    density, target = random_flow(3), GaussianTarget()
    z = torch.randn(5, 1, 4, 4, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    x, logdet = density.flow(z)
    assert torch.allclose(bulk_potential(density, target)(z), target.action(x) - logdet)


def test_hmc_tunes_its_step_size():
    gen = torch.Generator().manual_seed(5)
    v0 = torch.zeros(8, 3, dtype=torch.float64)
    _, series, acceptance, step, accepted = hmc(lambda v: 0.5 * (v * v).sum(-1) * 100.0, v0, 50, gen, step_size=1.0,
                                                n_leapfrog=5, adapt_steps=100, measure=lambda v: {"v": v[:, 0]})
    assert step < 0.2 and 0.5 < acceptance < 0.95
    assert series["v"].shape == (50, 8)
    assert len(accepted) == 8 and sum(accepted) == pytest.approx(acceptance * 50 * 8)


class FarStart:
    """A stand-in flow whose proposals are numbered x = 20, 21, 22, ... in drawing order, with ln q = 0: far
    from the Gaussian target, and telling which proposal a chain sits in."""

    def __init__(self):
        self.drawn = 0

    def sample(self, n, gen):
        x = 20.0 + torch.arange(self.drawn, self.drawn + n, dtype=torch.float64)
        self.drawn += n
        return x.reshape(n, 1, 1, 1).expand(n, 1, 4, 4).clone(), torch.zeros(n, dtype=torch.float64)


class Flat(GaussianTarget):
    """S = 0: independent Metropolis accepts every proposal, so chain k holds proposal t K + k at step t."""

    def action(self, x):
        return torch.zeros(len(x), dtype=x.dtype)


def test_independent_chains_discard_their_burn_in():
    chains, burn = 4, 10
    out = run_chain(FarStart(), Flat(), "independent", chains * 30, torch.Generator().manual_seed(3), chains=chains,
                    burn=burn)
    assert (out["steps"], out["burn_in"], out["chains"]) == (30, burn, chains)
    # kept proposals are numbers burn K ... (burn + 30) K - 1: mean 20 + (burn + 15) K - 1/2, one state each
    assert out["observables"]["m"]["mean"] == pytest.approx(20 + (burn + 15) * chains - 0.5)
    assert out["accepted"] == [30] * chains and out["acceptance"] == 1.0
    assert run_chain(FarStart(), Flat(), "independent", chains * 30, torch.Generator(), chains=chains,
                     burn=0)["accepted"] == [29] * chains


def test_hmc_burn_in_removes_the_bias_of_a_far_start():
    """Physical HMC from x = 20 (the Gaussian's x0^2 is 0.3 at equilibrium, 400 at the start): without a
    burn-in the first trajectories bias <x0^2> far beyond its error, and the split R-hat says so;
    100 discarded trajectories remove the bias."""
    def run(burn):
        return run_chain(FarStart(), GaussianTarget(), "physical", 16 * 60, torch.Generator().manual_seed(4),
                         chains=16, n_leapfrog=6, step_size=0.3, burn=burn)

    cold, warm = run(0), run(100)
    assert cold["steps"] == warm["steps"] == 60
    x0sq = cold["observables"]["x0sq"]
    assert x0sq["mean"] - 0.3 > 5 * x0sq["error"] and not cold["converged"], x0sq  # 316 +- 27
    x0sq = warm["observables"]["x0sq"]
    assert abs(x0sq["mean"] - 0.3) < 4 * x0sq["error"], x0sq


def test_unknown_method_is_named():
    with pytest.raises(ParameterError) as err:
        run_chain(random_flow(7), GaussianTarget(), "gibbs", 10, torch.Generator())
    assert err.value.name == "mcmc"


def test_latents_of_symmetrised_samples_follow_the_prior_exactly():
    """x ~ q_sym is made as g G(z) with z ~ N(0, 1); the latents of x (group element drawn from its
    posterior) must then be N(0, 1) again. Plain G^-1(x) is not: it misses the group element."""
    gen = torch.Generator().manual_seed(11)
    flow = HierarchicalFlow(4, 2, n_couplings=2, hidden=(6,)).double()
    with torch.no_grad():
        for p in flow.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    density = FlowDensity(flow, "u1")
    n = 20000
    with torch.no_grad():
        x, _ = density.sample(n, gen)
        z = density.latents(x, gen).flatten(1)
        plain = flow.inverse(x)[0].flatten(1)
    tol = 5 * math.sqrt(2 / n)  # 5 sigma for a variance of 1 from n normal draws
    assert (z.var(0) - 1).abs().max() < tol and z.mean(0).abs().max() < 5 / math.sqrt(n)
    assert (plain.var(0) - 1).abs().max() > 10 * tol
    assert torch.equal(FlowDensity(flow).latents(x[:5], gen), flow.inverse(x[:5])[0])  # no group: G^-1 x
