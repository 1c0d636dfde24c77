"""How strongly two bulk nodes are correlated: three pair estimators, with block-jackknife replicas.

Each node i carries a vector z_i of C components (C = 2 for complex phi^4). Estimators of a pair (i, j):

- ``connected``: rho_ij = (<z_i . z_j> - <z_i> . <z_j>) / (sigma_i sigma_j), sigma_i^2 = <|z_i|^2> - |<z_i>|^2.
  Centring removes what non-zero means add to the raw moment (a distance-free rank-one part a_i a_j), and
  the normalisation removes each node's own scale; a weakly trained flow leaves both behind.
- ``mi``: the Gaussian mutual information of the two C-component nodes, I = -1/2 ln det(1 - A A^T) with A
  the cross-covariance of the whitened nodes (the C x C block of the 2C x 2C joint covariance). We take the
  multi-component form rather than -1/2 ln(1 - rho^2) because it is unchanged by any invertible linear map
  of a node's own components: a flow that rotates or mixes a node's two components changes rho but not I.
  For C = 1 the two coincide. This is the residual mutual information of Hu, Li, Wang, You, PRR 2, 023369
  (2020) at the Gaussian (saddle-point) level.
- ``raw``: <z_i . z_j>, the uncentred second moment, kept only as a diagnostic.
- ``saddle`` and ``saddle-mi``: the connected and mutual-information forms of the Gaussian covariance at the
  classical saddle point of S_eff (:mod:`.saddle`) instead of sampled moments; exact, no sampling error.

The distance fits use one squared correlation per pair, ``q``: rho^2 (connected), 1 - exp(-2 I) =
1 - det(1 - A A^T) (mi: the sum of squared canonical correlations when they are small) or raw^2. If
|rho| ~ exp(-d / xi) then q ~ exp(-2 d / xi). Squares are non-negative, so averaging pairs whose
correlations differ in sign (the three latents of a block play different roles) cannot cancel them, and the
O(1/n) noise bias of a square (E[rho_hat^2] = rho^2 + var rho_hat) is removed by the jackknife bias
correction B q - (B - 1) mean_b q_(-b).

Every estimator is a function of the first and second moments, so one pass gives the moments of B
consecutive blocks of samples, and the full and leave-one-block-out estimates follow from their sums.
Consecutive blocks are windows in Monte Carlo time, so the errors of autocorrelated chains are honest
as long as a block is longer than the autocorrelation time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError

#: estimators of sampled latents (and of any exact covariance)
SAMPLED_ESTIMATORS = ("connected", "mi", "raw")
#: saddle-point estimators and the form each takes of the saddle's covariance
SADDLE_FORMS = {"saddle": "connected", "saddle-mi": "mi"}
ESTIMATORS = SAMPLED_ESTIMATORS + tuple(SADDLE_FORMS)
DESCRIPTIONS = {"connected": "connected normalised correlation rho", "mi": "Gaussian mutual information I (nats)",
                "raw": "raw second moment <z_i . z_j> (diagnostic)",
                "saddle": "saddle-point normalised correlation rho", "saddle-mi": "saddle-point Gaussian mutual "
                "information I (nats)"}


@dataclass
class PairStatistics:
    """One estimator on every node pair: its value, error and the squared correlation the fits use."""

    estimator: str
    value: np.ndarray  # [m, m]: rho, I (nats) or <z_i . z_j>
    value_error: np.ndarray  # [m, m] block-jackknife error (zero for an exact covariance)
    q: np.ndarray  # [m, m] squared correlation, jackknife bias-corrected
    q_replicas: np.ndarray | None  # [B, m, m] leave-one-block-out q; None for an exact covariance
    node_variance: np.ndarray  # [m] variance per component of each node
    node_mean: np.ndarray  # [C, m]
    samples: int | None = None  # None for an exact covariance


def check_estimator(estimator: str, allowed: tuple[str, ...] = ESTIMATORS) -> str:
    if estimator not in allowed:
        raise ParameterError("estimator", f"unknown {estimator!r}; allowed: {', '.join(allowed)}")
    return estimator


def _pair_values(mean: np.ndarray, second: np.ndarray, estimator: str) -> tuple[np.ndarray, np.ndarray]:
    """(value, q), each ``[R, m, m]``, from means ``[R, C, m]`` and second moments ``[R, C, m, C, m]``."""
    R, C, m = mean.shape
    if estimator == "raw":
        value = np.einsum("rcicj->rij", second)
        return value, value**2
    cov = second - mean[:, :, :, None, None] * mean[:, None, None, :, :]
    if estimator == "connected":
        dot = np.einsum("rcicj->rij", cov)
        sigma = np.sqrt(np.maximum(np.einsum("rii->ri", dot), 1e-300))
        value = dot / (sigma[:, :, None] * sigma[:, None, :])
        return value, value**2
    blocks = cov.transpose(0, 2, 4, 1, 3)  # [R, i, j, c, c']
    own = np.einsum("riicd->ricd", blocks)
    whiten = np.linalg.inv(np.linalg.cholesky(own))  # L_i^-1, [R, m, C, C]
    A = np.einsum("riac,rijcd,rjbd->rijab", whiten, blocks, whiten)
    q = 1.0 - np.linalg.det(np.eye(C) - A @ np.swapaxes(A, -1, -2))
    q = np.clip(q, 0.0, 1.0 - 1e-15)
    return -0.5 * np.log1p(-q), q


def _jackknife_spread(replicas: np.ndarray) -> np.ndarray:
    """Block-jackknife standard error from leave-one-block-out values along axis 0."""
    B = len(replicas)
    return np.sqrt((B - 1) / B * np.sum((replicas - replicas.mean(axis=0)) ** 2, axis=0))


def pair_statistics(z: np.ndarray, estimator: str = "connected", n_blocks: int = 20) -> PairStatistics:
    """The estimator on latent samples ``z`` ``[n, C, m]`` with block-jackknife errors over ``n_blocks``."""
    check_estimator(estimator, SAMPLED_ESTIMATORS)
    z = np.asarray(z, dtype=np.float64)
    n, C, m = z.shape
    if n < 2 * n_blocks:
        raise ParameterError("samples", f"{n} samples cannot fill {n_blocks} jackknife blocks of two; draw more")
    flat = z.reshape(n, C * m)
    blocks = np.array_split(np.arange(n), n_blocks)
    sizes = np.array([len(b) for b in blocks], dtype=np.float64)[:, None]
    s1 = np.stack([flat[b].sum(axis=0) for b in blocks])  # [B, D]
    s2 = np.stack([flat[b].T @ flat[b] for b in blocks])  # [B, D, D]
    total1, total2 = s1.sum(axis=0), s2.sum(axis=0)
    mean = np.concatenate([total1[None] / n, (total1 - s1) / (n - sizes)])  # full, then leave-one-out
    second = np.concatenate([total2[None] / n, (total2 - s2) / (n - sizes)[:, :, None]])
    value, q = _pair_values(mean.reshape(-1, C, m), second.reshape(-1, C, m, C, m), estimator)
    cov_diag = np.diagonal(second[0], axis1=-2, axis2=-1) - mean[0] ** 2
    return PairStatistics(estimator, value[0], _jackknife_spread(value[1:]),
                          n_blocks * q[0] - (n_blocks - 1) * q[1:].mean(axis=0), q[1:],
                          cov_diag.reshape(C, m).mean(axis=0), mean[0].reshape(C, m), n)


def exact_statistics(cov: np.ndarray, mean: np.ndarray | None = None, estimator: str = "connected") -> PairStatistics:
    """The estimator from an exact covariance ``[C, m, C, m]`` (and mean ``[C, m]``, default 0): no noise."""
    check_estimator(estimator, SAMPLED_ESTIMATORS)
    cov = np.asarray(cov, dtype=np.float64)
    C, m = cov.shape[:2]
    mean = np.zeros((C, m)) if mean is None else np.asarray(mean, dtype=np.float64)
    second = cov + mean[:, :, None, None] * mean[None, None, :, :]
    value, q = _pair_values(mean[None], second[None], estimator)
    variance = np.einsum("cici->i", cov) / C
    return PairStatistics(estimator, value[0], np.zeros_like(value[0]), q[0], None, variance, mean)
