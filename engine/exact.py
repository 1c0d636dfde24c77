"""Exact results for the 2D Ising model (J = 1, k_B = 1): the test oracle and the plot overlays.

Infinite lattice (Onsager 1944, Phys. Rev. 65, 117; magnetization: Onsager 1949 / Yang 1952,
Phys. Rev. 85, 808) and the finite L x L torus (Kaufman 1949, Phys. Rev. 76, 1232; in the
notation of Ferdinand & Fisher 1969, Phys. Rev. 185, 832, eqs. 2.1-2.6).

Everything is float64 numpy, vectorised over T, and evaluated in log space so that L up to 256
and T from 0.5 to 10 neither overflow nor lose digits. The finite-lattice energy and specific heat
are analytic K-derivatives of Kaufman's ln Z, arranged so that nothing cancels catastrophically:
at T -> Tc one of Kaufman's four terms vanishes while its log-derivative diverges, and at low T
the variance that gives C is tiny compared with <E>^2 (see :func:`_kaufman`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .errors import ParameterError

#: Critical temperature of the square-lattice Ising model, 2 / ln(1 + sqrt 2).
TC_ISING = 2.0 / math.log(1.0 + math.sqrt(2.0))
#: Critical coupling K_c = J / T_c = ln(1 + sqrt 2) / 2.
KC_ISING = 1.0 / TC_ISING
#: Kosterlitz-Thouless temperature of the 2D XY model (Hasenbusch 2005, J. Phys. A 38, 5869).
T_KT_XY = 0.8929


def _coupling(T) -> np.ndarray:
    T = np.asarray(T, dtype=np.float64)
    if not np.all(np.isfinite(T)) or np.any(T <= 0):
        raise ParameterError("T", "temperatures must be finite and > 0")
    return 1.0 / T


def _shape_like(T, value: np.ndarray):
    """Return a float for scalar input, an array otherwise."""
    return float(value) if np.ndim(T) == 0 else value


# --- infinite lattice (Onsager) ---------------------------------------------------------------

def _elliptic_k_e(m1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Complete elliptic integrals K(m), E(m) of parameter m = 1 - m1, by the AGM.

    Taking the complement m1 = 1 - m as input keeps full precision next to Tc, where m -> 1 and
    K diverges logarithmically (K is inf at m1 = 0). The AGM converges quadratically.
    """
    m1 = np.asarray(m1, dtype=np.float64)
    a = np.ones_like(m1)
    b = np.sqrt(m1)
    c2_sum = 0.5 * (1.0 - m1)  # sum of 2^(n-1) c_n^2, starting with c_0^2 = m
    power = 0.5
    for _ in range(40):
        c = 0.5 * (a - b)
        a, b = 0.5 * (a + b), np.sqrt(a * b)
        power *= 2.0
        c2_sum = c2_sum + power * c * c
        if np.all(np.abs(c) <= 1e-17 * a):
            break
    k = np.where(m1 == 0.0, np.inf, np.pi / (2.0 * a))
    e = np.where(m1 == 0.0, 1.0, k * (1.0 - c2_sum))
    return k, e


def _onsager_parts(T):
    K = _coupling(T)
    s = np.sinh(2 * K)
    th = np.tanh(2 * K)
    # kappa = 2 sinh 2K / cosh^2 2K; 1 - kappa^2 written without cancellation near Tc (s = 1).
    m1 = ((1.0 - s) ** 2 / (1.0 + s * s)) * ((1.0 + s) ** 2 / (1.0 + s * s))
    k1, e1 = _elliptic_k_e(m1)
    return K, th, k1, e1, m1


def _g_times_k(th, k1, m1):
    """(2 tanh^2 2K - 1) K(kappa^2): 0 at Tc, where the first factor vanishes and K is infinite."""
    with np.errstate(invalid="ignore"):
        return np.where(m1 == 0.0, 0.0, (2.0 * th * th - 1.0) * k1)


