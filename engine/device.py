"""Device, dtype, thread count and seeded random generators.

Every sampler takes an explicit ``torch.Generator`` so that a seed fixes the result on a given
device; nothing in the engine touches torch's global RNG.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from .errors import ParameterError
from .names import DEVICE_CHOICES  # defined free of torch for the CLI's --help


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """Return the device for ``name``: 'auto' picks cuda > mps > cpu."""
    if isinstance(name, torch.device):
        return name
    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.split(":")[0] not in DEVICE_CHOICES[1:]:
        raise ParameterError("device", f"unknown device {name!r}; allowed: {', '.join(DEVICE_CHOICES)}")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ParameterError("device", "CUDA was requested but no CUDA device is available")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ParameterError("device", "MPS was requested but is not available")
    return torch.device(name)


def worker_threads(cores: int | None = None) -> int:
    """Intra-op threads for an engine that shares the machine with a GUI thread.

    On small machines (<= 2 cores) one thread is fastest: with two, OpenMP spin-waits against the
    GUI thread and the worker ran 3-7x slower (measured on 2 cores). Larger machines keep one core free.
    """
    cores = cores or os.cpu_count() or 1
    return 1 if cores <= 2 else min(cores - 1, 16)


def configure_threads(n: int | None = None) -> int:
    """Set torch's intra-op thread count (default: :func:`worker_threads`) and return it."""
    n = n or worker_threads()
    torch.set_num_threads(n)
    return n


def make_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch generator on ``device`` seeded with ``seed``."""
    gen = torch.Generator(device=torch.device(device))
    gen.manual_seed(int(seed))
    return gen


def task_seed(seed: int, index: int, *keys: int) -> int:
    """The seed of part ``index`` of a run split into independent parts (tasks, ranks): ``seed`` itself for part
    0 with no further ``keys``, otherwise a hash of all of them (NumPy's SeedSequence, 63 bits).

    Each part draws from its own stream, fixed by the run's seed and the part's index alone, so where a part
    runs (this process, a cluster's worker) and in which order the parts finish never changes a number.
    """
    if index == 0 and not keys:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), int(index), *map(int, keys)]).generate_state(1, np.uint64)[0] >> 1)


def device_label(device: torch.device) -> str:
    """Human-readable device name for status bars and JSON output."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type
