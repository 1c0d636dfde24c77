"""Where the neural RG's latent variables sit in the bulk, and the bulk's distances.

Convention. A latent variable of RG level l (0 = finest) that lives at site (i, j) of the L x L
boundary lattice belongs to a block of side s = 2^(l+1) sites (the 2 x 2 block of the level-l
coarse lattice, whose spacing is 2^l). It is placed in the upper half-space model of hyperbolic
3-space H^3 at

    (x, y, w) = (block centre, w0 * 2^l),

block centre = (floor(i / s) + 1/2) s - 1/2 (and the same for j), so a node sits above the
boundary sites it summarises, at a height proportional to its length scale: the scale invariance
x -> a x, w -> a w of H^3 is the RG's rescaling. The boundary lattice (w = 0) is at infinite
distance; the metric is ds^2 = (dx^2 + dy^2 + dw^2) / w^2.

Distances between nodes use the minimum image on the torus in x and y:
cosh d = 1 + (dx^2 + dy^2 + (w1 - w2)^2) / (2 w1 w2).
"""

from __future__ import annotations

import numpy as np


def node_coordinates(positions: np.ndarray, w0: float = 1.0) -> np.ndarray:
    """``[n, 3]`` (x, y, w) in the half-space model from ``[n, 3]`` integer (i, j, level) rows."""
    pos = np.asarray(positions)
    i, j, level = pos[:, 0], pos[:, 1], pos[:, 2]
    s = 2.0 ** (level + 1)
    x = (np.floor(i / s) + 0.5) * s - 0.5
    y = (np.floor(j / s) + 0.5) * s - 0.5
    return np.stack([x, y, w0 * 2.0**level], axis=1).astype(np.float64)


def min_image(d: np.ndarray, L: float) -> np.ndarray:
    """The displacement ``d`` wrapped into [-L/2, L/2] (periodic boundary)."""
    return d - L * np.round(d / L)


def hyperbolic_distance(a: np.ndarray, b: np.ndarray, L: float) -> np.ndarray:
    """Geodesic distance between half-space points ``a`` and ``b`` (broadcasting ``[..., 3]``)."""
    dx = min_image(a[..., 0] - b[..., 0], L)
    dy = min_image(a[..., 1] - b[..., 1], L)
    dw = a[..., 2] - b[..., 2]
    arg = 1.0 + (dx * dx + dy * dy + dw * dw) / (2.0 * a[..., 2] * b[..., 2])
    return np.arccosh(np.maximum(arg, 1.0))


def flat_distance(a: np.ndarray, b: np.ndarray, L: float) -> np.ndarray:
    """Euclidean distance between the same points (minimum image), for contrast with the hyperbolic one."""
    dx = min_image(a[..., 0] - b[..., 0], L)
    dy = min_image(a[..., 1] - b[..., 1], L)
    dw = a[..., 2] - b[..., 2]
    return np.sqrt(dx * dx + dy * dy + dw * dw)


def pairwise(coords: np.ndarray, L: float, metric=hyperbolic_distance) -> np.ndarray:
    """``[n, n]`` matrix of distances between all nodes."""
    return metric(coords[:, None, :], coords[None, :, :], L)


def poincare_ball(coords: np.ndarray, L: float) -> np.ndarray:
    """Map half-space points into the unit ball (for display), the lattice centred on the axis.

    Coordinates are first scaled by L so the whole boundary lattice spans about the unit disc at
    the ball's south pole; the map is the standard isometry from the upper half-space to the ball.
    """
    x = (coords[:, 0] - (L - 1) / 2) / (L / 2)
    y = (coords[:, 1] - (L - 1) / 2) / (L / 2)
    w = coords[:, 2] / (L / 2)
    denom = x * x + y * y + (w + 1.0) ** 2
    return np.stack([2 * x / denom, 2 * y / denom, (x * x + y * y + w * w - 1.0) / denom], axis=1)


def poincare_disk(x: np.ndarray, w: np.ndarray, L: float) -> np.ndarray:
    """The 2D analogue for a one-row slice: half-plane points (x, w) into the unit disc, ``[n, 2]``."""
    u = (np.asarray(x) - (L - 1) / 2) / (L / 2)
    v = np.asarray(w) / (L / 2)
    z = (u + 1j * v - 1j) / (u + 1j * v + 1j)  # Cayley transform: upper half-plane -> disc
    return np.stack([z.real, z.imag], axis=1)


def disk_geodesic(p: np.ndarray, q: np.ndarray, n: int = 32) -> np.ndarray:
    """Points ``[n, 2]`` along the Poincare-disc geodesic (a circle arc orthogonal to the rim) from p to q."""
    a, b = complex(*p), complex(*q)
    # Move p to the centre (Mobius isometry), draw the straight diameter segment, move back.
    bb = (b - a) / (1 - np.conj(a) * b)
    t = np.linspace(0.0, 1.0, n)
    seg = t * bb
    back = (seg + a) / (1 + np.conj(a) * seg)
    return np.stack([back.real, back.imag], axis=1)


def slice_points(L: int, levels: int, row: int) -> dict[tuple[int, int], np.ndarray]:
    """Disc position of every (level, column block) above ``row``: one point per block of latents."""
    keys, positions = [], []
    for level in range(levels + 1):
        s = 2 ** (level + 1)
        for block in range(max(L // s, 1)):
            keys.append((level, block))
            positions.append((row, block * s, level))
    coords = node_coordinates(np.array(positions))
    disc = poincare_disk(coords[:, 1], coords[:, 2], L)
    return dict(zip(keys, disc))


def slice_nodes(node_levels: np.ndarray, L: int, row: int) -> dict[tuple[int, int], list[int]]:
    """The nodes above ``row`` (their block covers it), grouped by (level, column block)."""
    groups: dict[tuple[int, int], list[int]] = {}
    for k, level in enumerate(node_levels):
        i, j = divmod(k, L)
        s = 2 ** (int(level) + 1)
        if i // s == row // s:
            groups.setdefault((int(level), j // s), []).append(k)
    return groups
