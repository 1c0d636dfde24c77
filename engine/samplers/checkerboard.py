"""Checkerboard Metropolis and heat-bath sweeps for the Ising model, batched over replicas.

Sites with x + y even never neighbour each other, so all of them can be updated at once given
the other colour, and vice versa: two vectorised half-sweeps make one sweep of N attempts.

Why it is written the way it is (each choice measured on one CPU core, where per-element passes
over memory and per-call overhead are what cost):

- The spins live in four packed sub-lattices ``[4, B, L/2, L/2]`` (k = 2 py + px holds
  s[:, py::2, px::2]). A colour is two of them, and every neighbour of one of its sites sits in
  the other colour's arrays at the same packed index or one packed step away. So no neighbour
  sum is computed and thrown away behind a mask, and only N random numbers are drawn per sweep.
- Neighbour sums are accumulated with in-place adds into preallocated buffers through views
  built once (a shifted neighbour is two views: the bulk and the wrapped edge), instead of
  ``roll``, which copies. Bond signs of a disordered model enter the same adds as multipliers.
- Random numbers come from :class:`~.uniforms.UniformSource` (raw SFC64 bits on the CPU, half
  the cost of ``torch.rand``), one fill per sweep, uniform on [0, scale).
- The decision needs no comparison or boolean tensor: with d = u - threshold (Metropolis) or
  (threshold - u) s (heat bath), copysign(1, d) is +1 where the spin keeps its value and -1
  where it changes, so multiplying the spins by it applies the update and its sum counts the
  changes. Float arithmetic is vectorised in torch on the CPU, comparisons and bool tensors are
  not (measured 3-4x slower). The exp-free Metropolis of :func:`metropolis_polynomial` goes one
  step further: its new spins are the sign of one expression, written into place.

The thresholds are built from the integer bond-weighted neighbour sum n in {-4..4} (bonds are
+-J, see :mod:`engine.models.ising`) as x = 2 beta (J n + h) per replica, so random bonds and a
field are exact: Metropolis flips with probability exp(-s x), heat bath sets s = +1 with
probability sigmoid(x).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import torch

from ..models.ising import IsingModel
from .state import Stateful
from .uniforms import UniformSource

Sub = tuple[int, int]  # (row parity, column parity) of a packed sub-lattice
COLOURS: tuple[tuple[Sub, Sub], ...] = (((0, 0), (1, 1)), ((0, 1), (1, 0)))
#: the packed-index views of the two colours, in the order of ``COLOURS``
COLOUR_SLICES = (slice(0, 4, 3), slice(1, 3))


def _index(sub: Sub) -> int:
    return 2 * sub[0] + sub[1]


def _packed_view(x: torch.Tensor) -> torch.Tensor:
    """``[B, L, L]`` -> the ``[2, 2, B, L/2, L/2]`` view (py, px, b, i, j) of the same memory."""
    B, L, _ = x.shape
    return x.reshape(B, L // 2, 2, L // 2, 2).permute(2, 4, 0, 1, 3)


def pack(x: torch.Tensor) -> torch.Tensor:
    """``[B, L, L]`` -> a new ``[4, B, L/2, L/2]``: sub-lattice 2 py + px holds x[:, py::2, px::2]."""
    B, L, _ = x.shape
    return _packed_view(x).contiguous().view(4, B, L // 2, L // 2)


def unpacker(packed: torch.Tensor) -> Callable[[], torch.Tensor]:
    """``unpack()``: a new ``[B, L, L]`` tensor from ``packed`` ``[4, B, L/2, L/2]`` (inverse of :func:`pack`).

    Interleaving the columns of sub-lattices (py, 0) and (py, 1) is what ``torch.complex``
    does when it builds real + i imag pairs: writing through a complex view of the output runs
    about twice as fast as a strided copy, and this runs every sweep (so the views of
    ``packed`` are taken once, here).
    """
    _, B, half, _ = packed.shape
    real, imag = packed.view(2, 2, B, half, half).permute(1, 2, 3, 0, 4)  # (px, b, i, py, j)

    def unpack() -> torch.Tensor:
        out = torch.empty((B, 2 * half, 2 * half), device=packed.device, dtype=packed.dtype)
        torch.complex(real, imag, out=torch.view_as_complex(out.view(B, half, 2, half, 2)))
        return out
    return unpack


def _shifted(t: torch.Tensor, dim: int, step: int) -> list[tuple[slice, slice]]:
    """(destination, source) index ranges along ``dim`` that add t[j + step] into slot j, wrapped."""
    n = t.shape[dim]
    if step == 0:
        return [(slice(0, n), slice(0, n))]
    if step == 1:
        return [(slice(0, n - 1), slice(1, n)), (slice(n - 1, n), slice(0, 1))]
    return [(slice(1, n), slice(0, n - 1)), (slice(0, 1), slice(n - 1, n))]


def _along(t: torch.Tensor | None, dim: int, index: slice) -> torch.Tensor | None:
    return None if t is None else t.narrow(dim, index.start, index.stop - index.start)


def neighbour_sum_steps(spins: torch.Tensor, out: torch.Tensor, colour: tuple[Sub, Sub],
                        signs: tuple[torch.Tensor, torch.Tensor] | None = None) -> list[Callable[[], object]]:
    """Calls that write sum_j sign_ij s_j for ``colour`` into ``out`` ``[2, B, h, h]``, in order.

    ``spins`` is the packed ``[4, B, h, h]`` array the calls read (views taken once, here). A
    site at packed (i, j) of sub-lattice (py, px) sits at y = 2i + py, x = 2j + px: its right
    neighbour is in (py, 1-px) at column j (px = 0) or j + 1 (px = 1), its left one there at
    j - 1 (px = 0) or j (px = 1); rows likewise. So two of the four neighbours are at the same
    packed index (one call adds them into ``out``) and two are one step away (a bulk and a
    wrapped-edge call each). ``signs`` are the packed right and down bond signs; a left / up
    bond is the right / down bond of that neighbour, so its sign is shifted like its spin.
    """
    right, down = signs if signs is not None else (None, None)
    steps: list[Callable[[], object]] = []
    for k, (py, px) in enumerate(colour):
        horiz, vert = _index((py, 1 - px)), _index((1 - py, px))
        dest = out[k]
        # (neighbour, its sign array, whether the sign belongs to the neighbour, dim, shift)
        links = [(horiz, right, False, -1, px), (horiz, right, True, -1, px - 1),
                 (vert, down, False, -2, py), (vert, down, True, -2, py - 1)]
        terms = []  # (destination view, spin view, sign view or None, shifted)
        for nb, sign, at_neighbour, dim, shift in links:
            sign_array = None
            if sign is not None:
                sign_array = sign[nb] if at_neighbour else sign[_index((py, px))]
            for to, frm in _shifted(dest, dim, shift):
                terms.append((_along(dest, dim, to), _along(spins[nb], dim, frm),
                              _along(sign_array, dim, frm if at_neighbour else to), shift != 0))
        (_, first, first_sign, _), (_, second, second_sign, _) = [t for t in terms if not t[3]]
        if signs is None:
            steps.append(partial(torch.add, first, second, out=dest))
        else:
            steps += [partial(torch.mul, first, first_sign, out=dest),
                      partial(torch.Tensor.addcmul_, dest, second, second_sign)]
        for view, spin, sign, _ in (t for t in terms if t[3]):
            steps.append(partial(torch.Tensor.add_, view, spin) if sign is None
                         else partial(torch.Tensor.addcmul_, view, spin, sign))
    return steps


class CheckerboardSampler(Stateful):
    """Single-spin Metropolis or heat bath, one sweep = N attempted updates per replica.

    ``stats['acceptance']`` ([B]) is the fraction of sites whose spin changed in the last sweep
    (for heat bath: the fraction that came out different from before). That is its whole state:
    the rest is work space.
    """

    RULES = ("metropolis", "heatbath")
    STATS = {"acceptance": (0.0, 1.0)}

    def __init__(self, model: IsingModel, rule: str = "metropolis"):
        if rule not in self.RULES:
            raise ValueError(f"unknown checkerboard rule {rule!r}")
        self.model = model
        self.rule = rule
        self.stats: dict[str, torch.Tensor] = {}
        B, half = model.B, model.L // 2
        like = {"device": model.device, "dtype": model.dtype}
        packed = torch.empty((4, B, half, half), **like)
        field = torch.empty((2, B, half, half), **like)
        signs = model.disorder_signs
        packed_signs = None if signs is None else (pack(signs[:, 0]), pack(signs[:, 1]))
        source = UniformSource(model.device)
        self._work = {
            "packed": packed, "field": field, "source": source,
            "uniforms": torch.empty((2, B, half, half), **like),
            "steps": [neighbour_sum_steps(packed, field, colour, packed_signs) for colour in COLOURS],
            "one": torch.ones((), **like),
            "half": torch.full((), 0.5, **like),
            "unpack": unpacker(packed),
            "log_scale": torch.tensor(source.log_scale, **like),
        }
        # (returned state, its version counter): lets the next sweep skip packing when it is
        # handed back the untouched state of this one
        self._cache: tuple[torch.Tensor, int] | None = None
        self._coefficients: tuple | None = None

    def _load(self, state: torch.Tensor) -> torch.Tensor:
        """The packed spins of ``state``: already in the work space when it is our last, unmodified output."""
        packed = self._work["packed"]
        if self._cache is not None:
            last, version = self._cache
            if state is last and state._version == version:
                return packed
        packed.view(2, 2, *packed.shape[1:]).copy_(_packed_view(state))
        return packed

    def coefficients(self) -> tuple[torch.Tensor, torch.Tensor | None, tuple[float, float] | None]:
        """x = a n + c per replica (``[B, 1, 1]``; ``c`` None without a field) and the Metropolis polynomial.

        x is 2 beta (J n + h), negated for Metropolis, which needs exp(-s x). Without a field
        and with one a != 0 for all replicas, Metropolis uses :func:`metropolis_polynomial`
        instead of exp (returned here, else None). Recomputed only when a parameter tensor was
        replaced or changed in place, so that a sweep does not pay for a handful of tiny
        tensor operations (and, on CUDA, synchronisations) every time.
        """
        params = [self.model.param(k) for k in ("T", "J", "h")]
        if self._coefficients is not None and all(
                p is q and p._version == v for p, (q, v) in zip(params, self._coefficients[0])):
            return self._coefficients[1]
        T, J, h = params
        metropolis = self.rule == "metropolis"
        a = ((-2.0 if metropolis else 2.0) * J / T).view(-1, 1, 1)
        c = ((-2.0 if metropolis else 2.0) * h / T).view(-1, 1, 1) if bool((h != 0).any()) else None
        poly = None
        if metropolis and c is None and bool((a == a[0]).all()) and float(a[0]) != 0.0:
            poly = metropolis_polynomial(float(a[0]), self._work["source"].scale)
        self._coefficients = ([(p, p._version) for p in params], (a, c, poly))
        return a, c, poly

    def sweep(self, state: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """One sweep of both colours; returns the new state (``state`` itself is not modified).

        Handing back the returned tensor reuses its packed copy; torch in-place changes to it
        in between are detected (version counter), writes through a numpy view are not.
        """
        return self.sweeps(state, gen, 1)

    def sweeps(self, state: torch.Tensor, gen: torch.Generator, n: int) -> torch.Tensor:
        """``n`` sweeps in one call, the same result as ``n`` calls of :meth:`sweep`.

        Why: the spins stay packed in between, so the per-sweep unpacking into a new ``[B, L,
        L]`` tensor (about a tenth of a sweep at L = 256) is paid once. ``stats`` describe the
        last sweep, as after single calls.
        """
        packed = self._load(state)
        a, c, poly = self.coefficients()
        for k in range(n):
            kept = self._sweep_packed(packed, gen, a, c, poly, count=k == n - 1)
        # acceptance = (1 - kept / N) / 2, in one operation
        self.stats = {"acceptance": torch.add(self._work["half"], kept, alpha=-0.5 / self.model.N)}
        out = self._work["unpack"]()
        self._cache = (out, out._version)
        return out

    def _sweep_packed(self, packed: torch.Tensor, gen: torch.Generator, a: torch.Tensor, c: torch.Tensor | None,
                      poly: tuple[float, float] | None, count: bool) -> torch.Tensor | None:
        """One sweep of the packed spins in place; the number of unchanged spins per replica if ``count``."""
        work = self._work
        x, u = work["field"], work["uniforms"]
        fill = work["source"].stream(gen)
        kept = None
        for part, steps in zip(COLOUR_SLICES, work["steps"]):
            s = packed[part]
            for step in steps:
                step()
            fill(u)
            if poly is not None:
                # flip iff e = u + c1 z + c2 z^2 > 0 (z = s n). The new spin is sign(-s e) =
                # sign(-(c1 n + s t)) with t = u + c2 n^2: sign(g), g = n + s t / c1, for c1 < 0
                # (ferromagnet), -sign(g) for c1 > 0. Written straight into s: no multiplier.
                t = u.addcmul_(x, x, value=poly[1])
                new = torch.copysign(work["one"], torch.addcmul(x, s, t, value=1.0 / poly[0], out=u), out=x)
                if poly[0] > 0:
                    new.neg_()
                change = torch.mul(new, s, out=u) if count else None
                s.copy_(new)
            else:
                x.mul_(a)
                if c is not None:
                    x.add_(c)
                if self.rule == "metropolis":  # flip iff u < scale exp(-s x); d = u - threshold
                    d = torch.sub(u, torch.addcmul(work["log_scale"], x, s, out=x).exp_(), out=x)
                else:  # s = +1 iff u < scale sigmoid(x); d = (threshold - u) s
                    d = x.sigmoid_().mul_(work["source"].scale).sub_(u).mul_(s)
                change = torch.copysign(work["one"], d, out=x)
                s.mul_(change)
            if count:  # change: +1 where the spin kept its value, -1 where it changed
                kept = change.sum(dim=(0, -2, -1)) if kept is None else kept.add_(change.sum(dim=(0, -2, -1)))
        return kept


def metropolis_polynomial(a: float, scale: float) -> tuple[float, float]:
    """(c1, c2) such that flipping iff u > -(c1 z + c2 z^2), u uniform on [0, scale), is Metropolis.

    Why: without a field the flip probability min(1, exp(a z)) depends only on z = s n, an
    even integer in [-4, 4], and an exp per site costs more than the rest of the update. The
    quadratic Q(z) = 1 + (c1 z + c2 z^2) / scale equals exp(a z) at the three z where that is at
    most 1 (z = 0, 2, 4 for a < 0; z = 0, -2, -4 for a > 0) and is at least 1 at the other two
    (for r = exp(-2|a|): 1 + (1-r) + (1-r)^2 and 1 + 2(1-r) + 3(1-r)^2), so P(flip) =
    P(u > scale (1 - Q(z))) = min(1, exp(a z)) exactly, with a fresh uniform per site.
    """
    r = math.exp(-2.0 * abs(a))
    c2 = (r - 1.0) ** 2 / 8.0
    c1 = (r - 1.0) / 2.0 - 2.0 * c2
    if a > 0:
        c1 = -c1
    return c1 * scale, c2 * scale


