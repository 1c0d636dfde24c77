"""Pseudo-likelihood couplings against exact samples of a 4x4 torus (all 2^16 states enumerated)."""

import numpy as np
import pytest
import torch

from engine.device import make_generator
from engine.errors import ParameterError
from engine.rg.operators import operator_values, operators
from engine.rg.pseudolikelihood import cross_cov, fit_couplings, fit_levels, local_patterns

torch.set_num_threads(1)

L = 4
NAMES = ["nn", "nnn", "plaq", "d2", "field"]


@pytest.fixture(scope="module")
def enumeration():
    codes = torch.arange(2 ** (L * L))
    bits = (codes[:, None] >> torch.arange(L * L)) & 1
    states = (bits * 2 - 1).double().reshape(-1, L, L)
    return states, operator_values(states, operators(NAMES))


def exact_samples(enumeration, K, n, seed):
    """n independent draws from exp(sum_a K_a S_a) on the 4x4 torus."""
    states, values = enumeration
    logw = values @ torch.tensor(K, dtype=torch.float64)
    p = torch.softmax(logw, 0)
    idx = torch.multinomial(p, n, replacement=True, generator=make_generator(seed))
    return states[idx].float()


@pytest.mark.parametrize("K", [
    [0.3, 0.0, 0.0, 0.0, 0.0],     # high temperature
    [0.4407, 0.0, 0.0, 0.0, 0.0],  # Kc
    [0.25, 0.1, -0.05, 0.05, 0.1],  # all couplings, field on
])
def test_recovers_the_couplings_of_exact_samples(enumeration, K):
    fit = fit_couplings(exact_samples(enumeration, K, 4000, seed=5), NAMES)
    assert fit.converged
    z = (fit.K - np.array(K)) / fit.stderr
    assert np.all(np.abs(z) < 3.5), (fit.K, fit.stderr)
    assert np.all(fit.stderr < 0.05)


def test_standard_errors_are_calibrated(enumeration):
    # Over independent repetitions the z-scores must have unit variance: errors neither too
    # small (false alarms) nor too large (a test that cannot fail).
    K = [0.35, 0.05, 0.0, 0.0, 0.0]
    z = []
    for seed in range(12):
        fit = fit_couplings(exact_samples(enumeration, K, 800, seed=100 + seed), NAMES, n_blocks=16)
        z.append((fit.K - np.array(K)) / fit.stderr)
    z2 = float(np.mean(np.square(z)))
    assert 0.6 < z2 < 1.5, z2


def test_pattern_histogram_counts_every_site(enumeration):
    x = exact_samples(enumeration, [0.3, 0, 0, 0, 0], 101, seed=1)
    p = local_patterns(x, ["nn", "plaq"], n_blocks=10)
    assert p.counts.shape[0] == 10
    assert p.counts.sum() == 101 * L * L
    assert set(np.unique(p.g[:, 0])) <= {-4, -2, 0, 2, 4}


def test_levels_share_sample_blocks(enumeration):
    x = exact_samples(enumeration, [0.3, 0, 0, 0, 0], 400, seed=2)
    a, b = fit_levels([x, x], ["nn"], n_blocks=10)
    assert np.allclose(cross_cov(a, b), a.cov)


def test_bad_input_names_the_parameter():
    with pytest.raises(ParameterError, match="samples"):
        fit_couplings(torch.zeros(5, 4, 4), ["nn"])
    with pytest.raises(ParameterError, match="samples"):
        fit_couplings(torch.ones(1, 4, 4), ["nn"])
    with pytest.raises(ParameterError, match="n_blocks"):
        fit_couplings(torch.ones(5, 4, 4), ["nn"], n_blocks=1)


def test_fully_ordered_samples_have_unidentifiable_couplings():
    # Deep in the ordered phase blocked lattices are all aligned: K is effectively infinite.
    fit = fit_couplings(torch.ones(10, 8, 8), NAMES[:4])
    assert not fit.converged and np.all(np.isnan(fit.K))
    assert fit.to_dict()["K"] == [None] * 4


def test_separable_samples_have_unidentifiable_couplings():
    # Straight domain walls: every spin agrees with the majority of its neighbours (g = +-4 or
    # +-2, never 0), so the pseudo-likelihood grows without bound as K -> inf.
    x = torch.ones(40, 8, 8)
    x[:, :4] = -1
    fit = fit_couplings(x, ["nn"])
    assert not fit.converged and np.isnan(fit.K[0])
