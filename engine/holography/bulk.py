"""Bulk correlations of the latent variables and the distances they imply.

The claim under test: with d_ij = d0 - xi ln|C_ij|, the distances read off the latent
correlations C_ij = <z_i . z_j> are the hyperbolic geodesic distances between the nodes when the
boundary theory is critical (Hu, Li, Wang, You, PRR 2, 023369 (2020)). We fit ln|C| against the
hyperbolic distance and, on the same pairs, against the flat (Euclidean) distance between the
same nodes; the comparison of the two R^2 is the evidence, and a disordered boundary theory is the
control.

Only pairs whose correlation is resolved above noise (|C| > threshold * error) enter the fits:
ln|C| of an unresolved pair is noise and would bias xi.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .geometry import flat_distance, hyperbolic_distance, node_coordinates, pairwise


def _block_correlations(z: np.ndarray, n_blocks: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-block means of z_i . z_j, ``[n_blocks, m, m]``, and the block sizes."""
    z = np.asarray(z, dtype=np.float64)
    n = z.shape[0]
    blocks = np.array_split(np.arange(n), max(2, min(n_blocks, n)))
    per_block = np.stack([np.einsum("sci,scj->ij", z[b], z[b]) / len(b) for b in blocks])
    return per_block, np.array([len(b) for b in blocks], dtype=np.float64)


def correlation_matrix(z: np.ndarray, n_blocks: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """C_ij = <z_i . z_j> and its standard error from ``z`` of shape ``[n_samples, C, m]``.

    The dot product runs over the C components of each node. Errors are batch-means errors over
    ``n_blocks`` consecutive blocks, so correlated (MCMC) samples are treated honestly.
    """
    per_block, sizes = _block_correlations(z, n_blocks)
    mean = np.einsum("b,bij->ij", sizes, per_block) / sizes.sum()
    err = per_block.std(axis=0, ddof=1) / np.sqrt(len(sizes))
    return mean, err


def gaussian_mutual_information(z: np.ndarray) -> np.ndarray:
    """``[m, m]`` mutual information of node pairs under a Gaussian approximation (nats).

    I(i; j) = 1/2 ln(det S_i det S_j / det S_ij), with S the covariance of the C components of a
    node and S_ij the 2C x 2C joint covariance. The diagonal is left at zero.
    """
    z = np.asarray(z, dtype=np.float64)
    n, C, m = z.shape
    zc = z - z.mean(axis=0, keepdims=True)
    cov = np.einsum("sai,sbj->iajb", zc, zc) / (n - 1)  # [m, C, m, C]
    own = np.stack([cov[i, :, i, :] for i in range(m)])  # [m, C, C]
    logdet_own = np.linalg.slogdet(own)[1]
    joint = np.empty((m, m, 2 * C, 2 * C))
    joint[:, :, :C, :C] = own[:, None]
    joint[:, :, C:, C:] = own[None, :]
    joint[:, :, :C, C:] = cov.transpose(0, 2, 1, 3)
    joint[:, :, C:, :C] = cov.transpose(2, 0, 3, 1)
    logdet_joint = np.linalg.slogdet(joint)[1]
    mi = 0.5 * (logdet_own[:, None] + logdet_own[None, :] - logdet_joint)
    np.fill_diagonal(mi, 0.0)
    return np.maximum(mi, 0.0)


@dataclass
class LinearFit:
    """ln|C| = d0/xi - d/xi fitted on ``n_pairs`` pairs: xi, d0 with errors, and R^2."""

    xi: float
    xi_error: float
    d0: float
    d0_error: float
    r2: float
    n_pairs: int
    residuals: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    r2_error: float = float("nan")  # block jackknife, set by :func:`analyse_bulk`
    r2_jackknife: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))  # leave-one-block-out R^2

    def to_json(self) -> dict:
        return {"xi": self.xi, "xi_error": self.xi_error, "d0": self.d0, "d0_error": self.d0_error,
                "r2": self.r2, "r2_error": self.r2_error, "pairs": self.n_pairs}


def fit_log_correlation(distance: np.ndarray, corr: np.ndarray, corr_err: np.ndarray) -> LinearFit:
    """Weighted fit of ln|C| against distance; R^2 is the weighted coefficient of determination."""
    d = np.asarray(distance, float)
    if not np.ptp(d) > 0:
        raise ValueError("every pair is at the same distance: a slope cannot be fitted")
    y = np.log(np.abs(corr))
    sigma = np.maximum(np.asarray(corr_err, float) / np.abs(corr), 1e-12)
    w = 1.0 / sigma**2
    A = np.stack([np.ones_like(d), d], axis=1)
    normal = A.T @ (w[:, None] * A)
    cov = np.linalg.inv(normal)
    a, b = cov @ (A.T @ (w * y))
    resid = y - (a + b * d)
    dof = max(len(d) - 2, 1)
    scale = max(float(np.sum(w * resid**2)) / dof, 1.0)  # inflate errors when the line misfits
    cov = cov * scale
    ybar = np.sum(w * y) / np.sum(w)
    r2 = 1.0 - np.sum(w * resid**2) / np.sum(w * (y - ybar) ** 2)
    xi = -1.0 / b
    xi_err = np.sqrt(cov[1, 1]) / b**2
    d0 = a * xi
    # d0 = -a/b: propagate through both coefficients and their covariance.
    grad = np.array([-1.0 / b, a / b**2])
    d0_err = float(np.sqrt(grad @ cov @ grad))
    return LinearFit(float(xi), float(xi_err), float(d0), d0_err, float(r2), len(d), resid)


