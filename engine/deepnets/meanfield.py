"""Mean-field signal propagation through deep random networks (Poole et al. 2016; Schoenholz et al. 2017).

A fully connected network with weights W_ij ~ N(0, sigma_w^2 / N) and biases b_i ~ N(0, sigma_b^2) carries
pre-activations h^{l+1} = W phi(h^l) + b. For wide layers each h_i^l is Gaussian, and two numbers per layer
describe a pair of inputs: the length q^l = <h_i^2> and the correlation c^l of the two inputs' h. They obey

    q^{l+1} = sigma_w^2 E_z[phi(sqrt(q^l) z)^2] + sigma_b^2                      (the length map)
    c^{l+1} = (sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2) / q^{l+1}             (the correlation map)

with u1 = sqrt(q) z1, u2 = sqrt(q) (c z1 + sqrt(1 - c^2) z2) and z1, z2 independent standard normals.
c = 1 is always a fixed point of the correlation map; its slope there,
chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2], decides its stability: chi_1 < 1 is the ordered phase (every pair of
inputs becomes alike, c* = 1), chi_1 > 1 the chaotic phase (a fixed point c* < 1 attracts, nearby inputs
decorrelate). chi_1 = 1 is the order-to-chaos line. Perturbations decay as exp(-l / xi):
xi_q = -1 / ln(dq^{l+1}/dq^l at q*), which stays finite, and xi_c = -1 / ln(chi_c) with
chi_c = sigma_w^2 E[phi'(u1) phi'(u2)] at c* (= chi_1 in the ordered phase), which diverges on the line.

Every Gaussian average here is a Gauss-Hermite sum (1-D, and a tensor product in 2-D), vectorised over the
whole (sigma_w^2, sigma_b^2) grid. Derivatives come from Gaussian integration by parts:
d/dq E[g(sqrt(q) z)] = E[g''] / 2 and d/dc E[phi(u1) phi(u2)] = q E[phi'(u1) phi'(u2)] (Price's theorem),
so the fixed points are found by Newton's method with exact slopes.

ReLU is positively homogeneous: its length map is linear, q' = sigma_w^2 q / 2 + sigma_b^2, with a finite fixed
point only for sigma_w^2 < 2; beyond, q grows without bound (q* = inf) and the correlation quantities are those
of that limit, where the bias no longer counts. Its correlation map is the arc-cosine kernel
(:func:`relu_correlation_map`), and its only critical point is sigma_w^2 = 2, sigma_b^2 = 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

#: Gauss-Hermite nodes of the 1-D averages (an even count: no node at ReLU's kink, whose halves then weigh the same).
NODES_1D = 96
#: The 2-D averages (:func:`gauss2`): radial panels up to r = 9 (exp(-81/2) is below double precision), Gauss-Legendre
#: nodes per panel and per arc of the angle.
RADIAL_PANELS = np.array([0.0, 0.5, 1.0, 2.0, 3.0, 4.5, 6.0, 9.0])
NODES_PER_PANEL = 8
NODES_ARC = 20
#: Newton steps for q* and c*: the iterations converge monotonically (the maps are concave in q, convex in c).
NEWTON_STEPS = 60
#: Newton stops when every step is below this (relative for q*, absolute for c*).
TOLERANCE = 1e-12
#: Grid cells averaged at once in the 2-D sums (memory: CHUNK x 4480 nodes x 8 bytes = 4.6 MB per temporary).
CHUNK = 128


@dataclass(frozen=True)
class Activation:
    """phi and its first two derivatives; ``homogeneous``: phi(a x) = a phi(x) for a > 0 (ReLU)."""

    name: str
    phi: Callable[[np.ndarray], np.ndarray]
    d1: Callable[[np.ndarray], np.ndarray]
    d2: Callable[[np.ndarray], np.ndarray]
    homogeneous: bool = False


def _tanh_d1(x):
    return 1.0 - np.tanh(x) ** 2


def _tanh_d2(x):
    t = np.tanh(x)
    return -2.0 * t * (1.0 - t**2)


#: Keyed by :data:`engine.names.DEEPNET_ACTIVATIONS`, in that order.
ACTIVATIONS = {
    "tanh": Activation("tanh", np.tanh, _tanh_d1, _tanh_d2),
    "relu": Activation("relu", lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(float),
                       lambda x: np.zeros_like(x), homogeneous=True),
}


def activation(name: str) -> Activation:
    return ACTIVATIONS[name]


@cache
def _hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilists' Gauss-Hermite nodes and weights normalised to a standard normal average."""
    x, w = np.polynomial.hermite_e.hermegauss(n)
    return x, w / w.sum()


