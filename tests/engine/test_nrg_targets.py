"""Targets of the neural RG: the Ising Hubbard-Stratonovich algebra, checked by brute force."""

import math

import numpy as np
import pytest
import torch

from engine.errors import ParameterError
from engine.exact import TC_ISING, kaufman_energy, kaufman_ln_z
from engine.models.phi4 import action as phi4_action
from engine.nrg.density import FlowDensity, group_maps
from engine.nrg.flow import HierarchicalFlow
from engine.nrg.targets import PRESETS, IsingHS, make_target

torch.set_num_threads(1)


def all_spins(L: int) -> torch.Tensor:
    """Every spin configuration of an L x L lattice, ``[2^(L*L), L, L]``."""
    codes = torch.arange(2 ** (L * L))[:, None] >> torch.arange(L * L)
    return (1.0 - 2.0 * (codes & 1)).double().reshape(-1, L, L)


def enumerated_ising(target: IsingHS) -> tuple[float, float]:
    """(ln Z, <E>/N) by summing over all configurations, with the target's own energy convention."""
    s = all_spins(target.L)
    energy = target.spin_energy(s) * target.N
    ln_w = -target.beta * energy
    ln_z = torch.logsumexp(ln_w, 0).item()
    return ln_z, (torch.softmax(ln_w, 0) * energy).sum().item() / target.N


def dense_coupling_matrix(target: IsingHS) -> torch.Tensor:
    """M = K + aI built site by site (no FFT)."""
    N, L = target.N, target.L
    M = torch.zeros(N, N, dtype=torch.float64)
    for i in range(N):
        e = torch.zeros(1, L, L, dtype=torch.float64)
        e.view(-1)[i] = 1.0
        col = target.a * e + target.beta * (e.roll(1, -1) + e.roll(-1, -1) + e.roll(1, -2) + e.roll(-1, -2))
        M[:, i] = col.flatten()
    return M


