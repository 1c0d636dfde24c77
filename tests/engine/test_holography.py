"""Bulk geometry and the correlation-distance fits, on cases with known answers."""

import numpy as np
import pytest
import torch

from engine.holography.bulk import analyse_bulk
from engine.holography.classes import pair_classes
from engine.holography.control import free_field_control, free_field_covariance
from engine.holography.estimators import exact_statistics, pair_statistics
from engine.holography.fit import fit_decay
from engine.holography.pipeline import required_acceptance, verdict
from engine.holography.geometry import (disk_geodesic, flat_distance, hyperbolic_distance, node_coordinates,
                                        pairwise, poincare_ball, poincare_disk)
from engine.measure.linefit import line_fit
from engine.nrg.flow import HierarchicalFlow


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


def positions(L):
    """The node set of the hierarchical flow at size L (one channel's rows)."""
    return HierarchicalFlow(L, 2, n_couplings=1, hidden=(2,)).latent_positions()[: L * L].numpy()


def planted_bulk(L, distance, xi, n, seed, amplitude=0.5):
    """Two-component latents with covariance amplitude exp(-d/xi) (unit variance), then a distance-free
    nuisance: node means (rank one in the raw moment) and node scales, as a weak flow leaves them."""
    cov = amplitude * np.exp(-distance / xi)
    np.fill_diagonal(cov, 1.0)
    rng = np.random.default_rng(seed)
    z = np.einsum("ij,ncj->nci", np.linalg.cholesky(cov), rng.standard_normal((n, 2, L * L)))
    return z * rng.uniform(0.5, 3.0, L * L) + rng.normal(0.0, 1.5, (2, L * L))


@pytest.fixture(scope="module")
def planted16():
    L = 16
    pos = positions(L)
    d = pairwise(node_coordinates(pos), L)
    return L, pos, d, planted_bulk(L, d, 1.0, 4000, seed=1)


def old_pairwise_fit(z, d, n_blocks=20):
    """The previous analysis: raw <z_i . z_j> pair by pair, pairs above 3 sigma, ln|C| against distance."""
    raw = np.einsum("nci,ncj->nij", z, z)
    per_block = np.stack([b.mean(axis=0) for b in np.array_split(raw, n_blocks)])
    corr, err = raw.mean(axis=0), per_block.std(axis=0, ddof=1) / np.sqrt(n_blocks)
    a, b = np.triu_indices(len(corr), k=1)
    keep = (np.abs(corr[a, b]) > 3 * err[a, b]) & (d[a, b] > 0)
    c, e = np.abs(corr[a, b][keep]), err[a, b][keep]
    old = line_fit(d[a, b][keep], np.log(c), e / c)
    slope, r2 = old.slope, old.r2
    return -1.0 / slope, r2


def test_planted_law_is_recovered_by_classes_and_missed_pair_by_pair(planted16):
    L, pos, d, z = planted16
    for estimator in ("connected", "mi"):
        an = analyse_bulk(pair_statistics(z, estimator), pos, L)
        assert an.fit.decays and an.fit.xi_error > 0
        assert an.fit.xi == pytest.approx(1.0, abs=3 * an.fit.xi_error)
        assert an.fit.r2 > 0.95 and an.r2_gap[0] > 5 * an.r2_gap[1]
        assert an.xi_difference["sigma"] < 3  # one law for same- and cross-level pairs
        assert an.collapse.quality < 1 + 4 * an.collapse.quality_error  # a hyperbolic law is scale invariant
        assert np.nanmin(an.inferred_distance()) >= 0
    xi_old, r2_old = old_pairwise_fit(z, d)
    assert r2_old < 0.3 and not 0.5 < xi_old < 2.0  # the nuisance swamps the law


def test_raw_moment_keeps_the_nuisance_that_connected_removes(planted16):
    L, pos, _, z = planted16
    raw = analyse_bulk(pair_statistics(z, "raw"), pos, L)
    assert raw.fit.r2 < 0.6 and raw.collapse.quality > 100
    assert not (raw.fit.decays and abs(raw.fit.xi - 1.0) < 3 * raw.fit.xi_error)


def test_a_flat_law_fails_the_collapse_and_prefers_flat_distance():
    L = 16
    pos = positions(L)
    d_flat = pairwise(node_coordinates(pos), L, flat_distance)
    an = analyse_bulk(pair_statistics(planted_bulk(L, d_flat, 2.0, 4000, seed=2), "connected"), pos, L)
    assert an.fit_flat.r2 > 0.95 > 0.5 > an.fit.r2
    assert an.collapse.quality > 100


