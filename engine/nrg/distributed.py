"""Flow training on several processes or GPUs: torch DistributedDataParallel, launched by ``torchrun``.

Every process (rank) draws its own share of the batch, ``batch / world`` samples, from a generator of its
own; DDP averages the gradients of the ranks' mean losses, which is the gradient of the mean loss over the
whole batch, so W ranks train as one process with W times their batch would. Rank 0 keeps the run's seed and
one stream (one rank is then exactly the single-process run, and the checkpoint keeps that stream's state);
rank r > 0 reseeds its generator at every step from the run's seed, r and the step, so that no two ranks
repeat each other's draws and a resumed run draws on every rank what the uninterrupted run drew, with no
state of the other ranks in the checkpoint.

What needs the whole batch sees it whole: the loss reported, the ESS and the independent-Metropolis
acceptance are computed from every rank's log-weights (gathered in rank order) and the mass-covering
term's self-normalised importance weights are normalised over all of them. Rank 0 writes the checkpoint
and the log.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from ..device import task_seed
from ..errors import ParameterError

#: What torchrun sets in every process it starts.
TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class Ranks:
    """This process's place in a distributed run."""

    rank: int
    world: int
    device: torch.device

    def seed(self, seed: int) -> int:
        """This rank's generator seed: the run's own on rank 0, a distinct derived one elsewhere."""
        return task_seed(seed, self.rank)

    def reseed(self, gen: torch.Generator, base: int, step: int) -> None:
        """On rank r > 0, restart ``gen`` for ``step`` from ``base`` (the seed it started with) and the step:
        a rank's draws at a step then depend on nothing it drew before (rank 0 keeps its one stream)."""
        if self.rank > 0:
            gen.manual_seed(task_seed(base, 0, step))

    def share(self, batch: int) -> int:
        """This rank's samples per step (the batch must split evenly)."""
        if batch % self.world:
            raise ParameterError("batch", f"{batch} does not split evenly over {self.world} processes")
        return batch // self.world

    def gather(self, values: torch.Tensor) -> torch.Tensor:
        """Every rank's ``values`` (detached, the same length on each), concatenated in rank order."""
        parts = [torch.empty_like(values) for _ in range(self.world)]
        dist.all_gather(parts, values.detach().contiguous())
        return torch.cat(parts)

    def all(self, ok: bool) -> bool:
        """True on every rank when it is true on every rank (so that all take the same branch)."""
        flag = torch.tensor([1.0 if ok else 0.0], device=self.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MIN)
        return bool(flag.item() > 0)


def launched_by_torchrun() -> bool:
    return all(name in os.environ for name in TORCHRUN_VARIABLES)


def start(device: torch.device) -> Ranks:
    """Join the process group torchrun set up: NCCL with one GPU per rank on CUDA, else gloo on the CPU."""
    if not launched_by_torchrun():
        raise ParameterError("ddp", "needs the processes torchrun starts: torchrun --nproc_per_node N -m -- engine "
                             "train ... --ddp")
    rank, world, local = (int(os.environ[k]) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if device.type not in ("cuda", "cpu"):
        raise ParameterError("device", f"distributed training runs on cuda or cpu, not {device.type}")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Ranks(rank, world, device)


def stop() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


class _Sampler(nn.Module):
    """The density's sampling as a module's forward: DDP synchronises the gradients of what forward computed."""

    def __init__(self, density: nn.Module):
        super().__init__()
        self.density = density

    def forward(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return self.density.sample(n, gen)


def ddp_sampler(density: nn.Module, ranks: Ranks) -> nn.Module:
    """``density.sample`` wrapped in DDP (which also copies rank 0's weights to every rank)."""
    ids = [ranks.device.index] if ranks.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(_Sampler(density), device_ids=ids)
