"""Swendsen MCRG against a case with an exact answer: independent spins in a field.

Blocking independent spins gives independent block spins, so the renormalised Hamiltonian is
exactly a field h'(h) and the MCRG eigenvalue must equal dh'/dh: 1 for decimation, and for the
2x2 majority rule with fair tie-breaks the derivative of atanh(m'(tanh h)) computed below.
"""

import math

import numpy as np
import pytest
import torch

from engine.device import make_generator
from engine.errors import ParameterError
from engine.rg.blocking import block_levels
from engine.rg.mcrg import default_mcrg_operators, level_values, mcrg_exponents

torch.set_num_threads(1)


def free_spins(h, n, L, seed):
    gen = make_generator(seed)
    p_up = math.exp(h) / (2 * math.cosh(h))
    return torch.where(torch.rand(n, L, L, generator=gen) < p_up, 1.0, -1.0), gen


def majority_field(h):
    """h' of a 2x2 majority block of independent spins in field h (ties broken by a fair coin)."""
    p = math.exp(h) / (2 * math.cosh(h))
    q = 1 - p
    up = p ** 4 + 4 * p ** 3 * q + 3 * p ** 2 * q ** 2
    return math.atanh(2 * up - 1)


def derivative(f, h, eps=1e-5):
    return (f(h + eps) - f(h - eps)) / (2 * eps)


@pytest.mark.parametrize("rule, field_map", [
    ("decimation", lambda h: h),
    ("majority", majority_field),
])
def test_field_eigenvalue_of_independent_spins_is_exact(rule, field_map):
    h = 0.3
    x, gen = free_spins(h, 3000, 16, seed=4)
    levels = block_levels(x, 2, b=2, rule=rule, gen=gen)
    names = ("field", "tri")
    res = mcrg_exponents(level_values(levels, names), names, 2, n_blocks=20)
    assert res.even is None
    h_level = h
    for step in (0, 1):
        # Step n maps the field h_n of level n to h_{n+1}: the eigenvalue is dh_{n+1}/dh_n at h_n.
        y_exact = math.log(derivative(field_map, h_level)) / math.log(2)
        for m in (1, 2):
            y, err = res.exponent("odd", step, m)
            assert abs(y - y_exact) < 4 * err + 1e-9, (rule, step, m, y, err, y_exact)
            assert err < 0.05
        h_level = field_map(h_level)
    # The (field, tri) map has the exact eigenvalues {dh'/dh, 0}: tri is never generated.
    ev = res.odd.eigenvalues[0]
    assert abs(ev[1]) < 0.1 * abs(ev[0])


def test_majority_field_derivative_is_not_trivial():
    # Guards the exact test above against a vacuous expectation.
    assert 1.3 < derivative(majority_field, 0.3) < 2.5
    assert 1.3 < derivative(majority_field, majority_field(0.3)) < 2.5


def test_sectors_and_truncations_are_reported():
    x, gen = free_spins(0.0, 200, 16, seed=1)
    names = default_mcrg_operators(2, 2)
    assert names == ("nn", "nnn", "field", "tri")
    res = mcrg_exponents(level_values(block_levels(x, 2, rule="majority", gen=gen), names), names, 2, n_blocks=10)
    assert res.even.y.shape == (2, 2) and res.odd.y.shape == (2, 2)
    assert set(res.to_dict()) == {"b", "n_samples", "even", "odd"}
    with pytest.raises(ParameterError, match="n_ops"):
        res.exponent("even", 0, 3)
    with pytest.raises(ParameterError, match="levels"):
        mcrg_exponents(np.zeros((10, 1, 2)), names[:2], 2)
    with pytest.raises(ParameterError, match="n_odd"):
        default_mcrg_operators(1, 9)
