"""Target densities exp(-S(x)) for the neural RG: complex phi^4 and the 2D Ising model.

The flow needs a continuous field, so the Ising model enters through its Hubbard-Stratonovich
(HS) relaxation. With K the coupling matrix (K_ij = beta J on nearest-neighbour pairs) and a
shift a that makes M = K + a I positive definite,

    exp(s^T M s / 2) = (2 pi)^(-N/2) det(M)^(-1/2) Int dx exp(-x^T M^-1 x / 2 + s^T x),

and summing over s (s_i^2 = 1, sum_s exp(s^T x) = 2^N prod cosh x_i) gives the field density
exp(-E(x)) with E(x) = x^T M^-1 x / 2 - sum_i ln cosh x_i and

    Z_HS = Z_Ising * exp(N a / 2) * (2 pi)^(N/2) * det(M)^(1/2) * 2^(-N).

Given x, spins are independent with P(s_i) = exp(s_i x_i) / (2 cosh x_i); spins drawn that way
from exact x samples are exact Ising samples. M is circulant on the torus, so M^-1 x, M^(1/2) xi
and det M all come from one 2D FFT (eigenvalues a + 2 beta J (cos q_x + cos q_y)).

Free energies are in loss units: beta F = -ln Z, total over the lattice.
"""

from __future__ import annotations

import math

import torch

from ..errors import ParameterError
from ..models.base import as_batch
from ..models.phi4 import action as phi4_action
from ..models.xy import neighbour_sum
from ..names import NRG_TARGETS

TARGETS = NRG_TARGETS
#: Targets given as data instead of an action (:mod:`.images`), trained by maximum likelihood.
DATA_TARGETS = ("images",)


def _scalar(name: str, value, *, positive: bool = False) -> float:
    values = as_batch(name, value, positive=positive)
    if len(values) != 1:
        raise ParameterError(name, f"needs a single value, got {len(values)}")
    return values[0]


def _validate_L(L) -> int:
    if isinstance(L, bool) or not isinstance(L, int) or L < 2 or L % 2:
        raise ParameterError("L", f"must be an even integer >= 2, got {L!r}")
    return L


def log_cosh(x: torch.Tensor) -> torch.Tensor:
    """ln cosh x without overflow for large |x|."""
    ax = x.abs()
    return ax + torch.log1p(torch.exp(-2 * ax)) - math.log(2.0)