def test_pair_classes_are_geometrically_equivalent():
    L = 16
    pos = positions(L)
    classes = pair_classes(pos, L)
    for w0 in (0.5, 1.0, 3.0):
        coords = node_coordinates(pos, w0)
        d_hyp, d_flat = pairwise(coords, L), pairwise(coords, L, flat_distance)
        class_hyp, class_flat = classes.distances(w0)
        np.testing.assert_allclose(d_hyp[classes.a, classes.b], class_hyp[classes.index], atol=1e-9)
        np.testing.assert_allclose(d_flat[classes.a, classes.b], class_flat[classes.index], atol=1e-9)
    assert np.all(d_hyp[classes.a, classes.b] > 0)  # zero bulk distance is left out
    upper = pairwise(node_coordinates(pos), L)[np.triu_indices(L * L, 1)]
    assert classes.count.sum() == len(classes.a) == np.sum(upper > 0)
    # the transposed lattice (x <-> y) has the same classes
    swapped = pair_classes(pos[:, [1, 0, 2]], L)
    np.testing.assert_array_equal(swapped.count, classes.count)


def test_estimators_on_known_covariances():
    rho = 0.6
    cov = np.array([[1.0, rho], [rho, 1.0]]).reshape(1, 2, 1, 2)
    mi = exact_statistics(cov, estimator="mi")
    assert mi.value[0, 1] == pytest.approx(-0.5 * np.log(1 - rho**2))
    assert mi.q[0, 1] == pytest.approx(rho**2) == exact_statistics(cov).q[0, 1]
    # two components: mixing one node's components changes rho but not the mutual information
    rng = np.random.default_rng(3)
    A = rng.standard_normal((4, 4))
    cov2 = (A @ A.T + 4 * np.eye(4)).reshape(2, 2, 2, 2)
    mix = np.eye(4)
    mix[np.ix_([0, 2], [0, 2])] = [[2.0, 0.7], [-0.3, 1.1]]  # node 0's (c=0, c=1) rows
    mixed = (mix @ cov2.reshape(4, 4) @ mix.T).reshape(2, 2, 2, 2)
    assert exact_statistics(mixed, estimator="mi").value[0, 1] == pytest.approx(
        exact_statistics(cov2, estimator="mi").value[0, 1])
    assert exact_statistics(mixed).value[0, 1] != pytest.approx(exact_statistics(cov2).value[0, 1])


def test_sampled_estimators_agree_with_exact_within_their_errors():
    rng = np.random.default_rng(4)
    m = 6
    A = rng.standard_normal((2 * m, 2 * m))
    cov = A @ A.T / (2 * m) + 0.5 * np.eye(2 * m)
    mean = rng.normal(0, 2, 2 * m)
    z = (rng.multivariate_normal(mean, cov, 40_000)).reshape(-1, 2, m)
    a, b = np.triu_indices(m, 1)
    for estimator in ("connected", "mi"):
        exact = exact_statistics(cov.reshape(2, m, 2, m), mean.reshape(2, m), estimator)
        sampled = pair_statistics(z, estimator)
        pulls = (sampled.value - exact.value)[a, b] / sampled.value_error[a, b]
        assert np.all(np.abs(pulls) < 4.5) and 0.5 < np.sqrt(np.mean(pulls**2)) < 1.6
    # an independent pair: the bias-corrected squared correlation is centred on 0, the naive one on ~1/n
    iid = rng.standard_normal((4000, 2, 40))
    s = pair_statistics(iid, "connected")
    a, b = np.triu_indices(40, 1)
    assert abs(s.q[a, b].mean()) < 0.2 * (s.value**2)[a, b].mean()


def test_free_field_latent_covariance_is_exact():
    """W Sigma W^T against Monte Carlo of the same linear flow."""
    L, n = 8, 20_000
    cov, _, flow = free_field_control(L, 1.0)
    chol = np.linalg.cholesky(free_field_covariance(L, 1.0))
    x = np.einsum("ij,ncj->nci", chol, np.random.default_rng(5).standard_normal((n, 2, L * L)))
    z = flow.inverse(torch.from_numpy(x.reshape(n, 2, L, L)))[0].reshape(n, 2, L * L).numpy()
    empirical = np.einsum("nci,ndj->cidj", z, z) / n
    var = np.einsum("cici->ci", cov)
    pulls = (empirical - cov) / np.sqrt((var[:, :, None, None] * var[None, None] + cov**2) / n)
    assert np.sqrt(np.mean(pulls**2)) == pytest.approx(1.0, abs=0.05) and np.abs(pulls).max() < 6
    # the flow is a rotation of the field: the latents keep its total variance
    assert np.trace(cov.reshape(2 * L * L, -1)) == pytest.approx(2 * np.trace(free_field_covariance(L, 1.0)))