def onsager_magnetization(T):
    """Spontaneous magnetization per site, (1 - sinh(2K)^-4)^(1/8) below Tc, 0 above (Yang 1952)."""
    K = _coupling(T)
    s = np.sinh(2 * K)
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.where(K > KC_ISING, np.clip(1.0 - s ** -4.0, 0.0, None) ** 0.125, 0.0)
    return _shape_like(T, m)


def onsager_energy(T):
    """Internal energy per site, u = -coth 2K [1 + (2/pi)(2 tanh^2 2K - 1) K(kappa^2)].

    At Tc the factor (2 tanh^2 2K - 1) vanishes while K diverges; the product is 0 there
    (u(Tc) = -sqrt 2).
    """
    _, th, k1, _, m1 = _onsager_parts(T)
    term = _g_times_k(th, k1, m1)
    return _shape_like(T, -(1.0 + (2.0 / np.pi) * term) / th)


def onsager_specific_heat(T):
    """Specific heat per site (k_B = 1); diverges logarithmically at Tc (inf there).

    C = (4/pi) (K coth 2K)^2 {K(k) - E(k) - (1 - tanh^2 2K) [pi/2 + (2 tanh^2 2K - 1) K(k)]}.
    """
    K, th, k1, e1, m1 = _onsager_parts(T)
    with np.errstate(invalid="ignore"):
        c = (4.0 / np.pi) * (K / th) ** 2 * (k1 - e1 - (1 - th * th) * (np.pi / 2 + _g_times_k(th, k1, m1)))
    return _shape_like(T, c)


_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(512)


def onsager_free_energy(T):
    """Free energy per site f = -T ln Z / N of the infinite lattice.

    -f/T = ln(2 cosh 2K) + (1/pi) int_0^{pi/2} ln[(1 + sqrt(1 - kappa^2 sin^2 phi)) / 2] d phi,
    the integral by 512-point Gauss-Legendre (smooth integrand; ~1e-12 even next to Tc).
    """
    K = _coupling(T)
    kappa2 = (2 * np.sinh(2 * K) / np.cosh(2 * K) ** 2) ** 2
    phi = (np.pi / 4) * (_GL_NODES + 1.0)
    sin2 = np.sin(phi) ** 2
    integrand = np.log(0.5 * (1.0 + np.sqrt(1.0 - np.multiply.outer(kappa2, sin2))))
    integral = (np.pi / 4) * integrand @ _GL_WEIGHTS
    ln_z = np.log(2 * np.cosh(2 * K)) + integral / np.pi
    return _shape_like(T, -ln_z / K)


# --- finite torus (Kaufman) -------------------------------------------------------------------

def _log2cosh(x):
    ax = np.abs(x)
    return ax + np.log1p(np.exp(-2 * ax))


def _log2sinh_abs(x):
    ax = np.abs(x)
    with np.errstate(divide="ignore"):
        return ax + np.log(-np.expm1(-2 * ax))


def _gammas(K: np.ndarray, L: int):
    """Kaufman's gamma_l (l = 0 .. 2L-1) and their first two K-derivatives, shape [nT, 2L].

    cosh gamma_l = cosh 2K coth 2K - cos(pi l / L) for l >= 1, and gamma_0 = 2K + ln tanh K,
    which changes sign at Tc (Ferdinand & Fisher's sign convention; that sign is what makes the
    fourth term negative above Tc).
    """
    K = K[:, None]
    s, ch = np.sinh(2 * K), np.cosh(2 * K)
    theta = np.pi * np.arange(2 * L) / L
    # c - 1 = (s - 1)^2 / s + 2 sin^2(theta / 2): no cancellation where c -> 1.
    cm1 = (s - 1) ** 2 / s + 2 * np.sin(theta / 2) ** 2
    sinh_g = np.sqrt(cm1 * (cm1 + 2))
    g = np.log1p(cm1 + sinh_g)
    dc = 2 * ch * (s * s - 1) / (s * s)
    d2c = 4 * s + 4 * (1 + ch * ch) / s ** 3
    with np.errstate(divide="ignore", invalid="ignore"):
        dg = dc / sinh_g
        d2g = (d2c - (cm1 + 1) * dg * dg) / sinh_g
    g0 = 2 * K[:, 0] + np.log(np.tanh(K[:, 0]))
    g[:, 0] = g0
    dg[:, 0] = 2 + 2 / s[:, 0]
    d2g[:, 0] = -4 * ch[:, 0] / s[:, 0] ** 2
    return g, dg, d2g


