"""Bulk geometry and the correlation-distance fits, on cases with known answers."""

import numpy as np
import pytest

from engine.holography.bulk import analyse_bulk, fit_log_correlation, gaussian_mutual_information
from engine.holography.geometry import (disk_geodesic, flat_distance, hyperbolic_distance, node_coordinates,
                                        pairwise, poincare_ball, poincare_disk)


def ball_distance(p, q):
    num = 2 * np.sum((p - q) ** 2, axis=-1)
    return np.arccosh(1 + num / ((1 - np.sum(p * p, -1)) * (1 - np.sum(q * q, -1))))


def test_node_coordinates_convention():
    pos = np.array([[0, 0, 0], [1, 1, 0], [2, 3, 0], [5, 6, 1], [7, 7, 2]])
    c = node_coordinates(pos, w0=0.5)
    np.testing.assert_allclose(c, [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5], [2.5, 2.5, 0.5], [5.5, 5.5, 1.0],
                                   [3.5, 3.5, 2.0]])


def test_vertical_distance_and_scale_invariance():
    a, b = np.array([3.0, 4.0, 1.0]), np.array([3.0, 4.0, 8.0])
    assert hyperbolic_distance(a, b, L=1e9) == pytest.approx(np.log(8))
    rng = np.random.default_rng(0)
    p, q = rng.uniform(0.1, 5, (50, 3)), rng.uniform(0.1, 5, (50, 3))
    np.testing.assert_allclose(hyperbolic_distance(p, q, 1e9), hyperbolic_distance(3 * p, 3 * q, 1e9))


def test_minimum_image_and_metric_axioms():
    L = 16
    rng = np.random.default_rng(1)
    pts = np.column_stack([rng.uniform(0, L, (30, 2)), rng.uniform(0.5, 8, 30)])
    for metric in (hyperbolic_distance, flat_distance):
        d = pairwise(pts, L, metric)
        np.testing.assert_allclose(d, d.T)
        np.testing.assert_allclose(np.diag(d), 0, atol=1e-7)
        assert np.all(d[:, None, :] <= d[:, :, None] + d[None, :, :] + 1e-9)  # d_ik <= d_ij + d_jk
    near_edge = np.array([[0.5, 3.0, 1.0], [15.5, 3.0, 1.0]])
    assert flat_distance(near_edge[0], near_edge[1], L) == pytest.approx(1.0)


def test_ball_map_is_an_isometry():
    L = 64
    rng = np.random.default_rng(2)
    pts = np.column_stack([rng.uniform(24, 40, (20, 2)), rng.uniform(0.5, 6, 20)])
    ball = poincare_ball(pts, L)
    assert np.all(np.sum(ball**2, axis=1) < 1)
    d_half = pairwise(pts, 1e9)
    d_ball = ball_distance(ball[:, None], ball[None, :])
    np.testing.assert_allclose(d_ball, d_half, atol=1e-6)


def test_disk_geodesic_is_shortest():
    L = 16
    p, q = poincare_disk(np.array([2.0, 12.0]), np.array([1.0, 4.0]), L)
    arc = disk_geodesic(p, q, 41)
    np.testing.assert_allclose(arc[0], p, atol=1e-12)
    np.testing.assert_allclose(arc[-1], q, atol=1e-12)
    d = lambda a, b: ball_distance(a, b)  # noqa: E731  (the disc metric is the 2D ball metric)
    total = sum(d(arc[k], arc[k + 1]) for k in range(40))
    assert total == pytest.approx(d(p, q), rel=1e-6)


def test_mutual_information_of_correlated_gaussians():
    rng = np.random.default_rng(3)
    rho = 0.6
    x = rng.standard_normal(200_000)
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(200_000)
    mi = gaussian_mutual_information(np.stack([x, y], axis=1)[:, None, :])
    assert mi[0, 1] == pytest.approx(-0.5 * np.log(1 - rho**2), rel=0.02)


