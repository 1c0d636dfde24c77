"""The hierarchical flow is an exact bijection with an exact log-Jacobian and the MERA layout."""

import pytest
import torch

from engine.errors import ParameterError
from engine.nrg.flow import HierarchicalFlow

torch.set_num_threads(1)


def randomised(flow: HierarchicalFlow, seed: int) -> HierarchicalFlow:
    """A flow with random (non-identity) weights: a fresh flow is the identity map."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in flow.parameters():
            p.copy_(0.4 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return flow


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-10)])
@pytest.mark.parametrize("channels", [1, 2])
def test_inverse_undoes_forward(dtype, tol, channels):
    flow = randomised(HierarchicalFlow(8, channels, n_couplings=4, hidden=(8, 8)), 1).to(dtype)
    z = torch.randn(16, channels, 8, 8, generator=torch.Generator().manual_seed(2), dtype=dtype)
    x, ld = flow(z)
    z2, ld_inv = flow.inverse(x)
    x2, _ = flow(flow.inverse(x)[0])
    assert not torch.allclose(x, z, atol=0.1)  # the map is not trivial
    assert torch.allclose(z2, z, atol=tol, rtol=0)
    assert torch.allclose(x2, x, atol=tol, rtol=0)
    assert torch.allclose(ld, -ld_inv, atol=100 * tol, rtol=0)


@pytest.mark.parametrize("channels,levels", [(1, 2), (2, 2), (1, 1)])
def test_log_det_matches_brute_force_jacobian(channels, levels):
    L = 4
    flow = randomised(HierarchicalFlow(L, channels, levels=levels, n_couplings=3, hidden=(6,)), 3).double()
    z = torch.randn(1, channels, L, L, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda v: flow(v.reshape(z.shape))[0].flatten(), z.flatten())
    sign, logabs = torch.linalg.slogdet(jac)
    assert sign != 0
    assert flow(z)[1].item() == pytest.approx(logabs.item(), abs=1e-9)
    assert abs(logabs.item()) > 0.1  # the test would notice a missing term


@pytest.mark.parametrize("shift", [(4, 0), (0, 4), (4, 4), (8, 12)])
def test_equivariant_under_translations_by_2_to_the_levels(shift):
    flow = randomised(HierarchicalFlow(16, 1, levels=2, n_couplings=3, hidden=(6,)), 5).double()
    z = torch.randn(3, 1, 16, 16, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    x, ld = flow(z)
    xs, lds = flow(z.roll(shift, dims=(-2, -1)))
    assert torch.allclose(xs, x.roll(shift, dims=(-2, -1)), atol=1e-12)
    assert torch.allclose(lds, ld, atol=1e-10)


def test_not_equivariant_under_a_one_site_shift():
    flow = randomised(HierarchicalFlow(8, 1, n_couplings=3, hidden=(6,)), 7).double()
    z = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    assert not torch.allclose(flow(z.roll(1, dims=-1))[0], flow(z)[0].roll(1, dims=-1), atol=1e-3)


def test_generation_is_local_at_the_finest_level():
    """Changing a level-0 latent variable changes x only within the reach of two block layers."""
    flow = randomised(HierarchicalFlow(16, 1, n_couplings=3, hidden=(6,)), 9).double()
    z = torch.randn(1, 1, 16, 16, generator=torch.Generator().manual_seed(10), dtype=torch.float64)
    dz = torch.zeros_like(z)
    dz[0, 0, 7, 7] = 1.0  # odd coordinates: a level-0 latent
    change = (flow(z + dz)[0] - flow(z)[0]).abs()[0, 0]
    far = torch.ones(16, 16, dtype=torch.bool)
    far[5:9, 5:9] = False  # decimator block 6..7, then the offset blocks that overlap it
    assert change[~far].max() > 1e-6
    assert change[far].max() == 0


def test_latent_positions_map_the_bulk():
    flow = HierarchicalFlow(8, 2)
    pos = flow.latent_positions()
    assert pos.shape == (2 * 64, 3)
    levels = flow.latent_levels()
    assert levels[0, 0] == 3 and levels[4, 0] == 2 and levels[2, 6] == 1 and levels[3, 4] == 0
    counts = torch.bincount(levels.flatten())
    assert counts.tolist() == [48, 12, 3, 1]  # 3/4 of the survivors freeze at each level
    z = torch.zeros(1, 2, 8, 8)
    z[0, 1, 2, 6] = 1.0
    row = pos[z.flatten(1)[0].argmax()]
    assert row.tolist() == [2, 6, 1]


def test_latent_levels_with_a_partial_hierarchy():
    levels = HierarchicalFlow(8, 1, levels=2).latent_levels()
    assert torch.bincount(levels.flatten()).tolist() == [48, 12, 4]


@pytest.mark.parametrize("kwargs,name", [
    ({"L": 6}, "L"), ({"L": 8, "channels": 3}, "channels"), ({"L": 8, "levels": 4}, "levels"),
    ({"L": 8, "n_couplings": 0}, "n_couplings"), ({"L": 8, "hidden": ()}, "hidden")])
def test_bad_parameters_are_named(kwargs, name):
    with pytest.raises(ParameterError) as err:
        HierarchicalFlow(**kwargs)
    assert err.value.name == name


def test_wrong_shape_is_rejected():
    with pytest.raises(ParameterError, match=r"\[B, 1, 8, 8\]"):
        HierarchicalFlow(8, 1)(torch.zeros(2, 1, 4, 4))
