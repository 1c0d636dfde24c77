"""Couplings of a truncated Ising Hamiltonian from samples, by maximum pseudo-likelihood.

Given configurations drawn from exp(sum_a K_a S_a), the conditional law of one spin is
P(s_i | rest) = exp(s_i x_i) / (2 cosh x_i) with x_i = sum_a K_a g_a(i), g_a = dS_a/ds_i. The
pseudo-likelihood (the product of these over all sites and samples) is concave in K and its
maximiser is consistent, so it recovers the couplings of unblocked samples and gives the
renormalised couplings of blocked ones (projected onto the truncated operator set).

The data enter only through how often each local pattern (s_i, g(i)) occurs, and there are
only a few thousand patterns: the fit histograms them once per block of samples, then runs
Newton's method on the histogram. Standard errors use the sandwich (robust) covariance
A^-1 V A^-1 with V from block sums of the score, so correlations between sites of one sample
and between successive Markov-chain samples are both accounted for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import ParameterError
from ..progress import Progress
from .operators import CHUNK_SITES, Operator, check_size, operators


@dataclass
class LocalPatterns:
    """Histogram of local patterns: row r is (s_r, g_r) and ``counts[k, r]`` its count in sample block k."""

    names: tuple[str, ...]
    s: np.ndarray  # [R] of +-1
    g: np.ndarray  # [R, n_ops]
    counts: np.ndarray  # [n_blocks, R]
    n_samples: int


def sample_blocks(n_samples: int, n_blocks: int) -> np.ndarray:
    """Block index of each sample: consecutive runs of (nearly) equal length, for jackknife/sandwich errors."""
    if n_samples < 2:
        raise ParameterError("samples", f"needs at least 2 samples, got {n_samples}")
    if isinstance(n_blocks, bool) or not isinstance(n_blocks, int) or n_blocks < 2:
        raise ParameterError("n_blocks", f"must be an integer >= 2, got {n_blocks!r}")
    n_blocks = min(n_blocks, n_samples)
    return (np.arange(n_samples) * n_blocks) // n_samples


def check_spins(samples: torch.Tensor, name: str = "samples") -> None:
    """Ising samples are ``[N, L, L]`` of +-1."""
    if samples.dim() != 3 or samples.shape[-1] != samples.shape[-2]:
        raise ParameterError(name, f"must be [N, L, L] Ising configurations, got shape {tuple(samples.shape)}")
    if not bool((samples.abs() == 1).all()):
        raise ParameterError(name, "Ising configurations must hold only +1 and -1")


def local_patterns(samples: torch.Tensor, ops: Sequence[Operator | str], *, n_blocks: int = 20) -> LocalPatterns:
    """Histogram (s_i, g(i)) over all sites of ``samples`` ``[N, L, L]``, per block of consecutive samples."""
    ops = operators(ops)
    check_spins(samples)
    N, L = samples.shape[0], samples.shape[-1]
    check_size(ops, L)
    block_of = torch.as_tensor(sample_blocks(N, n_blocks), device=samples.device)
    radix = [2 * op.max_local + 1 for op in ops]
    space = 2 * int(np.prod(radix))
    keys, counts = [], []
    chunk = max(1, CHUNK_SITES // (L * L))
    for start in range(0, N, chunk):
        s = samples[start:start + chunk].to(torch.float32)
        key = (s > 0).long()
        stride = 2
        for op, r in zip(ops, radix):
            key = key + (op.local_field(s).round().long() + op.max_local) * stride
            stride *= r
        key = key + block_of[start:start + chunk, None, None] * space
        k, c = torch.unique(key, return_counts=True)
        keys.append(k)
        counts.append(c)
    k, inverse = torch.unique(torch.cat(keys), return_inverse=True)
    c = torch.zeros(len(k), dtype=torch.long, device=k.device).scatter_add_(0, inverse, torch.cat(counts))
    k, c = k.cpu().numpy(), c.cpu().numpy()
    block, pattern = k // space, k % space
    rows, row_of = np.unique(pattern, return_inverse=True)
    table = np.zeros((int(block_of[-1]) + 1, len(rows)), dtype=np.float64)
    np.add.at(table, (block, row_of), c)
    g = np.empty((len(rows), len(ops)))
    rest = rows // 2
    for a, r in enumerate(radix):
        g[:, a] = rest % r - ops[a].max_local
        rest //= r
    return LocalPatterns(tuple(op.name for op in ops), np.where(rows % 2 == 1, 1.0, -1.0), g, table, N)


@dataclass
class CouplingFit:
    """Fitted couplings K (weight exp(sum_a K_a S_a)) with their covariance.

    ``influence[k]`` is sample block k's contribution to K - K_true (to first order); two fits
    on the same sample blocks (say two blocking levels) have covariance sum_k infl1[k] infl2[k]^T.
    """

    names: tuple[str, ...]
    K: np.ndarray
    cov: np.ndarray
    influence: np.ndarray
    n_samples: int
    converged: bool
    iterations: int

    @property
    def stderr(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    def coupling(self, name: str) -> float:
        return float(self.K[self.names.index(name)])

    def to_dict(self) -> dict:
        return {"names": list(self.names), "K": jsonable(self.K), "stderr": jsonable(self.stderr),
                "cov": jsonable(self.cov), "n_samples": self.n_samples, "converged": self.converged}


def jsonable(x) -> list | float | None:
    """Arrays and floats for JSON, with NaN and infinities (unidentifiable couplings) as None."""
    if isinstance(x, np.ndarray):
        return [jsonable(v) for v in x.tolist()] if x.ndim else jsonable(float(x))
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    return float(x) if np.isfinite(x) else None


def cross_cov(a: CouplingFit, b: CouplingFit) -> np.ndarray:
    """Covariance between two fits made from the same sample blocks (e.g. two blocking levels)."""
    n = len(a.influence)
    if len(b.influence) != n:
        raise ParameterError("fits", "cross-covariance needs fits on the same sample blocks")
    return n / (n - 1) * (a.influence - a.influence.mean(0)).T @ (b.influence - b.influence.mean(0))


def _log2cosh(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    return ax + np.log1p(np.exp(-2 * ax))


def _unidentifiable(p: LocalPatterns, iterations: int) -> CouplingFit:
    """The fit when the data cannot pin the couplings down (a singular Hessian).

    It happens when the observed patterns' local fields are linearly dependent (too few distinct
    patterns, or operators that coincide on a tiny lattice) or separable (the maximum lies at
    infinity); both occur deep in the ordered phase, where blocked lattices are (almost)
    completely aligned and the couplings are effectively infinite. K and its errors are NaN.
    """
    n = len(p.names)
    nan = np.full(n, np.nan)
    return CouplingFit(p.names, nan, np.full((n, n), np.nan), np.full((len(p.counts), n), np.nan),
                       p.n_samples, False, iterations)


def fit_patterns(p: LocalPatterns, *, max_iter: int = 100, tol: float = 1e-12) -> CouplingFit:
    """Maximise the pseudo-likelihood of a pattern histogram by damped Newton steps.

    The objective is concave, so Newton's method with step halving converges from K = 0 unless
    the data are separable (then K runs off to infinity and ``converged`` stays False).
    """
    total = p.counts.sum(0)
    if np.linalg.matrix_rank(p.g) < p.g.shape[1]:
        return _unidentifiable(p, 0)

    def objective(theta):
        x = p.g @ theta
        return float(total @ (p.s * x - _log2cosh(x)))

    def residual_and_hessian(theta):
        t = np.tanh(p.g @ theta)
        return p.s - t, (p.g * (total * (1 - t * t))[:, None]).T @ p.g

    theta = np.zeros(p.g.shape[1])
    f = objective(theta)
    converged = False
    for it in range(1, max_iter + 1):
        r, hess = residual_and_hessian(theta)
        try:
            step = np.linalg.solve(hess, p.g.T @ (total * r))
        except np.linalg.LinAlgError:  # separable data: K ran off until tanh saturated
            return _unidentifiable(p, it)
        scale = 1.0
        while True:
            f_new = objective(theta + scale * step)
            if f_new >= f - 1e-12 * abs(f) or scale < 1e-8:
                break
            scale /= 2
        theta, f = theta + scale * step, f_new
        if np.max(np.abs(scale * step)) < tol * max(1.0, np.max(np.abs(theta))):
            converged = True
            break
    r, hess = residual_and_hessian(theta)
    scores = (p.counts * r) @ p.g  # [n_blocks, n_ops]: each sample block's score
    try:
        influence = np.linalg.solve(hess, scores.T).T
    except np.linalg.LinAlgError:
        return _unidentifiable(p, it)
    n = len(influence)
    centred = influence - influence.mean(0)
    cov = n / (n - 1) * centred.T @ centred
    return CouplingFit(p.names, theta, cov, influence, p.n_samples, converged, it)


def fit_couplings(samples: torch.Tensor, ops: Sequence[Operator | str], *, n_blocks: int = 20,
                  max_iter: int = 100) -> CouplingFit:
    """Pseudo-likelihood couplings of ``samples`` ``[N, L, L]`` (in the order given) for the operators ``ops``.

    Samples are grouped into ``n_blocks`` runs of consecutive samples for the error estimate; make
    each run longer than the sampler's autocorrelation time.
    """
    return fit_patterns(local_patterns(samples, ops, n_blocks=n_blocks), max_iter=max_iter)


def fit_levels(levels: Sequence[torch.Tensor], ops: Sequence[Operator | str], *, n_blocks: int = 20,
               progress: Progress | None = None) -> list[CouplingFit]:
    """Fit every blocking level of one chain (``levels[n]`` is ``[N, L/b^n, L/b^n]``) on common sample blocks."""
    fits = []
    for n, x in enumerate(levels):
        fits.append(fit_couplings(x, ops, n_blocks=n_blocks))
        if progress is not None:
            progress(n + 1, len(levels))
    return fits
