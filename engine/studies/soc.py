"""Self-organised criticality measured: avalanche statistics of a sandpile at several L, with exponents.

:func:`run_soc` warms up ``piles`` independent sandpiles per size (:class:`engine.soc.sandpile.Sandpile`,
size k with seed ``seed + k``), then drops ``grains`` grains in all and records every avalanche.
:func:`analyse` turns the records into log-binned P(s), P(a), P(T) with exponent fits, the moment
analysis across L (D and tau for s, a and T), the power spectrum of the activity signal, <s | T>, the
measured mean size against the exact one and the mean height; :func:`write_soc` writes what
``rgviz-batch soc`` and the Sandpile panel's export write.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ParameterError
from ..figures import Figure
from ..io import npz_stamp, write_json, write_npz
from ..progress import Progress
from ..soc.analysis import (ConditionalMean, ExponentFit, Histogram, MomentAnalysis, Spectrum, fit_exponent,
                            fit_window, log_histogram, moment_analysis, power_spectrum, size_given_duration)
from ..soc.exact import BTW_DENSITY, mean_size
from ..soc.references import REFERENCES
from ..soc.sandpile import MODELS, Avalanches, Sandpile
from ..validate import integer, memory
from .files import Table, write_table

#: (field of :class:`Avalanches`, symbol) of the avalanche quantities.
QUANTITIES = (("size", "s"), ("area", "a"), ("duration", "T"))
#: Grains per pile between two looks at cancellation, progress and partial results.
CHUNK = 25
#: Seconds between two partial results.
PARTIAL_INTERVAL = 0.3
#: Default warm-up: this many grains per site of each pile (the pile then has toppled everywhere, which
#: makes a BTW configuration recurrent, and it has reached the stationary density).
WARMUP_PER_SITE = 1.0
#: Most grains per size: 10^7 avalanches are hours of work at L = 64.
MAX_GRAINS = 10 ** 7
#: Bytes kept per avalanche (five int64 fields) and per activity step.
AVALANCHE_BYTES = 48


@dataclass
class SocConfig:
    """What to run: the model, the sizes, grains measured per size (all piles together), warm-up grains per
    pile (None: :data:`WARMUP_PER_SITE` L^2), independent piles per size, the seed of the first size."""

    model: str = "btw"
    sizes: tuple[int, ...] = (16, 32, 64)
    grains: int = 20_000
    warmup: int | None = None
    piles: int = 16
    seed: int = 0

    def validate(self) -> None:
        if self.model not in MODELS:
            raise ParameterError("model", f"unknown {self.model!r}; choose from {', '.join(MODELS)}")
        if not self.sizes:
            raise ParameterError("L", "needs one or more sizes")
        for L in self.sizes:
            integer("L", L, 4, 1024)
        if len(set(self.sizes)) != len(self.sizes):
            raise ParameterError("L", f"each size once, got {list(self.sizes)}")
        integer("piles", self.piles, 1, 1024)
        integer("grains", self.grains, self.piles, MAX_GRAINS)
        if self.warmup is not None:
            integer("warmup", self.warmup, 0, 10 ** 8)
        integer("seed", self.seed, 0)
        memory("grains", len(self.sizes) * self.grains * AVALANCHE_BYTES, f"{self.grains} avalanches per size")
        memory("L", 16 * self.piles * (max(self.sizes) + 2) ** 2, f"{self.piles} piles of {max(self.sizes)}^2")

    def warmup_grains(self, L: int) -> int:
        return math.ceil(WARMUP_PER_SITE * L * L) if self.warmup is None else self.warmup

    @property
    def per_pile(self) -> int:
        return -(-self.grains // self.piles)

    def to_dict(self) -> dict:
        return {"model": self.model, "L": list(self.sizes), "grains": self.grains, "piles": self.piles,
                "warmup": {L: self.warmup_grains(L) for L in self.sizes}, "seed": self.seed}


@dataclass
class SizeRun:
    """The avalanches of one size, pile 0's configuration and last avalanche, and the mass balance."""

    L: int
    avalanches: Avalanches
    heights: np.ndarray  # [L, L] pile 0 now
    last: np.ndarray  # [L, L] bool: pile 0's last avalanche
    density: tuple[float, float]  # mean height over piles now, and its error
    added: int  # grains dropped, all piles, warm-up included
    lost: int  # grains lost over the edge, all piles
    mass: int  # grains on the piles now
    initial_mass: int
    complete: bool
    elapsed_s: float


@dataclass
class SocResult:
    config: SocConfig
    runs: dict[int, SizeRun] = field(default_factory=dict)


