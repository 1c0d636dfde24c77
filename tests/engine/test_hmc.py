"""The one HMC step (engine.samplers.hmc) that lattice HMC and bulk HMC share: exact and self-consistent."""

import math

import torch

from engine.samplers.hmc import hmc_init, hmc_step

torch.set_num_threads(1)

VAR = torch.tensor([0.2, 1.0, 3.0], dtype=torch.float64)


def gaussian(x):
    return 0.5 * (x * x / VAR).sum(-1), x / VAR


def test_hmc_step_samples_a_gaussian_with_per_chain_steps():
    """Exact for any step: chains with different step sizes all give <x_i^2> = var_i.

    The trajectories (7 steps of 0.05 to 0.18) stay shorter than the half periods pi sqrt(var_i)
    (1.4 and more), where a Gaussian's HMC would return to the same x^2 and stop mixing.
    """
    gen = torch.Generator().manual_seed(1)
    B = 400
    step = torch.linspace(0.05, 0.18, B, dtype=torch.float64)  # per chain
    state = hmc_init(torch.randn(B, 3, generator=gen, dtype=torch.float64), gaussian)
    samples, accepted = [], 0.0
    for it in range(300):
        state, info = hmc_step(state, gaussian, step, 7, gen)
        if it >= 50:
            samples.append(state.position.square())
            accepted += info.accepted.double().mean().item() / 250
    chain_means = torch.stack(samples).mean(0)        # [B, 3]: chains are independent
    mean, err = chain_means.mean(0), chain_means.std(0) / math.sqrt(B)
    assert torch.all((mean - VAR).abs() < 4 * err), (mean, err)
    assert torch.all(err < 0.05 * VAR)
    assert 0.5 < accepted < 1.0


def test_carried_potential_and_gradient_match_the_position():
    gen = torch.Generator().manual_seed(2)
    state = hmc_init(torch.randn(16, 3, generator=gen, dtype=torch.float64), gaussian)
    for _ in range(5):
        state, _ = hmc_step(state, gaussian, 0.4, 5, gen)
    u, g = gaussian(state.position)
    assert torch.equal(state.potential, u) and torch.equal(state.gradient, g)


def test_a_diverging_trajectory_is_rejected():
    def blows_up(x):
        return torch.full(x.shape[:1], float("nan"), dtype=x.dtype), x

    start = hmc_init(torch.ones(4, 3, dtype=torch.float64), lambda x: (torch.zeros(4, dtype=x.dtype), x))
    state, info = hmc_step(start, blows_up, 0.1, 3, torch.Generator().manual_seed(3))
    assert not info.accepted.any() and torch.all(info.accept_prob == 0) and torch.all(info.dH == math.inf)
    assert torch.equal(state.position, start.position)