@pytest.mark.parametrize("mass2", [1.0, 1e-3])
def test_free_field_control_gives_a_finite_fit_without_noise(mass2):
    L = 16
    cov, pos, _ = free_field_control(L, mass2)
    an = analyse_bulk(exact_statistics(cov), pos, L)
    assert an.fit.decays and np.isfinite([an.fit.xi, an.fit.d0, an.fit.r2]).all() and an.fit.xi > 0
    assert an.fit.xi_error is None and an.fit.chi2_per_dof is None  # exact: no sampling error
    assert an.collapse is not None and an.collapse.quality is None and np.isfinite(an.collapse.relative_spread)
    doc = an.to_json()
    assert doc["classes_used"] == len(an.class_value) and len(doc["w0"]["scan"]) >= 9


def test_decay_fit_exact_line_and_no_decay():
    d = np.linspace(0.5, 5, 12)
    f = fit_decay(d, np.exp(2 * (1.0 - d) / 2.0), np.ones(12))
    assert f.decays and f.xi == pytest.approx(2.0, rel=1e-6) and f.d0 == pytest.approx(1.0, abs=1e-5)
    assert f.r2 == pytest.approx(1.0)
    rising = fit_decay(d, 0.01 * np.exp(d / 3), np.ones(12))
    assert not rising.decays and rising.xi is None and rising.to_json()["result"] == "no decay"
    with pytest.raises(ValueError, match="cannot be fitted"):
        fit_decay(np.ones(5), np.ones(5), np.ones(5))


def test_quality_targets_and_verdict():
    assert required_acceptance(8) == 0.3 and required_acceptance(16) == 0.1
    weak = {"flow_quality": {"meets_targets": False, "weak": ["acceptance 0.007 < 0.1 at L = 16"]},
            "fit": {"result": "decay"}, "fit_boundary_distance": {}}
    assert "too weak for a geometric reading" in verdict(weak)


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


def test_departure_finds_the_level_where_a_short_ranged_bulk_leaves_the_line(planted16):
    """One hyperbolic law through every level: no departure. The same law cut off for pairs that reach
    level 2 (correlations gone at the scale of blocks of 4 sites, as for a correlation length ~3): departs at 2."""
    L, pos, d, z = planted16
    follows = analyse_bulk(pair_statistics(z, "connected"), pos, L).departure
    assert follows["first_level"] is None and len(follows["levels"]) >= 2
    top = np.maximum.outer(pos[:, 2], pos[:, 2])
    cut = planted_bulk(L, np.where(top >= 2, np.inf, d), 1.0, 4000, seed=2)
    leaves = analyse_bulk(pair_statistics(cut, "connected"), pos, L).departure
    assert leaves["first_level"] == 2 and leaves["result"] == "departs"
    assert analyse_bulk(pair_statistics(cut, "connected"), pos, L).to_json()["departure"] == leaves


def test_verdict_needs_a_determined_fit_and_the_hyperbolic_gap():
    """Consistency tests pass trivially on huge errors: an undetermined xi is no reading, and without a
    significant hyperbolic-over-flat gap the passing consistency tests support nothing."""
    def doc(xi_error, gap, gap_error, first_level=None):
        return {"flow_quality": {"meets_targets": True}, "target": {"L": 8}, "samples": 4096,
                "fit": {"result": "decay", "xi": 1.6, "xi_error": xi_error, "r2": 0.3, "r2_error": 0.3},
                "fit_boundary_distance": {"r2": 0.0, "r2_error": 0.04}, "collapse": {}, "xi_difference": None,
                "departure": {"levels": [1, 2], "first_level": first_level},
                "r2_gap": {"value": gap, "error": gap_error}}
    assert "cannot decide" in verdict(doc(55.0, 0.31, 0.29)) and "4096 samples" in verdict(doc(55.0, 0.31, 0.29))
    assert "does not support" in verdict(doc(0.2, 0.31, 0.29))  # departure passes, the gap does not
    assert "supports, weakly," in verdict(doc(0.2, 0.31, 0.05))  # no collapse test at L = 8
    sharp = {**doc(0.2, 0.31, 0.05), "collapse": {"quality": 1.2, "quality_error": 0.5}}
    assert "strongly supports" in verdict(sharp)
    assert "supports, weakly," in verdict({**sharp, "fit": {**sharp["fit"], "xi_error": 0.8}})  # xi to 50%
    assert "partly supports" in verdict(doc(0.2, 0.31, 0.05, first_level=2))
    assert "does not support" in verdict(doc(0.2, 0.01, 0.05, first_level=2))
    flat = {**doc(0.2, 0.0, 0.05), "fit": {"result": "no decay", "xi": None, "r2": 0.01, "r2_error": 0.02}}
    assert "these 4096 samples show no decay" in verdict(flat) and "more samples" in verdict(flat)
    exact = {**flat, "fit": {**flat["fit"], "r2_error": None}}
    assert verdict(exact).startswith("The data do not support the hyperbolic reading: the correlations do not decay")
