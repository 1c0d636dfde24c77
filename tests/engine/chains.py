"""The Markov-chain loop that the sampler tests share."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from engine.device import make_generator
from engine.models.base import LatticeModel
from engine.samplers import Sampler, run_sweeps


def chain(model: LatticeModel, sampler: Sampler, seed: int, n: int, *, every: int = 1, burn: int = 0,
          start: str = "hot") -> Iterator[torch.Tensor]:
    """The ``n`` states after every ``every``-th sweep, after ``burn`` sweeps from a hot or cold start."""
    gen = make_generator(seed, model.device)
    state = model.hot_state(gen) if start == "hot" else model.cold_state()
    state = run_sweeps(sampler, state, gen, burn)
    for _ in range(n):
        state = run_sweeps(sampler, state, gen, every)
        yield state
