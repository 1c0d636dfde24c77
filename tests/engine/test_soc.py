"""Sandpiles against exact results: sequential toppling, the Green's function, conservation, seeds, fits."""

import numpy as np
import pytest
from soc_reference import drop_grain

from engine.errors import ParameterError
from engine.soc.analysis import fit_exponent, log_histogram, moment_analysis
from engine.soc.exact import green_row_sums, mean_size, total_topplings
from engine.soc.sandpile import Sandpile


def test_parallel_waves_give_the_sequential_final_state_size_and_area():
    """BTW is Abelian: waves and a stack-based loop agree on every avalanche's s and a and the final state."""
    for L in (5, 8):
        pile = Sandpile("btw", L, piles=3, seed=L)
        start = pile.heights
        av = pile.run(300)
        assert len(av) == 900 and av.size.max() > 3 * L  # large avalanches, not only single topplings
        for p in range(3):
            h = start[p].tolist()
            mine = av.pile == p
            expected = np.array([drop_grain(h, int(site)) for site in av.site[mine]])
            np.testing.assert_array_equal(av.size[mine], expected[:, 0])
            np.testing.assert_array_equal(av.area[mine], expected[:, 1])
            np.testing.assert_array_equal(pile.heights[p], np.array(h))


def test_green_function_row_sums_solve_the_dirichlet_laplacian():
    assert green_row_sums(1)[0, 0] == pytest.approx(0.25)
    assert np.allclose(green_row_sums(2), 0.5)  # 4 g - 2 g = 1 by symmetry
    L = 7
    idx = np.arange(L * L).reshape(L, L)
    laplacian = 4 * np.eye(L * L)
    for a, b in ((idx[:, :-1], idx[:, 1:]), (idx[:-1], idx[1:])):
        laplacian[a.ravel(), b.ravel()] = laplacian[b.ravel(), a.ravel()] = -1
    np.testing.assert_allclose(green_row_sums(L).ravel(), np.linalg.solve(laplacian, np.ones(L * L)), rtol=1e-12)


def test_total_topplings_equal_the_green_function_identity_exactly():
    """sum_k s_k = sum_k g(i_k) - g . (h_end - h_start) holds for every run, stationary or not."""
    pile = Sandpile("btw", 12, piles=4, seed=3)
    pile.warm_up(50)
    start = pile.heights
    av = pile.run(400)
    end = pile.heights
    for p in range(4):
        mine = av.pile == p
        assert av.size[mine].sum() == pytest.approx(total_topplings(12, av.site[mine], start[p], end[p]), abs=1e-6)


@pytest.mark.parametrize("model, L, grains", [("btw", 12, 600), ("manna", 10, 500)])
def test_stationary_mean_size_is_the_exact_green_function_sum(model, L, grains):
    """<s> = sum G / L^2 (BTW), 2 sum G / L^2 (Manna); error from the spread of the 16 independent piles'
    means (BTW: plus the bound 3 max(g) L^2 / grains on the change of configuration within a pile)."""
    pile = Sandpile(model, L, piles=16, seed=11)
    pile.warm_up(2 * L * L)
    av = pile.run(grains)
    means = np.array([av.size[av.pile == p].mean() for p in range(16)])
    error = means.std(ddof=1) / 4
    exact = mean_size(model, L)
    bias = 3 * green_row_sums(L).max() * L * L / grains / 16 if model == "btw" else 0.0
    assert abs(means.mean() - exact) < 4 * error + bias, (means.mean(), error, exact)
    assert error < 0.05 * exact  # the test can see a wrong mean


def test_manna_conserves_grains():
    pile = Sandpile("manna", 9, piles=5, seed=2)
    initial = pile.mass()
    pile.warm_up(40)
    pile.run(200)
    np.testing.assert_array_equal(pile.added, pile.lost + pile.mass() - initial)
    assert (pile.added == 240).all() and pile.lost.min() > 0


def test_runs_are_determined_by_the_seed():
    def record(seed):
        pile = Sandpile("manna", 8, piles=3, seed=seed)
        pile.warm_up(30)
        av = pile.run(50)
        return np.concatenate([av.site, av.size, av.area, av.duration, pile.heights.ravel()])

    np.testing.assert_array_equal(record(5), record(5))
    assert not np.array_equal(record(5), record(6))


def test_activity_signal_holds_each_avalanche_then_a_quiet_step():
    pile = Sandpile("btw", 10, piles=2, seed=4)
    pile.warm_up(100)
    av = pile.run(100)
    for p in range(2):
        signal, mine = av.signal(p), av.pile == p
        assert signal.sum() == av.size[mine].sum()
        assert len(signal) == av.duration[mine].sum() + mine.sum()
        assert (signal > 0).sum() == av.duration[mine].sum()


def test_bad_parameters_are_refused():
    for kwargs in ({"model": "ising", "L": 8}, {"model": "btw", "L": 1}, {"model": "btw", "L": 8, "piles": 0}):
        with pytest.raises(ParameterError):
            Sandpile(**kwargs)


def _power_law(rng, tau, n, cutoff=np.inf):
    """Integers with P(s) = s^-tau / zeta(tau) (numpy's Zipf), thinned by exp(-s / cutoff)."""
    s = rng.zipf(tau, n)
    return s[rng.random(n) < np.exp(-s / cutoff)]


def test_fit_of_a_synthetic_power_law_recovers_tau():
    rng = np.random.default_rng(0)
    fit = fit_exponent(log_histogram(_power_law(rng, 1.3, 400_000)), 20, 1e5)
    assert fit.points >= 20 and fit.error < 0.02
    assert abs(fit.tau - 1.3) < 3 * fit.error
    wrong = fit_exponent(log_histogram(_power_law(rng, 1.5, 400_000)), 20, 1e5)
    assert abs(wrong.tau - 1.3) > 10 * wrong.error


def test_moment_analysis_of_synthetic_scaling_recovers_d_and_tau():
    """P(s) = s^-tau exp(-s / L^D): sigma_k = D (1 + k - tau) for k > tau - 1."""
    rng = np.random.default_rng(1)
    samples = {L: _power_law(rng, 1.3, 300_000, L ** 2.5) for L in (16, 32, 64, 128)}
    m = moment_analysis(samples)
    assert abs(m.D - 2.5) < max(3 * m.D_error, 0.03), (m.D, m.D_error)
    assert abs(m.tau - 1.3) < max(3 * m.tau_error, 0.03), (m.tau, m.tau_error)
