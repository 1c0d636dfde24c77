"""Vortex detection and helicity modulus on hand-made XY configurations."""

import math

import numpy as np
import pytest
import torch

from engine.measure import vortices as vx


def winding_field(L, centres, charges):
    """Angles of point vortices at plaquette centres (y, x), superposed: sum q atan2(y - y0, x - x0)."""
    i, j = torch.meshgrid(torch.arange(L, dtype=torch.float64), torch.arange(L, dtype=torch.float64),
                          indexing="ij")
    theta = torch.zeros(L, L, dtype=torch.float64)
    for (y0, x0), q in zip(centres, charges):
        theta = theta + q * torch.atan2(i - y0, j - x0)
    return torch.remainder(theta, 2 * math.pi).unsqueeze(0)


def test_single_vortex():
    L = 12
    v = vx.vortex_map(winding_field(L, [(5.5, 5.5)], [1]))
    assert v.dtype == torch.int8 and v[0, 5, 5] == 1
    assert v.sum() == 0  # a torus carries no net winding: the seam holds the partner
    anti = vx.vortex_map(-winding_field(L, [(5.5, 5.5)], [1]))
    assert anti[0, 5, 5] == -1


def test_vortex_antivortex_pair():
    L = 16
    theta = winding_field(L, [(4.5, 4.5), (4.5, 10.5)], [1, -1])
    v = vx.vortex_map(theta)
    expected = torch.zeros(1, L, L, dtype=torch.int8)
    expected[0, 4, 4], expected[0, 4, 10] = 1, -1
    assert torch.equal(v, expected)
    assert vx.vortex_density(theta).item() == pytest.approx(2 / L**2)
    pos = vx.vortex_positions(v)
    np.testing.assert_allclose(pos["vortex"], [[4.5, 4.5]])
    np.testing.assert_allclose(pos["antivortex"], [[4.5, 10.5]])
    # a global rotation changes nothing
    assert torch.equal(vx.vortex_map(torch.remainder(theta + 1.234, 2 * math.pi)), expected)


def test_random_angles_have_balanced_vortices():
    gen = torch.Generator().manual_seed(0)
    theta = 2 * math.pi * torch.rand(64, 16, 16, generator=gen)
    v = vx.vortex_map(theta)
    assert torch.all(v.sum(dim=(-2, -1)) == 0)
    assert set(v.unique().tolist()) <= {-1, 0, 1}
    # independent uniform angles: a plaquette holds a (anti)vortex with probability 1/3
    assert vx.vortex_density(theta).mean().item() == pytest.approx(1 / 3, abs=0.02)
    assert vx.vortex_density(torch.zeros(2, 8, 8)).tolist() == [0.0, 0.0]


def test_helicity_modulus_of_ordered_and_twisted_states():
    L = 16
    assert vx.helicity_modulus(torch.zeros(3, L, L, dtype=torch.float64), T=0.5).tolist() == [1.0] * 3
    # a uniform twist by q along x: c = (1 + cos q) / 2, s2 = N sin^2 q / 2
    q = 2 * math.pi / L
    theta = (q * torch.arange(L, dtype=torch.float64)).expand(L, L).unsqueeze(0).repeat(2, 1, 1)
    T = torch.tensor([0.5, 2.0], dtype=torch.float64)
    J = 1.5
    want = J * (1 + math.cos(q)) / 2 - J**2 / T * L * L * math.sin(q) ** 2 / 2
    torch.testing.assert_close(vx.helicity_modulus(theta, T, J), want)
    c, s2 = vx.helicity_terms(theta)
    assert c[0].item() == pytest.approx((1 + math.cos(q)) / 2)


def test_helicity_terms_of_random_angles():
    gen = torch.Generator().manual_seed(1)
    theta = 2 * math.pi * torch.rand(400, 16, 16, generator=gen, dtype=torch.float64)
    c, s2 = vx.helicity_terms(theta)
    # uncorrelated bonds: <c> = 0 (sd 0.044/sqrt 400), <s2> = 1/2 (sd ~0.5/sqrt 400)
    assert abs(c.mean().item()) < 0.01
    assert s2.mean().item() == pytest.approx(0.5, abs=0.05)
