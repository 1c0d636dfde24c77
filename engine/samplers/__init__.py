"""Monte Carlo samplers and the registry that picks one for a model and an algorithm name.

A sampler is built for one model (it reads the model's current parameters at every sweep, so
``model.set_params`` takes effect at the next sweep) and has

- ``sweep(state, gen) -> state``: one sweep of all B replicas, drawing random numbers only from
  ``gen`` (a ``torch.Generator`` on the state's device);
- ``stats``: ``dict[str, Tensor]`` of ``[B]`` tensors from the last sweep: ``acceptance`` for
  local moves, ``cluster_size`` for cluster moves;
- optionally ``sweeps(state, gen, n) -> state``: the same as ``n`` calls of ``sweep``, faster
  because no intermediate state is built (:func:`run_sweeps` picks it when it exists);
- an explicit state (:mod:`engine.samplers.state`): ``state_spec()`` declares what a saved
  session holds for it (names, dtypes, shapes, ranges), ``state_dict()`` returns it and
  ``load_state_dict(state)`` checks and restores it, so that a restored run continues exactly.

What one sweep is: N attempted single-site updates (local moves), one full decomposition
(Swendsen-Wang), about N sites' worth of single-cluster flips (Wolff, see
:class:`~engine.samplers.clusters.WolffSampler`).

Adding samplers: a module ``engine/samplers/<name>.py`` listed in ``SAMPLER_MODULES`` defines
``SAMPLERS``, a dict from ``(model.name, algorithm)`` to a factory
``factory(model, **options) -> Sampler``; the algorithm must also be in the model's
``algorithms``. "xy" (XY and phi^4 local moves, XY Wolff) and "hmc" are listed already and
join the registry as soon as they define ``SAMPLERS``.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any, Protocol

import torch

from ..errors import ParameterError
from ..models.base import LatticeModel
from .state import Entry


class Sampler(Protocol):
    stats: dict[str, torch.Tensor]

    def sweep(self, state: torch.Tensor, gen: torch.Generator) -> torch.Tensor: ...

    def state_spec(self) -> dict[str, Entry]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def run_sweeps(sampler: Sampler, state: torch.Tensor, gen: torch.Generator, n: int) -> torch.Tensor:
    """``n`` sweeps from ``state``: through the sampler's ``sweeps`` where it has one, else one by one."""
    many = getattr(sampler, "sweeps", None)
    if many is not None and n > 0:
        return many(state, gen, n)
    for _ in range(n):
        state = sampler.sweep(state, gen)
    return state


SamplerFactory = Callable[..., Sampler]

#: Modules whose ``SAMPLERS`` dicts make up the registry.
SAMPLER_MODULES = ("choice", "clusters", "xy", "hmc")


def _collect() -> dict[tuple[str, str], SamplerFactory]:
    """Merge the modules' ``SAMPLERS``; a module that does not exist (yet) adds nothing."""
    registry: dict[tuple[str, str], SamplerFactory] = {}
    for name in SAMPLER_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise
            continue
        registry.update(getattr(module, "SAMPLERS", {}))
    return registry


REGISTRY: dict[tuple[str, str], SamplerFactory] = _collect()


def make_sampler(model: LatticeModel, algorithm: str | None = None, **options: Any) -> Sampler:
    """The sampler for ``model`` and ``algorithm`` (default: the model's first algorithm).

    ``options`` go to the sampler's constructor (e.g. ``flips_per_sweep`` for Wolff).
    """
    algorithm = model.check_algorithm(model.algorithms[0] if algorithm is None else algorithm)
    factory = REGISTRY.get((model.name, algorithm))
    if factory is None:
        raise ParameterError("algorithm", f"{algorithm!r} for {model.name} is not implemented yet; available: "
                             f"{', '.join(a for (m, a) in REGISTRY if m == model.name) or 'none'}")
    try:
        inspect.signature(factory).bind(model, **options)
    except TypeError as err:
        raise ParameterError("options", f"{err} (the {algorithm} sampler for {model.name})") from None
    return factory(model, **options)
