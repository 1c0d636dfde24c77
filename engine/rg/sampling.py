"""Monte Carlo samples and their blocking towers, streamed for the GUI or collected for fits.

Ising samples are stored as int8 on the sampler's device: a few thousand 128 x 128
configurations and all their blocked levels then fit in memory, and the fits convert chunks
back to float as they go.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from ..errors import ParameterError
from ..models.base import LatticeModel
from ..progress import Progress
from ..samplers import Sampler, run_sweeps
from .blocking import BlockMap, block_levels, block_map, check_levels


@dataclass(frozen=True)
class SamplingPlan:
    """How many samples to record, and how many sweeps before and between them."""

    n_samples: int
    thermalize: int = 200
    sweeps_between: int = 2

    def __post_init__(self):
        for name, minimum in (("n_samples", 2), ("thermalize", 0), ("sweeps_between", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
                raise ParameterError(name, f"must be an integer >= {minimum}, got {v!r}")

    @property
    def total_sweeps(self) -> int:
        return self.thermalize + self.n_samples * self.sweeps_between


def blocked_stream(sampler: Sampler, state: torch.Tensor, gen: torch.Generator, plan: SamplingPlan, *,
                   levels: int, b: int = 2, rule: str | BlockMap = "majority",
                   progress: Progress | None = None) -> Iterator[list[torch.Tensor]]:
    """Run the chain and yield, for each recorded sample, its tower [state, blocked once, ...].

    Each tower entry is ``[B, L/b^n, L/b^n]`` (all replicas). The generator is consumed lazily,
    so a GUI can draw the blocked lattices while the chain runs.
    """
    check_levels(state.shape[-1], levels, b)
    if isinstance(rule, str):
        block_map(rule)
    done = 0
    total = plan.total_sweeps
    for _ in range(plan.thermalize):
        state = sampler.sweep(state, gen)
        done += 1
        if progress is not None:
            progress(done, total)
    for _ in range(plan.n_samples):
        state = run_sweeps(sampler, state, gen, plan.sweeps_between)
        done += plan.sweeps_between
        if progress is not None:
            progress(done, total)
        yield block_levels(state, levels, b=b, rule=rule, gen=gen)


def collect_blocked(model: LatticeModel, sampler: Sampler, gen: torch.Generator, plan: SamplingPlan, *,
                    levels: int, b: int = 2, rule: str | BlockMap = "majority", state: torch.Tensor | None = None,
                    dtype: torch.dtype = torch.int8, progress: Progress | None = None) -> list[torch.Tensor]:
    """All recorded samples of every replica and level: ``out[n]`` is ``[B, N, L_n, L_n]`` (Ising).

    Stored as ``dtype``: int8 holds Ising spins exactly; pass the model's dtype for XY angles or
    phi^4 fields. Replica r's samples ``out[n][r]`` are in chain order, as the error estimates expect.
    """
    if state is None:
        state = model.hot_state(gen)
    out: list[list[torch.Tensor]] = [[] for _ in range(levels + 1)]
    for tower in blocked_stream(sampler, state, gen, plan, levels=levels, b=b, rule=rule, progress=progress):
        for n, x in enumerate(tower):
            out[n].append(x.to(dtype))
    return [torch.stack(xs, dim=1) for xs in out]