@cache
def _polar_rule() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Radial nodes and weights (:data:`RADIAL_PANELS`), and Gauss-Legendre nodes and weights on [-1, 1] per arc."""
    x, w = np.polynomial.legendre.leggauss(NODES_PER_PANEL)
    a, b = RADIAL_PANELS[:-1, None], RADIAL_PANELS[1:, None]
    r = (a + (b - a) * (x + 1) / 2).ravel()
    return r, ((b - a) / 2 * w).ravel() * r * np.exp(-r**2 / 2), *np.polynomial.legendre.leggauss(NODES_ARC)


def gauss1(f, q) -> np.ndarray:
    """E_z[f(sqrt(q) z)] for each q (any shape), z standard normal."""
    x, w = _hermite(NODES_1D)
    q = np.asarray(q, float)
    return f(np.sqrt(q)[..., None] * x) @ w


def gauss2(f, g, q, c) -> np.ndarray:
    """E[f(u1) g(u2)], (u1, u2) Gaussian with variances q and correlation c (broadcast shapes), in chunks.

    In polar coordinates (z1, z2) = r (cos t, sin t), u1 = sqrt(q) r cos t and u2 = sqrt(q) r cos(t - t0) with
    t0 = arccos c: r by Gauss-Legendre on the panels :data:`RADIAL_PANELS` (weight r exp(-r^2 / 2)), t by
    Gauss-Legendre on the four arcs between the angles where u1 or u2 vanishes. A kink of phi at 0 (ReLU) then
    lies on arc ends, where a tensor Gauss-Hermite rule would cut through it (measured: errors near 1e-3 against
    the arc-cosine kernel with 64 x 64 nodes; here 1e-13; for tanh 4e-11 against a 300 x 300 Gauss-Hermite
    rule). Panels rather than Gauss-Laguerre in r^2 / 2 resolve tanh's saturation at r ~ 1 / sqrt(q) for large q
    (Laguerre with 40 nodes missed chi_c at q = 20 by 30%).
    """
    r, w_r, x, w_t = _polar_rule()
    q, c = np.broadcast_arrays(np.asarray(q, float), np.asarray(c, float))
    out = np.empty(q.shape)
    flat_q, flat_c, flat_out = q.ravel(), c.ravel(), out.reshape(-1)
    for start in range(0, flat_q.size, CHUNK):
        s = slice(start, start + CHUNK)
        t0 = np.arccos(np.clip(flat_c[s], -1.0, 1.0))[:, None]
        ends = np.sort(np.mod(np.concatenate([np.full_like(t0, np.pi / 2), np.full_like(t0, 3 * np.pi / 2),
                                              t0 + np.pi / 2, t0 + 3 * np.pi / 2], axis=1), 2 * np.pi), axis=1)
        width = np.diff(np.concatenate([ends, ends[:, :1] + 2 * np.pi], axis=1), axis=1)  # [cells, 4 arcs]
        t = (ends[:, :, None] + width[:, :, None] * (x + 1) / 2).reshape(len(t0), -1)  # [cells, 4 * NODES_ARC]
        w_arc = (width[:, :, None] * w_t / 2).reshape(len(t0), -1) / (2 * np.pi)
        radius = np.sqrt(flat_q[s])[:, None, None] * r[:, None]  # [cells, radial, 1]
        u1, u2 = radius * np.cos(t)[:, None, :], radius * np.cos(t - t0)[:, None, :]
        flat_out[s] = np.einsum("crt,r,ct->c", f(u1) * g(u2), w_r, w_arc)
    return out


def length_map(act: Activation, q, sw2, sb2) -> np.ndarray:
    """q^{l+1} from q^l."""
    return sw2 * gauss1(lambda u: act.phi(u) ** 2, q) + sb2


def length_slope(act: Activation, q, sw2) -> np.ndarray:
    """d q^{l+1} / d q^l = sigma_w^2 E[phi'^2 + phi phi''] (integration by parts)."""
    return sw2 * gauss1(lambda u: act.d1(u) ** 2 + act.phi(u) * act.d2(u), q)


def correlation_map(act: Activation, q, c, sw2, sb2, q_next=None) -> np.ndarray:
    """c^{l+1} from (q^l, c^l); ``q_next`` = q^{l+1} (the length map of q^l when not given)."""
    q_next = length_map(act, q, sw2, sb2) if q_next is None else q_next
    return (sw2 * gauss2(act.phi, act.phi, q, c) + sb2) / q_next


def chi_c(act: Activation, q, c, sw2) -> np.ndarray:
    """sigma_w^2 E[phi'(u1) phi'(u2)]: the slope of the correlation map at a fixed point of q."""
    return sw2 * gauss2(act.d1, act.d1, q, c)


def fixed_q(act: Activation, sw2, sb2) -> np.ndarray:
    """q*, the attracting fixed point of the length map (inf where q grows without bound).

    Newton from above: for tanh q* <= sigma_w^2 + sigma_b^2 (|tanh| <= 1), and the map is concave in q, so the
    iterates fall monotonically onto q* (onto 0 for sigma_b^2 = 0, sigma_w^2 <= 1). A homogeneous phi has the
    linear map q' = a q + sigma_b^2, a = sigma_w^2 E[phi(z)^2], solved directly.
    """
    sw2, sb2 = np.broadcast_arrays(np.asarray(sw2, float), np.asarray(sb2, float))
    if act.homogeneous:
        a = sw2 * gauss1(lambda u: act.phi(u) ** 2, np.ones_like(sw2))
        a = np.where(np.abs(a - 1.0) < 1e-12, 1.0, a)  # sigma_w^2 = 2 exactly, not 1 - 1e-16
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.where(a < 1.0, sb2 / (1.0 - a), np.inf)
        return np.where((a == 1.0) & (sb2 == 0.0), 0.0, q)  # the critical point: every q is fixed; report 0
    q = sw2 + sb2
    for _ in range(NEWTON_STEPS):
        residual = length_map(act, q, sw2, sb2) - q
        slope = length_slope(act, q, sw2) - 1.0
        step = np.where(slope < 0, residual / np.where(slope < 0, slope, -1.0), 0.0)
        q = np.maximum(q - step, 0.0)
        if np.all(np.abs(step) <= TOLERANCE * np.maximum(q, 1e-300)):
            break
    return q


def _finite_q(act: Activation, q):
    """q where the correlation quantities are evaluated. A homogeneous phi's chi_1, chi_c and length slope do not
    depend on q, and its correlation map only through sigma_b^2 / q: q* = inf (the bias no longer counts) and
    q* = 0 with sigma_b^2 = 0 (no bias to count) are both evaluated at q = 1."""
    return np.where(np.isfinite(q) & (q > 0), q, 1.0) if act.homogeneous else q


def fixed_c(act: Activation, q_star, sw2, sb2, chi1) -> np.ndarray:
    """c*: 1 in the ordered phase (chi_1 <= 1), else the root below 1 of c' = c.

    Newton from c = 0 on the convex map (the dual activation's power series has non-negative coefficients):
    the iterates rise monotonically onto c* since the map lies above the diagonal at 0 for odd phi with
    sigma_b^2 >= 0. A homogeneous phi with chi_1 > 1 has no finite q*: c* = 1 there, the marginal fixed point of
    the bias-free arc-cosine map.
    """
    q = _finite_q(act, q_star)
    chaotic = (chi1 > 1.0) & np.isfinite(q_star)
    c = np.where(chaotic, 0.0, 1.0)
    if not np.any(chaotic):
        return c
    qc, sw, sb, cc = q[chaotic], sw2[chaotic], sb2[chaotic], c[chaotic]
    active = np.ones(cc.shape, bool)  # cells still moving: only these are averaged again
    for _ in range(NEWTON_STEPS):
        i = np.flatnonzero(active)
        residual = correlation_map(act, qc[i], cc[i], sw[i], sb[i], q_next=qc[i]) - cc[i]
        step = residual / np.minimum(chi_c(act, qc[i], cc[i], sw[i]) - 1.0, -1e-12)
        cc[i] = np.clip(cc[i] - step, 0.0, 1.0)
        active[i] = np.abs(step) > TOLERANCE
        if not active.any():
            break
    c[chaotic] = cc
    return c


def depth_scale(slope) -> np.ndarray:
    """-1 / ln(slope): the layers over which a perturbation falls by e; inf where it does not fall (slope 1 or
    more, within the quadrature's rounding of 1e-10: beyond 1e10 layers)."""
    slope = np.asarray(slope, float)
    falls = (slope > 0) & (slope < 1.0 - 1e-10)
    return np.where(falls, -1.0 / np.log(np.where(falls, slope, 0.5)), np.inf)


@dataclass
class MeanField:
    """Every mean-field quantity on a grid: arrays of shape [n_sb2, n_sw2] (rows: sigma_b^2)."""

    activation: str
    sw2: np.ndarray  # 1-D
    sb2: np.ndarray  # 1-D
    q_star: np.ndarray
    c_star: np.ndarray
    chi_1: np.ndarray
    chi_c: np.ndarray
    xi_q: np.ndarray
    xi_c: np.ndarray

    FIELDS = ("q_star", "c_star", "chi_1", "chi_c", "xi_q", "xi_c")


def mean_field(name: str, sw2, sb2) -> MeanField:
    """q*, c*, chi_1, chi_c, xi_q and xi_c at every (sigma_w^2, sigma_b^2) of the grid sw2 x sb2."""
    act = activation(name)
    sw2_1d, sb2_1d = np.atleast_1d(np.asarray(sw2, float)), np.atleast_1d(np.asarray(sb2, float))
    SW, SB = np.meshgrid(sw2_1d, sb2_1d)
    q_star = fixed_q(act, SW, SB)
    q = _finite_q(act, q_star)
    chi1 = SW * gauss1(lambda u: act.d1(u) ** 2, q)
    c_star = fixed_c(act, q_star, SW, SB, chi1)
    chic = chi_c(act, q, c_star, SW)
    slope_q = np.where(np.isfinite(q_star), length_slope(act, q, SW), np.inf)  # a growing q has no depth scale
    return MeanField(name, sw2_1d, sb2_1d, q_star, c_star, chi1, chic, depth_scale(slope_q), depth_scale(chic))


def critical_line(name: str, sb2, q_max: float = 100.0, steps: int = 60) -> np.ndarray:
    """sigma_w^2 where chi_1 = 1 at each sigma_b^2.

    On the line q* and chi_1 = 1 fix both variances: sigma_w^2 = 1 / E[phi'(sqrt(q*) z)^2] and then
    sigma_b^2 = q* - E[phi^2] / E[phi'^2]. Bisection on q* in [0, q_max] for the sigma_b^2 asked (it rises with
    q*) gives the point. A homogeneous phi has chi_1 independent of q: the line is sigma_w^2 = 1 / E[phi'(z)^2] at
    every sigma_b^2 (2 for ReLU).
    """
    act = activation(name)
    sb2 = np.atleast_1d(np.asarray(sb2, float))

    def slope2(q):  # E[phi'(sqrt(q) z)^2]
        return gauss1(lambda u: act.d1(u) ** 2, q)

    if act.homogeneous:
        return np.full_like(sb2, 1.0 / float(slope2(1.0)))
    lo, hi = np.zeros_like(sb2), np.full_like(sb2, q_max)
    for _ in range(steps):
        q = 0.5 * (lo + hi)
        above = q - gauss1(lambda u: act.phi(u) ** 2, q) / slope2(q) > sb2
        lo, hi = np.where(above, lo, q), np.where(above, q, hi)
    return 1.0 / slope2(0.5 * (lo + hi))


def propagate(name: str, q0: float, c0: float, sw2: float, sb2: float, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """The mean-field q^l and c^l, l = 0..depth, of two inputs with pre-activation length q0 and correlation c0."""
    act = activation(name)
    q, c = [float(q0)], [float(c0)]
    for _ in range(depth):
        q_next = float(length_map(act, q[-1], sw2, sb2))
        c.append(float(correlation_map(act, q[-1], c[-1], sw2, sb2, q_next=q_next)))
        q.append(q_next)
    return np.array(q), np.array(c)


def relu_length_map(q, sw2, sb2):
    """ReLU's length map in closed form."""
    return sw2 * np.asarray(q) / 2 + sb2


def relu_correlation_map(q, c, sw2, sb2):
    """ReLU's correlation map in closed form: the arc-cosine kernel
    E[relu(u1) relu(u2)] = q (sin t + (pi - t) cos t) / (2 pi), t = arccos c."""
    t = np.arccos(np.clip(c, -1, 1))
    return (sw2 * q * (np.sin(t) + (np.pi - t) * np.cos(t)) / (2 * np.pi) + sb2) / relu_length_map(q, sw2, sb2)
