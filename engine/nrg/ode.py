"""A neural-ODE bijector block: a continuous-time flow dx/dt = f(x, t) on the rows of a layer (RG-Flow's
alternative to stacked couplings).

The block maps v = x(0) to y = x(1) by integrating a small network f (input x and t) with ``steps`` fixed
steps of the classical Runge-Kutta scheme (RK4). Its log-Jacobian follows the instantaneous change of
variables, d ln|det dx(t)/dx(0)| / dt = tr(df/dx), integrated alongside x by the same RK4 steps. The
trace is exact (one vector-Jacobian product per dimension, cheap for the 4 or 8 numbers of a 2 x 2 block)
unless Hutchinson's estimator is switched on (:func:`hutchinson`): tr A = E[e^T A e] with Rademacher e,
one product per evaluation and unbiased, which is what training needs (the RK4 sum is linear in the traces,
so the estimated log-det is unbiased too).

The inverse integrates the same equation backwards (t from 1 to 0). Both directions are the continuous
flow up to the RK4 error, O(steps^-4): the round trip and the log-det against the Jacobian determinant
of the discrete map agree to that order (tests/engine/test_nrg_ode.py measures both).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


class ODEBlock(nn.Module):
    """dx/dt = f(x, t) on rows ``[R, dim]``, t in [0, 1]; same interface as :class:`.coupling.CouplingBlock`."""

    def __init__(self, dim: int, hidden: tuple[int, ...], steps: int):
        super().__init__()
        layers: list[nn.Module] = []
        width = dim + 1
        for h in hidden:
            layers += [nn.Linear(width, h), nn.Tanh()]
            width = h
        last = nn.Linear(width, dim)
        nn.init.zeros_(last.weight)  # a fresh block is the identity, like a fresh coupling
        nn.init.zeros_(last.bias)
        self.net = nn.Sequential(*layers, last)
        self.steps = steps
        self.estimator: torch.Generator | None = None  # set by hutchinson(): the noise of the trace estimate

    def _velocity_and_trace(self, x: torch.Tensor, t: float) -> tuple[torch.Tensor, torch.Tensor]:
        """f(x, t) ``[R, dim]`` and tr(df/dx) ``[R]``, differentiable when grad mode is on outside."""
        keep_graph = torch.is_grad_enabled()
        with torch.enable_grad():
            xg = x if x.requires_grad else x.detach().requires_grad_(True)
            f = self.net(torch.cat([xg, xg.new_full((len(xg), 1), t)], dim=-1))
            if self.estimator is not None:
                e = torch.randint(0, 2, xg.shape, generator=self.estimator, device=xg.device).to(xg.dtype) * 2 - 1
                (vjp,) = torch.autograd.grad(f, xg, e, create_graph=keep_graph)
                trace = (vjp * e).sum(-1)
            else:
                trace = xg.new_zeros(len(xg))
                for i in range(xg.shape[1]):
                    (row,) = torch.autograd.grad(f[:, i].sum(), xg, create_graph=keep_graph, retain_graph=True)
                    trace = trace + row[:, i]
        if not keep_graph:
            f, trace = f.detach(), trace.detach()
        return f, trace

    def _integrate(self, v: torch.Tensor, t0: float, t1: float) -> tuple[torch.Tensor, torch.Tensor]:
        """RK4 from t0 to t1 of x and of the integrated trace (the log-Jacobian of the map)."""
        h = (t1 - t0) / self.steps
        x, logdet = v, v.new_zeros(len(v))
        for n in range(self.steps):
            t = t0 + n * h
            k1, d1 = self._velocity_and_trace(x, t)
            k2, d2 = self._velocity_and_trace(x + 0.5 * h * k1, t + 0.5 * h)
            k3, d3 = self._velocity_and_trace(x + 0.5 * h * k2, t + 0.5 * h)
            k4, d4 = self._velocity_and_trace(x + h * k3, t + h)
            x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            logdet = logdet + h / 6 * (d1 + 2 * d2 + 2 * d3 + d4)
        return x, logdet

    def forward(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (y, log|det dy/dv|) with log-det per row, ``[R]``."""
        return self._integrate(v, 0.0, 1.0)

    def inverse(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (x, log|det dx/dv|): the same equation integrated backwards."""
        return self._integrate(v, 1.0, 0.0)


@contextmanager
def hutchinson(module: nn.Module, gen: torch.Generator) -> Iterator[None]:
    """Inside the block, every ODE block of ``module`` estimates its trace (Rademacher noise from ``gen``)."""
    blocks = [m for m in module.modules() if isinstance(m, ODEBlock)]
    for block in blocks:
        block.estimator = gen
    try:
        yield
    finally:
        for block in blocks:
            block.estimator = None