def _factor_sums(x, dx, d2x, kind: str):
    """ln|prod_r g(x_r)|, sum of g'/g and sum of (ln g)'' for g = 2 cosh or 2 sinh."""
    e = np.exp(-2 * np.abs(x))
    if kind == "cosh":
        log_g = _log2cosh(x)
        t = np.tanh(x)
        dt = 4 * e / (1 + e) ** 2            # sech^2, accurate when tanh -> 1
    else:
        log_g = _log2sinh_abs(x)
        t = 1 / np.tanh(x)
        dt = -4 * e / (1 - e) ** 2           # -csch^2
    return log_g.sum(-1), (t * dx).sum(-1), (dt * dx * dx + t * d2x).sum(-1)


class _Term(NamedTuple):
    """One of Kaufman's Z_i = g(x_f) R: (log|.|, sign) of it and of its complement g*(x_f) R
    (cosh <-> sinh of the first factor), and the derivatives of the rest and of x_f."""

    w: tuple
    c: tuple
    d_rest: np.ndarray
    v_rest: np.ndarray
    dx_first: np.ndarray
    d2x_first: np.ndarray


def _kaufman(L: int, T):
    """ln Z and its first two K-derivatives for the L x L torus, each shaped like T.

    Z = 1/2 (2 sinh 2K)^(N/2) sum_{i=1..4} Z_i with Z_i products of 2 cosh or 2 sinh of
    x_l = L gamma_l / 2 over odd l (Z_1, Z_2) or even l (Z_3, Z_4). Each Z_i is split into its
    first factor g(x_f) and the rest R_i. With p_i = Z_i / sum Z and D_i, V_i the first and second
    derivatives of ln|Z_i|, (ln sum Z)'' = sum_i p_i [V_i + (D_i - Dbar)^2] (no E^2 - E^2
    cancellation at low T), and the parts of p_i V_i and p_i D_i that carry coth(x_f) are
    rewritten with p_i coth(x_f) = (complementary first factor) R_i / sum Z, which stays finite
    where Z_4 -> 0 at Tc.
    """
    try:
        valid = int(L) == L and L >= 2
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ParameterError("L", f"must be an integer >= 2, got {L!r}")
    L = int(L)
    K = np.atleast_1d(_coupling(T)).ravel()
    g, dg, d2g = _gammas(K, L)
    x, dx, d2x = 0.5 * L * g, 0.5 * L * dg, 0.5 * L * d2g
    terms = []
    for parity in (1, 0):
        xs, dxs, d2xs = x[:, parity::2], dx[:, parity::2], d2x[:, parity::2]
        xf = xs[:, 0]
        log_cosh, log_sinh, sgn = _log2cosh(xf), _log2sinh_abs(xf), np.sign(xf)
        for kind in ("cosh", "sinh"):
            log_r, d_r, v_r = _factor_sums(xs[:, 1:], dxs[:, 1:], d2xs[:, 1:], kind)
            cosh_part, sinh_part = (log_cosh + log_r, 1.0), (log_sinh + log_r, sgn)
            w, c = (cosh_part, sinh_part) if kind == "cosh" else (sinh_part, cosh_part)
            terms.append(_Term(w, c, d_r, v_r, dxs[:, 0], d2xs[:, 0]))
    top = np.max([np.maximum(t.w[0], t.c[0]) for t in terms], axis=0)
    scaled = [(t.w[1] * np.exp(t.w[0] - top), t.c[1] * np.exp(t.c[0] - top)) for t in terms]
    total = sum(w for w, _ in scaled)
    d_bar = sum(w * t.d_rest + c * t.dx_first for (w, c), t in zip(scaled, terms)) / total
    second = 0.0
    for (w, c), t in zip(scaled, terms):
        spread = t.d_rest - d_bar
        second = second + w * (t.v_rest + t.dx_first**2 + spread**2) + c * (t.d2x_first + 2 * spread * t.dx_first)
    second = second / total
    N = L * L
    s2k = np.sinh(2 * K)
    ln_z = -math.log(2.0) + 0.5 * N * np.log(2 * s2k) + top + np.log(total)
    d_ln_z = N / np.tanh(2 * K) + d_bar
    d2_ln_z = -2 * N / s2k ** 2 + second
    shape = np.shape(T)
    return K.reshape(shape), ln_z.reshape(shape), d_ln_z.reshape(shape), d2_ln_z.reshape(shape)


