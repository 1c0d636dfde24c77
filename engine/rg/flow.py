"""RG trajectories in coupling space and the separatrix between the two trivial fixed points.

A trajectory is the sequence of pseudo-likelihood couplings K^(0), K^(1), ... of one chain's
blocking levels. Started below Kc it runs to the high-temperature fixed point K = 0, above Kc
to the low-temperature one K = infinity; the critical surface between them is the separatrix.
Near it a deviation grows like b^(y_t n), so the sign of the last blocking step's change in
the coupling strength (:attr:`Trajectory.strength`) tells the two basins apart, and where that
change crosses zero along a fan of starting temperatures estimates Kc.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import ParameterError
from ..progress import Progress
from .operators import operators
from .pseudolikelihood import CouplingFit, cross_cov, fit_levels, jsonable

#: The trivial fixed points every Ising trajectory ends in (K_nn values).
TRIVIAL_FIXED_POINTS = ({"K_nn": 0.0, "name": "high temperature (disordered) sink"},
                        {"K_nn": math.inf, "name": "low temperature (ordered) sink"})


@dataclass
class Trajectory:
    """One starting temperature's couplings at each blocking level."""

    T: float
    K0: float  # J / T, the starting nearest-neighbour coupling
    fits: list[CouplingFit]

    @property
    def names(self) -> tuple[str, ...]:
        return self.fits[0].names

    @property
    def K(self) -> np.ndarray:
        """Couplings ``[n_levels, n_ops]``."""
        return np.stack([f.K for f in self.fits])

    @property
    def stderr(self) -> np.ndarray:
        return np.stack([f.stderr for f in self.fits])

    @property
    def weights(self) -> np.ndarray:
        """w_a = products per site of each even operator (0 for odd ones): strength = w . K."""
        return np.array([0.0 if op.odd else float(len(op.shapes)) for op in operators(self.names)])

    @property
    def strength(self) -> np.ndarray:
        """sum_a w_a K_a per level: minus the reduced energy per site of the aligned state.

        One number for how strongly a truncated Hamiltonian orders: 0 at the high-temperature
        sink, infinite at the low-temperature one. Unlike K_nn alone it does not drop when
        blocking shifts weight from K_nn into K_nnn, so its change tells the basins apart.
        """
        return self.K @ self.weights

    @property
    def strength_err(self) -> np.ndarray:
        w = self.weights
        return np.array([math.sqrt(max(w @ f.cov @ w, 0.0)) if f.converged else math.nan for f in self.fits])

    def last_step(self) -> tuple[float, float]:
        """Change of the strength over the last blocking step, and its error (levels are correlated).

        When the last level's couplings are unidentifiable (its blocked lattices are all aligned,
        K effectively infinite) the change is +inf with error 0.
        """
        if len(self.fits) < 2:
            raise ParameterError("levels", "a flow direction needs at least one blocking step")
        a, b = self.fits[-2], self.fits[-1]
        w = self.weights
        if not np.all(np.isfinite(b.K)):
            return math.inf, 0.0
        x = cross_cov(a, b)
        var = w @ (a.cov + b.cov - x - x.T) @ w
        return float(w @ (b.K - a.K)), math.sqrt(max(var, 0.0))

    @property
    def fate(self) -> str:
        """Which fixed point the flow heads for: 'K -> 0', 'K -> inf', or 'undecided' within 2 sigma."""
        d, err = self.last_step()
        if abs(d) < 2 * err:
            return "undecided"
        return "K -> inf" if d > 0 else "K -> 0"

    def to_dict(self) -> dict:
        d, err = self.last_step()
        return {"T": self.T, "K0": self.K0, "names": list(self.names), "K": jsonable(self.K),
                "stderr": jsonable(self.stderr), "strength": jsonable(self.strength),
                "strength_err": jsonable(self.strength_err),
                "last_step": {"mean": jsonable(d), "error": err},
                "fate": self.fate, "converged": [f.converged for f in self.fits]}


def trajectory(levels: Sequence[torch.Tensor], T: float, ops: Sequence[str], *, J: float = 1.0,
               n_blocks: int = 20, progress: Progress | None = None) -> Trajectory:
    """Fit the couplings of every blocking level of one chain (``levels[n]`` ``[N, L_n, L_n]``)."""
    return Trajectory(float(T), float(J) / float(T), fit_levels(levels, ops, n_blocks=n_blocks, progress=progress))


@dataclass
class Separatrix:
    """Kc where the flow switches basin, with its error, and the bracketing starting couplings."""

    Kc: float
    error: float
    bracket: tuple[float, float]

    def to_dict(self) -> dict:
        return {"mean": self.Kc, "error": self.error, "bracket": list(self.bracket)}


def separatrix(trajectories: Sequence[Trajectory]) -> Separatrix:
    """Interpolate the zero of the strength's last step between the starting couplings that bracket it.

    Trajectories come from independent chains, so the error propagates their errors independently.
    Raises when the fan does not straddle the separatrix.
    """
    pts = sorted((t.K0, *t.last_step()) for t in trajectories)
    for (k1, d1, e1), (k2, d2, e2) in zip(pts, pts[1:]):
        if d1 < 0 <= d2:
            if math.isinf(d2):  # the ordered side saturated: only the bracket is known
                return Separatrix((k1 + k2) / 2, (k2 - k1) / 2, (k1, k2))
            kc = (k1 * d2 - k2 * d1) / (d2 - d1)
            dk = k2 - k1
            err = math.hypot(d2 * dk * e1, d1 * dk * e2) / (d2 - d1) ** 2
            return Separatrix(kc, err, (k1, k2))
    raise ParameterError("T", "the starting temperatures do not straddle the separatrix: every trajectory "
                         "flows the same way; add temperatures on both sides of Tc")