def _snapshot(pile: Sandpile, parts: list[Avalanches], initial_mass: int, complete: bool, t0: float) -> SizeRun:
    means = pile.heights.mean(axis=(1, 2))
    error = float(means.std(ddof=1) / np.sqrt(len(means))) if len(means) > 1 else float("nan")
    return SizeRun(pile.L, Avalanches.concat(parts), pile.heights[0], pile.last_avalanche(),
                   (float(means.mean()), error), int(pile.added.sum()), int(pile.lost.sum()), int(pile.mass().sum()),
                   initial_mass, complete, time.perf_counter() - t0)


def run_soc(config: SocConfig, progress: Progress | None = None,
            on_partial: Callable[[SocResult], None] | None = None,
            cancelled: Callable[[], bool] | None = None) -> SocResult:
    """Warm up and measure each size in turn; partial results (the size in progress included, ``complete``
    False) go to ``on_partial`` at most every :data:`PARTIAL_INTERVAL`; a cancelled run returns what it has."""
    config.validate()
    result = SocResult(config)
    total, done, last = len(config.sizes) * config.per_pile, 0, time.monotonic()
    for k, L in enumerate(config.sizes):
        t0 = time.perf_counter()
        pile = Sandpile(config.model, L, config.piles, config.seed + k)
        initial = int(pile.mass().sum())
        pile.warm_up(config.warmup_grains(L))
        parts: list[Avalanches] = []
        left = config.per_pile
        while left > 0:
            if cancelled is not None and cancelled():
                if parts:
                    result.runs[L] = _snapshot(pile, parts, initial, False, t0)
                return result
            n = min(CHUNK, left)
            parts.append(pile.run(n))
            left -= n
            done += n
            if progress is not None:
                progress(done, total)
            if on_partial is not None and time.monotonic() - last >= PARTIAL_INTERVAL:
                on_partial(SocResult(config, {**result.runs, L: _snapshot(pile, parts, initial, False, t0)}))
                last = time.monotonic()
        result.runs[L] = _snapshot(pile, parts, initial, True, t0)
        if on_partial is not None:
            on_partial(SocResult(config, dict(result.runs)))
            last = time.monotonic()
    return result


@dataclass
class SocAnalysis:
    """Everything read off a :class:`SocResult` (see the module docstring)."""

    model: str
    sizes: list[int]
    histograms: dict[tuple[str, int], Histogram]
    fits: dict[tuple[str, int], ExponentFit | None]
    moments: dict[str, MomentAnalysis | None]
    spectra: dict[int, Spectrum | None]
    conditional: dict[int, ConditionalMean]
    mean_size: dict[int, tuple[float, float, float]]  # measured, error, exact
    density: dict[int, tuple[float, float]]

    def estimate_rows(self) -> list[tuple[str, float, float, float | None]]:
        """(estimate, value, error, reference) for a table: exponents against the literature, <s> against the
        exact value, the BTW mean height against 17/8."""
        refs = REFERENCES[self.model]
        rows = []
        for quantity, symbol in QUANTITIES:
            m = self.moments.get(quantity)
            if m is not None:
                ref_tau, ref_D = refs.get(f"tau_{symbol}"), refs.get("D") if symbol == "s" else None
                rows.append((f"tau_{symbol} (moments, L = {m.sizes[0]}..{m.sizes[-1]})", m.tau, m.tau_error,
                             ref_tau.value if ref_tau else None))
                rows.append((f"D_{symbol} (moments)", m.D, m.D_error, ref_D.value if ref_D else None))
            for L in self.sizes:
                fit = self.fits.get((quantity, L))
                if fit is not None:
                    ref = refs.get(f"tau_{symbol}")
                    rows.append((f"tau_{symbol} (fit L = {L}, {symbol} in {fit.lo:.3g}..{fit.hi:.3g})", fit.tau,
                                 fit.error, ref.value if ref else None))
        for L in self.sizes:
            mean, err, exact = self.mean_size[L]
            rows.append((f"<s> L = {L} (exact: Green's function)", mean, err, exact))
            spectrum = self.spectra.get(L)
            if spectrum is not None and math.isfinite(spectrum.alpha):
                gamma = self.conditional[L].gamma
                rows.append((f"alpha of S(f) L = {L} (reference: gamma of <s|T>)", spectrum.alpha,
                             spectrum.alpha_error, gamma if math.isfinite(gamma) else None))
        if self.model == "btw":
            L = self.sizes[-1]
            rows.append((f"mean height L = {L} (17/8 on the infinite lattice)", *self.density[L], BTW_DENSITY))
        return rows

    def to_dict(self) -> dict:
        def opt(x):
            return None if x is None else x.to_dict()

        return {
            "model": self.model, "L": self.sizes,
            "references": {k: v.to_dict() for k, v in REFERENCES[self.model].items()},
            "exponents": {q: {"moments": opt(self.moments.get(q)),
                              "fits": {str(L): opt(self.fits.get((q, L))) for L in self.sizes}}
                          for q, _ in QUANTITIES},
            "mean_size": {str(L): {"mean": m, "error": e, "exact": x} for L, (m, e, x) in self.mean_size.items()},
            "density": {str(L): {"mean": m, "error": e} for L, (m, e) in self.density.items()},
            "btw_density_infinite_lattice": BTW_DENSITY,
            "spectrum": {str(L): opt(s) for L, s in self.spectra.items()},
            "size_given_duration": {str(L): c.to_dict() for L, c in self.conditional.items()},
            "distributions": {f"{q}_L{L}": h.to_dict() for (q, L), h in self.histograms.items()},
        }

    def distribution_table(self) -> Table:
        header = ["quantity", "L", "x", "P", "error", "count"]
        rows = [[q, L, float(x), float(p), float(e), int(c)] for (q, L), h in self.histograms.items()
                for x, p, e, c in zip(h.x, h.p, h.error, h.counts)]
        return header, rows


