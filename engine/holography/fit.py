"""Fits of bulk correlation against distance, with block-jackknife errors.

The model is an exponential decay of the squared correlation q of a pair class (see
:mod:`.estimators`), q = B exp(-2 d / xi), i.e. |rho| = exp((d0 - d) / xi) with d0 = xi ln(B) / 2,
so that d_ij = d0 - xi ln|rho_ij| reads a distance off a correlation. It is fitted by weighted least
squares in q itself, not in ln q: classes whose average is consistent with zero (or slightly negative
after bias correction) enter with their error instead of being cut away or sending ln|q| to minus
infinity. For a fixed decay rate the amplitude is linear, so the fit profiles it out and searches the rate
on a grid, then refines it.

A rate <= 0 (a correlation that grows or stays flat with distance) or a non-positive amplitude is
reported as "no decay", never as a negative xi or a negative inferred distance. Errors are block
jackknife: the fit is repeated on each leave-one-block-out set of class averages with the same weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize_scalar


def jackknife_error(replicas: np.ndarray) -> float:
    """Standard error from leave-one-block-out values (infinite if any is not finite)."""
    replicas = np.asarray(replicas, dtype=np.float64)
    if not np.all(np.isfinite(replicas)):
        return float("inf")
    n = len(replicas)
    return float(np.sqrt((n - 1) / n * np.sum((replicas - replicas.mean()) ** 2)))


@dataclass
class _Decay:
    rate: float  # kappa in q = B exp(-kappa d)
    amplitude: float  # B
    r2: float
    chi2: float


def _fit_decay(d: np.ndarray, y: np.ndarray, w: np.ndarray) -> _Decay:
    """Weighted least squares of y = B exp(-kappa d) over kappa (grid, then bounded refinement)."""
    d0 = d.min()
    x = d - d0  # amplitudes at the nearest class keep exp() in range
    span = max(float(x.max()), 1e-12)
    grid = np.linspace(-10.0 / span, 60.0 / span, 351)

    def profile(kappa: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        f = np.exp(-np.multiply.outer(kappa, x))
        amp = (f * w * y).sum(-1) / (f * f * w).sum(-1)
        return amp, (w * (y - amp[..., None] * f) ** 2).sum(-1)

    _, chi2 = profile(grid)
    k = int(np.argmin(chi2))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    kappa = float(minimize_scalar(lambda t: float(profile(np.array(t))[1]), bounds=(lo, hi), method="bounded",
                                  options={"xatol": 1e-10 / span}).x)
    amp, chi2 = (float(v) for v in profile(np.array(kappa)))
    ybar = np.sum(w * y) / np.sum(w)
    total = float(np.sum(w * (y - ybar) ** 2))
    return _Decay(kappa, amp * np.exp(kappa * d0), 1.0 - chi2 / total if total > 0 else float("nan"), chi2)


def log_q(y: np.ndarray) -> np.ndarray:
    """ln y with 0 read as 1e-300 (a class of exactly uncorrelated pairs)."""
    return np.log(np.maximum(y, 1e-300))


def _fit_line(d: np.ndarray, y: np.ndarray, w: np.ndarray) -> _Decay:
    """Weighted least squares of ln y = ln B - kappa d: the same decay fitted in log space (R^2 there too).

    For class values without noise (the saddle point), which are positive and span many decades.
    """
    ly = log_q(y)
    W = np.sum(w)
    dm, ym = np.sum(w * d) / W, np.sum(w * ly) / W
    kappa = -float(np.sum(w * (d - dm) * (ly - ym)) / np.sum(w * (d - dm) ** 2))
    log_b = ym + kappa * dm
    chi2 = float(np.sum(w * (ly - log_b + kappa * d) ** 2))
    total = float(np.sum(w * (ly - ym) ** 2))
    return _Decay(kappa, float(np.exp(log_b)), 1.0 - chi2 / total if total > 0 else float("nan"), chi2)


@dataclass
class DecayFit:
    """q = B exp(-2 d / xi) on ``classes`` pair classes (``pairs`` pairs); None errors for exact data."""

    decays: bool
    xi: float | None
    xi_error: float | None
    d0: float | None
    d0_error: float | None
    r2: float
    r2_error: float | None
    chi2_per_dof: float | None
    classes: int
    pairs: int
    r2_replicas: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    xi_replicas: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    def to_json(self) -> dict:
        doc = {"result": "decay" if self.decays else "no decay", "xi": self.xi, "xi_error": self.xi_error,
               "d0": self.d0, "d0_error": self.d0_error, "r2": self.r2, "r2_error": self.r2_error,
               "chi2_per_dof": self.chi2_per_dof, "classes": self.classes, "pairs": self.pairs}
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in doc.items()}

    def curve(self, d: np.ndarray) -> np.ndarray:
        """The fitted q at distances ``d`` (zeros when there is no decay)."""
        if not self.decays:
            return np.zeros_like(np.asarray(d, float))
        return np.exp(2.0 * (self.d0 - np.asarray(d, float)) / self.xi)


def _decay_params(fit: _Decay) -> tuple[float, float] | None:
    """(xi, d0) of a decaying fit, None for no decay."""
    if not (fit.rate > 0 and fit.amplitude > 0):
        return None
    return 2.0 / fit.rate, float(np.log(fit.amplitude) / fit.rate)


def class_weights(replicas: np.ndarray) -> np.ndarray:
    """1 / error^2 of each class from its leave-one-block-out averages ``[B, K]`` (a floor keeps an
    error of zero, a class with one distinct value, from taking all the weight)."""
    err = np.array([jackknife_error(r) for r in replicas.T])
    floor = np.median(err[err > 0]) * 1e-3 if np.any(err > 0) else 1.0
    return 1.0 / np.maximum(err, floor) ** 2


def extrapolate_decay(d: np.ndarray, y: np.ndarray, w: np.ndarray, d_new: np.ndarray, log: bool = False) -> np.ndarray:
    """q at ``d_new`` from the decay fitted to (d, y) with weights w (zeros where it does not decay)."""
    params = _decay_params((_fit_line if log else _fit_decay)(d, y, w))
    return np.zeros(len(d_new)) if params is None else np.exp(2.0 * (params[1] - d_new) / params[0])


def fit_decay(d: np.ndarray, y: np.ndarray, counts: np.ndarray, replicas: np.ndarray | None = None,
              log: bool = False) -> DecayFit:
    """Fit class averages ``y`` ``[K]`` at distances ``d`` (``counts`` pairs each).

    ``replicas`` ``[B, K]``: leave-one-block-out class averages. Their spread gives the class errors
    (the weights) and the jackknife errors of every fitted number; without them (an exact covariance)
    the classes weigh equally and the errors are None. ``log``: fit ln y, every class weighing equally,
    the replicas giving only the errors (no chi^2 then: the weights are not errors).
    """
    d, y = np.asarray(d, float), np.asarray(y, float)
    if len(d) < 3 or not np.ptp(d) > 0:
        raise ValueError(f"{len(d)} pair classes at {len(np.unique(d))} distances: a decay cannot be fitted")
    w = np.ones_like(y) if replicas is None or log else class_weights(replicas)
    fitter = _fit_line if log else _fit_decay
    main = fitter(d, y, w)
    params = _decay_params(main)
    pairs = int(np.sum(counts))
    dof = len(d) - 2
    chi2 = main.chi2 / dof if replicas is not None and not log and dof > 0 else None
    if replicas is None:
        xi, d0 = params if params else (None, None)
        return DecayFit(params is not None, xi, None, d0, None, main.r2, None, chi2, len(d), pairs)
    fits = [fitter(d, r, w) for r in replicas]
    r2_rep = np.array([f.r2 for f in fits])
    if params is None:
        return DecayFit(False, None, None, None, None, main.r2, jackknife_error(r2_rep), chi2, len(d), pairs, r2_rep)
    rep = [_decay_params(f) or (np.inf, np.inf) for f in fits]
    xi_rep, d0_rep = np.array([p[0] for p in rep]), np.array([p[1] for p in rep])
    return DecayFit(True, params[0], jackknife_error(xi_rep), params[1], jackknife_error(d0_rep), main.r2,
                    jackknife_error(r2_rep), chi2, len(d), pairs, r2_rep, xi_rep)
