"""Local updates for the two-component models (XY angles, complex phi^4 fields), checkerboard style.

Sites of one colour of the checkerboard are not neighbours, so all of them are updated at once
from the local field of the other colour; a sweep updates both colours. Each sampler has
``sweep(state, gen) -> state`` and ``stats`` (``[B]`` tensors from the last sweep), acts on the
whole batch with per-replica parameters read from the model at every sweep, and draws every
random number from the ``torch.Generator`` it is given (on the state's device).

- Metropolis (XY and phi^4): symmetric uniform proposals of per-replica width; see
  :class:`StepWidth` for the fixed and adaptive widths.
- Heat bath (XY): theta_i is drawn exactly from exp(beta |F_i| cos(theta_i - arg F_i)), a von
  Mises distribution, with :func:`von_mises`.
- Overrelaxation (XY): theta_i -> 2 arg F_i - theta_i leaves the energy unchanged (a
  microcanonical move that decorrelates fast); a sweep is ``n_over`` of these followed by one
  heat-bath sweep, which supplies the ergodicity the reflections lack.
- Wolff (XY): cluster reflections through an Ising embedding along a random mirror direction,
  built on the cluster machinery of :mod:`engine.samplers.clusters`.
"""

from __future__ import annotations

import math

import torch

from ..errors import ParameterError
from ..models.base import LatticeModel
from ..models.phi4 import Phi4Model
from ..models.xy import TWO_PI, XYModel, neighbour_sum, spin_vectors
from .clusters import ClusterFlip, WolffSampler, sample_bonds, wolff_flip
from .state import Entry, Stateful


def checkerboard_masks(L: int, device: torch.device) -> torch.Tensor:
    """``[2, L, L]`` bool: the even ((i + j) % 2 == 0) and odd sublattices."""
    i = torch.arange(L, device=device)
    parity = (i.view(-1, 1) + i.view(1, -1)) % 2
    return torch.stack((parity == 0, parity == 1))


