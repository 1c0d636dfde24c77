"""Complex phi^4: the action and its gradient, and both samplers against exact results.

Oracles:
- t = 0: sites are independent, <|phi|^2> and <S>/N follow from one-dimensional integrals;
- lambda = 0, mu > 4|t|: the Gaussian theory, <|phi|^2> = (1/N) sum_k 1 / (mu - 2t (cos kx + cos ky))
  and equipartition <S> = N (two real components per site, each contributing 1/2);
- leapfrog: reversibility and dH = O(step^2);
- Metropolis and HMC agree on the interacting theory at the default parameters.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.integrate
import torch
from test_xy import assert_agrees, make, replica_jackknife, run

from engine.device import make_generator
from engine.errors import ParameterError
from engine.models.phi4 import Phi4Model, action, action_gradient
from engine.models.xy import neighbour_sum
from engine.samplers.hmc import Phi4HMC, kinetic, leapfrog
from engine.samplers.xy import Phi4Metropolis, checkerboard_masks

ALGORITHMS = Phi4Model.algorithms


def random_field(B=3, L=4, seed=0):
    return torch.randn(B, 2, L, L, generator=make_generator(seed), dtype=torch.float64)


# --- action ----------------------------------------------------------------------------------

def test_action_matches_a_site_by_site_sum():
    phi = random_field(B=2)
    t, mu, lam = torch.tensor([0.3, -0.2]), torch.tensor([-1.0, 0.5]), torch.tensor([0.7, 2.0])
    z = torch.complex(phi[:, 0], phi[:, 1])
    expected = []
    for b in range(2):
        s = 0.0
        for y in range(4):
            for x in range(4):
                for ny, nx in ((y, (x + 1) % 4), ((y + 1) % 4, x)):
                    s -= t[b] * 2 * (z[b, y, x].conj() * z[b, ny, nx]).real
                r2 = z[b, y, x].abs() ** 2
                s += mu[b] * r2 + lam[b] * r2 ** 2
        expected.append(s)
    assert torch.allclose(action(phi, t.double(), mu.double(), lam.double()), torch.stack(expected).double())


def test_gradient_matches_autograd():
    phi = random_field().requires_grad_()
    params = torch.tensor([0.3, 0.0, -0.5]), torch.tensor([-1.0, 2.0, 0.1]), torch.tensor([0.5, 0.0, 3.0])
    params = tuple(p.double() for p in params)
    action(phi, *params).sum().backward()
    assert torch.allclose(action_gradient(phi.detach(), *params), phi.grad, atol=1e-12)
    # scalar parameters work too
    phi.grad = None
    action(phi, 0.4, -2.0, 1.0).sum().backward()
    assert torch.allclose(action_gradient(phi.detach(), 0.4, -2.0, 1.0), phi.grad, atol=1e-12)


def test_site_action_gives_the_change_of_s_for_a_whole_colour():
    model = Phi4Model(4, t=[0.4, -0.3], mu=[-1.0, 0.5], lam=[1.0, 0.2], dtype=torch.float64)
    phi = random_field(B=2)
    even = checkerboard_masks(4, torch.device("cpu"))[0]
    new = torch.where(even, phi + random_field(B=2, seed=1), phi)
    nb = neighbour_sum(phi)
    local = ((model.site_action(new, nb) - model.site_action(phi, nb)) * even).sum(dim=(-2, -1))
    assert torch.allclose(model.energy(new) - model.energy(phi), local)


def test_measure_and_cold_state():
    model = Phi4Model(4, t=[0.5, 0.1], mu=[-2.0, 1.0], lam=1.0, dtype=torch.float64)
    cold = model.cold_state()
    # the uniform field at the mean-field minimum is a stationary point of S
    assert torch.allclose(model.gradient(cold), torch.zeros_like(cold), atol=1e-12)
    assert cold[1].abs().max() == 0  # mu - 4t > 0: no condensate
    m = model.measure(cold)
    r2 = (4 * 0.5 + 2.0) / 2
    assert m["phi2"][0].item() == pytest.approx(r2) and m["m2"][0].item() == pytest.approx(r2)
    assert m["m"][0].item() == pytest.approx(math.sqrt(r2)) and m["m4"][0].item() == pytest.approx(r2 * r2)
    assert m["energy"][0].item() == pytest.approx((-2.0 - 4 * 0.5) * r2 + r2 * r2)


def test_parameter_rules():
    Phi4Model(8, T=1.0)  # generic code may pass T = 1
    with pytest.raises(ParameterError, match="^T: phi4 has no temperature"):
        Phi4Model(8, T=2.0)
    with pytest.raises(ParameterError, match="^lam: must be >= 0"):
        Phi4Model(8, lam=[1.0, -0.1])
    with pytest.raises(ParameterError, match=r"^lam: lam = 0 \(Gaussian theory\) needs mu > 4\|t\|"):
        Phi4Model(8, lam=0.0, mu=1.0, t=-0.3)
    Phi4Model(8, lam=0.0, mu=1.3, t=-0.3)
    with pytest.raises(ParameterError, match="^J: not a parameter of the phi4 model"):
        Phi4Model(8, J=1.0)
    with pytest.raises(ParameterError, match="^mu: must be finite"):
        Phi4Model(8, mu=float("inf"))
    model = Phi4Model(8, t=0.3, mu=1.0, lam=1.0)
    with pytest.raises(ParameterError, match="^lam"):
        model.set_params(lam=0.0)
    assert model.param("lam").item() == 1.0  # the failed change was undone
    with pytest.raises(ParameterError, match="^T"):
        model.set_params(T=0.5)
    model.set_params(T=1, lam=0.0, mu=1.3)
    with pytest.raises(ParameterError, match="^n_steps"):
        Phi4HMC(model, n_steps=0)
    with pytest.raises(ParameterError, match=r"^step: must be in \(0, 1\]"):
        Phi4HMC(model, step=-0.1)
    with pytest.raises(ParameterError, match="^step"):
        Phi4Metropolis(model, step=float("nan"))


# --- HMC integrator --------------------------------------------------------------------------

def test_leapfrog_is_reversible():
    model = Phi4Model(8, t=[0.5, 0.2], mu=-2.0, lam=1.0, dtype=torch.float64)
    phi = model.hot_state(make_generator(1))
    pi = torch.randn(phi.shape, generator=make_generator(2), dtype=torch.float64)
    step = torch.tensor([0.05, 0.1], dtype=torch.float64)
    new_phi, new_pi = leapfrog(phi, pi, step, 20, model.gradient)
    back_phi, back_pi = leapfrog(new_phi, -new_pi, step, 20, model.gradient)
    assert (new_phi - phi).abs().max() > 0.1
    assert torch.allclose(back_phi, phi, atol=1e-10) and torch.allclose(back_pi, -pi, atol=1e-10)


def test_energy_error_vanishes_as_step_squared():
    model = Phi4Model(8, dtype=torch.float64)
    phi = model.cold_state() + 0.3 * random_field(B=1, L=8)
    pi = random_field(B=1, L=8, seed=3)
    h0 = kinetic(pi) + model.energy(phi)
    errors = []
    for step in (0.04, 0.02, 0.01):  # the same trajectory length 0.8
        p, q = leapfrog(phi, pi, torch.tensor([step], dtype=torch.float64), round(0.8 / step), model.gradient)
        errors.append(abs((kinetic(q) + model.energy(p) - h0).item()))
    for coarse, fine in zip(errors, errors[1:]):
        assert 3.2 < coarse / fine < 4.8


# --- samplers against exact results ------------------------------------------------------------

def independent_site_averages(mu: float, lam: float) -> tuple[float, float]:
    """t = 0: <|phi|^2> and <mu |phi|^2 + lam |phi|^4> for the weight r exp(-mu r^2 - lam r^4) dr."""
    def moment(f):
        return scipy.integrate.quad(lambda r: f(r) * r * math.exp(-mu * r * r - lam * r ** 4), 0, np.inf)[0]

    z = moment(lambda r: 1.0)
    return moment(lambda r: r * r) / z, moment(lambda r: mu * r * r + lam * r ** 4) / z


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_independent_sites_at_t0(algorithm):
    mu, lam = -1.0, 0.5  # a double well: |phi| sits near 1 but fluctuates a lot
    phi2, s_per_site = independent_site_averages(mu, lam)
    model = Phi4Model(4, t=[0.0] * 32, mu=mu, lam=lam, dtype=torch.float64)
    series = run(model, make(model, algorithm), 150, seed=40, burn=50)
    assert_agrees(*replica_jackknife(lambda x: x, series["phi2"]), phi2, what=f"{algorithm} <|phi|^2>")
    assert_agrees(*replica_jackknife(lambda x: x, series["energy"]), s_per_site, what=f"{algorithm} S/N")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_gaussian_theory(algorithm):
    L, t, mu = 8, 0.15, 1.0
    k = 2 * math.pi * np.arange(L) / L
    phi2 = float(np.mean(1 / (mu - 2 * t * (np.cos(k)[:, None] + np.cos(k)[None, :]))))
    model = Phi4Model(L, t=[t] * 16, mu=mu, lam=0.0, dtype=torch.float64)
    series = run(model, make(model, algorithm), 150, seed=50, burn=50)
    assert_agrees(*replica_jackknife(lambda x: x, series["phi2"]), phi2, what=f"{algorithm} <|phi|^2>")
    assert_agrees(*replica_jackknife(lambda x: x, series["energy"]), 1.0, what=f"{algorithm} S/N")


def test_metropolis_and_hmc_agree_on_the_interacting_theory():
    runs = {}
    for k, algorithm in enumerate(ALGORITHMS):
        model = Phi4Model(8, t=[0.5] * 16, mu=-2.0, lam=1.0, dtype=torch.float64)
        runs[algorithm] = run(model, make(model, algorithm), 200, seed=60 + k, burn=120, start="cold")
    for name in ("energy", "phi2", "m2"):
        (a, da), (b, db) = (replica_jackknife(lambda x: x, r[name]) for r in runs.values())
        assert abs(a - b) < 4 * math.hypot(da, db), f"{name}: {a} +- {da} vs {b} +- {db}"


# --- behaviour ---------------------------------------------------------------------------------

def test_hmc_default_step_tunes_to_the_documented_acceptance():
    model = Phi4Model(16, t=[0.5] * 8)
    sampler = Phi4HMC(model)
    series = []
    gen = make_generator(70)
    phi = model.cold_state()
    for i in range(160):
        phi = sampler.sweep(phi, gen)
        if i >= 100:  # adaptation is over: the step is frozen
            series.append(sampler.stats["acceptance"])
    acceptance = torch.stack(series).mean().item()
    assert 0.7 < acceptance < 0.9
    assert 0.05 < sampler.step.width.mean().item() < 0.3


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_same_seed_same_chain(algorithm):
    def final(seed):
        model = Phi4Model(8, t=[0.3, 0.6])
        return run(model, make(model, algorithm), 5, seed)["state"]

    assert torch.equal(final(7), final(7))
    assert not torch.equal(final(7), final(8))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_samplers_run_on_cuda():
    model = Phi4Model(8, t=[0.3, 0.6], device="cuda")
    for algorithm in ALGORITHMS:
        phi = run(model, make(model, algorithm), 3, seed=1)["state"]
        assert phi.device.type == "cuda" and bool(torch.isfinite(phi).all())
