"""Multi-histogram reweighting against a system with a known partition function.

N independent spins in a unit field: E = -sum s_i, so ln Z(beta) = N ln(2 cosh beta) and
<E> = -N tanh(beta). Exact samples at a few betas, reweighted to betas in between, must agree
with the exact curve within their statistical error, and ln Z differences must be recovered.
"""

import numpy as np
import pytest

from engine.measure.reweight import Reweighter

N = 50


def exact_samples(beta, n, rng):
    p_up = np.exp(beta) / (2 * np.cosh(beta))
    ups = rng.binomial(N, p_up, size=n)
    return -(2.0 * ups - N)


def test_free_energy_differences_and_interpolated_energy():
    rng = np.random.default_rng(3)
    betas = np.array([0.2, 0.3, 0.4, 0.5])
    runs = [exact_samples(b, 4000, rng) for b in betas]
    rw = Reweighter(runs, betas)
    exact_ln_z = N * np.log(2 * np.cosh(betas))
    np.testing.assert_allclose(rw.ln_z, exact_ln_z - exact_ln_z[0], atol=0.05)

    targets = np.array([0.25, 0.35, 0.45])
    est = rw.expect(runs, targets)
    exact = -N * np.tanh(targets)
    sigma = np.sqrt(N * (1 - np.tanh(targets) ** 2) / 8000)  # ~ two runs' worth of samples
    assert np.all(np.abs(est - exact) < 5 * sigma), (est, exact)


def test_single_run_is_plain_reweighting_and_identity_at_its_own_beta():
    rng = np.random.default_rng(4)
    e = exact_samples(0.3, 2000, rng)
    rw = Reweighter([e], [0.3])
    assert rw.expect([e], 0.3)[0] == pytest.approx(e.mean())
    w = rw.weights([0.3, 0.31])
    np.testing.assert_allclose(w.sum(axis=1), 1.0)


def test_mismatched_inputs_are_rejected():
    with pytest.raises(ValueError):
        Reweighter([np.zeros(3)], [0.1, 0.2])
