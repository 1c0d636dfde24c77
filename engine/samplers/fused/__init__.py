"""Fused GPU kernels (Triton) for checkerboard sweeps (Ising Metropolis and heat bath, XY Metropolis):
one kernel launch per half-sweep.

Why: on a GPU the unfused sampler is a sequence of torch calls, each a pass over memory and a
launch; one GPU measurement (H200, Ising Metropolis, L = 256, B = 8) gave 0.85 attempted flips
per ns. A fused kernel reads the int8 spins and their neighbours once, draws its random numbers
in registers (counter-based Philox, so nothing is stored) and writes the new spins once.

This is an optional fast path. It needs the ``triton`` package and a CUDA device, or Triton's
interpreter (``TRITON_INTERPRET=1`` set before Triton is first imported), which runs the same
kernels on CPU tensors, slowly: the tests use it. Without it the unfused samplers run unchanged.
The kernel modules import Triton, so they are imported only when a fused sampler is built.
"""

from __future__ import annotations

import importlib.util
import os

from ...errors import ParameterError
from ...models.base import LatticeModel

#: the kernels index sites with 32-bit integers: B * L * L must stay below this
MAX_SITES = 2 ** 31


def interpreting() -> bool:
    """Whether Triton runs kernels in its CPU interpreter (read by Triton when a kernel is defined)."""
    return os.environ.get("TRITON_INTERPRET", "0").lower() in ("1", "true", "on", "yes")


def use_fused(model: LatticeModel, fused: bool | None) -> bool:
    """Whether the fused kernels run ``model``'s sweeps.

    ``fused=None`` (the default) picks them on CUDA when Triton is installed and the lattice fits
    32-bit site indices; ``True`` insists (an error says why it cannot), ``False`` refuses.
    """
    installed = importlib.util.find_spec("triton") is not None
    on_device = model.device.type == "cuda" or (model.device.type == "cpu" and interpreting())
    fits = model.B * model.N < MAX_SITES
    if fused is None:
        return installed and model.device.type == "cuda" and fits
    if fused:
        if not installed:
            raise ParameterError("fused", "needs the triton package (pip install triton)")
        if not on_device:
            raise ParameterError("fused", f"runs on CUDA (or on the CPU under TRITON_INTERPRET=1), "
                                 f"not on {model.device.type}")
        if not fits:
            raise ParameterError("fused", f"needs B * L * L < 2^31, got {model.B} * {model.L}^2")
    return bool(fused)