def von_mises(kappa: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Angles x in (-pi, pi] with density proportional to exp(kappa cos x), one per entry of ``kappa``.

    Best & Fisher's (1979) rejection sampler: a wrapped-Cauchy envelope, accepted with probability
    >= 0.66 for every kappa >= 0. Each vectorised round draws two candidates for every entry still
    open (the first accepted one is kept), so a round leaves at most 12% open and a few rounds
    finish any batch. Computed in float64 (returned in kappa's dtype); the envelope parameter uses
    rho = 2 kappa / (tau + sqrt(2 tau)), an algebraically equal form of the published
    (tau - sqrt(2 tau)) / (2 kappa) that does not cancel at small kappa.
    """
    k = kappa.detach().double().flatten().clamp_min(1e-12)  # kappa = 0 is the uniform limit
    tau = 1.0 + (1.0 + 4.0 * k * k).sqrt()
    rho = 2.0 * k / (tau + (2.0 * tau).sqrt())
    r = (1.0 + rho * rho) / (2.0 * rho)
    out = torch.empty_like(k)
    todo = torch.arange(k.numel(), device=k.device)
    while todo.numel():
        u = torch.rand((3, 2, todo.numel()), generator=gen, device=k.device, dtype=torch.float64)
        kt, rt = k[todo], r[todo]
        z = torch.cos(math.pi * u[0])
        f = (1.0 + rt * z) / (rt + z)
        c = kt * (rt - f)
        ok = (c * (2.0 - c) > u[1]) | (torch.log(c / u[1]) + 1.0 - c >= 0)
        x = torch.acos(f.clamp(-1.0, 1.0)).copysign(u[2] - 0.5)
        x, ok = torch.where(ok[0], x[0], x[1]), ok[0] | ok[1]
        out[todo[ok]] = x[ok]
        todo = todo[~ok]
    return out.view(kappa.shape).to(kappa.dtype)


class StepWidth:
    """Per-replica proposal width (Metropolis step, HMC step size): fixed, or tuned.

    ``fixed=None`` tunes: for ``adapt_sweeps`` sweeps after construction, and again after every
    change of the model's parameters, each replica's width is multiplied by
    exp((acceptance - target) / sqrt(k)) at the k-th tuning sweep (clamped to
    ``(0, max_width]``; the shrinking gain lets the width settle instead of ending on a random
    fluctuation); then it stays fixed, so the chain that follows is an exact, homogeneous Markov
    chain. A parameter change is noticed because ``LatticeModel.set_params`` replaces the
    parameter tensors.
    """

    def __init__(self, model: LatticeModel, *, fixed: float | None, initial: float, target: float,
                 max_width: float, adapt_sweeps: int = 100):
        if fixed is not None and not (math.isfinite(fixed) and 0 < fixed <= max_width):
            raise ParameterError("step", f"must be in (0, {max_width:g}], got {fixed!r}")
        if isinstance(adapt_sweeps, bool) or not isinstance(adapt_sweeps, int) or adapt_sweeps < 0:
            raise ParameterError("adapt_sweeps", f"must be an integer >= 0, got {adapt_sweeps!r}")
        self.model = model
        self.adaptive = fixed is None
        self.target = target
        self.max_width = max_width
        self.adapt_sweeps = adapt_sweeps
        self.width = torch.full((model.B,), fixed or initial, device=model.device, dtype=model.dtype)
        self._seen = self._params()
        self._done = 0

    def _params(self) -> list[torch.Tensor]:
        return [self.model.param(k) for k in self.model.param_names]

    def update(self, acceptance: torch.Tensor) -> None:
        """Feed the last sweep's per-replica acceptance."""
        if not self.adaptive:
            return
        params = self._params()
        if any(a is not b for a, b in zip(params, self._seen)):
            self._seen, self._done = params, 0
        if self._done < self.adapt_sweeps:
            self._done += 1
            gain = self._done ** -0.5
            self.width = (self.width * torch.exp(gain * (acceptance - self.target))).clamp(1e-6, self.max_width)


class TunedStep(Stateful):
    """State of a sampler with a :class:`StepWidth` ``self.step``: its statistics, the width and the tuning count."""

    def state_spec(self) -> dict[str, Entry]:
        step = self.step
        return {**super().state_spec(),
                "step.width": Entry(self.model.dtype, (self.model.B,), torch.finfo(self.model.dtype).tiny,
                                    step.max_width),
                "step.done": Entry(int, low=0, high=step.adapt_sweeps)}

    def state_dict(self) -> dict:
        return {**super().state_dict(), "step.width": self.step.width, "step.done": self.step._done}

    def _take_state(self, state: dict) -> None:
        super()._take_state(state)
        self.step.width, self.step._done = state["step.width"], state["step.done"]


class _CheckerboardMetropolis(TunedStep):
    """Checkerboard Metropolis with symmetric proposals; subclasses give the model-specific parts."""

    target_acceptance = 0.5
    STATS = {"acceptance": (0.0, 1.0), "step": (0.0, math.inf)}

    def __init__(self, model: LatticeModel, *, step: float | None = None, adapt_sweeps: int = 100,
                 initial_step: float, max_step: float):
        self.model = model
        self.step = StepWidth(model, fixed=step, initial=initial_step, target=self.target_acceptance,
                              max_width=max_step, adapt_sweeps=adapt_sweeps)
        self.masks = checkerboard_masks(model.L, model.device)
        self.stats: dict[str, torch.Tensor] = {}

    def _site_log_weight(self, state: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """log of the site's Boltzmann factor given its neighbours' ``context``, ``[B, L, L]``."""
        raise NotImplementedError

    def _context(self, state: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _propose(self, state: torch.Tensor, width: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def sweep(self, state: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        accepted = torch.zeros(self.model.B, device=state.device, dtype=state.dtype)
        for mask in self.masks:
            context = self._context(state)
            proposal = self._propose(state, self.step.width, gen)
            log_ratio = self._site_log_weight(proposal, context) - self._site_log_weight(state, context)
            u = torch.rand(log_ratio.shape, generator=gen, device=state.device, dtype=state.dtype)
            accept = mask & (u.log() < log_ratio)
            state = torch.where(accept if state.dim() == 3 else accept.unsqueeze(1), proposal, state)
            accepted += accept.sum(dim=(-2, -1))
        acceptance = accepted / self.model.N
        self.step.update(acceptance)
        self.stats = {"acceptance": acceptance, "step": self.step.width.clone()}
        return state


class XYMetropolis(_CheckerboardMetropolis):
    """theta_i -> theta_i + step * U(-1, 1); ``step`` in (0, pi] (pi: a uniformly random new angle)."""

    def __init__(self, model: XYModel, *, step: float | None = None, adapt_sweeps: int = 100):
        super().__init__(model, step=step, adapt_sweeps=adapt_sweeps, initial_step=1.0, max_step=math.pi)

    def _context(self, theta):
        return self.model.local_field(theta) / self.model.param("T").view(-1, 1, 1, 1)

    def _site_log_weight(self, theta, beta_field):
        return (beta_field * spin_vectors(theta)).sum(dim=1)

    def _propose(self, theta, width, gen):
        u = torch.rand(theta.shape, generator=gen, device=theta.device, dtype=theta.dtype)
        return torch.remainder(theta + width.view(-1, 1, 1) * (2.0 * u - 1.0), TWO_PI)


class Phi4Metropolis(_CheckerboardMetropolis):
    """phi_i -> phi_i + step * (U(-1, 1), U(-1, 1)): a uniform square around the old value."""

    def __init__(self, model: Phi4Model, *, step: float | None = None, adapt_sweeps: int = 100):
        super().__init__(model, step=step, adapt_sweeps=adapt_sweeps, initial_step=0.5, max_step=10.0)

    def _context(self, phi):
        return neighbour_sum(phi)

    def _site_log_weight(self, phi, neighbours):
        return -self.model.site_action(phi, neighbours)

    def _propose(self, phi, width, gen):
        u = torch.rand(phi.shape, generator=gen, device=phi.device, dtype=phi.dtype)
        return phi + width.view(-1, 1, 1, 1) * (2.0 * u - 1.0)


class XYHeatBath(Stateful):
    """Exact conditional sampling of each angle (acceptance 1): theta_i = arg F_i + von Mises(|F_i| / T)."""

    STATS = {"acceptance": (1.0, 1.0)}

    def __init__(self, model: XYModel):
        self.model = model
        self.masks = checkerboard_masks(model.L, model.device)
        self.stats: dict[str, torch.Tensor] = {}

    def sweep(self, theta: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        beta = 1.0 / self.model.param("T").view(-1, 1)
        for mask in self.masks:
            fx, fy = self.model.local_field(theta)[:, :, mask].unbind(dim=1)  # [B, N/2] each
            new = torch.atan2(fy, fx) + von_mises(beta * torch.hypot(fx, fy), gen)
            theta = theta.clone()
            theta[:, mask] = torch.remainder(new, TWO_PI)
        self.stats = {"acceptance": torch.ones(self.model.B, device=theta.device, dtype=theta.dtype)}
        return theta


def overrelax(model: XYModel, theta: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """One energy-conserving sweep: each theta_i reflected about its local field, 2 arg F_i - theta_i.

    A site with F_i = 0 exactly is left alone (every angle has the same energy there, so keeping
    it is as valid a reflection as any and keeps the move its own inverse).
    """
    for mask in masks:
        F = model.local_field(theta)
        reflected = torch.remainder(2.0 * torch.atan2(F[:, 1], F[:, 0]) - theta, TWO_PI)
        theta = torch.where(mask & (F.square().sum(dim=1) > 0), reflected, theta)
    return theta


class XYOverrelax(Stateful):
    """``n_over`` overrelaxation sweeps then one heat-bath sweep (default 3 : 1).

    The reflections alone conserve the energy, so they cannot sample the canonical ensemble; the
    heat-bath sweep makes the chain ergodic, and each part leaves the Boltzmann weight invariant.
    """

    STATS = XYHeatBath.STATS

    def __init__(self, model: XYModel, *, n_over: int = 3):
        if isinstance(n_over, bool) or not isinstance(n_over, int) or n_over < 1:
            raise ParameterError("n_over", f"must be an integer >= 1, got {n_over!r}")
        self.model = model
        self.n_over = n_over
        self.heatbath = XYHeatBath(model)
        self.stats: dict[str, torch.Tensor] = {}

    def sweep(self, theta: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        for _ in range(self.n_over):
            theta = overrelax(self.model, theta, self.heatbath.masks)
        theta = self.heatbath.sweep(theta, gen)
        self.stats = self.heatbath.stats
        return theta

    def _take_state(self, state: dict) -> None:
        super()._take_state(state)
        self.heatbath.stats = self.stats


def reflect(theta: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Mirror the spins in the line perpendicular to r = (cos alpha, sin alpha): s -> s - 2 (r . s) r,
    i.e. theta -> pi + 2 alpha - theta. ``alpha`` broadcasts against ``theta``."""
    return torch.remainder(math.pi + 2.0 * alpha - theta, TWO_PI)


def wolff_embedding(model: XYModel, theta: torch.Tensor, alpha: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Wolff's Ising embedding of the XY model along the mirror direction alpha (``[B, 1, 1]``).

    Reflecting a set of spins changes only the bonds that cross its boundary, where
    J s_i . s_j changes by -2 J (r . s_i)(r . s_j): an Ising model in sigma_i = sign(r . s_i) with
    couplings J |r . s_i||r . s_j|. Its Fortuin-Kasteleyn bonds are active with probability
    p = 1 - exp(-2 beta J (r . s_i)(r . s_j)) where that is positive (either sign of J).
    Returns those probabilities (``[B, 2, L, L]``, right and down bonds, the convention of
    :mod:`engine.samplers.clusters`) and the field's flip cost beta * dE_i of reflecting site i
    alone (None when h = 0), which :func:`~engine.samplers.clusters.wolff_flip` accepts exactly.
    """
    beta = 1.0 / model.param("T").view(-1, 1, 1, 1)
    proj = torch.cos(theta - alpha)
    pairs = torch.stack((proj * proj.roll(-1, dims=-1), proj * proj.roll(-1, dims=-2)), dim=1)
    x = 2.0 * beta * model.param("J").view(-1, 1, 1, 1) * pairs
    prob = torch.where(x > 0, -torch.expm1(-x), torch.zeros_like(x))
    h = model.param("h")
    if not bool((h != 0).any()):
        return prob, None
    # dE_i = -h (cos theta'_i - cos theta_i) with cos theta'_i = -cos(2 alpha - theta_i)
    cost = (h.view(-1, 1, 1) * beta.view(-1, 1, 1)) * (theta.cos() + torch.cos(2.0 * alpha - theta))
    return prob, cost


class XYWolff(WolffSampler):
    """Single-cluster Wolff updates for XY: each flip draws a new uniformly random mirror direction.

    Only the proposal differs from Ising; the number of flips per sweep, its calibration and cap
    follow :class:`~engine.samplers.clusters.WolffSampler`.
    """

    def cluster_move(self, theta: torch.Tensor, gen: torch.Generator,
                     n_seeds: torch.Tensor) -> tuple[torch.Tensor, ClusterFlip]:
        """Reflect every spin in a random mirror; flip the clusters of projected-spin bonds around the seeds."""
        alpha = TWO_PI * torch.rand((self.model.B, 1, 1), generator=gen, device=theta.device, dtype=theta.dtype)
        prob, cost = wolff_embedding(self.model, theta, alpha)
        return reflect(theta, alpha), wolff_flip(sample_bonds(prob, gen), gen, cost, n_seeds)


SAMPLERS = {
    ("xy", "heatbath"): XYHeatBath,
    ("xy", "overrelax"): XYOverrelax,
    ("xy", "wolff"): XYWolff,
    ("phi4", "metropolis"): Phi4Metropolis,
}
