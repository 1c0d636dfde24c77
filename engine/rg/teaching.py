"""Teaching flows: RG maps simple enough to follow by hand.

- The 1D Ising chain under decimation by 2: K' = (1/2) ln cosh 2K, exact. Every K > 0 flows to
  the trivial fixed point K = 0 (no phase transition in 1D); K = infinity is unstable.
- The toy law df/dt = c f under the rescaling t -> t / sigma: f_sigma(t) = f(sigma t) obeys the
  same law with c' = F_sigma(c) = sigma c, so c = 0 is the only fixed point and it is unstable
  (eigenvalue sigma, exponent 1).
- Fractional Brownian motion with Hurst exponent h is a fixed point of t -> sigma t,
  f -> sigma^-h f: f(sigma t) has the law of sigma^h f(t). Its structure function
  <|f(t + tau) - f(t)|^2> = tau^(2h) shows that as a slope of 2h on log-log axes.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..device import make_generator
from ..errors import ParameterError
from ..measure.linefit import line_fit
from ..measure.stats import jackknife


def decimation_1d(K: np.ndarray | float) -> np.ndarray:
    """One decimation step of the 1D Ising chain: K' = (1/2) ln cosh 2K (stable for large K)."""
    a = np.abs(2 * np.asarray(K, dtype=np.float64))
    # ln cosh a = log1p(2 sinh^2(a/2)) keeps K' ~ K^2 accurate for tiny K; the other form avoids overflow.
    small = np.log1p(2 * np.sinh(np.minimum(a, 40.0) / 2) ** 2)
    large = a + np.log1p(np.exp(-2 * a)) - math.log(2)
    return 0.5 * np.where(a < 40.0, small, large)


def flow_1d(K0: float, steps: int) -> np.ndarray:
    """The couplings K, K', K'', ... of ``steps`` decimations, ``[steps + 1]``."""
    out = [float(K0)]
    for _ in range(_count("steps", steps)):
        out.append(float(decimation_1d(out[-1])))
    return np.array(out)


def toy_map(c: np.ndarray | float, sigma: float) -> np.ndarray:
    """F_sigma(c) = sigma c: the growth rate of df/dt = c f after t -> t / sigma."""
    if not sigma > 0:
        raise ParameterError("sigma", f"the rescaling factor must be > 0, got {sigma!r}")
    return sigma * np.asarray(c, dtype=np.float64)


def toy_flow(c0: float, sigma: float, steps: int) -> np.ndarray:
    """c, F_sigma(c), F_sigma(F_sigma(c)), ...: ``[steps + 1]``."""
    return c0 * float(sigma) ** np.arange(_count("steps", steps) + 1)


def _count(name: str, n: int, minimum: int = 0) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < minimum:
        raise ParameterError(name, f"must be an integer >= {minimum}, got {n!r}")
    return n


def fbm(n: int, hurst: float, gen: torch.Generator, *, batch: int = 1,
        dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Exact fractional Brownian motion on t = 0, 1, ..., n: ``[batch, n + 1]`` with f(0) = 0.

    Spectral (Davies-Harte) synthesis: the increments (fractional Gaussian noise) have a
    stationary covariance whose circulant embedding of size 2n has non-negative eigenvalues for
    0 < h < 1, so complex white noise shaped by their square roots and Fourier transformed gives
    increments with exactly the right covariance; their cumulative sum is the path.
    """
    n = _count("n", n, 2)
    if not 0.0 < hurst < 1.0:
        raise ParameterError("hurst", f"must be in (0, 1), got {hurst!r}")
    dev = gen.device
    k = torch.arange(n + 1, dtype=torch.float64, device=dev)
    two_h = 2 * hurst
    gamma = 0.5 * ((k + 1) ** two_h - 2 * k ** two_h + (k - 1).abs() ** two_h)
    row = torch.cat([gamma, gamma[1:-1].flip(0)])  # first row of the 2n circulant
    lam = torch.fft.fft(row).real.clamp(min=0.0)
    m = row.numel()
    w = torch.randn(batch, m, generator=gen, dtype=torch.float64, device=dev) \
        + 1j * torch.randn(batch, m, generator=gen, dtype=torch.float64, device=dev)
    noise = torch.fft.fft(w * torch.sqrt(lam / m), dim=-1).real[:, :n]
    path = torch.cat([torch.zeros(batch, 1, dtype=torch.float64, device=dev), noise.cumsum(-1)], dim=-1)
    return path.to(dtype)


def fbm_path(n: int, hurst: float, seed: int) -> np.ndarray:
    """One path of :func:`fbm`, ``[n + 1]`` as numpy, drawn with a CPU generator seeded with ``seed``."""
    return fbm(n, hurst, make_generator(seed))[0].numpy()


def structure_function(paths: torch.Tensor | np.ndarray, lags: np.ndarray) -> np.ndarray:
    """<|f(t + tau) - f(t)|^2> over time and paths, for each lag tau, from ``[batch, n]`` paths."""
    return np.array([float(((paths[:, lag:] - paths[:, :-lag]) ** 2).mean()) for lag in lags])


def hurst_from_paths(paths: torch.Tensor, lags: np.ndarray | None = None) -> tuple[float, float]:
    """Hurst exponent as half the log-log slope of the structure function; jackknife error over paths."""
    if paths.dim() != 2 or paths.shape[0] < 4:
        raise ParameterError("paths", f"needs [batch >= 4, n] paths, got shape {tuple(paths.shape)}")
    n = paths.shape[1]
    if lags is None:
        lags = np.unique(np.geomspace(1, max(2, n // 8), 12).astype(int))

    def slope(p: np.ndarray) -> float:
        return line_fit(np.log(lags), np.log(structure_function(p, lags))).slope / 2

    est = jackknife(slope, paths.cpu().numpy(), n_blocks=min(10, paths.shape[0]))
    return float(np.asarray(est.mean)), float(np.asarray(est.error))
