"""Multi-histogram (Ferrenberg-Swendsen) reweighting of a temperature sweep.

A sweep samples a grid of temperatures; the curves a user wants (Binder cumulant, susceptibility,
specific heat) and the estimates read off them (crossings, peak positions and heights) need values
*between* the grid points. Combining every run's energies into one density-of-states estimate gives
smooth curves at any temperature inside the sampled range, with much smaller bias than
interpolating the grid values, and with jackknife errors when the same blocks are left out of every
run.

References: A. M. Ferrenberg and R. H. Swendsen, Phys. Rev. Lett. 63, 1195 (1989);
M. E. J. Newman and G. T. Barkema, *Monte Carlo Methods in Statistical Physics*, ch. 8.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    top = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(top, axis=axis) + np.log(np.sum(np.exp(a - top), axis=axis))


class Reweighter:
    """Expectations at any inverse temperature from runs at several inverse temperatures.

    ``energies[k]`` holds the *total* energies of the samples taken at ``betas[k]`` (the weight is
    exp(-beta E)). Solves the self-consistent equations for the free energies ln Z_k, then
    reweights observables measured on the same samples.
    """

    def __init__(self, energies: Sequence[np.ndarray], betas: Sequence[float], *,
                 ln_z: np.ndarray | None = None, tol: float = 1e-10, max_iter: int = 5000):
        if len(energies) != len(betas) or not energies:
            raise ValueError("need one energy series per inverse temperature")
        self.betas = np.asarray(betas, dtype=np.float64)
        self.counts = np.array([len(e) for e in energies], dtype=np.float64)
        self.energy = np.concatenate([np.asarray(e, dtype=np.float64) for e in energies])
        self.ln_z = self._solve(ln_z, tol, max_iter)
        # log of the density-of-states weight of each sample, shared by every target beta.
        self._log_w = -self._log_denominator(self.ln_z)

    def _log_denominator(self, ln_z: np.ndarray) -> np.ndarray:
        a = np.log(self.counts)[:, None] - self.betas[:, None] * self.energy[None, :] - ln_z[:, None]
        return _logsumexp(a, axis=0)

    def _solve(self, ln_z: np.ndarray | None, tol: float, max_iter: int) -> np.ndarray:
        if len(self.betas) == 1:
            return np.zeros(1)
        if ln_z is None:
            ln_z = self._thermodynamic_integration()
        ln_z = np.array(ln_z, dtype=np.float64)
        for _ in range(max_iter):
            log_w = -self._log_denominator(ln_z)
            new = _logsumexp(-self.betas[:, None] * self.energy[None, :] + log_w[None, :], axis=1)
            new -= new[0]
            if np.max(np.abs(new - ln_z)) < tol:
                return new
            ln_z = new
        return ln_z

    def _thermodynamic_integration(self) -> np.ndarray:
        """ln Z_k - ln Z_0 from d ln Z / d beta = -<E> (trapezoid): a close start for the iteration."""
        edges = np.concatenate([[0], np.cumsum(self.counts).astype(int)])
        means = np.array([self.energy[a:b].mean() for a, b in zip(edges[:-1], edges[1:])])
        order = np.argsort(self.betas)
        b, e = self.betas[order], means[order]
        integral = np.concatenate([[0.0], np.cumsum(0.5 * (e[1:] + e[:-1]) * np.diff(b))])
        ln_z = np.empty_like(integral)
        ln_z[order] = -integral
        return ln_z - ln_z[0]

    def weights(self, beta: float | np.ndarray) -> np.ndarray:
        """Normalised sample weights ``[n_beta, n_samples]`` at the target inverse temperatures."""
        beta = np.atleast_1d(np.asarray(beta, dtype=np.float64))
        log_p = -beta[:, None] * self.energy[None, :] + self._log_w[None, :]
        log_p -= _logsumexp(log_p, axis=1)[:, None]
        return np.exp(log_p)

    def expect(self, observables: Sequence[np.ndarray] | np.ndarray, beta: float | np.ndarray) -> np.ndarray:
        """<O> at each target beta; ``observables`` aligned with the energies (list per run or flat)."""
        values = observables if isinstance(observables, np.ndarray) else np.concatenate(
            [np.asarray(o, dtype=np.float64) for o in observables])
        return self.weights(beta) @ values
