"""One weighted straight-line fit, for every estimate read off a line (ln G against r or ln r, ...).

Weighted least squares of y = a + b x with weights 1/sigma^2. The covariance of (a, b) is the
inverse of the normal matrix, scaled by chi^2/dof when that is above 1: a line that misfits its
error bars gets wider errors, a line that fits better than its errors never gets narrower ones
(the Birge-ratio convention of the Particle Data Group). Without ``sigma`` every point weighs
the same and the scale is chi^2/dof itself: the scatter about the line is then the only
estimate of the points' errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class LineFit:
    """y = intercept + slope x: the coefficients, their covariance, chi^2 and the weighted R^2."""

    intercept: float
    slope: float
    cov: np.ndarray  # [2, 2] covariance of (intercept, slope), scaled as the module docstring says
    chi2: float  # sum of squared weighted residuals
    dof: int  # points - 2
    r2: float  # weighted coefficient of determination
    residuals: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))  # y - line

    @property
    def slope_error(self) -> float:
        return float(np.sqrt(self.cov[1, 1]))

    @property
    def intercept_error(self) -> float:
        return float(np.sqrt(self.cov[0, 0]))

    def __call__(self, x) -> np.ndarray:
        return self.intercept + self.slope * np.asarray(x, float)


def line_fit(x, y, sigma=None) -> LineFit:
    """Weighted least-squares line through (x, y) with errors ``sigma`` of y (None: unit weights).

    Raises ValueError for fewer than two points or when every x is the same (no slope exists).
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 2 or not np.ptp(x) > 0:
        raise ValueError(f"a line needs at least two distinct x, got {len(x)} point(s) at {np.unique(x)[:3]}")
    w = np.ones_like(x) if sigma is None else 1.0 / np.asarray(sigma, float) ** 2
    A = np.stack([np.ones_like(x), x], axis=1)
    cov = np.linalg.inv(A.T @ (w[:, None] * A))
    a, b = cov @ (A.T @ (w * y))
    resid = y - (a + b * x)
    chi2 = float(np.sum(w * resid**2))
    dof = len(x) - 2
    ratio = chi2 / max(dof, 1)
    cov = cov * (ratio if sigma is None else max(ratio, 1.0))
    ybar = np.sum(w * y) / np.sum(w)
    total = float(np.sum(w * (y - ybar) ** 2))
    r2 = 1.0 - chi2 / total if total > 0 else float("nan")
    return LineFit(float(a), float(b), cov, chi2, dof, r2, resid)
