"""q^l and c^l measured on random networks of finite width, and the depth scale xi_c read off their decay.

A batch of ``draws`` independent networks, each carrying ``pairs`` pairs of inputs, is propagated layer by layer:
h^{l+1} = W^{l+1} phi(h^l) + b^{l+1} with W ~ N(0, sigma_w^2 / N), b ~ N(0, sigma_b^2), fresh at every layer
(a network is its sequence of layers; nothing is stored). The two inputs are layer-0 pre-activations with
length q0 and correlation c0 (the pairs point in independent random directions). Per layer and draw: q^l =
|h|^2 / N averaged over the inputs, and c^l, the cosine of h_a and h_b averaged over the pairs. Pairs in one
network share its weights but not its finite-width noise, which they average down (in the chaotic phase that
noise is amplified: one pair's c^l at N = 1000 scatters by 0.07 near sigma_w^2 = 2.5, sigma_b^2 = 0.05).
Averages over draws with their standard errors sit beside the mean-field iteration from the same
(q0, c0) (:func:`engine.deepnets.meanfield.propagate`).

xi_c is fitted to the measured c^l as c_inf + A exp(-l / xi_c) over the layers where the mean-field curve is in its
asymptotic regime (its local decay rate within :data:`ASYMPTOTIC` of -1 / xi_c); its error is the jackknife
over draws (the independent networks), each leave-one-out fit weighted by its own sample's errors.

That window is not the limit l -> infinity, so the same fit applied to the mean-field curve itself
(:meth:`Propagation.xi_c_fit_theory`) differs from the asymptotic xi_c: tanh at sigma_b^2 = 0.05, depth 50 gives
15.0-15.2 (by the weights) against 15.79 at sigma_w^2 = 1.5, 12.7 against 11.80 at 2.5, 3.64-3.70 against 3.63
at 1.0. Measured xi_c agree with that like-for-like value, not with the asymptotic one: at sigma_w^2 = 1.5,
15.00 +- 0.15 (width 200, 100 seeds of 8 networks) and 15.01 +- 0.10 (width 1000, 40 seeds; the fit on the
mean-field curve reads 15.15 there): any finite-width shift is below 1%. With 8 networks the jackknife error
has 7 degrees of freedom: its scatter makes single-seed pulls heavy-tailed (rms 1.5 at width 200, 1.2 at width
1000), while the seed-to-seed scatter of xi_c is 1.06 (width 200) and 1.10 (width 1000) times the rms quoted error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..progress import Progress
from . import meanfield

#: Layers whose mean-field decay rate is within this fraction of the asymptotic -1 / xi_c enter the fit.
ASYMPTOTIC = 0.1
#: Mean-field gaps |c^l - c*| below this are rounding, not decay.
GAP_FLOOR = 1e-10
#: The depth scales the decay fit tries (layers), evenly spaced in ln xi.
LOG_XI_STEP = 0.005
XI_GRID = np.exp(np.arange(np.log(0.3), np.log(1000.0), LOG_XI_STEP))
#: How far from c* the pair starts by default (:func:`start_correlation`).
START_GAP = 0.2
#: Fewer fitted layers than this give no xi_c.
MIN_LAYERS = 3


@dataclass
class Propagation:
    """Per draw and layer l = 0..depth: q (first input) and c; the mean-field curves; the theory's c* and xi_c."""

    activation: str
    sw2: float
    sb2: float
    width: int
    q: np.ndarray  # [draws, depth + 1], averaged over the inputs
    c: np.ndarray  # [draws, depth + 1], averaged over the pairs
    q_theory: np.ndarray  # [depth + 1]
    c_theory: np.ndarray
    q_star: float
    c_star: float
    xi_c_theory: float

    def mean(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean over draws and its standard error, per layer."""
        return values.mean(0), values.std(0, ddof=1) / np.sqrt(len(values))

    def fit_layers(self) -> np.ndarray:
        """The layers the xi_c fit uses: from the first after which the mean-field curve decays at its asymptotic
        rate (within :data:`ASYMPTOTIC` of -1 / xi_c) to the last."""
        gap = np.abs(self.c_theory - self.c_star)
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.diff(np.log(gap))  # per layer, at its right end
        off = np.flatnonzero(~(np.abs(rate * self.xi_c_theory + 1.0) < ASYMPTOTIC) & (gap[1:] > GAP_FLOOR))
        first = 1 + (off[-1] + 1 if len(off) else 0)
        return np.arange(first, len(gap))

    def xi_c(self) -> tuple[float, float, int]:
        """xi_c fitted to the measured c^l, its jackknife error over draws, and the number of layers fitted
        (nan, nan, n when fewer than :data:`MIN_LAYERS`). The model is c^l = c_inf + A exp(-l / xi_c). In the
        chaotic phase the plateau c_inf is left free: finite width shifts it from c* by O(1/N) (seen: 0.008 at
        N = 1000), which a fit with c_inf = c* would read as a slower decay. In the ordered phase c_inf = 1: two
        equal inputs stay equal in any network, so c = 1 is a fixed point at every width."""
        layers = self.fit_layers()
        if len(layers) < MIN_LAYERS or len(self.c) < 2:
            return float("nan"), float("nan"), len(layers)
        n = len(self.c)
        full = self._fit(self.c, self.c.mean(0))
        # the weights come from the draws too: each leave-one-out fit takes its own, so that their scatter is
        # part of the error (fixed weights left it 1.14 times smaller than the seed-to-seed scatter at width 200
        # and sigma_w^2 = 1.5 over 100 seeds, now 1.06)
        leave_out = np.array([self._fit(c, c.mean(0)) for c in (np.delete(self.c, i, axis=0) for i in range(n))])
        error = np.sqrt((n - 1) * np.mean((leave_out - leave_out.mean()) ** 2))
        return full, float(error), len(layers)

    def xi_c_fit_theory(self) -> float:
        """The fit of :meth:`xi_c` (same layers and weights) applied to the mean-field curve: the value a measured
        xi_c should agree with. It differs from the asymptotic :attr:`xi_c_theory` by up to ~8%, because the fitted
        layers are not the limit l -> infinity (see the module's docstring); nan where :meth:`xi_c` gives none."""
        if len(self.fit_layers()) < MIN_LAYERS or len(self.c) < 2:
            return float("nan")
        return self._fit(self.c, self.c_theory)

    def _fit(self, draws: np.ndarray, curve: np.ndarray) -> float:
        """xi of ``curve`` over :meth:`fit_layers`, weighted by the standard errors of the mean over ``draws``."""
        layers = self.fit_layers()
        _, err = self.mean(draws)
        weight = 1.0 / np.maximum(err[layers], 1e-12) ** 2
        return _fit_decay(layers, curve[layers], weight, 1.0 if self.c_star == 1.0 else None)


def _fit_decay(layers: np.ndarray, c: np.ndarray, weight: np.ndarray, plateau: float | None) -> float:
    """xi of the weighted least-squares fit c = c_inf + A exp(-l / xi), c_inf = ``plateau`` or free: linear in
    (c_inf, A) at each xi of a log grid (:data:`XI_GRID`), the best xi refined by a parabola through its
    neighbours in ln xi; nan at the grid's ends."""
    basis = np.exp(-layers[None, :] / XI_GRID[:, None])  # [grid, layers]
    sw, s1, s2 = weight.sum(), basis @ weight, basis**2 @ weight
    sy, sby = weight @ c, basis @ (weight * c)
    if plateau is None:
        amp = (sw * sby - s1 * sy) / (sw * s2 - s1**2)
        c_inf = (sy - s1 * amp) / sw
    else:
        amp = (sby - plateau * s1) / s2
        c_inf = np.full(len(XI_GRID), plateau)
    residual = ((c[None, :] - c_inf[:, None] - amp[:, None] * basis) ** 2) @ weight
    i = int(np.argmin(residual))
    if i in (0, len(XI_GRID) - 1):
        return float("nan")  # no decay within the layers fitted, or one too fast to resolve
    y0, y1, y2 = residual[i - 1: i + 2]
    curvature = y0 - 2 * y1 + y2
    shift = 0.5 * (y0 - y2) / curvature if curvature > 0 else 0.0
    return float(np.exp(np.log(XI_GRID[i]) + shift * LOG_XI_STEP))


def _phi(name: str):
    return {"tanh": torch.tanh, "relu": torch.relu}[name]


def start_correlation(c_star: float) -> float:
    """A c0 that starts the pair :data:`START_GAP` from c* (below it when c* > 1/2, else above), close enough
    for the linearised decay to hold from the first layers and far enough to be measured over several xi_c."""
    return c_star - START_GAP if c_star > 0.5 else c_star + START_GAP


def propagate(activation: str, sw2: float, sb2: float, width: int, depth: int, draws: int, pairs: int = 16,
              q0: float = 1.0, c0: float | None = None, seed: int = 0,
              progress: Progress | None = None) -> Propagation:
    """Send ``pairs`` pairs of inputs through each of ``draws`` random networks (``progress`` after each layer).
    ``c0`` None: :func:`start_correlation`."""
    mf = meanfield.mean_field(activation, sw2, sb2)
    c0 = start_correlation(float(mf.c_star[0, 0])) if c0 is None else c0
    gen = torch.Generator().manual_seed(seed)
    z1, z2 = torch.randn(2, draws, width, pairs, generator=gen)
    h = torch.cat([z1, c0 * z1 + np.sqrt(1.0 - c0**2) * z2], dim=2) * np.sqrt(q0)  # [draws, width, 2 pairs]
    phi = _phi(activation)
    q, c = np.empty((draws, depth + 1)), np.empty((draws, depth + 1))

    def record(layer: int) -> None:
        h64 = h.double()  # sums in double: 1 - c reaches 1e-4 in the ordered phase
        a, b = h64[:, :, :pairs], h64[:, :, pairs:]
        sq_a, sq_b = (a**2).sum(1), (b**2).sum(1)  # [draws, pairs]
        q[:, layer] = ((sq_a + sq_b).mean(1) / (2 * width)).numpy()
        c[:, layer] = ((a * b).sum(1) / torch.sqrt(sq_a * sq_b)).mean(1).numpy()

    record(0)
    for layer in range(1, depth + 1):
        w = torch.randn(draws, width, width, generator=gen) * np.sqrt(sw2 / width)  # float32: 4x faster to draw
        b = torch.randn(draws, width, 1, generator=gen) * np.sqrt(sb2)
        h = torch.bmm(w, phi(h)) + b  # every input of a draw sees the same network
        record(layer)
        if progress is not None:
            progress(layer, depth)
    q_theory, c_theory = meanfield.propagate(activation, q0, c0, sw2, sb2, depth)
    return Propagation(activation, sw2, sb2, width, q, c, q_theory, c_theory, float(mf.q_star[0, 0]),
                       float(mf.c_star[0, 0]), float(mf.xi_c[0, 0]))
