"""Avalanche statistics: log-binned distributions, exponent fits, moment analysis across L, power spectra.

- :func:`log_histogram`: P(x) of an integer quantity (size, area, duration) in bins of equal width on a
  log axis, normalised per unit x over the avalanches with x >= 1; each bin's error is its Poisson error.
- :func:`fit_exponent`: tau from P(x) ~ x^-tau, a weighted line through ln P against ln x over a fit window
  (:func:`engine.measure.linefit.line_fit`, the project's one line fit).
- :func:`moment_analysis`: finite-size scaling without a collapse by eye. If P(x) = x^-tau f(x / L^D),
  then <x^k> ~ L^sigma_k with sigma_k = D (1 + k - tau) for k > tau - 1; a line through sigma_k against
  k gives D (slope) and tau (1 - intercept / D). Errors by jackknife over blocks of avalanches, left out
  of every L at once, because all sigma_k come from the same data.
- :func:`power_spectrum` and :func:`size_given_duration`: the spectrum S(f) ~ f^-alpha of the activity
  signal and <s | T> ~ T^gamma; alpha = gamma when 1 < gamma < 2 (Laurson, Alava and Zapperi 2005).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..measure.fss import jackknife_error, power_law
from ..measure.linefit import line_fit

BINS_PER_DECADE = 8
#: Default fit windows per quantity: from LOW[q] (below, lattice effects of the smallest avalanches) up to
#: TOP[q] L^POWER[q], below the cutoffs s_c ~ L^2.75, a_c ~ L^2, T_c ~ L^1.5 and their bumps.
FIT_LOW = {"size": 10.0, "area": 10.0, "duration": 10.0}
FIT_TOP = {"size": 1.0, "area": 0.25, "duration": 2.0}
FIT_POWER = {"size": 2.0, "area": 2.0, "duration": 1.0}
#: Moments k of the moment analysis (sigma_k is linear in k from k > tau - 1 on).
MOMENTS = (1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0)
JACKKNIFE_BLOCKS = 16
#: Shortest activity time (waves) in the spectrum's fit window.
SPECTRUM_SHORTEST = 5.0


@dataclass
class Histogram:
    """P(x) per unit x at bin centres x (geometric mean of the bin's integers), with Poisson errors."""

    x: np.ndarray
    p: np.ndarray
    error: np.ndarray
    counts: np.ndarray
    samples: int  # values >= 1 counted

    def to_dict(self) -> dict:
        return {"x": self.x.tolist(), "p": self.p.tolist(), "error": self.error.tolist(),
                "counts": self.counts.tolist(), "samples": self.samples}


def log_histogram(values: np.ndarray, per_decade: int = BINS_PER_DECADE) -> Histogram:
    """Log-binned density of the integer ``values`` >= 1; empty bins are left out."""
    values = np.asarray(values)
    values = values[values >= 1]
    if not len(values):
        empty = np.zeros(0)
        return Histogram(empty, empty, empty, np.zeros(0, np.int64), 0)
    top = float(values.max()) + 1
    edges = np.unique(np.floor(np.logspace(0, np.log10(top) + 1.0 / per_decade,
                                           int(np.ceil(np.log10(top) * per_decade)) + 2)))
    counts, _ = np.histogram(values, edges)
    width = np.diff(edges)
    keep = counts > 0
    n = len(values)
    x = np.sqrt(edges[:-1] * (edges[1:] - 1))
    return Histogram(x[keep], counts[keep] / (n * width[keep]), np.sqrt(counts[keep]) / (n * width[keep]),
                     counts[keep], n)


@dataclass
class ExponentFit:
    """P(x) ~ amplitude x^-tau over [lo, hi], from ``points`` bins."""

    tau: float
    error: float
    lo: float
    hi: float
    points: int
    amplitude: float
    chi2_dof: float

    def to_dict(self) -> dict:
        return {"tau": self.tau, "error": self.error, "window": [self.lo, self.hi], "points": self.points,
                "amplitude": self.amplitude, "chi2_dof": self.chi2_dof}


def fit_window(quantity: str, L: int) -> tuple[float, float]:
    """The default fit window of ``quantity`` ("size", "area", "duration") on L x L."""
    return FIT_LOW[quantity], FIT_TOP[quantity] * float(L) ** FIT_POWER[quantity]


def fit_exponent(hist: Histogram, lo: float, hi: float) -> ExponentFit | None:
    """tau of P(x) ~ x^-tau over the bins with lo <= x <= hi; None with fewer than 3 such bins."""
    sel = (hist.x >= lo) & (hist.x <= hi)
    if sel.sum() < 3:
        return None
    fit = line_fit(np.log(hist.x[sel]), np.log(hist.p[sel]), hist.error[sel] / hist.p[sel])
    return ExponentFit(-fit.slope, fit.slope_error, float(lo), float(hi), int(sel.sum()), float(np.exp(fit.intercept)),
                       fit.chi2 / max(fit.dof, 1))


@dataclass
class MomentAnalysis:
    """sigma_k of <x^k> ~ L^sigma_k with jackknife errors; D and tau from the line sigma_k = D (1 + k - tau)."""

    sizes: list[int]
    k: np.ndarray
    sigma: np.ndarray
    sigma_error: np.ndarray
    D: float
    D_error: float
    tau: float
    tau_error: float

    def to_dict(self) -> dict:
        return {"L": self.sizes, "k": self.k.tolist(), "sigma": self.sigma.tolist(),
                "sigma_error": self.sigma_error.tolist(), "D": self.D, "D_error": self.D_error, "tau": self.tau,
                "tau_error": self.tau_error}


def _exponents(sizes: np.ndarray, moments: np.ndarray, k: np.ndarray) -> np.ndarray:
    """[sigma_1 .. sigma_n, D, tau] from moments [n_L, n_k]."""
    sigma = np.array([power_law(sizes, moments[:, j]).exponent for j in range(len(k))])
    line = line_fit(k, sigma)
    return np.append(sigma, [line.slope, 1.0 - line.intercept / line.slope])


def moment_analysis(samples: Mapping[int, np.ndarray], k: Sequence[float] = MOMENTS,
                    blocks: int = JACKKNIFE_BLOCKS) -> MomentAnalysis | None:
    """The moment analysis of one quantity measured at several L (``samples``: L -> values); None for
    fewer than two sizes or fewer than ``blocks`` values at some L."""
    sizes = sorted(samples)
    if len(sizes) < 2 or min(len(samples[L]) for L in sizes) < blocks:
        return None
    k = np.asarray(k, float)
    # per L: sums of x^k over each of ``blocks`` contiguous blocks, and the block lengths
    sums, lengths = [], []
    for L in sizes:
        x = np.asarray(samples[L], float)
        parts = np.array_split(x, blocks)
        sums.append(np.array([[np.sum(p ** kk) for kk in k] for p in parts]))
        lengths.append(np.array([len(p) for p in parts], float))
    sums, lengths = np.array(sums), np.array(lengths)  # [n_L, blocks, n_k], [n_L, blocks]
    Ls = np.array(sizes, float)
    full = _exponents(Ls, sums.sum(1) / lengths.sum(1)[:, None], k)
    replicas = np.array([_exponents(Ls, (sums.sum(1) - sums[:, b]) / (lengths.sum(1) - lengths[:, b])[:, None], k)
                         for b in range(blocks)])
    errors = np.array([jackknife_error(full[j], replicas[:, j]) for j in range(len(full))])
    n = len(k)
    return MomentAnalysis(sizes, k, full[:n], errors[:n], float(full[n]), float(errors[n]), float(full[n + 1]),
                          float(errors[n + 1]))


@dataclass
class Spectrum:
    """S(f) of the activity signal (f in cycles per wave), log-binned, with alpha of S ~ f^-alpha."""

    f: np.ndarray
    power: np.ndarray
    alpha: float
    alpha_error: float
    lo: float
    hi: float

    def to_dict(self) -> dict:
        return {"f": self.f.tolist(), "power": self.power.tolist(), "alpha": self.alpha,
                "alpha_error": self.alpha_error, "window": [self.lo, self.hi]}


def power_spectrum(signals: Sequence[np.ndarray], longest: float, segment: int = 4096) -> Spectrum | None:
    """The periodogram of the signals averaged over Hann-windowed segments of ``segment`` steps (shorter when
    the signals are), log-binned; alpha fitted from f = 2 / ``longest`` (the longest avalanche, in waves) to
    f = 1 / :data:`SPECTRUM_SHORTEST`. None when the signals are too short for a fit."""
    n = min(segment, 1 << int(np.log2(max(max((len(s) for s in signals), default=1) // 4, 1))))
    if n < 64:
        return None
    window = np.hanning(n)
    total, count = np.zeros(n // 2 + 1), 0
    for s in signals:
        for start in range(0, len(s) - n + 1, n):
            chunk = np.asarray(s[start: start + n], float)
            total += np.abs(np.fft.rfft((chunk - chunk.mean()) * window)) ** 2
            count += 1
    f, power = np.fft.rfftfreq(n)[1:], total[1:] / (count * np.sum(window ** 2))
    edges = np.logspace(np.log10(f[0]), np.log10(f[-1]) + 1e-9, 4 * BINS_PER_DECADE)
    which = np.digitize(f, edges)
    bins = [w for w in np.unique(which) if np.any(which == w)]
    fb = np.array([np.exp(np.mean(np.log(f[which == w]))) for w in bins])
    pb = np.array([np.mean(power[which == w]) for w in bins])
    lo, hi = 2.0 / max(longest, 1.0), 1.0 / SPECTRUM_SHORTEST
    sel = (fb >= lo) & (fb <= hi) & (pb > 0)
    if sel.sum() < 3:
        return Spectrum(fb, pb, float("nan"), float("nan"), lo, hi)
    fit = line_fit(np.log(fb[sel]), np.log(pb[sel]))
    return Spectrum(fb, pb, -fit.slope, fit.slope_error, lo, hi)


@dataclass
class ConditionalMean:
    """<s | T> in log bins of T, and gamma of <s | T> ~ T^gamma fitted over T >= ``lo``."""

    T: np.ndarray
    mean: np.ndarray
    error: np.ndarray
    gamma: float
    gamma_error: float
    lo: float

    def to_dict(self) -> dict:
        return {"T": self.T.tolist(), "mean": self.mean.tolist(), "error": self.error.tolist(), "gamma": self.gamma,
                "gamma_error": self.gamma_error, "lo": self.lo}


def size_given_duration(size: np.ndarray, duration: np.ndarray, lo: float = FIT_LOW["duration"]) -> ConditionalMean:
    """Mean size of the avalanches of each duration bin (log bins), and the power law through those with
    T >= ``lo`` and at least two avalanches (NaN when fewer than 3 bins qualify)."""
    keep = duration >= 1
    size, duration = np.asarray(size, float)[keep], duration[keep]
    edges = np.unique(np.floor(np.logspace(0, np.log10(max(duration.max(initial=1), 1)) + 0.2, 3 * BINS_PER_DECADE)))
    which = np.digitize(duration, edges)
    T, mean, error = [], [], []
    for w in np.unique(which):
        s = size[which == w]
        if len(s) >= 2:
            T.append(np.exp(np.mean(np.log(duration[which == w]))))
            mean.append(s.mean())
            error.append(max(s.std(ddof=1), 1e-9) / np.sqrt(len(s)))
    T, mean, error = np.array(T), np.array(mean), np.array(error)
    sel = T >= lo
    if sel.sum() < 3:
        return ConditionalMean(T, mean, error, float("nan"), float("nan"), lo)
    fit = power_law(T[sel], mean[sel], error[sel])
    return ConditionalMean(T, mean, error, fit.exponent, fit.exponent_error, lo)
