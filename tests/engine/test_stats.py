"""Error analysis on series with known answers: AR(1) chains and exact Ising sampling."""

import numpy as np
import pytest

from engine import exact
from engine.errors import ParameterError
from engine.measure import stats
from engine.measure.chains import MIN_MOVES, RHAT_LIMIT, chains_estimate, convergence_warning, split_rhat


def ar1(rho: float, n: int, chains: int, seed: int, mean: float = 0.0) -> np.ndarray:
    """Stationary AR(1) chains [n, chains] with unit variance: tau_int = (1 + rho) / (2 (1 - rho))."""
    rng = np.random.default_rng(seed)
    x = np.empty((n, chains))
    x[0] = rng.standard_normal(chains)
    noise = rng.standard_normal((n, chains)) * np.sqrt(1 - rho**2)
    for t in range(1, n):
        x[t] = rho * x[t - 1] + noise[t]
    return x + mean


@pytest.fixture(scope="module")
def chains():
    return ar1(0.9, 20000, 64, seed=1, mean=3.0)  # tau_int = 9.5


def test_tau_int_of_ar1(chains):
    tau, tau_err, window = stats.tau_int(chains)
    assert tau.shape == (64,)
    # 64 chains: the spread of their mean is ~0.1; the window's truncation bias is < 1%.
    assert tau.mean() == pytest.approx(9.5, abs=0.4)
    # the Madras-Sokal error formula describes the chain-to-chain spread (it is a bit generous)
    assert 0.7 < tau_err.mean() / tau.std() < 1.6
    # the window condition holds for the windowed sum before its bias correction tau (1 + (2W + 1)/n)
    assert np.all(window >= stats.WINDOW_C * tau / (1 + (2 * window + 1) / len(chains)))
    white = ar1(0.0, 5000, 16, seed=2)
    assert stats.tau_int(white)[0].mean() == pytest.approx(0.5, abs=0.05)
    fast = ar1(0.5, 5000, 16, seed=3)
    assert stats.tau_int(fast)[0].mean() == pytest.approx(1.5, abs=0.1)


def test_estimate_error_covers_true_mean(chains):
    est = stats.estimate(chains)
    spread = est.mean.std()
    assert est.mean.mean() == pytest.approx(3.0, abs=4 * spread / 8)
    assert est.error.mean() == pytest.approx(spread, rel=0.2)
    coverage = np.mean(np.abs(est.mean - 3.0) < est.error)
    assert 0.5 < coverage < 0.85  # 68% expected; 64 chains
    naive = chains.std(axis=0).mean() / np.sqrt(chains.shape[0])
    assert est.error.mean() / naive == pytest.approx(np.sqrt(2 * 9.5), rel=0.1)
    single = stats.estimate(chains[:, 0])
    assert isinstance(single.mean, float) and single.mean == pytest.approx(est.mean[0])


def test_binning_plateau_agrees_with_tau_int(chains):
    lengths, errors = stats.binning(chains)
    assert lengths[0] == 1 and np.all(np.diff(lengths) > 0)
    tau_from_bins = 0.5 * (errors[-1] / errors[0]) ** 2
    assert tau_from_bins.mean() == pytest.approx(9.5, rel=0.1)
    with pytest.raises(ParameterError, match="series"):
        stats.binning(chains[:10])


def test_jackknife_of_variance(chains):
    est = stats.jackknife(lambda x: x.var(axis=0), chains)
    assert est.mean.mean() == pytest.approx(1.0, abs=3 * est.error.mean() / 8)
    assert est.error.mean() == pytest.approx(est.mean.std(), rel=0.3)
    assert np.all(est.tau_int > 5)
    # the jackknife of a plain mean reproduces the tau_int-based error
    mean_est = stats.jackknife(lambda x: x.mean(axis=0), chains)
    assert mean_est.error.mean() == pytest.approx(stats.estimate(chains).error.mean(), rel=0.15)
    # with blocks that are too short, the jackknife underestimates (this is why blocks >> tau)
    head = chains[:4000]
    good = stats.jackknife(lambda x: x.mean(axis=0), head)
    short = stats.jackknife(lambda x: x.mean(axis=0), head, n_blocks=2000)
    assert short.error.mean() < 0.6 * good.error.mean()


