"""Hybrid (Hamiltonian) Monte Carlo: one pure integrator and step for every batched HMC in rgviz.

:func:`hmc_init` and :func:`hmc_step` are pure functions in the spirit of jax-md's init/step
pairs: they take an :class:`HMCState` (positions ``[B, ...]``, their potential ``[B]`` and its
gradient) and return a new one, drawing random numbers only from the generator passed in. Each
row is an independent chain. The caller supplies the potential U and decides the step size; two
callers use them: :class:`Phi4HMC` here (lattice phi^4, one trajectory per sweep) and
:func:`engine.nrg.sampling.hmc` (the flow's latent variables, U = S_eff by autograd).

One trajectory: momenta p ~ N(0, 1) per component, ``n_steps`` leapfrog steps of size epsilon
(per chain) for H = p^2 / 2 + U(x), then a Metropolis test min(1, exp(-dH)) per chain. Leapfrog
is reversible and volume-preserving, so the test makes the chain exact for any step size; the
step size only sets the acceptance.

Lattice HMC step size. dH grows like N epsilon^4, so no single epsilon suits every lattice size.
By default epsilon is tuned per replica towards acceptance 0.8 (:class:`~engine.samplers.xy.StepWidth`:
during the first ``adapt_sweeps`` trajectories and after every parameter change, then frozen);
``step`` fixes it instead. The trajectory length is ``n_steps * epsilon``. Measured at the model's
default parameters (t=0.5, mu=-2, lam=1), n_steps = 10, cold start, 4 replicas: the tuned epsilon
is about 0.085 / 0.065 / 0.04 at L = 16 / 32 / 64 (the N^(-1/4) law), and the acceptance of the
following 100 trajectories 0.82 / 0.83 / 0.84; a fixed epsilon = 0.1 gives 0.31 at L = 16 and 0
from L = 32 on, which is why the default tunes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch

from ..errors import ParameterError
from ..models.phi4 import Phi4Model
from .xy import StepWidth, TunedStep

Gradient = Callable[[torch.Tensor], torch.Tensor]
#: x -> (U(x) ``[B]``, dU/dx): evaluated at the end of each trajectory, where both are needed
ValueAndGradient = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


class HMCState(NamedTuple):
    """Positions ``[B, ...]`` with their potential ``[B]`` and gradient (carried, not recomputed)."""

    position: torch.Tensor
    potential: torch.Tensor
    gradient: torch.Tensor


class HMCInfo(NamedTuple):
    """What one trajectory did, per chain ``[B]``: min(1, exp(-dH)), the decision, and dH (diverged: inf)."""

    accept_prob: torch.Tensor
    accepted: torch.Tensor
    dH: torch.Tensor


def _per_chain(step: torch.Tensor | float, like: torch.Tensor) -> torch.Tensor | float:
    return step.view(-1, *(1,) * (like.dim() - 1)) if isinstance(step, torch.Tensor) else step


def _leapfrog(x: torch.Tensor, p: torch.Tensor, g: torch.Tensor, step: torch.Tensor | float, n_steps: int,
              gradient: Gradient, value_and_gradient: ValueAndGradient
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Leapfrog from (x, p) with g = dU/dx at x; returns (x', p', U(x'), dU/dx at x')."""
    eps = _per_chain(step, x)
    p = p - 0.5 * eps * g
    for k in range(n_steps):
        x = x + eps * p
        if k < n_steps - 1:
            p = p - eps * gradient(x)
        else:
            u, g = value_and_gradient(x)
            p = p - 0.5 * eps * g
    return x, p, u, g


def leapfrog(phi: torch.Tensor, pi: torch.Tensor, step: torch.Tensor | float, n_steps: int,
             gradient: Gradient) -> tuple[torch.Tensor, torch.Tensor]:
    """``n_steps`` leapfrog steps of Hamilton's equations for H = pi^2 / 2 + U(phi).

    ``step`` is per chain (``[B]``) or one number; ``gradient(phi)`` is dU/dphi. Half momentum
    steps at both ends, so running it again from (phi', -pi') returns (phi, -pi) up to rounding.
    """
    x, p, _, _ = _leapfrog(phi, pi, gradient(phi), step, n_steps, gradient, lambda x: (None, gradient(x)))
    return x, p


def kinetic(pi: torch.Tensor) -> torch.Tensor:
    """pi^2 / 2 per chain, ``[B]``."""
    return 0.5 * pi.square().flatten(1).sum(dim=1)


def hmc_init(position: torch.Tensor, value_and_gradient: ValueAndGradient) -> HMCState:
    """The state at ``position``: its potential and gradient, computed once."""
    u, g = value_and_gradient(position)
    return HMCState(position, u, g)


def hmc_step(state: HMCState, value_and_gradient: ValueAndGradient, step: torch.Tensor | float, n_steps: int,
             gen: torch.Generator, gradient: Gradient | None = None) -> tuple[HMCState, HMCInfo]:
    """One HMC trajectory of every chain and its Metropolis test; the new state and what happened.

    ``gradient`` (dU/dx alone) serves the inner leapfrog steps where computing U as well would
    cost extra (lattice models); by default the gradient of ``value_and_gradient`` is used.
    Random numbers: the momenta, then one uniform per chain.
    """
    x = state.position
    gradient = gradient or (lambda y: value_and_gradient(y)[1])
    p = torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype)
    h0 = kinetic(p) + state.potential
    x1, p1, u1, g1 = _leapfrog(x, p, state.gradient, step, n_steps, gradient, value_and_gradient)
    dH = torch.nan_to_num(kinetic(p1) + u1 - h0, nan=float("inf"))  # a diverged trajectory is rejected
    u = torch.rand(dH.shape, generator=gen, device=x.device, dtype=x.dtype)
    accept = u.log() < -dH
    rows = accept.view(-1, *(1,) * (x.dim() - 1))
    new = HMCState(torch.where(rows, x1, x), torch.where(accept, u1, state.potential),
                   torch.where(rows, g1, state.gradient))
    return new, HMCInfo(torch.exp(-dH.clamp_min(0)), accept, dH)


class Phi4HMC(TunedStep):
    """HMC sweeps of a :class:`~engine.models.phi4.Phi4Model`.

    ``stats``: ``acceptance`` (the Metropolis probability min(1, exp(-dH)) of the last trajectory,
    an unbiased, low-noise estimate of the acceptance rate), ``dH`` and ``step``.
    """

    STATS = {"acceptance": (0.0, 1.0), "dH": (-math.inf, math.inf), "step": (0.0, math.inf)}

    def __init__(self, model: Phi4Model, *, step: float | None = None, n_steps: int = 10,
                 adapt_sweeps: int = 100):
        if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 1:
            raise ParameterError("n_steps", f"must be an integer >= 1, got {n_steps!r}")
        self.model = model
        self.n_steps = n_steps
        self.step = StepWidth(model, fixed=step, initial=0.05, target=0.8, max_width=1.0,
                              adapt_sweeps=adapt_sweeps)
        self.stats: dict[str, torch.Tensor] = {}

    def _value_and_gradient(self, phi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.energy(phi), self.model.gradient(phi)

    def sweep(self, phi: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        # a fresh state each sweep: the parameters (hence S) may have changed since the last one
        state = hmc_init(phi, self._value_and_gradient)
        state, info = hmc_step(state, self._value_and_gradient, self.step.width, self.n_steps, gen,
                               gradient=self.model.gradient)
        self.step.update(info.accept_prob)
        self.stats = {"acceptance": info.accept_prob, "dH": info.dH, "step": self.step.width.clone()}
        return state.position


SAMPLERS = {("phi4", "hmc"): Phi4HMC}
