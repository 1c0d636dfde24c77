"""The samplers that have a fused GPU kernel: each factory picks the kernel or the torch code.

:func:`.fused.use_fused` decides (by default: the kernel on CUDA with Triton installed; ``fused=``
overrides). The kernel modules import Triton, so they are imported only when a fused sampler is
built. This module sits above both implementations, so neither imports the other's chooser.
"""

from __future__ import annotations

from functools import partial

from ..models.ising import IsingModel
from ..models.xy import XYModel
from .checkerboard import CheckerboardSampler
from .fused import use_fused
from .xy import XYMetropolis


def ising_checkerboard(model: IsingModel, rule: str = "metropolis", fused: bool | None = None):
    """Checkerboard Metropolis or heat bath for Ising: :class:`.fused.ising.FusedIsingSampler` or
    :class:`.checkerboard.CheckerboardSampler`."""
    if use_fused(model, fused):
        from .fused.ising import FusedIsingSampler
        return FusedIsingSampler(model, rule)
    return CheckerboardSampler(model, rule)


def xy_metropolis(model: XYModel, *, step: float | None = None, adapt_sweeps: int = 100, fused: bool | None = None):
    """XY Metropolis: :class:`.fused.xy.FusedXYMetropolis` or :class:`.xy.XYMetropolis`."""
    if use_fused(model, fused):
        from .fused.xy import FusedXYMetropolis
        return FusedXYMetropolis(model, step=step, adapt_sweeps=adapt_sweeps)
    return XYMetropolis(model, step=step, adapt_sweeps=adapt_sweeps)


SAMPLERS = {
    ("ising", "metropolis"): partial(ising_checkerboard, rule="metropolis"),
    ("ising", "heatbath"): partial(ising_checkerboard, rule="heatbath"),
    ("xy", "metropolis"): xy_metropolis,
}