def test_jackknife_variance_of_short_runs_is_unbiased_and_calibrated_but_its_pulls_are_skewed():
    """200 samples with tau_int = 2.5 (about 40 independent ones), one jackknife per chain as a sweep's replica
    gets: the variance is unbiased and its error right in mean square, but a low variance comes with a low error,
    so pulls have a heavy low tail and a near-Gaussian high one (what one-sided tolerances against exact C rest on:
    Gaussian pulls would put 0.6% beyond 2.5 on either side)."""
    x = ar1(2 / 3, 200, 1000, seed=1)
    est = [stats.jackknife(lambda a: a.var(axis=0), x[:, i]) for i in range(x.shape[1])]
    value, error = np.array([e.mean for e in est]), np.array([e.error for e in est])
    assert abs(value.mean() - 1.0) < 4 * value.std() / np.sqrt(len(value))
    assert 0.9 < value.std() / np.sqrt((error**2).mean()) < 1.2
    pull = (value - 1.0) / error
    assert np.mean(pull < -2.5) > 0.03 and np.mean(pull > 2.5) < 0.015


def test_degenerate_and_bad_input():
    const = stats.estimate(np.full(100, 2.0))
    assert const.mean == 2.0 and const.error == 0.0
    one = stats.estimate([1.0])
    assert np.isnan(one.error) and one.as_dict() == {"mean": 1.0, "error": None, "tau_int": None}
    with pytest.raises(ParameterError, match="series"):
        stats.estimate(np.zeros((3, 3, 3)))
    with pytest.raises(ParameterError, match="n_blocks"):
        stats.jackknife(np.mean, np.zeros(10), n_blocks=1)
    with pytest.raises(ParameterError, match="components"):
        stats.binder(np.ones(4), np.ones(4), components=5)


def _exact_ising_samples(L, temps, n, seed):
    """Independent samples of (e, |m|, m^2, m^4) per site drawn from the exact 4 x 4 distribution."""
    rng = np.random.default_rng(seed)
    energy, mag = exact.enumerate_ising(L)
    N = L * L
    cols = []
    for T in temps:
        a = -energy / T
        p = np.exp(a - a.max())
        idx = rng.choice(len(p), size=n, p=p / p.sum())
        cols.append((energy[idx] / N, np.abs(mag[idx]) / N))
    e = np.stack([c[0] for c in cols], axis=1)
    m = np.stack([c[1] for c in cols], axis=1)
    return {"energy": e, "abs_m": m, "m2": m**2, "m4": m**4}


def test_thermodynamic_estimators_against_enumeration():
    temps = np.array([1.5, 2.269, 3.0])
    series = _exact_ising_samples(4, temps, 40000, seed=5)
    result = stats.thermodynamics(series, N=16, T=temps)
    for j, T in enumerate(temps):
        want = exact.enumeration_averages(4, T)
        for name, key in [("energy", "energy"), ("specific_heat", "specific_heat"),
                          ("abs_magnetization", "abs_m"), ("susceptibility", "susceptibility"),
                          ("binder", "binder")]:
            est = result[name]
            assert est.error[j] > 0
            assert abs(est.mean[j] - want[key]) < 4 * est.error[j], (name, T)
        # independent samples: tau_int ~ 1/2
        assert result["energy"].tau_int[j] == pytest.approx(0.5, abs=0.1)


def test_binder_limits_for_two_components():
    rng = np.random.default_rng(7)
    v = rng.standard_normal((20000, 2))       # Gaussian order parameter: U4 = 0
    m2 = (v**2).sum(axis=1)
    u = stats.binder(m2, m2**2, components=2)
    assert abs(u.mean) < 4 * u.error
    fixed = np.ones(1000)                     # fixed length: U4 = 1/2 exactly
    assert stats.binder(fixed, fixed, components=2).mean == pytest.approx(0.5)
    assert stats.binder(fixed, fixed, components=1).mean == pytest.approx(2 / 3)


# --- several chains: between-chain scatter and split R-hat (engine.measure.chains) ---------------------------

