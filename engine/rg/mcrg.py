"""Swendsen's Monte Carlo renormalization group: RG eigenvalues from blocked-operator correlations.

With the weight exp(sum_a K_a^(n) S_a^(n)) at blocking level n, the chain rule gives

    d<S_a^(n+1)>/dK_b^(n) = sum_c d<S_a^(n+1)>/dK_c^(n+1) * dK_c^(n+1)/dK_b^(n),

and both derivatives are connected correlations measured in one simulation:
B_ab = <S_a^(n+1) S_b^(n)>_c and A_ac = <S_a^(n+1) S_c^(n+1)>_c. So the linearised RG map
T^(n) = dK^(n+1)/dK^(n) = A^-1 B, and its leading eigenvalue lambda gives the exponent
y = ln lambda / ln b. At h = 0 the even (thermal) and odd (magnetic) operators do not mix,
so y_t comes from the even block and y_h from the odd block. Operators must be extensive
sums (not densities) for T to be the derivative of the couplings.

Errors: jackknife over runs of consecutive samples, from per-run moment sums, so each
leave-one-out estimate costs only a few small eigenproblems.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import ParameterError
from ..names import MCRG_EVEN, MCRG_ODD
from .operators import operator_values, operators
from .pseudolikelihood import jsonable, sample_blocks

# Default operators (engine.names): the even ones give y_t, the odd ones y_h (order = order of truncation).


def level_values(levels: Sequence[torch.Tensor], names: Sequence[str] = MCRG_EVEN + MCRG_ODD) -> np.ndarray:
    """Operator values of every blocking level: ``levels[n]`` ``[N, L_n, L_n]`` -> ``[N, n_levels, n_ops]``."""
    ops = operators(names)
    return np.stack([operator_values(x, ops).cpu().numpy() for x in levels], axis=1)


@dataclass
class SectorExponents:
    """y from the first m operators of a sector (m = 1..n), for each step n -> n+1."""

    names: tuple[str, ...]
    y: np.ndarray  # [n_steps, n_ops]: y[n, m-1] from level n -> n+1 with m operators
    error: np.ndarray  # jackknife errors, same shape
    eigenvalues: list[np.ndarray]  # all eigenvalues with every operator, per step (sorted by |.|, largest first)

    def to_dict(self) -> dict:
        return {"operators": list(self.names), "y": jsonable(self.y), "error": jsonable(self.error),
                "eigenvalues": [jsonable(np.real(ev)) for ev in self.eigenvalues]}


@dataclass
class MCRGResult:
    """Thermal (even) and magnetic (odd) exponents per blocking step and truncation."""

    b: int
    n_samples: int
    even: SectorExponents | None
    odd: SectorExponents | None

    def exponent(self, sector: str, step: int = -1, n_ops: int | None = None) -> tuple[float, float]:
        """(mean, error) of y_t (``sector='even'``) or y_h (``'odd'``) at one step and truncation."""
        s = self.even if sector == "even" else self.odd
        if s is None:
            raise ParameterError("operators", f"no {sector} operators were measured")
        m = len(s.names) if n_ops is None else n_ops
        if not 1 <= m <= len(s.names):
            raise ParameterError("n_ops", f"must be in 1..{len(s.names)}, got {m}")
        return float(s.y[step, m - 1]), float(s.error[step, m - 1])

    def to_dict(self) -> dict:
        return {"b": self.b, "n_samples": self.n_samples,
                "even": self.even.to_dict() if self.even else None,
                "odd": self.odd.to_dict() if self.odd else None}


def _leading_y(cov: np.ndarray, nxt: np.ndarray, cur: np.ndarray, b: int) -> tuple[float, np.ndarray]:
    """y from the covariance matrix of stacked (level, operator) values: T = A^-1 B."""
    A = cov[np.ix_(nxt, nxt)]
    B = cov[np.ix_(nxt, cur)]
    ev = np.linalg.eigvals(np.linalg.solve(A, B))
    ev = ev[np.argsort(-np.abs(ev))]
    lam = ev[0].real
    y = math.log(lam) / math.log(b) if lam > 0 else math.nan
    return y, ev


def _covariances(x: np.ndarray, n_blocks: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """The covariance of the columns of x, and its leave-one-block-out versions."""
    x = x - x.mean(0)
    blocks = sample_blocks(len(x), n_blocks)
    n_k = np.bincount(blocks).astype(float)
    s1 = np.stack([x[blocks == k].sum(0) for k in range(len(n_k))])
    s2 = np.stack([x[blocks == k].T @ x[blocks == k] for k in range(len(n_k))])

    def cov(n, t1, t2):
        mean = t1 / n
        return t2 / n - np.outer(mean, mean)

    full = cov(len(x), s1.sum(0), s2.sum(0))
    return full, [cov(len(x) - n_k[k], s1.sum(0) - s1[k], s2.sum(0) - s2[k]) for k in range(len(n_k))]


def mcrg_exponents(values: np.ndarray, names: Sequence[str], b: int, *, n_blocks: int = 20) -> MCRGResult:
    """RG exponents from operator values ``[N, n_levels, n_ops]`` (see :func:`level_values`).

    ``names`` label the operators (from :data:`engine.rg.operators.OPERATORS`); each sector uses
    its operators in the order given, truncated to the first 1, 2, ... of them.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 3 or values.shape[1] < 2:
        raise ParameterError("levels", "MCRG needs at least one blocking step (values [N, >=2 levels, n_ops])")
    N, n_levels, n_ops = values.shape
    ops = operators(names)
    if len(ops) != n_ops:
        raise ParameterError("operators", f"{len(ops)} names for {n_ops} measured operators")
    full, loo = _covariances(values.reshape(N, -1), n_blocks)
    K = len(loo)

    def sector(odd: bool) -> SectorExponents | None:
        idx = [i for i, op in enumerate(ops) if op.odd == odd]
        if not idx:
            return None
        y = np.empty((n_levels - 1, len(idx)))
        err = np.empty_like(y)
        eigenvalues = []
        for n in range(n_levels - 1):
            for m in range(1, len(idx) + 1):
                cur = np.array([n * n_ops + i for i in idx[:m]])
                nxt = cur + n_ops
                y[n, m - 1], ev = _leading_y(full, nxt, cur, b)
                reps = np.array([_leading_y(c, nxt, cur, b)[0] for c in loo])
                err[n, m - 1] = math.sqrt((K - 1) / K * np.sum((reps - reps.mean()) ** 2))
            eigenvalues.append(ev)
        return SectorExponents(tuple(ops[i].name for i in idx), y, err, eigenvalues)

    return MCRGResult(b, N, sector(False), sector(True))


def default_mcrg_operators(n_even: int = len(MCRG_EVEN), n_odd: int = len(MCRG_ODD)) -> tuple[str, ...]:
    """The first ``n_even`` even and ``n_odd`` odd operators of the default MCRG set."""
    for name, n, pool in (("n_even", n_even, MCRG_EVEN), ("n_odd", n_odd, MCRG_ODD)):
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= len(pool):
            raise ParameterError(name, f"must be an integer in 0..{len(pool)}, got {n!r}")
    if n_even + n_odd == 0:
        raise ParameterError("n_even", "needs at least one operator")
    return MCRG_EVEN[:n_even] + MCRG_ODD[:n_odd]

