"""The Ising model: energy, local field, observables, bonds and parameter validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from enumeration import all_states, boltzmann

from engine import exact
from engine.device import make_generator
from engine.errors import ParameterError
from engine.models.ising import IsingModel


def brute_energy(state: np.ndarray, bonds: np.ndarray, h: float) -> float:
    """H of one configuration by an explicit loop over sites (the definition, written out)."""
    L = state.shape[0]
    e = 0.0
    for y in range(L):
        for x in range(L):
            e -= bonds[0, y, x] * state[y, x] * state[y, (x + 1) % L]
            e -= bonds[1, y, x] * state[y, x] * state[(y + 1) % L, x]
            e -= h * state[y, x]
    return e


@pytest.mark.parametrize("disorder", [0.0, 0.4])
def test_energy_matches_site_loop(disorder):
    model = IsingModel(6, T=[2.0, 3.0], J=[1.0, -0.7], h=[0.0, 0.3], bond_disorder=disorder,
                       dtype=torch.float64)
    state = model.hot_state(make_generator(3))
    bonds = model.bonds.numpy()
    expected = [brute_energy(state[b].numpy(), bonds[b], model.param("h")[b].item()) for b in range(2)]
    assert np.allclose(model.energy(state).numpy(), expected)


def test_local_field_gives_single_flip_energy_change():
    model = IsingModel(6, T=2.0, J=[0.8, -1.3], h=[0.25, -0.4], bond_disorder=0.3, dtype=torch.float64)
    state = model.hot_state(make_generator(5))
    field = model.local_field(state)
    base = model.energy(state)
    for y, x in [(0, 0), (2, 5), (5, 3)]:
        flipped = state.clone()
        flipped[:, y, x] *= -1
        assert torch.allclose(model.energy(flipped) - base, 2 * state[:, y, x] * field[:, y, x])


def test_enumeration_agrees_with_engine_exact():
    model = IsingModel(4, T=2.5, dtype=torch.float64)
    states = all_states(4)
    energy, mag = exact.enumerate_ising(4)
    assert np.array_equal(model.energy(states).numpy(), energy.astype(float))
    p = boltzmann(model.energy(states), 2.5)
    e_avg = float((p * model.energy(states)).sum()) / 16
    assert e_avg == pytest.approx(exact.enumeration_averages(4, 2.5)["energy"], rel=1e-12)
    assert np.array_equal(states.sum(dim=(1, 2)).numpy(), mag)


def test_cold_states_are_ground_states():
    model = IsingModel(8, T=1.0, J=[1.0, -2.0], h=0.0)
    cold = model.cold_state()
    assert torch.allclose(model.energy(cold) / model.N, torch.tensor([-2.0, -4.0]))
    obs = model.measure(cold)
    assert torch.allclose(obs["abs_m"], torch.tensor([1.0, 0.0]))
    assert torch.allclose(obs["m_stag"].abs(), torch.tensor([0.0, 1.0]))


def test_measure_keys_and_values():
    model = IsingModel(4, T=2.0)
    state = model.cold_state()
    state[0, 0, :] = -1
    obs = model.measure(state)
    assert set(obs) == {"energy", "m", "abs_m", "m2", "m4"}  # no m_stag for a ferromagnet
    assert all(v.shape == (1,) for v in obs.values())
    assert obs["m"].item() == pytest.approx(0.5)
    assert obs["m4"].item() == pytest.approx(0.0625)
    assert obs["energy"].item() == pytest.approx(-(32 - 2 * 8) / 16)  # 8 vertical bonds broken


def test_bond_disorder_fraction_and_seed():
    a = IsingModel(64, J=[1.0, 2.0], bond_disorder=0.25, disorder_seed=7)
    b = IsingModel(64, J=1.0, bond_disorder=0.25, disorder_seed=7)
    c = IsingModel(64, J=1.0, bond_disorder=0.25, disorder_seed=8)
    negative = (a.bond_signs < 0).double().mean().item()
    assert abs(negative - 0.25) < 4 * math.sqrt(0.25 * 0.75 / (2 * 64 * 64))
    assert torch.equal(a.bond_signs, b.bond_signs) and not torch.equal(a.bond_signs, c.bond_signs)
    assert a.bonds.shape == (2, 2, 64, 64) and a.bond_signs.shape == (1, 2, 64, 64)
    assert torch.equal(a.bonds[1], 2 * a.bonds[0])
    assert IsingModel(4, bond_disorder=0.0).disorder_signs is None


def test_antiferromagnet_maps_to_ferromagnet():
    """Flipping one sublattice maps J -> -J: energies and the staggered magnetisation agree."""
    ferro = IsingModel(6, T=2.0, J=1.0)
    anti = IsingModel(6, T=2.0, J=-1.0)
    state = ferro.hot_state(make_generator(0))
    stag = ferro.cold_state() * anti.cold_state()
    assert torch.allclose(ferro.energy(state), anti.energy(state * stag))
    assert torch.allclose(ferro.measure(state)["m"], anti.measure(state * stag)["m_stag"])


def test_hot_state_is_seeded_and_balanced():
    model = IsingModel(32, T=[1.0, 2.0, 3.0])
    a, b = model.hot_state(make_generator(1)), model.hot_state(make_generator(1))
    assert torch.equal(a, b) and a.shape == (3, 32, 32) and a.dtype == torch.float32
    assert set(a.unique().tolist()) == {-1.0, 1.0}
    assert abs(a.mean().item()) < 4 / math.sqrt(a.numel())


@pytest.mark.parametrize("kwargs, name", [
    ({"bond_disorder": -0.1}, "bond_disorder"),
    ({"bond_disorder": 1.5}, "bond_disorder"),
    ({"bond_disorder": "lots"}, "bond_disorder"),
    ({"bond_disorder": float("nan")}, "bond_disorder"),
    ({"disorder_seed": 1.5}, "disorder_seed"),
    ({"T": -1.0}, "T"),
    ({"J": float("inf")}, "J"),
    ({"T": [1.0, 2.0], "h": [0.0, 0.1, 0.2]}, "batch"),
    ({"K": 1.0}, "K"),
])
def test_bad_input_names_the_parameter(kwargs, name):
    with pytest.raises(ParameterError) as err:
        IsingModel(8, **kwargs)
    assert err.value.name == name and str(err.value).startswith(f"{name}: ")


def test_bad_lattice_size():
    with pytest.raises(ParameterError, match="L: must be even"):
        IsingModel(7)
