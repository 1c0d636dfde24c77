"""Exact Ising results against 50-digit references, brute-force enumeration and each other."""

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from engine import exact
from engine.errors import ParameterError

#: Exact per-site energy, specific heat and ln Z of the 2D Ising model (J = 1) on L x L tori: Kaufman's
#: 1949 closed form evaluated in 50-digit arithmetic, checked against full enumeration (L = 4) and a row
#: transfer matrix (L <= 10); an independent evaluation that engine/exact.py must reproduce.
REFERENCE = Path(__file__).parent / "data" / "ising_exact_torus.csv"


def _reference_rows():
    with open(REFERENCE) as fh:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def test_kaufman_matches_every_reference_row():
    for row in _reference_rows():
        L, T = int(row["L"]), row["T"]
        assert exact.kaufman_ln_z(L, T) / L**2 == pytest.approx(row["lnZ_per_site"], rel=1e-12)
        assert exact.kaufman_energy(L, T) == pytest.approx(row["energy_per_site"], rel=1e-12)
        assert exact.kaufman_specific_heat(L, T) == pytest.approx(row["specific_heat_per_site"], rel=1e-11)


@pytest.mark.parametrize("T", [0.5, 1.0, 2.0, exact.TC_ISING, 3.0, 10.0])
def test_kaufman_matches_enumeration_of_4x4(T):
    energies, _ = exact.enumerate_ising(4)
    energies = energies.astype(np.float64)
    a = -energies / T
    shift = a.max()
    w = np.exp(a - shift)
    ln_z = shift + math.log(w.sum())
    p = w / w.sum()
    mean_e = (p * energies).sum()
    var_e = (p * (energies - mean_e) ** 2).sum()
    assert exact.kaufman_ln_z(4, T) == pytest.approx(ln_z, rel=1e-13)
    assert exact.kaufman_energy(4, T) == pytest.approx(mean_e / 16, rel=1e-12, abs=1e-15)
    assert exact.kaufman_specific_heat(4, T) == pytest.approx(var_e / T**2 / 16, rel=1e-10, abs=1e-15)


def test_analytic_derivatives_agree_with_finite_differences_of_ln_z():
    """E and C at L = 256 against a 4th-order central difference of ln Z in K.

    The difference formula itself is good to ~1e-9 here (step 1e-3, smooth away from Tc), so the
    analytic values are checked to 1e-8 relative.
    """
    L, h = 256, 1e-3
    for T in (0.5, 1.5, 3.5, 10.0):
        K = 1.0 / T
        f = [exact.kaufman_ln_z(L, 1.0 / (K + k * h)) for k in (-2, -1, 0, 1, 2)]
        d1 = (f[0] - 8 * f[1] + 8 * f[3] - f[4]) / (12 * h)
        d2 = (-f[0] + 16 * f[1] - 30 * f[2] + 16 * f[3] - f[4]) / (12 * h * h)
        assert exact.kaufman_energy(L, T) == pytest.approx(-d1 / L**2, rel=1e-8)
        c = exact.kaufman_specific_heat(L, T)
        assert c == pytest.approx(K * K * d2 / L**2, rel=1e-4)  # 2nd difference loses digits
        # ... and the analytic C is exact where the lattice is effectively infinite:
        assert c == pytest.approx(exact.onsager_specific_heat(T), rel=1e-9)


def test_large_lattice_is_finite_and_converges_to_onsager():
    T = np.linspace(0.5, 10.0, 40)
    e256 = exact.kaufman_energy(256, T)
    c256 = exact.kaufman_specific_heat(256, T)
    assert np.all(np.isfinite(e256)) and np.all(np.isfinite(c256)) and np.all(c256 > 0)
    far = np.abs(T - exact.TC_ISING) > 0.3  # correlation length << 256
    np.testing.assert_allclose(e256[far], exact.onsager_energy(T[far]), rtol=1e-10)
    np.testing.assert_allclose(c256[far], exact.onsager_specific_heat(T[far]), rtol=1e-8, atol=1e-14)
    # free energy: the torus has a two-fold ground state below Tc (ln 2 in ln Z), nothing else.
    ln_z = exact.kaufman_ln_z(256, T[far]) - np.where(T[far] < exact.TC_ISING, math.log(2), 0.0)
    np.testing.assert_allclose(-T[far] * ln_z / 256**2, exact.onsager_free_energy(T[far]), rtol=1e-11)


