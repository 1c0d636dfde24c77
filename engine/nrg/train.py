"""Training the flow: reverse KL on the action, forward KL (maximum likelihood) on samples or data, with guard
rails.

Reverse KL minimises the variational free energy F_q = E_{x~q}[ln q(x) + S(x)] >= -ln Z
(total over the lattice, in units of kT): it needs no data, only the action, and F_q - F is the
KL divergence. Forward KL minimises -E_{x~p}[ln q(x)] over given samples (e.g. Monte Carlo).

Guard rails: a step whose loss, gradient or updated weights are not finite is undone (weights
and optimiser state roll back to the last good step) and the learning rate is halved; too many
failures in a row raise :class:`TrainingDiverged`. Gradients are clipped by norm, and the
learning rate follows a cosine schedule. Every step appends to a plain-data history (lists of
floats, with the cumulative CPU time of training) that a checkpoint stores and the GUI plots.

Serious flows train for hours, so a run must survive being stopped: ``on_save`` receives the
optimiser's state every ``save_every`` steps, and a later call given that state and its place in
the schedule (``schedule``) continues exactly where the run stopped.

Reverse-KL training also runs on several processes (``ranks``, :mod:`engine.nrg.distributed`): each draws
its share of the batch, and DDP averages the gradients.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch

from ..errors import ParameterError
from .density import FlowDensity
from .distributed import Ranks, ddp_sampler
from .sampling import draw, effective_sample_size, metropolis_chain

HISTORY_KEYS = ("step", "loss", "loss_error", "ess", "acceptance", "lr", "cpu_seconds")


class TrainingDiverged(RuntimeError):
    """Training produced non-finite values repeatedly, even after rolling back."""


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ParameterError(name, f"must be a positive integer, got {value!r}")
    return value


def _positive_float(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ParameterError(name, f"must be a positive number, got {value!r}")
    return float(value)


def new_history() -> dict[str, list[float]]:
    return {k: [] for k in HISTORY_KEYS}


def _complete(history: dict) -> dict:
    """Give a history from an older checkpoint every key, NaN where it kept none."""
    n = len(history.get("step", []))
    return {**history, **{k: [math.nan] * n for k in HISTORY_KEYS if len(history.get(k, [])) != n}}


def cosine_lr(lr: float, i: int, steps: int) -> float:
    """The learning rate at step ``i`` of a cosine schedule of ``steps`` steps, from lr down to 5% of it."""
    return lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(i, steps) / steps)))


def _all_finite(tensors) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in tensors)


def _snapshot(params: list[torch.Tensor], opt: torch.optim.Optimizer) -> list[torch.Tensor]:
    """Copies of the weights and of Adam's moment estimates: what a rollback restores.

    (A deepcopy of the state dicts does the same but costs more than a training step.)
    """
    tensors = list(params) + [v for p in params for v in opt.state.get(p, {}).values()]
    return [t.detach().clone() for t in tensors]


def _restore(params: list[torch.Tensor], opt: torch.optim.Optimizer, saved: list[torch.Tensor]) -> None:
    tensors = list(params) + [v for p in params for v in opt.state.get(p, {}).values()]
    if len(tensors) != len(saved):  # the failure came before Adam had any state: start it afresh
        opt.state.clear()
        tensors = list(params)
    with torch.no_grad():
        for t, s in zip(tensors, saved):
            t.copy_(s)


def _optimise(density: FlowDensity, batch_loss: Callable[[], tuple[torch.Tensor, torch.Tensor, dict]], steps: int,
              lr: float, clip: float, history: dict | None, progress, on_step, max_failures: int,
              schedule: tuple[int, int] | None = None, optimizer_state: dict | None = None, save_every: int = 0,
              on_save: Callable[[dict], None] | None = None, ranks: Ranks | None = None) -> dict:
    """Adam on ``batch_loss(step)``, which returns the per-sample losses ``[B]`` to report, the scalar
    objective to minimise and extra record fields (``step``: the step's number in the whole history).

    ``schedule = (done, total)``: this call's first step is step ``done`` of a cosine schedule of
    ``total`` steps (default: a schedule of its own, ``(0, steps)``). With ``ranks``, every rank decides
    together whether a step is good (the gradients, averaged, are the same everywhere; the losses are not).
    """
    history = _complete(history) if history is not None else new_history()
    done, total = schedule if schedule is not None else (0, steps)
    params = [p for p in density.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    if optimizer_state is not None:
        opt.load_state_dict(optimizer_state)
    good = _snapshot(params, opt)
    backoff, failures = 1.0, 0
    first = int(history["step"][-1]) + 1 if history["step"] else 0
    cpu = history["cpu_seconds"][-1] if history["cpu_seconds"] and math.isfinite(history["cpu_seconds"][-1]) else 0.0
    clock = time.process_time()
    for i in range(steps):
        lr_now = backoff * cosine_lr(lr, done + i, total)
        for group in opt.param_groups:
            group["lr"] = lr_now
        losses, objective, extra = batch_loss(first + i)
        loss = losses.mean()
        opt.zero_grad(set_to_none=True)
        ok = bool(torch.isfinite(loss)) and bool(torch.isfinite(objective))
        if ranks is not None:
            ok = ranks.all(ok)
        if ok:
            objective.backward()
            ok = _all_finite(p.grad for p in params if p.grad is not None)
        if ok:
            torch.nn.utils.clip_grad_norm_(params, clip)
            opt.step()
            ok = _all_finite(params)
        if not ok:
            failures += 1
            if failures > max_failures:
                raise TrainingDiverged(f"{failures} non-finite steps in a row at step {first + i}; "
                                       f"last learning rate {lr_now:.3g}")
            _restore(params, opt, good)
            backoff *= 0.5
            continue
        failures = 0
        good = _snapshot(params, opt)
        now = time.process_time()
        cpu, clock = cpu + now - clock, now
        record = {"step": first + i, "loss": loss.item(),
                  "loss_error": losses.detach().std().item() / math.sqrt(len(losses)), "lr": lr_now,
                  "cpu_seconds": cpu, **extra}
        for k in HISTORY_KEYS:
            history[k].append(float(record.get(k, math.nan)))
        if on_step is not None:
            on_step({**record, "total": first + steps})
        if progress is not None:
            progress(i + 1, steps)
        if on_save is not None and save_every and (i + 1) % save_every == 0 and i + 1 < steps:
            on_save(opt.state_dict())
    if on_save is not None:
        on_save(opt.state_dict())
    return history


def train_reverse_kl(density: FlowDensity, target, *, steps: int, batch: int, gen: torch.Generator,
                     lr: float = 3e-3, clip: float = 10.0, mass_covering: float = 0.0, history: dict | None = None,
                     progress: Callable[[int, int], None] | None = None,
                     on_step: Callable[[dict], None] | None = None, max_failures: int = 10,
                     ranks: Ranks | None = None, **resume) -> dict:
    """Minimise F_q = E_q[ln q + S] with x ~ q drawn afresh each step; returns the history.

    Reverse KL is mode-seeking: q ends up with slightly light tails, and the rare configurations
    it underweights carry large importance weights that stall independent Metropolis.
    ``mass_covering`` > 0 adds that multiple of the forward KL, estimated on the same batch by
    self-normalised importance weights (-sum_i w_i ln q(x_i), x and w held fixed), which pulls
    q toward those configurations.

    ``on_step`` receives a record per step: step, total, loss (the batch's F_q), loss_error,
    ess (fraction) and acceptance (of an independent-Metropolis pass over the batch). ``resume``
    takes :func:`_optimise`'s schedule, optimizer_state, save_every and on_save.

    With ``ranks`` (one of several processes), ``batch`` is this rank's share and ``gen`` its own
    generator (reseeded every step on ranks > 0: :meth:`Ranks.reseed`); the records describe the whole batch
    (ESS and acceptance on rank 0 only).
    """
    steps, batch = _positive_int("steps", steps), _positive_int("batch", batch)
    lr, clip = _positive_float("lr", lr), _positive_float("clip", clip)
    if not isinstance(mass_covering, int | float) or not math.isfinite(mass_covering) or mass_covering < 0:
        raise ParameterError("mass_covering", f"must be a number >= 0, got {mass_covering!r}")

    sample = density.sample if ranks is None else ddp_sampler(density, ranks)
    rank, world = (0, 1) if ranks is None else (ranks.rank, ranks.world)

    base = gen.initial_seed()

    def batch_loss(step: int):
        if ranks is not None:
            ranks.reseed(gen, base, step)
        x, ln_q = sample(batch, gen)
        losses = ln_q + target.action(x)
        objective = losses.mean()
        if ranks is not None:  # report the whole batch's losses (gradients still flow through this rank's)
            losses = ranks.gather(losses)
        log_w = -losses.detach()
        if not bool(torch.isfinite(log_w).all()):
            return losses, objective, {}
        if mass_covering > 0:  # weights normalised over the whole batch; DDP divides the world's sum by world
            w = torch.softmax(log_w, 0)[rank * batch:(rank + 1) * batch]
            objective = objective - world * mass_covering * (w * density.log_prob(x.detach())).sum()
        if rank > 0:
            return losses, objective, {}
        return losses, objective, {"ess": effective_sample_size(log_w),
                                   "acceptance": metropolis_chain(log_w, gen)[1]}

    return _optimise(density, batch_loss, steps, lr, clip, history, progress, on_step, max_failures,
                     ranks=ranks, **resume)


def train_forward_kl(density: FlowDensity, samples: torch.Tensor, *, steps: int, batch: int,
                     gen: torch.Generator, lr: float = 3e-3, clip: float = 10.0, noise: float = 0.0,
                     history: dict | None = None, progress: Callable[[int, int], None] | None = None,
                     on_step: Callable[[dict], None] | None = None, max_failures: int = 10, **resume) -> dict:
    """Maximum likelihood: minimise -E_p[ln q(x)] over ``samples`` (``[n, C, L, L]``: Monte Carlo
    configurations, or data such as image patches), a random batch per step.

    ``noise`` > 0 adds fresh U[0, noise) to every batch: uniform dequantisation of data given on a grid
    (integer grey levels), so that q learns a density of v + u instead of spikes on the grid. ``resume``
    takes :func:`_optimise`'s schedule, optimizer_state, save_every and on_save.
    """
    steps, batch = _positive_int("steps", steps), _positive_int("batch", batch)
    lr, clip = _positive_float("lr", lr), _positive_float("clip", clip)
    if not isinstance(noise, int | float) or not math.isfinite(noise) or noise < 0:
        raise ParameterError("noise", f"must be a number >= 0, got {noise!r}")
    flow = density.flow
    if samples.dim() != 4 or tuple(samples.shape[1:]) != (flow.channels, flow.L, flow.L):
        raise ParameterError("samples", f"must have shape [n, {flow.channels}, {flow.L}, {flow.L}], "
                             f"got {list(samples.shape)}")

    def batch_loss(_step: int):
        idx = torch.randint(len(samples), (batch,), generator=gen, device=gen.device).to(samples.device)
        x = samples[idx]
        if noise > 0:
            x = x + noise * torch.rand(x.shape, generator=gen, device=gen.device, dtype=x.dtype).to(x.device)
        losses = -density.log_prob(x)
        return losses, losses.mean(), {}

    return _optimise(density, batch_loss, steps, lr, clip, history, progress, on_step, max_failures, **resume)


@torch.no_grad()
def evaluate(density: FlowDensity, target, n: int, gen: torch.Generator) -> dict:
    """F_q with its error, the reweighted free energy -ln Z estimate, ESS and acceptance.

    Where the target knows its exact free energy F, adds it and the relative gap (F_q - F)/|F|.
    """
    _, log_w = draw(density, target, _positive_int("n", n), gen)
    losses = -log_w.double()
    ln_mean_w = torch.logsumexp(log_w.double(), 0).item() - math.log(n)
    out = {"free_energy": {"mean": losses.mean().item(), "error": losses.std().item() / math.sqrt(n)},
           "reweighted_free_energy": -ln_mean_w,
           "ess": effective_sample_size(log_w), "acceptance": metropolis_chain(log_w, gen)[1], "n": n}
    exact = target.exact_free_energy()
    if exact is not None:
        out["exact_free_energy"] = exact
        out["relative_gap"] = (out["free_energy"]["mean"] - exact) / abs(exact)
    return out
