"""Ising lattice operators S_a = sum_i sum_shapes prod_{d in shape} s_{i+d} on an L x L torus.

One description (a list of spin "shapes", each a tuple of site offsets) gives both what MCRG
needs (the operator's value per configuration) and what the pseudo-likelihood needs (the
local field g_a(i) = dS_a/ds_i, which is exact because s_i appears at most once in a product).
The Hamiltonian convention throughout ``engine.rg`` is the weight exp(sum_a K_a S_a), so an
Ising model E = -J sum_<ij> s_i s_j - h sum_i s_i at temperature T has K_nn = J/T, K_h = h/T.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..errors import ParameterError
from ..names import RG_COUPLINGS

#: Sites processed per chunk: small enough to stay in cache, large enough to amortise overheads.
CHUNK_SITES = 1 << 18

Offset = tuple[int, int]
Shape = tuple[Offset, ...]


def shifted(s: torch.Tensor, d: Offset) -> torch.Tensor:
    """The field s_{i+d} at every site i (periodic), on the last two dimensions."""
    if d == (0, 0):
        return s
    return s.roll(shifts=(-d[0], -d[1]), dims=(-2, -1))


def _product(s: torch.Tensor, offsets: Sequence[Offset]) -> torch.Tensor:
    out = shifted(s, offsets[0])
    for d in offsets[1:]:
        out = out * shifted(s, d)
    return out


@dataclass(frozen=True)
class Operator:
    """A sum of spin products over all translates of some shapes."""

    name: str
    shapes: tuple[Shape, ...]
    description: str = ""

    @property
    def odd(self) -> bool:
        """True when the operator flips sign under s -> -s (magnetic sector)."""
        return len(self.shapes[0]) % 2 == 1

    @property
    def max_local(self) -> int:
        """How many products contain a given site: the bound |g_a(i)| <= max_local."""
        return sum(len(shape) for shape in self.shapes)

    def density(self, s: torch.Tensor) -> torch.Tensor:
        """Per-site sum of the products anchored at each site, ``[..., L, L]``."""
        return sum(_product(s, shape) for shape in self.shapes)

    def value(self, s: torch.Tensor) -> torch.Tensor:
        """S_a per configuration: ``[..., L, L] -> [...]``."""
        return self.density(s).sum(dim=(-2, -1))

    def local_field(self, s: torch.Tensor) -> torch.Tensor:
        """g_a(i) = dS_a/ds_i at every site, ``[..., L, L]``: the products containing i, without s_i."""
        terms = []
        for shape in self.shapes:
            for k, d in enumerate(shape):
                others = [(e[0] - d[0], e[1] - d[1]) for j, e in enumerate(shape) if j != k]
                terms.append(_product(s, others) if others else torch.ones_like(s))
        return sum(terms)

    def min_size(self) -> int:
        """Smallest torus on which every shape's sites stay distinct (so S_a is linear in each s_i)."""
        return 1 + max(abs(a[i] - c[i]) for shape in self.shapes for a in shape for c in shape for i in (0, 1))


#: The operator library, by name; each lists all orientations of its shape so that it is
#: invariant under the square lattice's rotations and reflections.
OPERATORS: dict[str, Operator] = {op.name: op for op in (
    Operator("nn", (((0, 0), (1, 0)), ((0, 0), (0, 1))), "nearest-neighbour pairs"),
    Operator("nnn", (((0, 0), (1, 1)), ((0, 0), (1, -1))), "diagonal (next-nearest) pairs"),
    Operator("plaq", (((0, 0), (1, 0), (0, 1), (1, 1)),), "4-spin plaquettes"),
    Operator("d2", (((0, 0), (2, 0)), ((0, 0), (0, 2))), "pairs at distance 2 along an axis"),
    Operator("knight", (((0, 0), (1, 2)), ((0, 0), (2, 1)), ((0, 0), (1, -2)), ((0, 0), (2, -1))),
             "pairs at distance sqrt 5"),
    Operator("field", (((0, 0),),), "magnetisation: the sum of s_i"),
    Operator("tri", (((0, 0), (1, 0), (0, 1)), ((0, 0), (1, 0), (1, 1)),
                     ((0, 0), (0, 1), (1, 1)), ((1, 0), (0, 1), (1, 1))),
             "3-spin products on the corners of a plaquette"),
    Operator("line3", (((-1, 0), (0, 0), (1, 0)), ((0, -1), (0, 0), (0, 1))),
             "3-spin products along a line"),
)}

#: The truncated Hamiltonian fitted by default (the field is added when h != 0).
DEFAULT_COUPLINGS = RG_COUPLINGS


def operators(names: Sequence[str | Operator]) -> list[Operator]:
    """Operators by name (or already built), validated."""
    if isinstance(names, str):
        names = [names]
    out = []
    for n in names:
        if isinstance(n, Operator):
            out.append(n)
        elif n in OPERATORS:
            out.append(OPERATORS[n])
        else:
            raise ParameterError("operators", f"unknown operator {n!r}; allowed: {', '.join(OPERATORS)}")
    if not out:
        raise ParameterError("operators", "needs at least one operator")
    if len({op.name for op in out}) != len(out):
        raise ParameterError("operators", "names must not repeat")
    return out


def check_size(ops: Sequence[Operator], L: int) -> None:
    """Raise when a lattice is too small for an operator's shapes to stay distinct."""
    need = max(op.min_size() for op in ops)
    if L < need:
        raise ParameterError("levels", f"a blocked lattice of size {L} is too small for the operators "
                             f"({', '.join(op.name for op in ops)}); they need L >= {need}")


def operator_values(s: torch.Tensor, ops: Sequence[Operator]) -> torch.Tensor:
    """All operator values per configuration, ``[..., L, L] -> [..., n_ops]`` in float64.

    Works in float32 on chunks of configurations (cache-sized; products of spins and their sums
    are small integers, exact in float32) and returns float64 for the covariances downstream.
    """
    L = s.shape[-1]
    check_size(ops, L)
    flat = s.reshape(-1, L, L)
    chunk = max(1, CHUNK_SITES // (L * L))
    out = [torch.stack([op.value(x.to(torch.float32)) for op in ops], dim=-1)
           for x in flat.split(chunk)]
    return torch.cat(out).to(torch.float64).reshape(*s.shape[:-2], len(ops))