def test_onsager_critical_point_values():
    Tc = exact.TC_ISING
    assert Tc == pytest.approx(2.269185314213022, rel=1e-15)
    assert exact.KC_ISING == pytest.approx(0.5 * math.log(1 + math.sqrt(2)), rel=1e-15)
    assert exact.onsager_energy(Tc) == pytest.approx(-math.sqrt(2), rel=1e-14)
    catalan = 0.915965594177219015
    assert -exact.onsager_free_energy(Tc) / Tc == pytest.approx(0.5 * math.log(2) + 2 * catalan / math.pi,
                                                               rel=1e-12)
    assert exact.onsager_magnetization(Tc) == 0.0
    # inf where sinh 2K rounds to exactly 1 (libm-dependent), else a huge finite value
    assert exact.onsager_specific_heat(Tc) > exact.onsager_specific_heat(Tc * (1 + 1e-9)) > 9
    # C diverges as -(8/pi) K_c^2 ln|1 - T/Tc|: check the amplitude from two close temperatures
    t1, t2 = Tc * (1 - 1e-4), Tc * (1 - 1e-6)
    slope = (exact.onsager_specific_heat(t2) - exact.onsager_specific_heat(t1)) / -math.log(1e-2)
    assert slope == pytest.approx(8 / math.pi * exact.KC_ISING**2, rel=1e-3)


def test_onsager_limits_and_array_shapes():
    T = np.array([0.2, 1.0, 2.0, 2.25, 2.3, 5.0])
    m = exact.onsager_magnetization(T)
    assert m.shape == T.shape and m[0] == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.diff(m) <= 0) and m[-2] == 0.0 and m[-1] == 0.0
    # beta = 1/8 close to Tc: m ~ (1 - T/Tc)^(1/8) with amplitude 2^(5/16) ln(1+sqrt2)^(1/8) ...
    eps = 1e-8
    amp = exact.onsager_magnetization(exact.TC_ISING * (1 - eps)) / eps**0.125
    assert amp == pytest.approx(1.2224, rel=1e-3)
    assert exact.onsager_energy(0.1) == pytest.approx(-2.0, abs=1e-12)
    assert exact.onsager_energy(1e4) == pytest.approx(-2.0 / 1e4, rel=1e-3)  # high-T: -2 tanh K
    assert isinstance(exact.onsager_energy(2.0), float)
    assert exact.T_KT_XY == 0.8929


def test_bad_input_raises_parameter_error():
    with pytest.raises(ParameterError, match="T"):
        exact.onsager_energy(-1.0)
    with pytest.raises(ParameterError, match="T"):
        exact.kaufman_energy(8, [1.0, float("nan")])
    with pytest.raises(ParameterError, match="L"):
        exact.kaufman_ln_z(2.5, 1.0)


def test_enumeration_helpers():
    energy, mag = exact.enumerate_ising(2)
    # 2 x 2 torus: each neighbour pair is joined by two bonds; all-up has E = -8.
    assert sorted(energy.tolist()).count(-8) == 2 and len(energy) == 16
    assert np.abs(mag).max() == 4
    avg = exact.enumeration_averages(4, 2.0)
    assert avg["energy"] == pytest.approx(exact.kaufman_energy(4, 2.0), rel=1e-12)
    assert avg["specific_heat"] == pytest.approx(exact.kaufman_specific_heat(4, 2.0), rel=1e-10)
    assert 0 < avg["binder"] < 2 / 3 and avg["abs_m"] ** 2 < avg["m2"]
    with pytest.raises(ParameterError, match="L"):
        exact.enumerate_ising(8)
