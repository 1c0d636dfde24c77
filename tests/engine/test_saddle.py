"""The saddle-point bulk estimator against exact results: Gaussian targets, an exact flow, an ordered U(1) saddle."""

import numpy as np
import pytest
import torch

from engine.holography.bulk import analyse_bulk
from engine.holography.classes import pair_classes
from engine.holography.control import FreeField, free_field_control
from engine.holography.estimators import PairStatistics
from engine.holography.fit import jackknife_error
from engine.holography.geometry import node_coordinates, pairwise
from engine.holography.saddle import find_saddle, hessian, in_prior_range
from engine.nrg.density import FlowDensity
from engine.nrg.flow import HierarchicalFlow
from engine.nrg.targets import Phi4


def random_flow(L: int, channels: int, seed: int) -> HierarchicalFlow:
    """A float64 hierarchical flow whose couplings are far from the identity."""
    torch.manual_seed(seed)
    flow = HierarchicalFlow(L, channels, n_couplings=2, hidden=(6,)).double()
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return flow


def test_gaussian_target_under_a_linear_flow_gives_the_exact_latent_covariance():
    cov, _, flow = free_field_control(4, 0.3)
    saddle = find_saddle(FlowDensity(flow), FreeField(4, 0.3))
    assert saddle.is_minimum and len(saddle.zero_modes) == 0
    assert np.abs(saddle.z).max() < 1e-6
    assert np.allclose(saddle.covariance, cov, rtol=0, atol=1e-5 * np.abs(cov).max())
    # the estimators read it as they read the exact control
    assert saddle.statistics("saddle").value == pytest.approx(
        np.einsum("cicj->ij", cov) / np.sqrt(np.outer(np.einsum("cici->i", cov), np.einsum("cici->i", cov))),
        abs=1e-5)


class PushForward:
    """The target exp(-S) = q, the flow's own density: the flow is exact for it, S_eff = |z|^2 / 2 + const."""

    name = "push-forward"

    def __init__(self, density: FlowDensity):
        self.density, self.L = density, density.flow.L

    def action(self, x: torch.Tensor) -> torch.Tensor:
        return -self.density.log_prob(x)


def test_an_exact_flow_leaves_no_residual_correlation():
    density = FlowDensity(random_flow(4, 2, seed=1))
    saddle = find_saddle(density, PushForward(density), prior_starts=2)
    assert np.abs(saddle.z).max() < 1e-6
    assert saddle.eigenvalues == pytest.approx(np.ones(32), abs=1e-6)
    for estimator in ("saddle", "saddle-mi"):
        value = saddle.statistics(estimator).value
        assert np.abs(value - np.diag(np.diag(value))).max() < 1e-6