def test_hs_action_matches_the_dense_formula():
    target = IsingHS(4, T=2.0)
    M = dense_coupling_matrix(target)
    x = torch.randn(5, 1, 4, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    v = x.flatten(1)
    dense = 0.5 * (v * torch.linalg.solve(M, v.T).T).sum(-1) - torch.log(torch.cosh(v)).sum(-1)
    assert torch.allclose(target.action(x), dense, atol=1e-10)
    assert torch.linalg.eigvalsh(M).min() > 0


@pytest.mark.parametrize("T", [1.5, TC_ISING, 3.0])
def test_hs_partition_function_by_quadrature_on_2x2(T):
    """Z_HS = Int dx exp(-E(x)) by Gauss-Hermite quadrature equals the formula from Z_Ising."""
    target = IsingHS(2, T=T)
    C = torch.linalg.cholesky(dense_coupling_matrix(target))
    nodes, weights = np.polynomial.hermite_e.hermegauss(30)  # weight exp(-y^2 / 2)
    y = torch.cartesian_prod(*[torch.from_numpy(nodes)] * 4)
    w = torch.cartesian_prod(*[torch.from_numpy(weights)] * 4).prod(-1)
    x = (y @ C.T).reshape(-1, 1, 2, 2)
    integrand = -target.action(x) + 0.5 * (y * y).sum(-1)  # ln of exp(-E(x)) / exp(-|y|^2 / 2)
    ln_z_quad = torch.logsumexp(integrand + w.log(), 0).item() + torch.logdet(C).item()
    ln_z_ising, _ = enumerated_ising(target)
    assert ln_z_quad == pytest.approx(target.log_partition_from_ising(ln_z_ising), abs=1e-9)


def test_exact_free_energy_uses_kaufman_with_the_same_conventions():
    target = IsingHS(4, T=TC_ISING)
    ln_z, energy = enumerated_ising(target)
    assert ln_z == pytest.approx(float(kaufman_ln_z(4, TC_ISING)), abs=1e-9)
    assert energy == pytest.approx(float(kaufman_energy(4, TC_ISING)), abs=1e-9)
    assert target.exact_free_energy() == pytest.approx(-target.log_partition_from_ising(ln_z), abs=1e-9)


def test_spins_given_field_follow_the_conditional():
    target = IsingHS(4, T=2.5)
    x = torch.full((20000, 1, 4, 4), 0.7, dtype=torch.float64)
    s = target.spins(x, torch.Generator().manual_seed(1))
    p_up = math.exp(0.7) / (2 * math.cosh(0.7))
    n = s.numel()
    assert (s == 1).double().mean().item() == pytest.approx(p_up, abs=5 * math.sqrt(p_up * (1 - p_up) / n))


def test_fields_given_spins_are_gaussian_with_mean_Ms_and_covariance_M():
    target = IsingHS(4, T=2.5)
    M = dense_coupling_matrix(target)
    s = torch.where(torch.rand(1, 4, 4, generator=torch.Generator().manual_seed(2)) < 0.5, 1.0, -1.0).double()
    n = 40000
    x = target.fields(s.expand(n, 4, 4), torch.Generator().manual_seed(3)).flatten(1)
    mean = M @ s.flatten()
    assert torch.allclose(x.mean(0), mean, atol=5 * math.sqrt(M.diag().max().item() / n))
    cov = torch.cov(x.T)
    assert torch.allclose(cov, M, atol=6 * M.diag().max().item() * math.sqrt(2 / n))


def test_phi4_target_uses_the_model_action():
    target = make_target("phi4", 8, **PRESETS["critical"])
    x = torch.randn(3, 2, 8, 8, generator=torch.Generator().manual_seed(4))
    assert torch.equal(target.action(x), phi4_action(x, 0.44, -2.0, 1.0))
    obs = target.observables(x)
    assert set(obs) >= {"energy", "abs_m", "m2"} and obs["energy"].shape == (3,)


@pytest.mark.parametrize("name,channels,symmetry", [("ising", 1, "z2"), ("phi4", 2, "u1")])
def test_symmetry_groups_leave_the_action_invariant(name, channels, symmetry):
    target = make_target(name, 4, T=2.0) if name == "ising" else make_target(name, 4, **PRESETS["critical"])
    x = torch.randn(4, channels, 4, 4, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    images = [g(x) for g in group_maps(symmetry, channels)]
    for image in images:
        assert torch.allclose(target.action(image), target.action(x), atol=1e-10)
    assert len({tuple(i.flatten().round(decimals=8).tolist()) for i in images}) == len(images)


@pytest.mark.parametrize("symmetry,channels", [("none", 1), ("z2", 1), ("u1", 2)])
def test_flow_density_is_normalised(symmetry, channels):
    """E_{x~N(0, s^2)}[q(x) / N(x; 0, s^2)] = 1: catches any missing Jacobian term."""
    gen = torch.Generator().manual_seed(6)
    flow = HierarchicalFlow(2, channels, n_couplings=4, hidden=(6,)).double()
    with torch.no_grad():
        for p in flow.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    density = FlowDensity(flow, symmetry)
    sigma, n = 2.0, 40000
    x = sigma * torch.randn(n, channels, 2, 2, generator=gen, dtype=torch.float64)
    ln_ref = -0.5 * (x * x).flatten(1).sum(-1) / sigma ** 2 - x[0].numel() * math.log(sigma * math.sqrt(2 * math.pi))
    with torch.no_grad():
        ratio = torch.exp(density.log_prob(x) - ln_ref)
    assert ratio.mean().item() == pytest.approx(1.0, abs=5 * ratio.std().item() / math.sqrt(n))
    xs, ln_q = density.sample(64, gen)
    assert torch.allclose(ln_q, density.log_prob(xs), atol=1e-9)


@pytest.mark.parametrize("name,params,bad", [
    ("ising", {"T": -1.0}, "T"), ("ising", {}, "T"), ("ising", {"T": 2.0, "a": 1.0}, "a"),
    ("phi4", {"t": 0.5, "mu": -2.0}, "lam"), ("phi4", {"t": 0.5, "mu": -2, "lam": 0.0}, "lam"),
    ("phi4", {"t": 0.5, "mu": -2, "lam": 1, "T": 1.0}, "T"), ("potts", {}, "target")])
def test_bad_target_parameters_are_named(name, params, bad):
    with pytest.raises(ParameterError) as err:
        make_target(name, 4, **params)
    assert err.value.name == bad


def test_symmetry_not_available_for_the_field_type():
    with pytest.raises(ParameterError) as err:
        group_maps("u1", 1)
    assert err.value.name == "symmetry"
