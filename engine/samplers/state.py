"""A sampler's explicit state: what it saves and restores, by name, dtype, shape and range.

Samplers tune themselves (Metropolis step widths, Wolff flip counts) and remember their last
statistics; a saved session must carry both for a restored run to continue bit-identically. Each
sampler declares that state in ``state_spec()`` (name -> :class:`Entry`), returns it from
``state_dict()`` and takes it back in ``load_state_dict()``, which checks it first with
:func:`check_state`. Names are fixed by the sampler's code: a name read from a file is only ever
looked up in the spec, never used as an attribute, so a file cannot reach anything else.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


class StateError(ValueError):
    """A saved sampler state does not fit this sampler; ``str(err)`` is one line naming the entry."""


@dataclass(frozen=True)
class Entry:
    """One saved quantity: a tensor (``dtype`` a torch dtype, ``shape``) or a number (``dtype`` int).

    Values must lie in ``[low, high]`` (NaN never does); ``optional`` entries may be None (not
    computed yet, e.g. statistics before the first sweep).
    """

    dtype: torch.dtype | type
    shape: tuple[int, ...] = ()
    low: float = -math.inf
    high: float = math.inf
    optional: bool = False


class Stateful:
    """Mixin for samplers: the last sweep's statistics as state, extended by tuned quantities.

    ``STATS`` maps each statistic the sampler reports to its allowed range; each is a ``[B]``
    tensor of ``stats_dtype`` (absent before the first sweep). A sampler with more state
    extends ``state_spec``, ``state_dict`` and ``_take_state`` (calling these), never ``load_state_dict``.
    """

    STATS: dict[str, tuple[float, float]] = {}

    @property
    def stats_dtype(self) -> torch.dtype:
        return self.model.dtype

    def state_spec(self) -> dict[str, Entry]:
        return {f"stats.{name}": Entry(self.stats_dtype, (self.model.B,), low, high, optional=True)
                for name, (low, high) in self.STATS.items()}

    def state_dict(self) -> dict[str, Any]:
        return {f"stats.{name}": self.stats.get(name) for name in self.STATS}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Check ``state`` against :meth:`state_spec` (StateError, nothing changed) and take it."""
        self._take_state(check_state(self.state_spec(), state, self.model.device))

    def _take_state(self, state: dict[str, Any]) -> None:
        self.stats = {name: state[f"stats.{name}"] for name in self.STATS if state[f"stats.{name}"] is not None}


def check_state(spec: Mapping[str, Entry], state: Mapping[str, Any], device: torch.device) -> dict[str, Any]:
    """A checked copy of ``state`` (tensors on ``device``); StateError on any mismatch.

    Every key must be in ``spec``; a missing key is allowed only for an optional entry (None).
    Arrays may come as numpy (from a file) or torch; their dtype and shape must match exactly.
    """
    unknown = sorted(set(state) - set(spec), key=str)
    if unknown:
        raise StateError(f"unknown sampler state {unknown[0]!r}; this sampler saves: {', '.join(spec) or 'nothing'}")
    out: dict[str, Any] = {}
    for name, entry in spec.items():
        value = state.get(name)
        if value is None:
            if not entry.optional:
                raise StateError(f"sampler state {name!r} is missing")
            out[name] = None
            continue
        out[name] = _check_entry(name, entry, value, device)
    return out


def _check_entry(name: str, entry: Entry, value: Any, device: torch.device) -> Any:
    if entry.dtype is int:
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise StateError(f"sampler state {name!r} must be an integer, got {value!r}")
        if not entry.low <= value <= entry.high:
            raise StateError(f"sampler state {name!r} must be in [{entry.low:g}, {entry.high:g}], got {value}")
        return int(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise StateError(f"sampler state {name!r} has dtype {value.dtype}, expected {entry.dtype}")
        value = torch.from_numpy(value.copy())
    if not isinstance(value, torch.Tensor):
        raise StateError(f"sampler state {name!r} must be an array, got {type(value).__name__}")
    if value.dtype != entry.dtype or tuple(value.shape) != entry.shape:
        raise StateError(f"sampler state {name!r} is {str(value.dtype).removeprefix('torch.')} "
                         f"{list(value.shape)}, expected {str(entry.dtype).removeprefix('torch.')} {list(entry.shape)}")
    inside = (value >= entry.low) & (value <= entry.high)
    if not bool(inside.all()):
        bad = value[~inside].flatten()[0].item()
        raise StateError(f"sampler state {name!r} must lie in [{entry.low:g}, {entry.high:g}], found {bad}")
    return value.to(device)
