"""Exact enumeration of tiny Ising tori: the oracle that sampler tests compare against.

All 2^(L*L) configurations of an L x L lattice (L = 4: 65,536) are cheap to list, so the exact
Boltzmann distribution of any observable, for any couplings the model supports (field,
antiferromagnet, random bonds), follows from ``model.energy``. ``engine.exact.enumerate_ising``
covers the clean zero-field model only; this helper works through the model itself.
"""

from __future__ import annotations

import torch


def all_states(L: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Every +-1 configuration of an L x L lattice, ``[2^(L*L), L, L]`` (L <= 4)."""
    if L * L > 16:
        raise ValueError(f"enumeration of {L}x{L} is too large")
    codes = torch.arange(2 ** (L * L), dtype=torch.int64).unsqueeze(1)
    bits = (codes >> torch.arange(L * L)) & 1
    return (1 - 2 * bits).to(dtype).view(-1, L, L)


def boltzmann(energy: torch.Tensor, T: float) -> torch.Tensor:
    """Normalised weights exp(-E/T) / Z (computed in float64 through log-sum-exp)."""
    log_w = -energy.double() / T
    return torch.exp(log_w - torch.logsumexp(log_w, dim=0))


def bond_magnetisation_key(model, states: torch.Tensor) -> torch.Tensor:
    """An integer code of (sum_<ij> sign_ij s_i s_j, sum_i s_i) per state.

    Together they fix the energy for any J and h, and the joint distribution is sharper than
    that of E alone (it separates field and coupling effects).
    """
    signs = model.bond_signs.to(states.dtype)
    bond = (signs[:, 0] * states * states.roll(-1, dims=-1)
            + signs[:, 1] * states * states.roll(-1, dims=-2)).sum(dim=(-2, -1))
    mag = states.sum(dim=(-2, -1))
    n = model.N
    return ((bond.round().long() + 2 * n) * (2 * n + 1) + mag.round().long() + n).flatten()


def exact_key_distribution(model) -> tuple[torch.Tensor, torch.Tensor]:
    """Distinct keys of :func:`bond_magnetisation_key` and their exact probabilities.

    ``model`` must hold a single replica (B = 1) on the CPU; its T, J, h and bonds are used.
    """
    states = all_states(model.L, model.dtype)
    probs = boltzmann(model.energy(states), float(model.param("T")))
    keys = bond_magnetisation_key(model, states)
    distinct, inverse = torch.unique(keys, return_inverse=True)
    return distinct, torch.zeros(len(distinct), dtype=torch.float64).index_add_(0, inverse, probs)