def test_hessian_agrees_with_finite_differences_of_the_gradient():
    flow = random_flow(4, 1, seed=2)

    def potential(v: torch.Tensor) -> torch.Tensor:
        x, logdet = flow(v.reshape(-1, 1, 4, 4))
        return (0.5 * (x * x) + 0.25 * x ** 4).flatten(1).sum(-1) - 0.3 * (x * x.roll(1, -1)).flatten(1).sum(-1) \
            - logdet

    z = torch.randn(16, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    H = hessian(potential, z).detach().numpy()
    h = 1e-5
    points = (z + h * torch.cat([torch.eye(16), -torch.eye(16)]).double()).requires_grad_(True)
    g = torch.autograd.grad(potential(points).sum(), points)[0].numpy()
    fd = (g[:16] - g[16:]) / (2 * h)  # row k: d grad / d z_k
    assert np.allclose(H, fd, atol=1e-6 * np.abs(H).max())
    assert np.allclose(H, H.T, atol=1e-12 * np.abs(H).max())


def test_ordered_u1_saddle_has_one_goldstone_zero_mode_projected_out():
    """Identity flow (an untrained one), phi^4 with mu = -2, lam = 1, t = 0.3 on 4 x 4: the minimum is the
    uniform field of |phi|^2 = (4t - mu) / (2 lam), with the Hessian spectrum 4t (2 - c_k) (phase) and
    4 (4t - mu) + 4t (2 - c_k) (modulus), c_k = cos k_x + cos k_y: one exact zero mode, the global phase."""
    t, mu, lam, L = 0.3, -2.0, 1.0, 4
    flow = HierarchicalFlow(L, 2, n_couplings=2, hidden=(4,)).double()
    saddle = find_saddle(FlowDensity(flow), Phi4(L, t=t, mu=mu, lam=lam))
    assert (saddle.x ** 2).sum(axis=0) == pytest.approx(np.full((L, L), (4 * t - mu) / (2 * lam)), abs=1e-7)
    k = 2 * np.pi * np.arange(L) / L
    c = (np.cos(k)[:, None] + np.cos(k)[None, :]).ravel()
    exact = np.sort(np.concatenate([4 * t * (2 - c), 4 * (4 * t - mu) + 4 * t * (2 - c)]))
    assert saddle.eigenvalues == pytest.approx(exact, abs=1e-6)
    assert len(saddle.zero_modes) == 1 and saddle.is_minimum
    assert [(m["from_zero"], m["chosen"]) for m in saddle.minima] == [(False, True), (True, False)]  # z = 0: stationary
    # the pseudo-inverse: C annihilates the phase rotation of x* and inverts H on everything else
    phase = np.stack([-saddle.x[1], saddle.x[0]]).ravel()
    phase /= np.linalg.norm(phase)
    C = saddle.covariance.reshape(2 * L * L, 2 * L * L)
    assert np.abs(C @ phase).max() < 1e-6
    H = hessian(lambda v: Phi4(L, t=t, mu=mu, lam=lam).action(v.reshape(-1, 2, L, L)),
                torch.as_tensor(saddle.z.ravel())).detach().numpy()
    assert np.allclose(C @ H, np.eye(2 * L * L) - np.outer(phase, phase), atol=1e-6)


def test_pair_jackknife_errors_are_the_scatter_of_equivalent_pairs():
    positions = HierarchicalFlow(8, 1).latent_positions().numpy()
    classes = pair_classes(positions, 8)
    values = np.random.default_rng(4).normal(size=(64, 64))
    groups = 12
    replicas = classes.pair_jackknife(values, groups)
    per_pair = values[classes.a, classes.b]
    mean = classes.average(values)
    even = (classes.count <= groups) | (classes.count % groups == 0)  # groups of equal size: unbiased replicas
    assert replicas.mean(axis=0)[even] == pytest.approx(mean[even])
    checked = set()
    for k, n in enumerate(classes.count.astype(int)):
        y = per_pair[classes.index == k]
        error = jackknife_error(replicas[:, k])
        if n == groups:  # one pair per group: the standard error of the mean exactly
            assert error == pytest.approx(y.std(ddof=1) / np.sqrt(n))
        elif 1 < n < groups:  # n replicas lose one pair each: overstated by (groups - 1) n / (groups (n - 1))
            assert error ** 2 == pytest.approx((groups - 1) / groups * y.var(ddof=1) / (n - 1))
        checked.add(min(n, groups) == groups)
    assert checked == {True, False}


def test_saddle_analysis_fits_ln_q_with_equal_weights_and_pair_scatter_errors():
    """A planted law q = exp(-2 d / xi) over the L = 8 node set with a lognormal pair scatter: the log-space
    fit recovers xi within its pair-jackknife error and prefers the hyperbolic distance to the flat one."""
    L, xi = 8, 0.8
    positions = HierarchicalFlow(L, 1).latent_positions().numpy()
    d = pairwise(node_coordinates(positions), L)
    noise = np.random.default_rng(5).normal(scale=0.3, size=d.shape)
    q = np.exp(-2 * d / xi + noise + noise.T)
    stats = PairStatistics("saddle", q, np.zeros_like(q), q, None, np.ones(len(q)), np.zeros((1, len(q))))
    an = analyse_bulk(stats, positions, L, pair_groups=20)
    assert "ln q" in an.errors and an.fit.chi2_per_dof is None
    assert abs(an.fit.xi - xi) < 3 * an.fit.xi_error and an.fit.xi_error < 0.05
    assert an.fit.r2 > 0.95 and an.fit_flat.r2 < an.fit.r2 - 3 * an.r2_gap[1]


def test_verdict_refuses_a_saddle_outside_the_prior_range_or_not_a_minimum():
    from engine.holography.pipeline import verdict

    fit = {"result": "decay", "xi": 1.0, "xi_error": 0.1, "r2": 0.9, "r2_error": 0.01}
    saddle = {"is_minimum": True, "in_prior_range": False, "half_z2": 1303.0,
              "hessian": {"negative_modes_removed": []}}
    doc = {"flow_quality": {"meets_targets": True}, "fit": fit, "fit_boundary_distance": fit, "saddle": saddle}
    assert "No minimum of S_eff was found inside the prior's range" in verdict(doc)
    saddle.update(is_minimum=False, hessian={"negative_modes_removed": [-0.5, -0.1]})
    assert "2 negative curvatures" in verdict(doc)
    assert in_prior_range(torch.zeros(1, 512)).item() and not in_prior_range(torch.full((1, 512), 1.5)).item()
