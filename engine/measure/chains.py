"""Means and errors from several parallel Markov chains, and whether those chains have mixed.

A chain that is stuck (a poor proposal rejected for long stretches, an HMC step that never
lands) looks perfectly calm from the inside: its own variance and autocorrelation are small, so
the within-chain error sqrt(2 tau_int var / n) is small too, while the chains disagree with
each other and with the truth. Two checks look across chains instead:

- the error of the grand mean from the scatter of the K chain means, sqrt(var(means) / K),
  which is right whatever the autocorrelation once the chains are independent; the reported
  error is the larger of this and the within-chain one (with few chains the between-chain
  estimate is itself noisy, so neither alone is trusted to be the smaller);
- the split potential scale reduction R-hat (Gelman & Rubin, Stat. Sci. 7, 457 (1992); split
  halves as in Gelman et al., Bayesian Data Analysis, 3rd ed., ch. 11): every chain is cut in
  two halves, and sqrt(var_plus / W) compares the pooled variance with the mean within-half
  variance W. It is 1 for mixed chains and grows when halves disagree, which also catches a
  single chain that drifts (no burn-in). Chains with no variation inside give W = 0: R-hat is
  infinite if they disagree, undefined (NaN) if every value is the same.

:func:`convergence_warning` turns R-hat (and, where the sampler knows them, the accepted moves
per chain) into one line, or None when the chains pass.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from .stats import estimate, variance

#: split R-hat above this: the chains have not mixed (Gelman & Rubin's classic threshold).
RHAT_LIMIT = 1.1
#: fewer accepted moves in a chain than this: too few distinct states to estimate anything.
#: A chain that rejects with probability r has tau_int = (1 + r) / (2 (1 - r)), about steps / moves,
#: and the windowed tau_int needs a series some 50 tau_int long.
MIN_MOVES = 50


@dataclass(frozen=True)
class ChainsEstimate:
    """The grand mean of K chains, its error (the larger of the two below), both error estimates,
    the mean tau_int of the chains and the split R-hat."""

    mean: float
    error: float
    error_within: float
    error_between: float
    tau_int: float
    rhat: float

    def as_dict(self) -> dict:
        """Plain floats for JSON; non-finite values (an infinite or undefined R-hat) -> None."""
        return {k: (v if math.isfinite(v) else None) for k, v in self.__dict__.items()}


def _chains(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ParameterError("series", f"must be [n_steps, chains] with both > 0, got shape {x.shape}")
    return x


def split_rhat(x) -> float:
    """Split R-hat of ``[n_steps, chains]`` (see the module docstring); NaN below 4 steps."""
    x = _chains(x)
    half = x.shape[0] // 2
    if half < 2:
        return math.nan
    halves = np.concatenate([x[:half], x[-half:]], axis=1)
    within = variance(halves).mean()
    between = halves.mean(axis=0).var(ddof=1)  # B / n in Gelman & Rubin's notation
    pooled = (half - 1) / half * within + between
    if within == 0:
        return math.inf if between > 0 else math.nan
    return float(math.sqrt(pooled / within))


def chains_estimate(x) -> ChainsEstimate:
    """Mean of ``[n_steps, chains]`` series (one column per independent chain; ``[n]`` is one chain)
    with an error that sees both the autocorrelation inside the chains and the scatter between them."""
    x = _chains(x)
    chains = x.shape[1]
    per_chain = estimate(x)
    means, errors, taus = (np.asarray(v, dtype=np.float64) for v in
                           (per_chain.mean, per_chain.error, per_chain.tau_int))
    within = float(np.sqrt((errors ** 2).sum()) / chains)
    between = float(means.std(ddof=1) / math.sqrt(chains)) if chains > 1 else math.nan
    finite_taus = taus[np.isfinite(taus)]
    return ChainsEstimate(mean=float(means.mean()), error=float(np.fmax(within, between)), error_within=within,
                          error_between=between, tau_int=float(finite_taus.mean()) if len(finite_taus) else math.nan,
                          rhat=split_rhat(x))


def convergence_warning(rhat: Mapping[str, float], accepted: Sequence[int] | None = None) -> str | None:
    """One line saying why the chains have not converged, or None when every R-hat is at most
    :data:`RHAT_LIMIT` and every chain made at least :data:`MIN_MOVES` accepted moves.

    ``rhat`` maps observable names to R-hat (NaN: undefined, which fails: nothing varied).
    """
    reasons = []
    bad = {k: v for k, v in rhat.items() if not v <= RHAT_LIMIT}
    if bad:
        shown = ", ".join(f"{k} {'undefined' if math.isnan(v) else f'{v:.3f}'}" for k, v in bad.items())
        reasons.append(f"R-hat {shown} (> {RHAT_LIMIT})")
    if accepted is not None and len(accepted) and min(accepted) < MIN_MOVES:
        low, high = min(accepted), max(accepted)
        reasons.append(f"accepted moves per chain {low if low == high else f'{low}-{high}'} (need >= {MIN_MOVES})")
    if not reasons:
        return None
    return "chains not converged: " + "; ".join(reasons) + ": the errors are not trustworthy"
