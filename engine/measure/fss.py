"""Finite-size-scaling analysis: crossings, peaks, power laws and data collapse.

Functions act on curves sampled on a fine temperature grid (for example multi-histogram
reweighted curves, see :mod:`engine.measure.reweight`). Errors come from applying the same
function to jackknife replicas of the curves (:func:`jackknife_error`), so every estimate carries
the correlations of the data it was read from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from .linefit import line_fit


def jackknife_error(full: float, replicas: Sequence[float]) -> float:
    """Jackknife standard error from leave-one-block-out replicas of an estimate."""
    reps = np.asarray(replicas, dtype=np.float64)
    reps = reps[np.isfinite(reps)]
    n = len(reps)
    if n < 2:
        return float("nan")
    return float(np.sqrt((n - 1) / n * np.sum((reps - reps.mean()) ** 2)))


def crossing(x: np.ndarray, y1: np.ndarray, y2: np.ndarray, near: float | None = None) -> float:
    """Where y2 - y1 changes sign (linear interpolation); the sign change closest to ``near``.

    Returns NaN when the curves do not cross inside the range.
    """
    d = np.asarray(y2, dtype=np.float64) - np.asarray(y1, dtype=np.float64)
    idx = np.nonzero(np.sign(d[:-1]) * np.sign(d[1:]) < 0)[0]
    roots = np.concatenate([x[idx] - d[idx] * (x[idx + 1] - x[idx]) / (d[idx + 1] - d[idx]), x[d == 0]])
    if len(roots) == 0:
        return float("nan")
    if near is None:
        near = 0.5 * (x[0] + x[-1])
    return float(roots[np.argmin(np.abs(roots - near))])


def peak(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Position and height of the maximum, refined by a parabola through the top three points.

    (NaN, NaN) when the largest value sits at either end of the grid: the true maximum may lie
    outside the range, and the edge value would read as a peak found with no error.
    """
    i = int(np.nanargmax(y))
    if not 0 < i < len(y) - 1:
        return float("nan"), float("nan")
    y0, y1, y2 = y[i - 1], y[i], y[i + 1]
    denom = y0 - 2 * y1 + y2
    if denom < 0:
        shift = 0.5 * (y0 - y2) / denom
        h = x[i + 1] - x[i]
        return float(x[i] + shift * h), float(y1 - 0.25 * (y0 - y2) * shift)
    return float(x[i]), float(y[i])


@dataclass
class PowerLaw:
    """y = amplitude * L**exponent, fitted in log space."""

    exponent: float
    exponent_error: float
    amplitude: float


def power_law(L: Sequence[float], y: Sequence[float], yerr: Sequence[float] | None = None) -> PowerLaw:
    """Weighted least squares of ln y against ln L (errors of ln y: the relative errors of y), through the
    one line fit (:func:`engine.measure.linefit.line_fit`: a misfit widens the error, never narrows it).
    Without errors the exponent's error is NaN: the callers jackknife it."""
    lx, ly = np.log(np.asarray(L, float)), np.log(np.asarray(y, float))
    sigma = None if yerr is None else np.maximum(np.asarray(yerr, float) / np.asarray(y, float), 1e-12)
    fit = line_fit(lx, ly, sigma)
    return PowerLaw(fit.slope, fit.slope_error if yerr is not None else float("nan"), float(np.exp(fit.intercept)))


Data = Sequence[tuple[float, np.ndarray, np.ndarray, np.ndarray]]


def _scaled(data: Data, tc: float, nu: float, exponent: float) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    out = []
    for L, T, y, err in data:
        f = L ** (-exponent)
        out.append(((np.asarray(T) - tc) * L ** (1.0 / nu), np.asarray(y) * f, np.asarray(err) * f))
    return out


