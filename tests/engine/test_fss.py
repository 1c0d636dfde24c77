"""Finite-size-scaling tools on synthetic data with known answers."""

import numpy as np
import pytest

from engine.measure.fss import best_collapse, collapse_quality, crossing, jackknife_error, peak, power_law


def test_crossing_of_two_lines_and_no_crossing():
    x = np.linspace(2.0, 2.5, 51)
    assert crossing(x, 1 - (x - 2.27), 1 - 3 * (x - 2.27)) == pytest.approx(2.27, abs=1e-12)
    assert np.isnan(crossing(x, x, x + 1))


def test_peak_refines_between_grid_points():
    x = np.linspace(0, 1, 11)
    pos, height = peak(x, 5 - 40 * (x - 0.537) ** 2)
    assert pos == pytest.approx(0.537, abs=1e-9)
    assert height == pytest.approx(5, abs=1e-9)


def test_peak_at_the_edge_of_the_grid_is_not_found():
    x = np.linspace(0, 1, 11)
    for y in (x, 1 - x, 5 - 40 * (x - 1.2) ** 2):  # rising, falling, a maximum beyond the grid
        assert np.isnan(peak(x, y)).all()


def test_power_law_recovers_exponent_with_error():
    rng = np.random.default_rng(0)
    L = np.array([8, 16, 32, 64, 128])
    y = 0.9 * L ** 1.75 * (1 + 0.01 * rng.standard_normal(5))
    fit = power_law(L, y, 0.01 * y)
    assert abs(fit.exponent - 1.75) < 3 * fit.exponent_error
    assert 0.001 < fit.exponent_error < 0.02


def test_jackknife_error_of_a_mean_matches_standard_error():
    rng = np.random.default_rng(1)
    data = rng.standard_normal(400)
    reps = [np.delete(data, i).mean() for i in range(len(data))]
    assert jackknife_error(data.mean(), reps) == pytest.approx(data.std(ddof=1) / 20, rel=1e-9)


def synthetic_curves(tc=2.269, nu=1.0, a=1.75, noise=0.005, seed=2):
    rng = np.random.default_rng(seed)
    curves = []
    for L in (16, 32, 64):
        T = np.linspace(2.1, 2.45, 120)
        x = (T - tc) * L ** (1 / nu)
        y = L ** a * np.exp(-0.5 * (x - 0.5) ** 2 / 4)
        err = noise * y
        curves.append((L, T, y + err * rng.standard_normal(len(T)), err))
    return curves


def test_collapse_recovers_scaling_parameters():
    curves = synthetic_curves()
    good = collapse_quality(curves, 2.269, 1.0, 1.75)
    bad = collapse_quality(curves, 2.30, 1.0, 1.75)
    assert good < 3 < bad
    fit = best_collapse(curves, start=(2.28, 0.9, 1.7))
    for value, true, err in zip((fit.tc, fit.nu, fit.exponent), (2.269, 1.0, 1.75), fit.errors):
        assert 0 < err < 0.1
        assert abs(value - true) < 4 * err
