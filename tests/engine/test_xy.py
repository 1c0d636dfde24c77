"""XY model and its samplers against exact results.

Oracles:
- the 4x4 torus at h = 0, solved exactly by the character (flux) expansion below: energy and
  specific heat to ~1e-5 at beta = 1, far below the Monte Carlo errors;
- independent spins (J = 0) in a field: <cos theta> = I1(beta h) / I0(beta h);
- the configurational-temperature identity <F.s> = beta <(F x s)^2> (integration by parts in
  each angle), exact for the Boltzmann weight at any size, field and temperature;
- the von Mises moments <cos n x> = I_n(kappa) / I_0(kappa).
Errors come from many independent replicas (replica-to-replica scatter of whole-run averages, or a
jackknife over replicas), so they include every autocorrelation within a run.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
import torch
from chains import chain

from engine.device import make_generator
from engine.errors import ParameterError
from engine.models.xy import XYModel, spin_vectors
from engine.samplers.choice import SAMPLERS as CHOICE_SAMPLERS
from engine.samplers.hmc import SAMPLERS as HMC_SAMPLERS
from engine.samplers.xy import (SAMPLERS, XYMetropolis, XYOverrelax, XYWolff, overrelax, reflect,
                                von_mises, wolff_embedding)

ALGORITHMS = XYModel.algorithms


# --- helpers (test_phi4 uses them too) -----------------------------------------------------

def run(model, sampler, sweeps, seed, *, burn=0, start="hot"):
    """``model.measure`` after each of ``sweeps`` sweeps (after ``burn``): ``{name: [sweeps, B] float64}``
    plus the final state under ``"state"``."""
    rows = []
    for state in chain(model, sampler, seed, sweeps, burn=burn, start=start):
        rows.append({k: v.double() for k, v in model.measure(state).items()})
    out = {k: torch.stack([r[k] for r in rows]).cpu().numpy() for k in rows[0]}
    out["state"] = state
    return out


def replica_jackknife(func, *series: np.ndarray) -> tuple[float, float]:
    """Estimate and error of ``func(*time-and-replica averages)`` by leaving out one replica at a time.

    ``series`` are ``[n, B]``; replicas are independent chains, so this error includes the
    autocorrelation inside each chain.
    """
    means = [s.mean(axis=0) for s in series]  # [B] each
    B = means[0].size
    full = func(*(m.mean() for m in means))
    loo = np.array([func(*((m.sum() - m[r]) / (B - 1) for m in means)) for r in range(B)])
    return float(full), float(math.sqrt((B - 1) * loo.var()))


def assert_agrees(value, error, exact, sigmas=4.0, what=""):
    assert error > 0
    assert abs(value - exact) < sigmas * error, f"{what}: {value:.5f} +- {error:.5f} vs {exact:.5f}"


def make(model, algorithm, **options):
    return {**SAMPLERS, **CHOICE_SAMPLERS, **HMC_SAMPLERS}[(model.name, algorithm)](model, **options)


# --- exact 4x4 torus by the character expansion --------------------------------------------

def bessel_i(n: torch.Tensor, x: torch.Tensor, terms: int = 40) -> torch.Tensor:
    """I_n(x) by its power series (autograd-friendly in x; fine for x <= ~5)."""
    k = torch.arange(terms, dtype=torch.float64)
    n = n.to(torch.float64).unsqueeze(-1)
    return torch.exp((2 * k + n) * torch.log(x / 2) - torch.lgamma(k + 1) - torch.lgamma(k + n + 1)).sum(-1)


def xy_torus_ln_z(beta: torch.Tensor, L: int = 4, nmax: int = 3) -> torch.Tensor:
    """ln Z - N ln(2 pi) of the L x L XY torus at J = 1, h = 0.

    exp(beta cos x) = I0(beta) sum_n t_|n| e^{inx} with t_n = I_n(beta) / I0(beta); integrating
    out the angles leaves integer fluxes on the bonds, conserved at every site. A row-to-row
    transfer matrix acts on the L vertical fluxes; inside a row the horizontal fluxes follow
    from conservation up to one free ring flux n0, which is summed. Total vertical flux is
    conserved, so the matrix is block diagonal in it. Fluxes are cut at |n| <= nmax, an error of
    order t_{nmax+1} (~2e-4 relative at beta = 1 for nmax = 3).
    """
    n = torch.arange(-nmax, nmax + 1)
    i0 = bessel_i(torch.zeros(1, dtype=torch.long), beta)[0]
    t = bessel_i(n.abs(), beta) / i0  # t[n + nmax] = t_|n|
    states = torch.cartesian_prod(*[n] * L)
    z = 0.0
    for q in range(-L * nmax, L * nmax + 1):
        s = states[states.sum(1) == q]
        shift = (s[:, None, :] - s[None, :, :]).cumsum(-1)  # horizontal flux minus n0
        ring = 0.0
        for n0 in range(-2 * nmax, 2 * nmax + 1):
            f = n0 + shift
            inside = (f.abs() <= nmax).all(-1)
            ring = ring + torch.where(inside, t[f.clamp(-nmax, nmax) + nmax].prod(-1), 0.0)
        transfer = ring * t[s + nmax].prod(-1)[None, :]
        z = z + torch.linalg.matrix_power(transfer, L).diagonal().sum()
    return 2 * L * L * torch.log(i0) + torch.log(z)


def xy_torus_exact(beta: float, L: int = 4, nmax: int = 3) -> tuple[float, float]:
    """Energy and specific heat per site, -d lnZ/d beta / N and beta^2 d^2 lnZ/d beta^2 / N."""
    b = torch.tensor(beta, dtype=torch.float64, requires_grad=True)
    d1, = torch.autograd.grad(xy_torus_ln_z(b, L, nmax), b, create_graph=True)
    d2, = torch.autograd.grad(d1, b)
    N = L * L
    return -d1.item() / N, beta * beta * d2.item() / N


def test_flux_expansion_reproduces_the_high_temperature_series():
    # Closed flux loops on the 4x4 torus: 16 plaquettes and 8 straight winding lines (length 4),
    # 32 one-by-two rectangles and 96 winding lines with one step sideways (length 6), each in two
    # orientations: ln Z = 32 ln I0 + 48 t^4 + 256 t^6 + O(t^8), so
    # E/N = -2t - (12 t^3 + 96 t^5) dt/dbeta + O(t^7); at beta = 0.1 (t = 0.05) the rest is
    # a few hundred t^7 ~ 2e-7, and the t^5 term is 1.5e-5.
    beta = 0.1
    t = scipy.special.i1(beta) / scipy.special.i0(beta)
    dt = 1 - t / beta - t * t
    energy, _ = xy_torus_exact(beta, nmax=2)
    assert energy == pytest.approx(-2 * t - (12 * t ** 3 + 96 * t ** 5) * dt, abs=1e-6)
    assert abs(energy + 2 * t + 12 * t ** 3 * dt) > 1e-5  # the t^5 term is resolved


@pytest.fixture(scope="module")
def exact_beta1():
    return xy_torus_exact(1.0)


# --- model ---------------------------------------------------------------------------------

def test_local_field_is_minus_the_energy_gradient():
    model = XYModel(4, T=1.0, J=[1.0, -0.7], h=[0.3, -1.2], dtype=torch.float64)
    theta = model.hot_state(make_generator(1)).requires_grad_()
    model.energy(theta).sum().backward()
    F = model.local_field(theta.detach())
    c, s = theta.detach().cos(), theta.detach().sin()
    # H = -F_i . s_i + (terms without theta_i)  =>  dH/dtheta_i = F_x sin - F_y cos
    assert torch.allclose(theta.grad, F[:, 0] * s - F[:, 1] * c, atol=1e-12)


def test_measure_of_ordered_and_explicit_states():
    model = XYModel(4, J=2.0, h=0.5)
    m = model.measure(model.cold_state())
    assert m["energy"].item() == pytest.approx(-2 * 2.0 - 0.5)
    assert m["m"].item() == pytest.approx(1.0) and m["m4"].item() == pytest.approx(1.0)
    theta = torch.zeros(1, 4, 4)
    theta[0, :, 1::2] = math.pi / 2  # columns alternate between +x and +y
    m = XYModel(4).measure(theta)
    assert m["mx"].item() == pytest.approx(0.5) and m["my"].item() == pytest.approx(0.5)
    assert m["m2"].item() == pytest.approx(0.5) and m["abs_m"].item() == pytest.approx(math.sqrt(0.5))
    assert m["energy"].item() == pytest.approx(-1.0, abs=1e-6)  # horizontal bonds cos = 0, vertical 1


def test_bad_parameters_are_named():
    with pytest.raises(ParameterError, match="^T: must be > 0"):
        XYModel(8, T=0.0)
    with pytest.raises(ParameterError, match="^h: must be finite"):
        XYModel(8, h=float("nan"))
    with pytest.raises(ParameterError, match="^t: not a parameter of the xy model"):
        XYModel(8, **{"t": 1.0})
    model = XYModel(8)
    with pytest.raises(ParameterError, match=r"^step: must be in \(0, 3.14159\]"):
        XYMetropolis(model, step=4.0)
    with pytest.raises(ParameterError, match="^adapt_sweeps"):
        XYMetropolis(model, adapt_sweeps=-1)
    with pytest.raises(ParameterError, match="^n_over: must be an integer >= 1"):
        XYOverrelax(model, n_over=0)
    with pytest.raises(ParameterError, match="^flips_per_sweep"):
        XYWolff(model, flips_per_sweep=0)


# --- building blocks -------------------------------------------------------------------------

@pytest.mark.parametrize("kappa", [0.0, 0.05, 1.0, 4.0, 200.0])
def test_von_mises_moments(kappa):
    x = von_mises(torch.full((200_000,), kappa, dtype=torch.float64), make_generator(3))
    assert bool(((x > -math.pi) & (x <= math.pi)).all())
    for n in (1, 2):
        exact = scipy.special.ive(n, kappa) / scipy.special.ive(0, kappa)
        cos = torch.cos(n * x)
        assert_agrees(cos.mean().item(), cos.std().item() / math.sqrt(x.numel()), exact, what=f"<cos {n}x>")
    assert_agrees(x.sin().mean().item(), x.sin().std().item() / math.sqrt(x.numel()), 0.0, what="<sin x>")


def test_overrelaxation_conserves_energy_and_changes_the_state():
    model = XYModel(8, T=[0.5, 2.0], J=1.3, h=[0.0, 0.8], dtype=torch.float64)
    theta = model.hot_state(make_generator(2))
    masks = XYMetropolis(model).masks
    new = overrelax(model, theta, masks)
    assert torch.allclose(model.energy(new), model.energy(theta), atol=1e-10)
    assert (new - theta).abs().mean() > 0.1


def test_reflection_is_the_mirror_map_and_an_involution():
    gen = make_generator(4)
    theta, alpha = 2 * math.pi * torch.rand(2, 3, 4, 4, generator=gen, dtype=torch.float64)
    r = spin_vectors(alpha)
    s = spin_vectors(theta)
    mirrored = s - 2 * (r * s).sum(1, keepdim=True) * r
    assert torch.allclose(spin_vectors(reflect(theta, alpha)), mirrored, atol=1e-12)
    assert torch.allclose(spin_vectors(reflect(reflect(theta, alpha), alpha)), s, atol=1e-12)


def test_wolff_embedding_bonds_and_field_cost():
    model = XYModel(4, T=0.5, J=1.0, h=0.4, dtype=torch.float64)
    gen = make_generator(5)
    theta = model.hot_state(gen)
    alpha = torch.full((1, 1, 1), 0.3, dtype=torch.float64)
    prob, cost = wolff_embedding(model, theta, alpha)
    proj = torch.cos(theta - alpha)
    x = 2 / 0.5 * proj * proj.roll(-1, dims=-1)
    assert torch.allclose(prob[:, 0], torch.clamp(1 - torch.exp(-x), min=0))
    # the cost of reflecting one site is beta times its change of field energy
    dE = -0.4 * (reflect(theta, alpha).cos() - theta.cos())
    assert torch.allclose(cost, dE / 0.5)
    assert wolff_embedding(XYModel(4, h=0.0), theta.float(), alpha.float())[1] is None


# --- samplers against exact results ------------------------------------------------------------

@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_energy_and_specific_heat_match_the_exact_4x4_torus(algorithm, exact_beta1):
    energy, heat = exact_beta1
    T = 1.0
    model = XYModel(4, T=[T] * 64, dtype=torch.float64)
    e = run(model, make(model, algorithm), 250, seed=10, burn=50)["energy"]
    value, error = replica_jackknife(lambda x: x, e)
    assert_agrees(value, error, energy, what=f"{algorithm} energy")
    value, error = replica_jackknife(lambda x, x2: model.N * (x2 - x * x) / T ** 2, e, e * e)
    assert_agrees(value, error, heat, what=f"{algorithm} specific heat")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_independent_spins_in_a_field(algorithm):
    T, h = 0.5, 0.7
    model = XYModel(4, T=[T] * 32, J=0.0, h=h)
    series = run(model, make(model, algorithm), 80, seed=11, burn=10)
    value, error = replica_jackknife(lambda x: x, series["mx"])
    assert_agrees(value, error, scipy.special.i1(h / T) / scipy.special.i0(h / T), what=f"{algorithm} <cos>")


@pytest.fixture(scope="module")
def near_kt_runs():
    """All four algorithms on an 8x8 torus at T = 0.9 (near T_KT) in a weak field, from cold starts."""
    out = {}
    for k, algorithm in enumerate(ALGORITHMS):
        model = XYModel(8, T=[0.9] * 16, J=1.0, h=0.1, dtype=torch.float64)
        out[algorithm] = run(model, make(model, algorithm), 200, seed=20 + k, burn=100, start="cold")
    return out


def test_algorithms_agree_near_kt(near_kt_runs):
    for name in ("energy", "m2", "mx"):
        estimates = {a: replica_jackknife(lambda x: x, r[name]) for a, r in near_kt_runs.items()}
        values = np.array([v for v, _ in estimates.values()])
        errors = np.array([e for _, e in estimates.values()])
        mean = np.average(values, weights=errors ** -2)
        chi2 = float((((values - mean) / errors) ** 2).sum())
        assert chi2 < 16.3, f"{name}: {estimates}"  # 3 degrees of freedom, p = 0.001


def test_configurational_temperature_identity():
    """<F.s> = beta <(F x s)^2> site by site; a wrong temperature in any update breaks it.
    Half the replicas are antiferromagnets (J < 0), which the Wolff embedding must handle too."""
    T = 0.8
    for k, algorithm in enumerate(ALGORITHMS):
        model = XYModel(8, T=[T] * 16, J=[1.0] * 8 + [-1.0] * 8, h=0.3, dtype=torch.float64)
        sampler = make(model, algorithm)
        gen = make_generator(30 + k)
        theta = model.hot_state(gen)  # Wolff in a field relaxes slowly from a cold start
        along, across = [], []
        for i in range(140):
            theta = sampler.sweep(theta, gen)
            if i >= 50:
                F, s = model.local_field(theta), spin_vectors(theta)
                along.append((F * s).sum(1).mean(dim=(-2, -1)))
                across.append((F[:, 0] * s[:, 1] - F[:, 1] * s[:, 0]).square().mean(dim=(-2, -1)))
        value, error = replica_jackknife(lambda c, a: c / a, torch.stack(across).numpy(), torch.stack(along).numpy())
        assert_agrees(value, error, T, what=f"{algorithm} configurational T")


# --- behaviour ---------------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_same_seed_same_chain(algorithm):
    def final(seed):
        model = XYModel(8, T=[0.7, 1.5], h=0.2)
        return run(model, make(model, algorithm), 5, seed)["state"]

    assert torch.equal(final(7), final(7))
    assert not torch.equal(final(7), final(8))


def test_metropolis_step_adapts_then_freezes_and_readapts_after_a_parameter_change():
    model = XYModel(8, T=[0.3, 1.0, 5.0])
    sampler = XYMetropolis(model, adapt_sweeps=60)
    gen = make_generator(9)
    theta = model.hot_state(gen)
    for _ in range(60):
        theta = sampler.sweep(theta, gen)
    width = sampler.step.width.clone()
    assert width[0] < width[1] <= width[2] == pytest.approx(math.pi)  # colder: smaller steps
    assert 0.35 < sampler.stats["acceptance"][0] < 0.65
    theta = sampler.sweep(theta, gen)
    assert torch.equal(sampler.step.width, width)  # frozen: an exact homogeneous chain
    model.set_params(T=0.2)
    for _ in range(60):
        theta = sampler.sweep(theta, gen)
    assert sampler.step.width[1] < width[1]
    fixed = XYMetropolis(model, step=0.5)
    fixed.sweep(theta, gen)
    assert torch.equal(fixed.step.width, torch.full((3,), 0.5))


def test_states_stay_angles_in_range():
    model = XYModel(8, T=[0.5, 2.0], h=0.3)
    for algorithm in ALGORITHMS:
        theta = run(model, make(model, algorithm), 3, seed=1)["state"]
        assert theta.dtype == torch.float32 and theta.shape == (2, 8, 8)
        assert bool(((theta >= 0) & (theta <= 2 * math.pi)).all())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_samplers_run_on_cuda():
    model = XYModel(8, T=[0.5, 2.0], h=0.3, device="cuda")
    for algorithm in ALGORITHMS:
        theta = run(model, make(model, algorithm), 3, seed=1)["state"]
        assert theta.device.type == "cuda"
