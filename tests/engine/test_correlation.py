"""Correlation functions against direct sums, plane waves and a field with a known spectrum."""

import math

import numpy as np
import pytest
import torch

from engine.errors import ParameterError
from engine.measure import correlation as corr


def direct_G(s: torch.Tensor, connected=False) -> torch.Tensor:
    """G(dy, dx) by summing over every displacement (the definition, for checking the FFT)."""
    s = s.unsqueeze(1) if s.dim() == 3 else s
    if connected:
        s = s - s.mean(dim=(-2, -1), keepdim=True)
    L = s.shape[-1]
    G = torch.empty(s.shape[0], L, L, dtype=s.dtype)
    for dy in range(L):
        for dx in range(L):
            shifted = s.roll((-dy, -dx), dims=(-2, -1))
            G[:, dy, dx] = (s * shifted).sum(dim=(1, 2, 3)) / (L * L)
    return G


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(3)


@pytest.mark.parametrize("shape", [(3, 6, 6), (2, 2, 6, 6)])
@pytest.mark.parametrize("connected", [False, True])
def test_fft_matches_direct_sum(gen, shape, connected):
    s = torch.randn(shape, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(corr.correlation_function(s, connected=connected), direct_G(s, connected))


def test_xy_angles_give_cosine_correlations(gen):
    theta = 2 * math.pi * torch.rand(2, 8, 8, generator=gen, dtype=torch.float64)
    G = corr.correlation_function(corr.angles_to_vectors(theta))
    want = torch.cos(theta - theta.roll((-1, -2), dims=(-2, -1))).mean(dim=(-2, -1))
    torch.testing.assert_close(G[:, 1, 2], want)
    torch.testing.assert_close(G[:, 0, 0], torch.ones(2, dtype=torch.float64))


def test_uniform_and_plane_wave():
    L = 8
    ones = torch.ones(2, L, L)
    torch.testing.assert_close(corr.correlation_function(ones), torch.ones(2, L, L))
    torch.testing.assert_close(corr.correlation_function(ones, connected=True), torch.zeros(2, L, L))
    ising = torch.ones(1, L, L, dtype=torch.int8)   # integer spins are accepted
    assert corr.correlation_function(ising).dtype == torch.float32
    q = 2 * math.pi / L
    x = torch.arange(L, dtype=torch.float64)
    wave = torch.cos(q * x).expand(L, L).unsqueeze(0)          # varies along x only
    G = corr.correlation_function(wave)
    torch.testing.assert_close(G[0, 0, :], 0.5 * torch.cos(q * x))
    torch.testing.assert_close(G[0, :, 0], torch.full((L,), 0.5, dtype=torch.float64))
    r = torch.arange(L // 2 + 1, dtype=torch.float64)
    torch.testing.assert_close(corr.axial_average(G)[0], 0.25 * (torch.cos(q * r) + 1))
    s0, sk = corr.fourier_moments(wave)
    assert s0.item() == pytest.approx(0.0, abs=1e-12)
    assert sk.item() == pytest.approx(L * L / 8)


def test_radial_average():
    L = 4
    radii, _ = corr.radial_average(torch.zeros(1, L, L))
    np.testing.assert_allclose(radii, [0, 1, math.sqrt(2), 2, math.sqrt(5), math.sqrt(8)])
    d = np.minimum(np.arange(L), L - np.arange(L))
    dist = torch.tensor(np.sqrt(d[:, None] ** 2 + d[None, :] ** 2))
    G = torch.stack([torch.exp(-dist), dist**2])
    r, Gr = corr.radial_average(G)
    torch.testing.assert_close(Gr[0], torch.exp(-torch.tensor(r)))
    torch.testing.assert_close(Gr[1], torch.tensor(r) ** 2)


def test_second_moment_length_of_gaussian_field(gen):
    """A field whose power spectrum is exactly the lattice propagator 1 / (m^2 + khat^2): xi = 1/m."""
    L, m = 16, 0.25
    k = 2 * math.pi * torch.fft.fftfreq(L, dtype=torch.float64) * 1.0
    khat2 = 4 * torch.sin(k / 2) ** 2
    prop = 1.0 / (m * m + khat2[:, None] + khat2[None, :])
    noise = torch.fft.fft2(torch.randn(3, 2, L, L, generator=gen, dtype=torch.float64))
    field = torch.fft.ifft2(noise / noise.abs() * torch.sqrt(L * L * prop)).real
    s0, sk = corr.fourier_moments(field)        # two components: each contributes prop
    torch.testing.assert_close(s0, torch.full((3,), 2 * prop[0, 0].item(), dtype=torch.float64))
    xi = corr.xi_second_moment(s0, sk, L)
    torch.testing.assert_close(xi, torch.full((3,), 1 / m, dtype=torch.float64))
    assert corr.xi_second_moment(np.array([2.0]), np.array([2.0]), L)[0] == 0.0


def test_bad_shape():
    with pytest.raises(ParameterError, match="field"):
        corr.correlation_function(torch.zeros(4, 6, 8))