def kaufman_ln_z(L: int, T):
    """Total ln Z of the L x L periodic Ising model (J = 1, zero field), exact (Kaufman 1949)."""
    _, ln_z, _, _ = _kaufman(L, T)
    return _shape_like(T, ln_z)


def kaufman_energy(L: int, T):
    """Exact <E>/N on the L x L torus: -d ln Z / dK / N."""
    _, _, d1, _ = _kaufman(L, T)
    return _shape_like(T, -d1 / (L * L))


def kaufman_specific_heat(L: int, T):
    """Exact C/N on the L x L torus: K^2 d^2 ln Z / dK^2 / N."""
    K, _, _, d2 = _kaufman(L, T)
    return _shape_like(T, K * K * d2 / (L * L))


# --- brute force (tiny lattices) ---------------------------------------------------------------

def enumerate_ising(L: int) -> tuple[np.ndarray, np.ndarray]:
    """Total energy and total magnetization of every configuration of the L x L torus (L <= 4).

    The oracle for observables Kaufman does not give (|m|, m^2, m^4, Binder) and for samplers.
    """
    if L not in (2, 3, 4):
        raise ParameterError("L", f"enumeration needs L in 2..4 (2^(L^2) states), got {L!r}")
    n = L * L
    codes = np.arange(2**n, dtype=np.int64)[:, None]
    spins = (1 - 2 * ((codes >> np.arange(n)) & 1)).reshape(-1, L, L)
    bonds = spins * np.roll(spins, 1, axis=1) + spins * np.roll(spins, 1, axis=2)
    return -bonds.sum(axis=(1, 2)), spins.sum(axis=(1, 2))


def enumeration_averages(L: int, T: float) -> dict[str, float]:
    """Exact Boltzmann averages on a tiny torus, per site: energy, specific_heat, abs_m, m2, m4,
    susceptibility N beta (<m^2> - <|m|>^2) and binder 1 - <m^4> / (3 <m^2>^2)."""
    beta = float(_coupling(T))
    energy, mag = enumerate_ising(L)
    N = L * L
    a = -beta * energy
    p = np.exp(a - a.max())
    p /= p.sum()
    e, m = energy / N, np.abs(mag) / N

    def avg(v):
        return float((p * v).sum())

    out = {"energy": avg(e), "abs_m": avg(m), "m2": avg(m**2), "m4": avg(m**4)}
    out["specific_heat"] = N * beta**2 * avg((e - out["energy"]) ** 2)
    out["susceptibility"] = N * beta * (out["m2"] - out["abs_m"] ** 2)
    out["binder"] = 1.0 - out["m4"] / (3.0 * out["m2"] ** 2)
    return out
