"""Exact results for sandpiles on L x L with open boundaries, from the lattice Green's function.

The toppling matrix of BTW is the discrete Laplacian Delta (4 on the diagonal, -1 between nearest
neighbours) with Dirichlet boundary: a grain pushed over the edge is gone. Its inverse
G = Delta^-1 is the lattice Green's function. Dropping grains at sites i_1 .. i_M and relaxing
changes the configuration by

    h_end - h_start = sum_k e_{i_k} - Delta n,

with n the number of topplings of every site, so n = G (sum_k e_{i_k} - (h_end - h_start)) exactly,
whatever the order of topplings and whether or not the pile is stationary. Summed over sites, with
g = G 1 (G is symmetric):

    sum_k s_k = sum_k g(i_k) - g . (h_end - h_start).

In the stationary state (E[h_end] = E[h_start]) and with grains dropped uniformly, the mean avalanche
size is therefore <s> = sum_ij G(i, j) / L^2 (Dhar 1990). In the Manna model a toppling sends two grains
to random neighbours, on average 1/2 to each, so its mean effect is Delta / 2 and <s> = 2 sum_ij G / L^2.

g solves Delta g = 1 with g = 0 outside the lattice; the sine transform diagonalises Delta with
eigenvalues 4 - 2 cos(pi k / (L + 1)) - 2 cos(pi l / (L + 1)), k, l = 1 .. L.
"""

from __future__ import annotations

import numpy as np

#: Mean height of the stationary BTW sandpile on the infinite square lattice (Priezzhev 1994; 17/8
#: conjectured by Grassberger, proven by Jeng, Piroux and Ruelle 2006). Open edges lower it on a finite L.
BTW_DENSITY = 17 / 8
#: Topplings per toppling matrix: a Manna toppling moves grains by Delta / 2 on average (see above).
TOPPLING_SCALE = {"btw": 1.0, "manna": 2.0}


def _sine_basis(L: int) -> tuple[np.ndarray, np.ndarray]:
    """The orthonormal, symmetric sine matrix S and the eigenvalues of the 1D Dirichlet Laplacian."""
    k = np.arange(1, L + 1)
    S = np.sqrt(2.0 / (L + 1)) * np.sin(np.pi * np.outer(k, k) / (L + 1))
    return S, 2.0 - 2.0 * np.cos(np.pi * k / (L + 1))


def green_row_sums(L: int) -> np.ndarray:
    """``[L, L]``: g(i) = sum_j G(i, j), the mean topplings of all sites caused by one grain dropped at i."""
    S, lam = _sine_basis(L)
    ones = np.ones((L, L))
    return S @ ((S @ ones @ S) / (lam[:, None] + lam[None, :])) @ S


def mean_size(model: str, L: int) -> float:
    """The exact stationary mean avalanche size <s> of ``model`` on L x L (grains dropped uniformly)."""
    return TOPPLING_SCALE[model] * float(green_row_sums(L).mean())


def total_topplings(L: int, sites: np.ndarray, h_start: np.ndarray, h_end: np.ndarray) -> float:
    """BTW: the exact total number of topplings caused by dropping grains at ``sites`` (row * L + column) on
    ``h_start`` and relaxing to ``h_end`` (the identity in the module docstring)."""
    g = green_row_sums(L).reshape(-1)
    change = (np.asarray(h_end, float) - np.asarray(h_start, float)).reshape(-1)
    return float(g[np.asarray(sites)].sum() - g @ change)
