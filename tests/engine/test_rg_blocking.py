"""Block-spin maps and the operator library of engine.rg."""

import math

import numpy as np
import pytest
import torch

from engine.device import make_generator
from engine.errors import ParameterError
from engine.rg.blocking import block_levels, coarse_levels, decimate, majority, phi4_block, xy_block
from engine.rg.operators import OPERATORS, operator_values, operators

torch.set_num_threads(1)


def test_majority_b3_matches_block_sign():
    gen = make_generator(1)
    s = torch.randint(0, 2, (5, 9, 9), generator=gen).float() * 2 - 1
    out = majority(s, 3)
    for i in range(3):
        for j in range(3):
            blk = s[:, 3 * i:3 * i + 3, 3 * j:3 * j + 3].sum(dim=(-2, -1))
            assert torch.equal(out[:, i, j], torch.sign(blk))


def test_majority_b2_ties_are_fair_and_seeded():
    # A checkerboard ties every 2x2 block: the result is the coin alone.
    L = 64
    idx = torch.arange(L)
    s = ((idx[:, None] + idx[None, :]) % 2 * 2 - 1).float().expand(50, L, L)
    a = majority(s, 2, make_generator(7))
    b = majority(s, 2, make_generator(7))
    assert torch.equal(a, b)
    frac_up = (a > 0).double().mean().item()
    n = a.numel()
    assert abs(frac_up - 0.5) < 4 * 0.5 / math.sqrt(n)
    # Non-tied blocks follow the majority exactly.
    up = torch.ones(1, 4, 4)
    up[0, 0, 0] = -1
    assert torch.equal(majority(up, 2, make_generator(0)), torch.ones(1, 2, 2))
    with pytest.raises(ParameterError, match="gen"):
        majority(s, 2)


def test_decimation_and_levels():
    s = torch.arange(16.0).reshape(1, 4, 4)
    assert decimate(s, 2).tolist() == [[[0.0, 2.0], [8.0, 10.0]]]
    lv = block_levels(torch.ones(3, 16, 16), 3, b=2, rule="majority", gen=make_generator(0))
    assert [x.shape[-1] for x in lv] == [16, 8, 4, 2]
    with pytest.raises(ParameterError, match="levels"):
        block_levels(torch.ones(1, 12, 12), 3, b=2, gen=make_generator(0))
    with pytest.raises(ParameterError, match="b"):
        majority(torch.ones(1, 10, 10), 3)
    with pytest.raises(ParameterError, match="rule"):
        block_levels(torch.ones(1, 8, 8), 1, rule="median")


def test_xy_block_is_the_mean_direction_and_rotation_covariant():
    gen = make_generator(3)
    theta = torch.rand(4, 8, 8, generator=gen, dtype=torch.float64) * 2 * math.pi
    out = xy_block(theta, 2)
    c = torch.cos(theta).reshape(4, 4, 2, 4, 2).sum((2, 4))
    s = torch.sin(theta).reshape(4, 4, 2, 4, 2).sum((2, 4))
    assert torch.allclose(torch.cos(out), c / torch.hypot(c, s))
    assert torch.allclose(torch.sin(out), s / torch.hypot(c, s))
    rotated = xy_block(torch.remainder(theta + 1.0, 2 * math.pi), 2)
    assert torch.allclose(torch.cos(rotated - out - 1.0), torch.ones_like(out))
    assert float(out.min()) >= 0 and float(out.max()) < 2 * math.pi


def test_phi4_block_is_the_rescaled_average():
    phi = torch.ones(2, 2, 8, 8) * 0.5
    assert torch.allclose(phi4_block(phi, 2, eta=0.0), phi[..., :4, :4])
    assert torch.allclose(phi4_block(phi, 2), 0.5 * 2 ** 0.125 * torch.ones(2, 2, 4, 4))


@pytest.mark.parametrize("name", list(OPERATORS))
def test_local_field_is_the_derivative_of_the_operator(name):
    # S(s with s_i flipped) - S(s) = -2 s_i g(i) for every site: the pseudo-likelihood relies on it.
    op = OPERATORS[name]
    gen = make_generator(11)
    L = 6
    s = torch.randint(0, 2, (L, L), generator=gen).double() * 2 - 1
    g = op.local_field(s)
    base = op.value(s)
    for i in range(L):
        for j in range(L):
            t = s.clone()
            t[i, j] = -t[i, j]
            assert float(op.value(t) - base) == pytest.approx(float(-2 * s[i, j] * g[i, j]))
    assert float(g.abs().max()) <= op.max_local


def test_operator_values_of_ordered_state_and_symmetry():
    ops = operators(list(OPERATORS))
    up = torch.ones(2, 8, 8)
    vals = operator_values(up, ops)
    counts = torch.tensor([len(op.shapes) * 64.0 for op in ops], dtype=torch.float64)
    assert torch.equal(vals[0], counts)
    odd = torch.tensor([op.odd for op in ops])
    assert torch.equal(operator_values(-up, ops)[0], torch.where(odd, -counts, counts))
    with pytest.raises(ParameterError, match="operators"):
        operators(["nn", "bogus"])
    with pytest.raises(ParameterError, match="levels"):
        operator_values(torch.ones(1, 2, 2), operators(["d2"]))


def test_coarse_levels_of_a_snapshot_stop_where_b_no_longer_divides_L():
    """numpy in and out, for viewers; 20 = 4 * 5 allows only two blockings by 2."""
    lattice = np.random.default_rng(0).choice([-1, 1], (20, 20)).astype(np.int8)
    levels = coarse_levels(lattice, "decimation", 2, 4)
    assert [lv.shape for lv in levels] == [(20, 20), (10, 10), (5, 5)]
    assert all(isinstance(lv, np.ndarray) for lv in levels)
    assert np.array_equal(levels[2], lattice[::4, ::4])
