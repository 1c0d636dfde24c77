"""The two-point function G(r) of snapshot lattices, averaged over frames, with xi and eta fitted.

Away from Tc, G(r) decays as exp(-r / xi): a straight line on lin-log axes. At Tc it is a power
law r^(-eta) (eta = 1/4 for 2D Ising): a straight line on log-log axes. Both lines are fitted
(:func:`engine.measure.linefit.line_fit`) with their rms residuals, so which form describes the
data, and how it changes through Tc, can be read off.

:class:`CorrelationAverage` averages G(r) over the frames seen since the model, the size or the
parameters last changed: one FFT of one L x L lattice per frame, along the lattice axes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..measure.correlation import angles_to_vectors, axial_average, correlation_function
from ..measure.linefit import line_fit


def lattice_correlation(lattice: np.ndarray, model: str, connected: bool = False) -> np.ndarray:
    """G(r) for r = 0 .. L/2 along the lattice axes of one snapshot lattice (numpy in, numpy out).

    Ising ``[L, L]`` spins; XY ``[L, L]`` angles (G = <cos(theta_0 - theta_r)>); phi^4 ``[2, L, L]``.
    """
    field = torch.from_numpy(np.asarray(lattice, dtype=np.float64))[None]
    if model == "xy":
        field = angles_to_vectors(field)
    return axial_average(correlation_function(field, connected=connected))[0].numpy()


@dataclass
class Fit:
    """A straight-line fit of ln G: the parameter (xi or eta), its error and the rms residual."""

    value: float
    error: float
    rms: float
    intercept: float


def fit_window(L: int) -> tuple[int, int]:
    """Distances used by the fits: from 1 to L/4, short of the torus image at L/2."""
    return 1, max(3, L // 4)


def fit_exponential(r: np.ndarray, G: np.ndarray, err: np.ndarray, L: int) -> Fit | None:
    """ln G = a - r / xi (see :func:`_log_line_fit` for the points used)."""
    return _log_line_fit(r, G, err, L, np.asarray(r, float), lambda slope: -1.0 / slope)


def fit_power_law(r: np.ndarray, G: np.ndarray, err: np.ndarray, L: int) -> Fit | None:
    """ln G = a - eta ln r (see :func:`_log_line_fit` for the points used)."""
    return _log_line_fit(r, G, err, L, np.log(np.maximum(r, 1e-300)), lambda slope: -slope)


def _log_line_fit(r, G, err, L, x, param) -> Fit | None:
    """Weighted straight-line fit of ln G against ``x`` over the fit window.

    Only the distances from the window's start up to the first G that is not significantly
    positive (G <= 2 err) are used: beyond it ln G is noise, which would dominate the fit.
    Without errors (one frame, or G exactly constant) the points weigh the same.
    """
    lo, hi = fit_window(L)
    significant = (G > 0) & (G > 2 * err)
    keep = (r >= lo) & (r <= hi)
    bad = np.nonzero(keep & ~significant)[0]
    if len(bad):
        keep &= np.arange(len(r)) < bad[0]
    if keep.sum() < 3:
        return None
    sigma = err[keep] / G[keep] if np.all(err[keep] > 0) else None  # the error of ln G
    fit = line_fit(x[keep], np.log(G[keep]), sigma)
    if fit.slope >= 0:
        return None  # not decaying: no length or exponent to read off
    value = param(fit.slope)
    error = abs(value) * fit.slope_error / abs(fit.slope)  # |d param / d slope| sigma_slope for both forms
    rms = float(np.sqrt(np.mean(fit.residuals**2)))
    return Fit(float(value), float(error), rms, fit.intercept)


@dataclass
class CorrelationResult:
    """Mean G(r) with its error over ``frames`` frames of an L x L lattice, and both fits."""

    r: np.ndarray
    G: np.ndarray
    error: np.ndarray
    frames: int
    L: int
    exponential: Fit | None
    power_law: Fit | None


class CorrelationAverage:
    """G(r) summed over frames; a frame of another model, shape or parameters starts a new average."""

    def __init__(self):
        self.clear()
        self._key = None

    def clear(self) -> None:
        """Forget the accumulated frames."""
        self._sum: np.ndarray | None = None
        self._sum2: np.ndarray | None = None
        self.frames = 0

    def add(self, lattice: np.ndarray, model: str, params: dict, connected: bool = False) -> None:
        """Add one snapshot's G(r) (restarting the average when model, shape or parameters changed)."""
        lattice = np.asarray(lattice)
        key = (model, lattice.shape, connected, tuple(sorted((k, str(v)) for k, v in params.items())))
        if key != self._key:
            self.clear()
            self._key = key
            self.L = lattice.shape[-1]
        G = lattice_correlation(lattice, model, connected)
        self._sum = G if self._sum is None else self._sum + G
        self._sum2 = G * G if self._sum2 is None else self._sum2 + G * G
        self.frames += 1

    def result(self) -> CorrelationResult:
        """Mean and error over frames (frames treated as independent: a lower bound), and the fits."""
        n = self.frames
        mean = self._sum / n
        var = np.maximum(self._sum2 / n - mean**2, 0.0)
        err = np.sqrt(var / (n - 1)) if n > 1 else np.zeros_like(mean)
        r = np.arange(len(mean), dtype=float)
        return CorrelationResult(r, mean, err, n, self.L, fit_exponential(r, mean, err, self.L),
                                 fit_power_law(r, mean, err, self.L))