def analyse(result: SocResult) -> SocAnalysis:
    """The statistics of every size in ``result`` (a partial size included)."""
    sizes = sorted(result.runs)
    model = result.config.model
    histograms, fits, conditional, spectra, means, density = {}, {}, {}, {}, {}, {}
    for L in sizes:
        run = result.runs[L]
        av = run.avalanches
        for quantity, _ in QUANTITIES:
            values = getattr(av, quantity)
            histograms[(quantity, L)] = hist = log_histogram(values)
            fits[(quantity, L)] = fit_exponent(hist, *fit_window(quantity, L))
        conditional[L] = size_given_duration(av.size, av.duration)
        spectra[L] = power_spectrum([av.signal(p) for p in range(len(av.activity))], av.duration.max(initial=1))
        n = max(len(av), 1)
        means[L] = (float(av.size.mean()) if len(av) else float("nan"),
                    float(av.size.std(ddof=1) / np.sqrt(n)) if len(av) > 1 else float("nan"), mean_size(model, L))
        density[L] = run.density
    complete = {L: result.runs[L] for L in sizes if result.runs[L].complete}
    moments = {q: moment_analysis({L: getattr(r.avalanches, q) for L, r in complete.items()}) for q, _ in QUANTITIES}
    return SocAnalysis(model, sizes, histograms, fits, moments, spectra, conditional, means, density)


def finite(doc):
    """``doc`` with every non-finite float replaced by None (JSON has no NaN)."""
    if isinstance(doc, dict):
        return {k: finite(v) for k, v in doc.items()}
    if isinstance(doc, (list, tuple)):
        return [finite(v) for v in doc]
    if isinstance(doc, float) and not math.isfinite(doc):
        return None
    return doc


def write_soc(out: Path, result: SocResult, analysis: SocAnalysis, figures: Sequence[Figure],
              write_figures: Callable[[Sequence[Figure], Path], list[Path]], extra: dict | None = None) -> list[Path]:
    """``soc.json`` (configuration and every estimate), ``distributions.csv`` (the binned P(x)),
    ``avalanches.npz`` (every avalanche, the activity signal of pile 0 and its final configuration, per L),
    then the figures through ``write_figures``; returns every path written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    doc = {"config": result.config.to_dict(), **analysis.to_dict(), **(extra or {}),
           "mass_balance": {str(L): {"added": r.added, "lost": r.lost, "mass": r.mass, "initial_mass": r.initial_mass}
                            for L, r in result.runs.items()}}
    arrays = {}
    for L, run in result.runs.items():
        for name in Avalanches.FIELDS:
            arrays[f"L{L}_{name}"] = getattr(run.avalanches, name)
        arrays[f"L{L}_signal"] = run.avalanches.signal(0) if run.avalanches.activity else np.zeros(0, np.int64)
        arrays[f"L{L}_heights"] = run.heights
    paths = [write_json(out / "soc.json", finite(doc), "rgviz-soc", indent=1, allow_nan=False),
             write_table(out / "distributions.csv", analysis.distribution_table()),
             write_npz(out / "avalanches.npz", {**npz_stamp("rgviz-soc"), **arrays})]
    return paths + list(write_figures(figures, out))