def test_chains_estimate_covers_the_true_mean_of_ar1_chains():
    """400 replicas of 8 AR(1) chains (tau_int = 9.5, mean 3): the error matches the true error of the grand
    mean, sqrt(2 tau_int / (n K)), and covers the truth about 68% of the time. Taking the larger of the
    within- and between-chain errors makes it a little generous (73% measured), never stingy."""
    K, n, replicas = 8, 2000, 400
    x = ar1(0.9, n, K * replicas, seed=7, mean=3.0)
    ests = [chains_estimate(x[:, r * K:(r + 1) * K]) for r in range(replicas)]
    mean, error = np.array([e.mean for e in ests]), np.array([e.error for e in ests])
    true_error = np.sqrt(2 * 9.5 / (n * K))
    assert mean.std() == pytest.approx(true_error, rel=0.1)
    assert error.mean() == pytest.approx(true_error, rel=0.15)
    assert 0.62 < np.mean(np.abs(mean - 3.0) < error) < 0.82  # 68% expected; binomial sd 0.023
    assert all(e.error >= max(e.error_within, e.error_between) for e in ests)
    rhat = np.array([e.rhat for e in ests])
    assert np.all(rhat < RHAT_LIMIT) and np.median(rhat) < 1.01  # mixed chains pass
    assert convergence_warning({"x": float(rhat.max())}, [1000] * K) is None


def test_stuck_chains_get_the_error_of_their_spread_and_are_flagged():
    """Chains each frozen at its own value (a stuck sampler): within-chain errors are 0, so the error must
    come from the scatter of the chain means (which covers the centre they scatter about), and R-hat is
    infinite."""
    rng = np.random.default_rng(8)
    K, replicas = 8, 400
    levels = 3.0 + rng.standard_normal((replicas, K))
    covered = []
    for row in levels:
        est = chains_estimate(np.tile(row, (500, 1)))
        assert est.error_within == 0 and est.error == pytest.approx(row.std(ddof=1) / np.sqrt(K))
        assert est.rhat == np.inf and est.as_dict()["rhat"] is None
        covered.append(abs(est.mean - 3.0) < est.error)
    assert 0.58 < np.mean(covered) < 0.74  # Student t with 7 degrees of freedom: P(|t| < 1) = 0.65
    warning = convergence_warning({"energy": np.inf, "abs_m": 1.0})
    assert warning.startswith("chains not converged: R-hat energy inf") and "abs_m" not in warning
    assert "\n" not in warning
    same = chains_estimate(np.full((100, 4), 2.0))  # all stuck in one state: nothing can be said
    assert np.isnan(same.rhat) and same.error == 0
    assert "R-hat x undefined" in convergence_warning({"x": same.rhat})


def test_split_rhat_sees_a_drifting_chain_and_too_few_moves():
    """One chain that relaxes from far off (no burn-in) disagrees with itself: split R-hat catches it;
    the accepted moves per chain are checked against MIN_MOVES."""
    t = np.arange(1000)
    drifting = 5.0 * np.exp(-t / 200) + ar1(0.5, 1000, 1, seed=9)[:, 0]
    assert split_rhat(drifting) > 1.2  # 1.33
    assert split_rhat(drifting[600:]) < RHAT_LIMIT
    assert np.isnan(chains_estimate(drifting).error_between)  # one chain: no scatter of chain means
    few = convergence_warning({"x": 1.0}, [3, 200, 80])
    assert few is not None and f"accepted moves per chain 3-200 (need >= {MIN_MOVES})" in few
    assert convergence_warning({"x": 1.0}, [MIN_MOVES] * 3) is None
    with pytest.raises(ParameterError, match="series"):
        chains_estimate(np.zeros((0, 3)))


def test_tau_int_of_short_chains_is_bias_corrected():
    """Autocorrelations about the sample mean make the windowed tau_int low by ~(2W + 1)/n: on chains only ~50
    tau_int long (n = 500, tau_int = 9.5) the raw sum averages 8.2 over 400 chains (sem 0.3); corrected it is
    within 10% of the truth."""
    tau = stats.tau_int(ar1(0.9, 500, 400, seed=5))[0]
    assert tau.mean() == pytest.approx(9.5, rel=0.1)