def collapse_quality(points: Data, tc: float, nu: float, exponent: float, curves: Data | None = None) -> float:
    """Houdayer-Hartmann quality S of a data collapse (about 1 for a good collapse).

    ``points`` holds (L, T, y, yerr) per size: independent measurements. Scaled, x = (T - tc)
    L^(1/nu) and Y = y L^(-exponent); every point of one size is compared with the other sizes'
    data interpolated at its x, in units of the combined error. ``curves`` (same layout, on a
    fine grid, e.g. reweighted) are what is interpolated when given; else the points are.
    J. Houdayer and A. K. Hartmann, Phys. Rev. B 70, 014418 (2004).
    """
    scaled_points = _scaled(points, tc, nu, exponent)
    scaled_curves = scaled_points if curves is None else _scaled(curves, tc, nu, exponent)
    total, count = 0.0, 0
    for i, (xi, yi, ei) in enumerate(scaled_points):
        for j, (xj, yj, ej) in enumerate(scaled_curves):
            if i == j:
                continue
            inside = (xi >= xj.min()) & (xi <= xj.max())
            if not inside.any():
                continue
            yj_at = np.interp(xi[inside], xj, yj)
            ej_at = np.interp(xi[inside], xj, ej)
            var = ei[inside] ** 2 + ej_at ** 2
            total += float(np.sum((yi[inside] - yj_at) ** 2 / np.maximum(var, 1e-300)))
            count += int(inside.sum())
    return total / count if count else float("inf")


@dataclass
class Collapse:
    """Best-collapse parameters with errors (width of the quality minimum where S rises by 1)."""

    tc: float
    nu: float
    exponent: float
    errors: tuple[float, float, float]
    quality: float


def best_collapse(points: Data, start: tuple[float, float, float], fix_exponent: bool = False,
                  curves: Data | None = None) -> Collapse:
    """Minimise :func:`collapse_quality` over (tc, nu, exponent) from ``start``.

    The error of each parameter is where S, scanned along that parameter with the others at their
    optimum, rises by one above its minimum (the Houdayer-Hartmann prescription).
    """
    free = [0, 1] if fix_exponent else [0, 1, 2]
    t_lo = max(float(np.min(T)) for _, T, _, _ in points)
    t_hi = min(float(np.max(T)) for _, T, _, _ in points)

    def quality(p_free: np.ndarray) -> float:
        p = np.array(start, dtype=float)
        p[free] = p_free
        if not (t_lo <= p[0] <= t_hi and 0.2 <= p[1] <= 5.0):
            return 1e12  # keep Tc inside the data and nu physical: the minimum is meaningless outside
        return collapse_quality(points, *p, curves=curves)

    res = minimize(quality, np.array(start, float)[free], method="Nelder-Mead",
                   options={"xatol": 1e-5, "fatol": 1e-6, "maxiter": 4000})
    best = np.array(start, dtype=float)
    best[free] = res.x
    s_min = float(res.fun)
    errors = [0.0, 0.0, 0.0]
    for k in free:
        errors[k] = _rise_width(lambda v, k=k: collapse_quality(points, *_with(best, k, v), curves=curves),
                                best[k], s_min)
    return Collapse(float(best[0]), float(best[1]), float(best[2]), tuple(errors), s_min)


def _with(p: np.ndarray, k: int, v: float) -> np.ndarray:
    q = p.copy()
    q[k] = v
    return q


def _rise_width(f: Callable[[float], float], x0: float, f0: float) -> float:
    """Half the distance between the points on either side of x0 where f = f0 + 1."""
    def edge(direction: float) -> float:
        step = max(abs(x0) * 1e-3, 1e-4)
        lo, hi = 0.0, step
        while f(x0 + direction * hi) < f0 + 1 and hi < max(abs(x0), 1.0):
            lo, hi = hi, 2 * hi
        for _ in range(30):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if f(x0 + direction * mid) < f0 + 1 else (lo, mid)
        return 0.5 * (lo + hi)

    return 0.5 * (edge(+1) + edge(-1))
