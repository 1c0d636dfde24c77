"""Teaching flows: 1D decimation, the toy law, fractional Brownian motion."""

import math

import numpy as np
import pytest
import torch

from engine.device import make_generator
from engine.errors import ParameterError
from engine.rg.teaching import (decimation_1d, fbm, fbm_path, flow_1d, hurst_from_paths, structure_function,
                                 toy_flow, toy_map)

torch.set_num_threads(1)


def test_1d_decimation_is_exact_against_transfer_matrix():
    # tanh K' = tanh^2 K is the transfer-matrix form of the same map.
    K = np.array([0.01, 0.3, 1.0, 2.5, 20.0])
    assert np.allclose(np.tanh(decimation_1d(K)), np.tanh(K) ** 2)
    flow = flow_1d(1.5, 12)
    assert np.all(np.diff(flow) < 0) and flow[-1] < 1e-3  # every K > 0 flows to the trivial K = 0
    assert decimation_1d(0.0) == 0.0


def test_toy_law_map_and_flow():
    sigma, c = 2.0, 0.3
    assert toy_map(c, sigma) == pytest.approx(0.6)
    assert np.allclose(toy_flow(c, sigma, 3), [0.3, 0.6, 1.2, 2.4])
    assert toy_map(0.0, sigma) == 0.0  # the fixed point
    # The map is what rescaling time does to solutions f(t) = exp(c t): f(sigma t) = exp(sigma c t).
    t = np.linspace(0, 1, 5)
    assert np.allclose(np.exp(c * sigma * t), np.exp(toy_map(c, sigma) * t))
    with pytest.raises(ParameterError, match="sigma"):
        toy_map(c, 0.0)


@pytest.mark.parametrize("h", [0.25, 0.5, 0.8])
def test_fbm_structure_function_slope_is_the_hurst_exponent(h):
    paths = fbm(4096, h, make_generator(3), batch=40)
    assert paths.shape == (40, 4097) and bool((paths[:, 0] == 0).all())
    est, err = hurst_from_paths(paths)
    assert abs(est - h) < 4 * err + 1e-3, (est, err)
    assert err < 0.02
    # Self-similarity in distribution: increments at lag 8 tau are 8^h times those at lag tau.
    inc1 = (paths[:, 16:] - paths[:, :-16]).std()
    inc8 = (paths[:, 128:] - paths[:, :-128]).std()
    assert float(inc8 / inc1) == pytest.approx(8 ** h, rel=0.05)


def test_fbm_variance_is_exact_and_seeded():
    a = fbm(64, 0.7, make_generator(9), batch=4000)
    assert torch.equal(a[:3], fbm(64, 0.7, make_generator(9), batch=4000)[:3])
    var = a[:, 64].var().item()
    assert var == pytest.approx(64 ** 1.4, rel=4 * math.sqrt(2 / 4000))
    with pytest.raises(ParameterError, match="hurst"):
        fbm(64, 1.0, make_generator(0))


def test_fbm_path_is_the_seeded_torch_path_and_its_structure_function_reads_numpy():
    path = fbm_path(256, 0.3, seed=5)
    paths = fbm(256, 0.3, make_generator(5))
    assert isinstance(path, np.ndarray) and np.array_equal(path, paths[0].numpy())
    lags = np.array([1, 2, 4, 8])
    np.testing.assert_allclose(structure_function(path[None], lags), structure_function(paths, lags), rtol=1e-12)
