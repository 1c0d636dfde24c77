"""Sweep analysis (reweighted curves, jackknife errors, crossings, peaks) on exact samples.

Configurations of 3 x 3 and 4 x 4 tori are drawn independently from the exact Boltzmann
distribution (full enumeration), so every curve and estimate has a known exact value.
"""

import numpy as np
import pytest

from engine.exact import enumerate_ising, enumeration_averages
from engine.measure.fss import crossing
from engine.measure.sweep_analysis import SizeData, analyse_sweep

TEMPS = np.linspace(1.8, 3.4, 7)


def exact_sweep(L, n, rng):
    energy, mag = enumerate_ising(L)
    N = L * L
    series = {k: np.empty((n, len(TEMPS))) for k in ("energy", "abs_m", "m2", "m4")}
    for b, T in enumerate(TEMPS):
        a = -energy / T
        p = np.exp(a - a.max())
        idx = rng.choice(len(p), size=n, p=p / p.sum())
        m = np.abs(mag[idx]) / N
        series["energy"][:, b] = energy[idx] / N
        series["abs_m"][:, b], series["m2"][:, b], series["m4"][:, b] = m, m**2, m**4
    return SizeData(L, TEMPS, series)


@pytest.fixture(scope="module")
def analysis():
    rng = np.random.default_rng(11)
    return analyse_sweep([exact_sweep(3, 4000, rng), exact_sweep(4, 4000, rng)], n_fine=61)


def test_reweighted_curves_match_enumeration(analysis):
    exact_name = {"energy": "energy", "specific_heat": "specific_heat", "abs_magnetization": "abs_m",
                  "susceptibility": "susceptibility", "binder": "binder"}
    for L in (3, 4):
        for name, key in exact_name.items():
            mean, err = analysis.curves[L][name]
            exact = np.array([enumeration_averages(L, T)[key] for T in analysis.T_fine])
            pull = (mean - exact) / err
            assert np.all(err > 0)
            assert np.max(np.abs(pull)) < 4.5, (L, name, np.max(np.abs(pull)))
            assert np.mean(pull**2) < 4, (L, name)  # errors are not grossly overestimated either


def test_binder_crossing_and_peaks_agree_with_exact(analysis):
    T = analysis.T_fine
    u3 = [enumeration_averages(3, t)["binder"] for t in T]
    u4 = [enumeration_averages(4, t)["binder"] for t in T]
    exact_cross = crossing(T, np.array(u3), np.array(u4))
    est = analysis.estimates["binder_crossings"]["3-4"]
    if np.isfinite(exact_cross):
        assert abs(est["mean"] - exact_cross) < 4 * est["error"]
    c4 = [enumeration_averages(4, t)["specific_heat"] for t in T]
    peak_T = analysis.estimates["C_peak"]["4"]["T"]
    assert abs(peak_T["mean"] - T[int(np.argmax(c4))]) < 4 * peak_T["error"] + (T[1] - T[0])
    assert analysis.estimates["gamma_over_nu"]["error"] > 0