class IsingHS:
    """The 2D Ising model (J = 1, temperature T) as a continuous HS field ``[B, 1, L, L]``."""

    name = "ising"
    channels = 1
    symmetry = "z2"

    def __init__(self, L: int, T: float, a: float | None = None):
        self.L = _validate_L(L)
        self.T = _scalar("T", T, positive=True)
        self.beta = 1.0 / self.T
        # The smallest eigenvalue of K is -4 beta; a small margin above it keeps x close to
        # Gaussian per site (a large a makes each x_i bimodal, which flows learn badly).
        self.a = 4 * self.beta + 0.1 if a is None else _scalar("a", a)
        if self.a <= 4 * self.beta:
            raise ParameterError("a", f"must exceed 4/T = {4 * self.beta:.6g} so that K + aI is positive "
                                 f"definite, got {self.a:.6g}")

    def params(self) -> dict[str, float]:
        return {"T": self.T, "a": self.a}

    @property
    def N(self) -> int:
        return self.L * self.L

    def eigenvalues(self, device=None, dtype=torch.float64) -> torch.Tensor:
        """``[L, L]`` eigenvalues of M = K + aI on the Fourier grid."""
        c = torch.cos(2 * math.pi * torch.arange(self.L, device=device, dtype=dtype) / self.L)
        return self.a + 2 * self.beta * (c[:, None] + c[None, :])

    def action(self, x: torch.Tensor) -> torch.Tensor:
        """E(x) = x^T M^-1 x / 2 - sum ln cosh x, ``[B]``."""
        xf = torch.fft.fft2(x[:, 0])
        lam = self.eigenvalues(x.device, x.dtype)
        quad = (xf.real ** 2 + xf.imag ** 2) / lam
        return 0.5 * quad.sum(dim=(-2, -1)) / self.N - log_cosh(x).flatten(1).sum(-1)

    def log_partition_from_ising(self, ln_z_ising: float) -> float:
        """ln Z_HS from the Ising model's total ln Z (see the module docstring)."""
        log_det = torch.log(self.eigenvalues()).sum().item()
        return ln_z_ising + self.N * self.a / 2 + self.N / 2 * math.log(2 * math.pi) + 0.5 * log_det \
            - self.N * math.log(2.0)

    def exact_free_energy(self) -> float | None:
        """-ln Z_HS from Kaufman's exact ln Z, or None where engine.exact is not available."""
        try:
            from ..exact import kaufman_ln_z
        except ImportError:
            return None
        return -self.log_partition_from_ising(float(kaufman_ln_z(self.L, self.T)))

    def spins(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Ising spins ``[B, L, L]`` (+-1) drawn from P(s | x)."""
        u = torch.rand(x[:, 0].shape, generator=gen, device=x.device, dtype=x.dtype)
        return torch.where(u < torch.sigmoid(2 * x[:, 0]), 1.0, -1.0).to(x.dtype)

    def fields(self, s: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """HS fields ``[B, 1, L, L]`` drawn from P(x | s) = N(M s, M): turns spin samples into
        training data for the forward KL."""
        xi = torch.randn(s.shape, generator=gen, device=s.device, dtype=s.dtype)
        root = torch.fft.ifft2(torch.fft.fft2(xi) * self.eigenvalues(s.device, s.dtype).sqrt()).real
        return (self.a * s + self.beta * neighbour_sum(s) + root)[:, None]

    def observables(self, x: torch.Tensor, gen: torch.Generator) -> dict[str, torch.Tensor]:
        """Ising observables of spins drawn from x: energy per site (J = 1), m, |m|, m^2."""
        s = self.spins(x, gen)
        m = s.mean(dim=(-2, -1))
        return {"energy": self.spin_energy(s), "m": m, "abs_m": m.abs(), "m2": m * m}

    @staticmethod
    def spin_energy(s: torch.Tensor) -> torch.Tensor:
        """Ising energy per site, -sum_<ij> s_i s_j / N (J = 1, each bond once), ``[B]``."""
        return -(s * (s.roll(1, -1) + s.roll(1, -2))).mean(dim=(-2, -1))


class Phi4:
    """Complex phi^4 (``engine.models.phi4`` convention), field ``[B, 2, L, L]``.

    With mu = -2 lam the potential mu r^2 + lam r^4 is minimal at |phi| = 1, and for large lam
    S -> -2t sum cos(theta_i - theta_j): the XY model at beta J = 2t, whose KT point
    (T_KT = 0.893) sits at t = 0.56. At the presets' moderate lam = 1 the modulus fluctuates
    above 1 on average, which stiffens the phase coupling: the KT point moves *down* to
    t ~ 0.38-0.40, where the exponent eta measured from <|m|^2> ~ L^-eta reaches 1/4.
    The presets (:data:`PRESETS`) were chosen with the Monte Carlo engine (checkerboard Metropolis,
    40000 sweeps after 4000, two seeds, L = 8, 16, 32):

    - ``critical``, t = 0.44: quasi-long-range order near the KT point, eta = 0.150 +- 0.008 from
      L = 8 -> 16 and 0.149 +- 0.012 from 16 -> 32; the second-moment correlation length is ~L.
    - ``disordered``, t = 0.3: <|m|^2> falls like 1/N (eta ~ 2) and the second-moment
      correlation length stays at 2.6-3.2 sites for L = 8-32.
    """

    name = "phi4"
    channels = 2
    symmetry = "u1"

    def __init__(self, L: int, t: float, mu: float, lam: float):
        self.L = _validate_L(L)
        self.t = _scalar("t", t)
        self.mu = _scalar("mu", mu)
        self.lam = _scalar("lam", lam, positive=True)

    def params(self) -> dict[str, float]:
        return {"t": self.t, "mu": self.mu, "lam": self.lam}

    @property
    def N(self) -> int:
        return self.L * self.L

    def action(self, x: torch.Tensor) -> torch.Tensor:
        return phi4_action(x, self.t, self.mu, self.lam)

    def exact_free_energy(self) -> None:
        return None

    def observables(self, x: torch.Tensor, gen: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Action per site, |m| (length of the mean field) and |m|^2."""
        m2 = (x.mean(dim=(-2, -1)) ** 2).sum(-1)
        return {"energy": self.action(x) / self.N, "abs_m": m2.sqrt(), "m2": m2}


#: Named parameter sets for phi^4 (see :class:`Phi4` for why).
PRESETS = {"critical": {"t": 0.44, "mu": -2.0, "lam": 1.0},
           "disordered": {"t": 0.3, "mu": -2.0, "lam": 1.0}}


def make_target(name: str, L: int, **params):
    """A target by name: ``ising`` (T[, a]), ``phi4`` (t, mu, lam) or ``images`` ([mean, scale])."""
    from .images import ImagePatches

    classes = {"ising": (IsingHS, {"T"}, {"a"}), "phi4": (Phi4, {"t", "mu", "lam"}, set()),
               "images": (ImagePatches, set(), {"mean", "scale"})}
    if name not in classes:
        raise ParameterError("target", f"unknown target {name!r}; allowed: {', '.join(TARGETS + DATA_TARGETS)}")
    cls, required, optional = classes[name]
    params = {k: v for k, v in params.items() if v is not None}
    missing = required - set(params)
    if missing:
        raise ParameterError(min(missing), f"is required for the {name} target")
    unknown = set(params) - required - optional
    if unknown:
        raise ParameterError(min(unknown), f"is not a parameter of the {name} target; allowed: "
                             f"{', '.join(sorted(required | optional))}")
    return cls(L, **params)
