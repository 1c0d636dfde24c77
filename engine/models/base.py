"""What every lattice model shares: batched per-replica parameters on an L x L torus.

A model holds B replicas (one batch can hold a whole temperature grid). Parameters given as a
scalar apply to every replica; a sequence gives one value per replica; all are broadcast to
tensors of shape ``[B]`` on the model's device. States are plain tensors owned by the caller:

- Ising: ``[B, L, L]`` of +-1 in the model's float dtype,
- XY: ``[B, L, L]`` angles in [0, 2 pi),
- complex phi^4: ``[B, 2, L, L]`` (real and imaginary parts).

Models are cheap to rebuild; ``set_params`` changes parameters in place so that a running
simulation picks them up at its next sweep.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import torch

from ..device import resolve_device
from ..errors import ParameterError

Number = float | int
ParamValue = Number | Sequence[Number] | torch.Tensor


def validate_L(L: int) -> int:
    """L must be an even integer >= 4 (checkerboard updates need an even torus)."""
    if isinstance(L, bool) or not isinstance(L, int | float) or int(L) != L:
        raise ParameterError("L", f"must be an integer, got {L!r}")
    L = int(L)
    if L < 4 or L % 2:
        raise ParameterError("L", f"must be even and >= 4, got {L}")
    return L


def as_batch(name: str, value: ParamValue, *, positive: bool = False) -> list[float]:
    """A parameter as a list of finite floats (one per replica, or one for all)."""
    if isinstance(value, torch.Tensor):
        values = value.detach().flatten().tolist()
    elif isinstance(value, Sequence) and not isinstance(value, str):
        values = list(value)
    else:
        values = [value]
    if not values:
        raise ParameterError(name, "needs at least one value")
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise ParameterError(name, f"must be a number, got {v!r}") from None
        if not math.isfinite(f):
            raise ParameterError(name, f"must be finite, got {v!r}")
        if positive and f <= 0:
            raise ParameterError(name, f"must be > 0, got {v!r}")
        out.append(f)
    return out


def batch_size(**lists: list[float]) -> int:
    """The common batch size of per-replica lists: lengths must be 1 or equal."""
    sizes = {len(v) for v in lists.values() if len(v) != 1}
    if len(sizes) > 1:
        detail = ", ".join(f"{k}={len(v)}" for k, v in lists.items())
        raise ParameterError("batch", f"per-replica parameter lists differ in length ({detail})")
    return sizes.pop() if sizes else 1


class LatticeModel:
    """Base class: L, B, device, dtype, and per-replica parameter tensors.

    Subclasses declare ``name``, ``algorithms`` (valid sampler names, first is the default),
    ``param_names`` (the physical parameters ``set_params`` accepts) and implement
    ``hot_state``, ``cold_state``, ``energy`` and ``measure``.
    """

    name: ClassVar[str] = ""
    algorithms: ClassVar[tuple[str, ...]] = ()
    param_names: ClassVar[tuple[str, ...]] = ()
    positive_params: ClassVar[frozenset[str]] = frozenset({"T"})
    #: the shape of one site's value: () for a number, (2,) for phi^4's complex field
    site_shape: ClassVar[tuple[int, ...]] = ()

    def __init__(self, L: int, *, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
                 **params: ParamValue):
        self.L = validate_L(L)
        self.device = resolve_device(device)
        self.dtype = dtype
        unknown = set(params) - set(self.param_names)
        if unknown:
            raise ParameterError(sorted(unknown)[0], f"not a parameter of the {self.name} model; "
                                 f"allowed: {', '.join(self.param_names)}")
        lists = {k: as_batch(k, v, positive=k in self.positive_params) for k, v in params.items()}
        self.B = batch_size(**lists)
        self._params: dict[str, torch.Tensor] = {}
        for k, v in lists.items():
            self._params[k] = self._tensor(v)

    def _tensor(self, values: list[float]) -> torch.Tensor:
        t = torch.tensor(values, device=self.device, dtype=self.dtype)
        return t.expand(self.B).clone() if t.numel() == 1 else t

    @property
    def N(self) -> int:
        """Sites per replica."""
        return self.L * self.L

    def param(self, name: str) -> torch.Tensor:
        """The ``[B]`` tensor of a parameter."""
        return self._params[name]

    def set_params(self, **params: ParamValue) -> None:
        """Change parameters in place (validated); the batch size cannot change."""
        for k, v in params.items():
            if k not in self.param_names:
                raise ParameterError(k, f"not a parameter of the {self.name} model; "
                                     f"allowed: {', '.join(self.param_names)}")
            values = as_batch(k, v, positive=k in self.positive_params)
            if len(values) not in (1, self.B):
                raise ParameterError(k, f"needs 1 or {self.B} values, got {len(values)}")
            self._params[k] = self._tensor(values)

    def params_dict(self) -> dict[str, list[float]]:
        """JSON-ready parameters (one list per parameter)."""
        return {k: v.tolist() for k, v in self._params.items()}

    def check_algorithm(self, algorithm: str) -> str:
        if algorithm not in self.algorithms:
            raise ParameterError("algorithm", f"{algorithm!r} is not available for {self.name}; "
                                 f"allowed: {', '.join(self.algorithms)}")
        return algorithm

    # --- implemented by each model -------------------------------------------------------
    def hot_state(self, gen: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def cold_state(self) -> torch.Tensor:
        raise NotImplementedError

    def check_state(self, state: torch.Tensor) -> None:
        """ValueError (one line) unless ``state`` is a configuration of this model (e.g. read from a file).

        Shape and dtype as the model's own states, finite values; models add their value range.
        """
        want = (self.B, *self.site_shape, self.L, self.L)
        if tuple(state.shape) != want or state.dtype != self.dtype:
            raise ValueError(f"lattice is {str(state.dtype).removeprefix('torch.')} {list(state.shape)}, "
                             f"expected {str(self.dtype).removeprefix('torch.')} {list(want)}")
        if not bool(torch.isfinite(state).all()):
            raise ValueError("lattice has values that are not finite")

    def energy(self, state: torch.Tensor) -> torch.Tensor:
        """Total energy per replica, ``[B]`` (phi^4: the action S); weight exp(-E/T)."""
        raise NotImplementedError

    def measure(self, state: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-replica observables of one configuration, each ``[B]``.

        Always: ``energy`` (per site), ``m`` (signed, or |m| vector length for XY/phi^4),
        ``abs_m``, ``m2``, ``m4``. Models add their own (XY: ``mx``, ``my``, ...).
        """
        raise NotImplementedError