@dataclass
class BulkAnalysis:
    """Everything the bulk panel and ``rgviz-batch bulk`` show, as plain numpy."""

    coords: np.ndarray  # [m, 3] half-space positions
    levels: np.ndarray  # [m]
    corr: np.ndarray  # [m, m]
    corr_err: np.ndarray  # [m, m]
    d_hyp: np.ndarray  # [m, m]
    d_flat: np.ndarray  # [m, m]
    resolved: np.ndarray  # [m, m] bool, upper triangle only
    fit: LinearFit  # against hyperbolic distance, all resolved pairs
    fit_flat: LinearFit  # against flat distance, the same pairs
    fit_same_level: LinearFit | None
    fit_cross_level: LinearFit | None
    #: R^2 (hyperbolic) - R^2 (flat) on the same pairs, and its block-jackknife error
    r2_gap: tuple[float, float] = (float("nan"), float("nan"))

    def inferred_distance(self) -> np.ndarray:
        """d_ij = d0 - xi ln|C_ij| with the hyperbolic fit's parameters (NaN where C = 0)."""
        with np.errstate(divide="ignore"):
            return self.fit.d0 - self.fit.xi * np.log(np.abs(self.corr))


def analyse_bulk(z: np.ndarray, positions: np.ndarray, L: int, *, threshold: float = 3.0,
                 w0: float = 1.0, n_blocks: int = 20) -> BulkAnalysis:
    """Correlations, distances and fits for latent samples ``z`` ``[n, C, m]`` at ``positions`` ``[m, 3]``.

    Errors of R^2 (and of the hyperbolic - flat gap) come from a jackknife over the same blocks
    as the correlation errors: each block is left out in turn, the correlations recomputed and
    the fits redone on the same pairs with the same weights.
    """
    positions = np.asarray(positions)
    coords = node_coordinates(positions, w0)
    per_block, sizes = _block_correlations(z, n_blocks)
    total = np.einsum("b,bij->ij", sizes, per_block)
    corr = total / sizes.sum()
    err = per_block.std(axis=0, ddof=1) / np.sqrt(len(sizes))
    d_hyp = pairwise(coords, L, hyperbolic_distance)
    d_flat = pairwise(coords, L, flat_distance)
    upper = np.triu(np.ones_like(corr, dtype=bool), k=1)
    resolved = upper & (np.abs(corr) > threshold * err) & (err > 0)
    if resolved.sum() < 3:
        raise ValueError(f"only {int(resolved.sum())} latent pairs are correlated above noise; draw more samples")
    levels = positions[:, 2]
    same = resolved & (levels[:, None] == levels[None, :])
    cross = resolved & ~same
    leave_out = [(total - n_b * block) / (sizes.sum() - n_b) for block, n_b in zip(per_block, sizes)]

    def fit(mask: np.ndarray, dist: np.ndarray) -> LinearFit | None:
        """None for fewer than 3 pairs, or pairs all at one distance (no slope)."""
        if mask.sum() < 3 or not np.ptp(dist[mask]) > 0:
            return None
        result = fit_log_correlation(dist[mask], corr[mask], err[mask])
        result.r2_jackknife = np.array([fit_log_correlation(dist[mask], c[mask], err[mask]).r2 for c in leave_out])
        result.r2_error = _jackknife_error(result.r2_jackknife)
        return result

    hyperbolic, flat = fit(resolved, d_hyp), fit(resolved, d_flat)
    if hyperbolic is None or flat is None:
        raise ValueError(f"the {int(resolved.sum())} latent pairs correlated above noise are all at one distance; "
                         "draw more samples")
    gap = hyperbolic.r2_jackknife - flat.r2_jackknife
    return BulkAnalysis(coords, levels, corr, err, d_hyp, d_flat, resolved, hyperbolic, flat,
                        fit(same, d_hyp), fit(cross, d_hyp), (hyperbolic.r2 - flat.r2, _jackknife_error(gap)))


def _jackknife_error(values: np.ndarray) -> float:
    """Standard error from leave-one-block-out values."""
    n = len(values)
    return float(np.sqrt((n - 1) / n * np.sum((values - values.mean()) ** 2)))