def test_fit_recovers_xi_and_d0_and_prefers_the_true_metric():
    L = 8
    rng = np.random.default_rng(4)
    pos = np.array([(i, j, lvl) for lvl in range(3) for i in range(0, L, 2 ** lvl) for j in range(0, L, 2 ** lvl)])
    coords = node_coordinates(pos)
    d = pairwise(coords, L)
    xi, d0 = 0.8, 0.3
    cov = np.exp((d0 - d) / xi)
    np.fill_diagonal(cov, np.exp(d0 / xi) + 0.5)
    # Use only genuinely distinct nodes (same-block nodes sit at one point, distance 0).
    chol = np.linalg.cholesky(cov + 1e-6 * np.eye(len(cov)))
    z = (chol @ rng.standard_normal((len(cov), 40_000))).T[:, None, :]
    res = analyse_bulk(z, pos, L, threshold=4.0)
    assert res.fit.xi == pytest.approx(xi, abs=4 * res.fit.xi_error + 0.02)
    assert res.fit.d0 == pytest.approx(d0, abs=4 * res.fit.d0_error + 0.05)
    assert res.fit.r2 > 0.95 > res.fit_flat.r2
    assert res.fit.n_pairs == res.fit_flat.n_pairs > 50


def test_fit_of_exact_line():
    d = np.linspace(0, 5, 20)
    c = np.exp((1.0 - d) / 2.0)
    f = fit_log_correlation(d, c, 0.01 * c)
    assert f.xi == pytest.approx(2.0) and f.d0 == pytest.approx(1.0) and f.r2 == pytest.approx(1.0)


def test_unresolved_data_is_refused():
    rng = np.random.default_rng(5)
    z = rng.standard_normal((50, 1, 16))
    with pytest.raises(ValueError, match="above noise"):
        analyse_bulk(z, np.array([(i, 0, 0) for i in range(16)]), 16, threshold=50)


def test_pairs_at_one_distance_are_refused_or_left_unfitted():
    """A line through one abscissa has no slope: the fit says so instead of inverting a singular matrix."""
    with pytest.raises(ValueError, match="same distance"):
        fit_log_correlation(np.ones(5), np.full(5, 0.3), np.full(5, 0.01))
    # four nodes on a periodic ring, only neighbours correlated: every resolved pair at distance 1
    n, rho = 4, 0.4
    pos = np.array([(2 * i, 0, 0) for i in range(n)])  # L = 8: neighbours at one distance, 2 apart at another
    cov = np.eye(n) + rho * (np.eye(n, k=1) + np.eye(n, k=-1) + np.eye(n, k=n - 1) + np.eye(n, k=1 - n))
    z = (np.linalg.cholesky(cov) @ np.random.default_rng(6).standard_normal((n, 40_000))).T[:, None, :]
    with pytest.raises(ValueError, match="all at one distance"):
        analyse_bulk(z, pos, 8, threshold=4.0)


def test_r2_jackknife_error_matches_the_spread_of_independent_runs():
    """The block-jackknife error of R^2 is the scatter of R^2 over independent data sets."""
    L = 8
    pos = np.array([(i, j, lvl) for lvl in range(2) for i in range(0, L, 2 ** lvl) for j in range(0, L, 2 ** lvl)])
    d = pairwise(node_coordinates(pos), L)
    cov = np.exp((0.3 - d) / 0.8)
    np.fill_diagonal(cov, np.exp(0.3 / 0.8) + 0.5)
    chol = np.linalg.cholesky(cov + 1e-6 * np.eye(len(cov)))
    rng = np.random.default_rng(9)
    runs = []
    for _ in range(8):
        z = (chol @ rng.standard_normal((len(cov), 6000))).T[:, None, :]
        runs.append(analyse_bulk(z, pos, L, threshold=4.0))
    spread = np.std([r.fit.r2 for r in runs], ddof=1)
    errors = np.array([r.fit.r2_error for r in runs])
    assert np.all(errors > 0)
    assert 0.4 < errors.mean() / spread < 2.5  # 8 runs: the sample std itself is uncertain by ~25%
    for r in runs:
        assert r.r2_gap[0] == pytest.approx(r.fit.r2 - r.fit_flat.r2)
        assert r.r2_gap[0] > 3 * r.r2_gap[1] > 0


def test_auto_sampler_follows_the_flows_recorded_acceptance():
    from types import SimpleNamespace

    from engine.errors import ParameterError
    from engine.holography.sampling import MIN_INDEPENDENT_ACCEPTANCE, choose_method

    def ckpt(**info):
        return SimpleNamespace(info=info)

    assert choose_method(ckpt(acceptance=0.007)) == "bulk"
    assert choose_method(ckpt(acceptance=MIN_INDEPENDENT_ACCEPTANCE)) == "independent"
    assert choose_method(ckpt()) == "independent"  # unknown: the cheap sampler
    assert choose_method(ckpt(acceptance=0.007), "independent") == "independent"
    with pytest.raises(ParameterError, match="mcmc: unknown method 'gibbs'"):
        choose_method(ckpt(), "gibbs")
