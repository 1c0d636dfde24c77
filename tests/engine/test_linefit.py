"""The one weighted line fit: exact lines, error calibration against the scatter of many fits, inflation."""

import numpy as np
import pytest

from engine.measure.linefit import line_fit

X = np.linspace(0.0, 4.0, 10)
SIGMA = 0.05 * (1 + X)  # unequal errors, so the weights matter
A, B = 1.3, -0.7


def unscaled_slope_error(sigma: np.ndarray) -> float:
    """sqrt([(A^T W A)^-1]_11): the slope's standard deviation when sigma are the true errors."""
    w = 1 / sigma**2
    S, Sx, Sxx = w.sum(), (w * X).sum(), (w * X * X).sum()
    return float(np.sqrt(S / (S * Sxx - Sx**2)))


def replicas(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return A + B * X + SIGMA * rng.standard_normal((n, len(X)))


def test_an_exact_line_is_recovered_with_the_errors_its_sigma_implies():
    fit = line_fit(X, A + B * X, SIGMA)
    assert (fit.intercept, fit.slope) == pytest.approx((A, B), abs=1e-12)
    assert fit.r2 == pytest.approx(1.0) and fit.chi2 == pytest.approx(0.0, abs=1e-20) and fit.dof == 8
    # chi^2/dof = 0 < 1: the errors are not shrunk below what sigma implies
    assert fit.slope_error == pytest.approx(unscaled_slope_error(SIGMA), rel=1e-12)
    assert fit(2.0) == pytest.approx(A + 2 * B)


def test_slope_errors_match_the_scatter_of_independent_fits():
    fits = [line_fit(X, y, SIGMA) for y in replicas(4000, seed=1)]
    slopes = np.array([f.slope for f in fits])
    errors = np.array([f.slope_error for f in fits])
    true = unscaled_slope_error(SIGMA)
    # the standard deviation of 4000 slopes is known to ~1.1%: 5% is over four of its errors
    assert slopes.std(ddof=1) == pytest.approx(true, rel=0.05)
    assert slopes.mean() == pytest.approx(B, abs=4 * true / np.sqrt(len(slopes)))
    # errors are never below the truth, and only inflated by the chance chi^2/dof > 1
    assert errors.min() >= true * (1 - 1e-12) and np.median(errors) < 1.2 * true
    covered = np.mean(np.abs(slopes - B) < errors)
    assert covered >= 0.683 - 3 * np.sqrt(0.683 * 0.317 / len(slopes))


def test_a_misfit_widens_the_errors_to_the_scatter():
    """Errors given three times too small: chi^2/dof ~ 9 scales the covariance back to the truth."""
    true = unscaled_slope_error(SIGMA)
    errors = [line_fit(X, y, SIGMA / 3).slope_error for y in replicas(2000, seed=2)]
    assert np.mean(errors) == pytest.approx(true, rel=0.1)


def test_unit_weights_estimate_the_errors_from_the_scatter():
    y = replicas(1, seed=3)[0]
    fit = line_fit(X, y)
    coef, cov = np.polyfit(X, y, 1, cov=True)  # numpy scales by chi^2 / (n - 2) as well
    assert (fit.slope, fit.intercept) == pytest.approx(tuple(coef))
    np.testing.assert_allclose(fit.cov[::-1, ::-1], cov, rtol=1e-10)


def test_a_line_needs_two_distinct_x():
    with pytest.raises(ValueError, match="two distinct x"):
        line_fit([1.0, 1.0, 1.0], [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="two distinct x"):
        line_fit([1.0], [0.0])
