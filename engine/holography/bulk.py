"""Does the bulk look hyperbolic? Four separate questions, each answered with a number and an error.

The claim (Hu, Li, Wang, You, PRR 2, 023369 (2020)): for a critical boundary theory and a flow close to
exact, the residual correlation (or mutual information) of bulk variables under
S_eff(z) = S(G(z)) - ln|det dG/dz| decays exponentially with the hyperbolic geodesic distance between
the bulk nodes, at the classical saddle-point level. A node of level l sits at height w = w0 2^l above
the block it summarises (:mod:`.geometry`).

The analysis works on pair classes (:mod:`.classes`) of one estimator's squared correlation
(:mod:`.estimators`) and asks:

(a) collapse: do same-level correlations depend on displacement / 2^level only? For every scaled
    displacement reached at two or more levels, chi^2 per degree of freedom of "all levels agree";
    ~1 is a collapse within errors (the verdict allows 3 sigma, sqrt(2/dof) each: class errors are
    themselves estimated from 20 blocks). Needs same-level pairs at >= 3 levels (L >= 16).
(b) one xi: the decay length of same-level and of cross-level classes, and their difference in
    standard errors (jackknife of the difference, the two share the samples).
(c) hyperbolic or flat: R^2 of the decay fit against the hyperbolic and against the flat distance of
    the same classes, and the gap. The two distances correlate over the pairs (r = 0.71 at L = 16), so
    the gap separates them poorly: (a) and (b) are the sharper tests.
(d) the height scale w0: the fit repeated over a scan of w0, the best w0 and how much R^2 and xi move.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .classes import PairClasses, pair_classes
from .estimators import PairStatistics
from .fit import (
    DecayFit,
    class_weights,
    extrapolate_decay,
    fit_decay,
    jackknife_error,
    log_q,
)
from .geometry import flat_distance, hyperbolic_distance, node_coordinates, pairwise

#: height scales w0 scanned for question (d): 1/4 to 4 in steps of sqrt(2)
W0_SCAN = tuple(float(v) for v in 2.0 ** np.arange(-2.0, 2.01, 0.5))
#: question (a) needs same-level classes at this many levels
COLLAPSE_LEVELS = 3


@dataclass
class Collapse:
    """Same-level class values against displacement / 2^level, and how well the levels agree."""

    level: np.ndarray  # [N] the points: level, scaled displacement, value, error
    u: np.ndarray
    value: np.ndarray
    error: np.ndarray | None
    levels_compared: list[int]
    dof: int  # sum over shared displacements of (levels there - 1)
    quality: float | None  # chi^2 / dof of "all levels agree" (None for exact data)
    quality_error: float | None  # sqrt(2 / dof): the spread of chi^2/dof under a perfect collapse
    relative_spread: float  # rms deviation from the per-displacement mean over the rms mean
    relative_spread_error: float | None

    def to_json(self) -> dict:
        return {"levels": self.levels_compared, "dof": self.dof, "quality": self.quality,
                "quality_error": self.quality_error, "relative_spread": self.relative_spread,
                "relative_spread_error": self.relative_spread_error}


def _collapse_numbers(groups: list[np.ndarray], y: np.ndarray, err: np.ndarray | None) -> tuple[float | None, float]:
    """(chi^2 over the shared displacements, relative spread) of class values ``y``."""
    chi2, dev2, mean2 = 0.0, 0.0, 0.0
    for g in groups:
        w = np.ones(len(g)) if err is None else 1.0 / err[g] ** 2
        mean = np.sum(w * y[g]) / np.sum(w)
        chi2 += float(np.sum(w * (y[g] - mean) ** 2))
        dev2 += float(np.sum((y[g] - mean) ** 2))
        mean2 += len(g) * mean**2
    return (None if err is None else chi2), float(np.sqrt(dev2 / mean2)) if mean2 > 0 else float("nan")


def collapse(classes: PairClasses, y: np.ndarray, replicas: np.ndarray | None) -> Collapse | None:
    """Question (a); None when fewer than :data:`COLLAPSE_LEVELS` levels share a scaled displacement."""
    same = np.flatnonzero(classes.same_level)
    scale = 2.0 ** classes.level_a[same]
    ux, uy = classes.dx[same] / scale, classes.dy[same] / scale
    keys = np.rint(2 * np.stack([ux, uy], axis=1)).astype(np.int64)
    _, group_of = np.unique(keys, axis=0, return_inverse=True)
    groups = [same[group_of.ravel() == g] for g in range(group_of.max() + 1)] if len(same) else []
    groups = [g for g in groups if len(g) >= 2]
    levels = sorted({int(classes.level_a[k]) for g in groups for k in g})
    if len(levels) < COLLAPSE_LEVELS:
        return None
    err = None if replicas is None else np.array([jackknife_error(r) for r in replicas.T])
    if err is not None:
        err = np.maximum(err, 1e-3 * np.median(err[err > 0]))
    dof = sum(len(g) - 1 for g in groups)
    chi2, spread = _collapse_numbers(groups, y, err)
    spread_error = None
    if replicas is not None:
        spread_error = jackknife_error(np.array([_collapse_numbers(groups, r, None)[1] for r in replicas]))
    points = np.concatenate(groups)
    return Collapse(classes.level_a[points], np.hypot(classes.dx[points], classes.dy[points])
                    / 2.0 ** classes.level_a[points], y[points], None if err is None else err[points], levels, dof,
                    None if chi2 is None else chi2 / dof, None if chi2 is None else float(np.sqrt(2.0 / dof)),
                    spread, spread_error)


@dataclass
class BulkAnalysis:
    """Everything the bulk panel and ``rgviz-batch bulk`` show, as plain numpy."""

    stats: PairStatistics
    classes: PairClasses
    positions: np.ndarray  # [m, 3] (i, j, level)
    L: int
    w0: float
    coords: np.ndarray  # [m, 3] half-space positions at height scale w0
    class_value: np.ndarray  # [K] class averages of q
    class_replicas: np.ndarray | None  # [B, K]
    class_error: np.ndarray | None  # [K]
    class_d_hyperbolic: np.ndarray  # [K] at w0
    class_d_flat: np.ndarray  # [K]
    fit: DecayFit  # against hyperbolic distance, every class
    fit_flat: DecayFit  # against flat distance, the same classes
    fit_same_level: DecayFit | None
    fit_cross_level: DecayFit | None
    r2_gap: tuple[float, float | None]  # R^2 hyperbolic - flat, jackknife error
    xi_difference: dict | None  # (b): same - cross level, error, difference in sigma
    collapse: Collapse | None  # (a)
    w0_scan: list[dict]  # (d)
    departure: dict  # (e): where the classes leave the line fitted on the finer levels
    errors: str  # where the errors come from and how the fits weigh the classes

    @property
    def levels(self) -> np.ndarray:
        return self.positions[:, 2]

    @property
    def d_hyperbolic(self) -> np.ndarray:
        """``[m, m]`` hyperbolic distance between nodes at height scale w0."""
        return pairwise(self.coords, self.L, hyperbolic_distance)

    @property
    def d_flat(self) -> np.ndarray:
        return pairwise(self.coords, self.L, flat_distance)

    def inferred_distance(self) -> np.ndarray:
        """``[m, m]`` d0 - (xi / 2) ln q_ij from the hyperbolic fit (d0 - xi ln|rho| for ``connected``).

        NaN where it is not a result: no decay, q <= 0, or a negative distance (a pair more strongly
        correlated than the fit's line reaches at distance 0).
        """
        if not self.fit.decays:
            return np.full(self.stats.q.shape, np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            d = self.fit.d0 - 0.5 * self.fit.xi * np.log(self.stats.q)
        return np.where(np.isfinite(d) & (d >= 0), d, np.nan)

    def pair(self, a: int, b: int) -> dict:
        """One pair: the estimator's value with its error, inferred, hyperbolic and flat distance."""
        inferred = float(self.inferred_distance()[a, b])
        return {"estimator": self.stats.estimator, "value": float(self.stats.value[a, b]),
                "value_error": float(self.stats.value_error[a, b]),
                "d_inferred": None if np.isnan(inferred) else inferred,
                "d_hyperbolic": float(self.d_hyperbolic[a, b]), "d_flat": float(self.d_flat[a, b])}

    def arrays(self) -> dict[str, np.ndarray]:
        """Per-pair and per-class arrays under the names every export uses."""
        no_error = np.full(len(self.class_value), np.nan)
        return {"value": self.stats.value, "value_error": self.stats.value_error, "q": self.stats.q,
                "d_inferred": self.inferred_distance(), "coords": self.coords, "levels": self.levels,
                "d_hyperbolic": self.d_hyperbolic, "d_flat": self.d_flat, "class_value": self.class_value,
                "class_error": no_error if self.class_error is None else self.class_error,
                "class_d_hyperbolic": self.class_d_hyperbolic, "class_d_flat": self.class_d_flat,
                "class_level_a": self.classes.level_a, "class_level_b": self.classes.level_b,
                "class_count": self.classes.count}

    def to_json(self) -> dict:
        optional = lambda fit: None if fit is None else fit.to_json()  # noqa: E731
        fitted = [row for row in self.w0_scan if row["r2"] is not None]
        r2 = [row["r2"] for row in fitted]
        xi = [row["xi"] for row in fitted if row["xi"] is not None]
        return {
            "estimator": self.stats.estimator,
            "errors": self.errors,
            "fit": self.fit.to_json(),
            "fit_boundary_distance": self.fit_flat.to_json(),
            "fit_same_level": optional(self.fit_same_level),
            "fit_cross_level": optional(self.fit_cross_level),
            "xi_difference": self.xi_difference,
            "r2_gap": {"value": self.r2_gap[0], "error": self.r2_gap[1]},
            "collapse": (self.collapse.to_json() if self.collapse else
                         {"result": f"needs same-level pairs at >= {COLLAPSE_LEVELS} levels (L >= 16)"}),
            "w0": {"value": self.w0, "scan": self.w0_scan,
                   "best": max(fitted, key=lambda row: row["r2"])["w0"] if fitted else None,
                   "r2_range": [min(r2), max(r2)] if r2 else None, "xi_range": [min(xi), max(xi)] if xi else None},
            "departure": self.departure,
            "pairs_used": int(len(self.classes.a)),
            "pairs_total": int(len(self.positions) * (len(self.positions) - 1) // 2),
            "classes_used": int(len(self.classes.count)),
        }


def _fit_subset(classes: PairClasses, mask: np.ndarray, d: np.ndarray, y: np.ndarray,
                replicas: np.ndarray | None, log: bool = False) -> DecayFit | None:
    """The decay fit on the classes in ``mask``, None where they are too few or at one distance."""
    if mask.sum() < 3 or not np.ptp(d[mask]) > 0:
        return None
    return fit_decay(d[mask], y[mask], classes.count[mask], None if replicas is None else replicas[:, mask], log)


def _difference(same: DecayFit | None, cross: DecayFit | None) -> dict | None:
    """Question (b): xi(same level) - xi(cross level) with the jackknife error of the difference."""
    if same is None or cross is None or not (same.decays and cross.decays):
        return None
    value = same.xi - cross.xi
    if not len(same.xi_replicas):
        return {"value": value, "error": None, "sigma": None}
    error = jackknife_error(same.xi_replicas - cross.xi_replicas)
    sigma = abs(value) / error if error > 0 and np.isfinite(error) else None
    return {"value": value, "error": error if np.isfinite(error) else None, "sigma": sigma}


#: A level's gap from the extrapolated line counts as a departure beyond this many jackknife errors. Not 3:
#: the jackknife of a nonlinear fit over 20 blocks has heavy tails (on planted bulks that follow one law
#: through every level, 28 level tests gave |gap| / error up to 3.5; cutting the law off at level 2 gave 46-97).
DEPARTURE_SIGMA = 5.0


def departure(classes: PairClasses, d: np.ndarray, y: np.ndarray, replicas: np.ndarray | None,
              log: bool = False) -> dict:
    """Question (e): from which level on do the classes leave the hyperbolic line of the finer levels?

    For each level l, the decay fitted on the classes whose nodes all lie below l is extrapolated to the
    classes that reach level l, and their weighted mean gap from it is compared with its jackknife error
    (every leave-one-block-out replica refitted and extrapolated, so the fit's own uncertainty and the
    correlations between classes are in the error). A gap beyond DEPARTURE_SIGMA marks a departure. A critical
    theory follows one line through every level; a theory with correlation length xi departs near the
    level whose blocks (2^l sites) exceed xi, where its latent correlations die faster than the line.
    ``log``: the line and the gaps in ln q, classes weighing equally (as :func:`.fit.fit_decay` with ``log``).
    """
    if replicas is None:
        return {"result": "needs class errors", "levels": [], "first_level": None}
    top = np.maximum(classes.level_a, classes.level_b)
    rows, first = [], None
    for level in range(1, int(top.max()) + 1):
        below, at = top < level, top == level
        if below.sum() < 3 or not np.ptp(d[below]) > 0 or not at.any():
            continue
        if log:
            w_fit, w_at = np.ones(int(below.sum())), np.ones(int(at.sum()))
        else:
            w_fit, w_at = class_weights(replicas[:, below]), class_weights(replicas[:, at])

        def mean_gap(values: np.ndarray) -> float:
            line = extrapolate_decay(d[below], values[below], w_fit, d[at], log)
            with np.errstate(divide="ignore"):
                gap = log_q(values[at]) - np.log(line) if log else values[at] - line
            return float(np.sum(w_at * gap) / np.sum(w_at))

        gap = mean_gap(y)
        error = jackknife_error(np.array([mean_gap(r) for r in replicas]))
        sigma = gap / error if np.isfinite(error) and error > 0 else None
        departs = sigma is not None and abs(sigma) > DEPARTURE_SIGMA
        rows.append({"level": level, "classes": int(at.sum()), "mean_gap": gap, "error": error, "sigma": sigma,
                     "departs": bool(departs)})
        if departs and first is None:
            first = level
    return {"result": "departs" if first is not None else "follows the line", "levels": rows, "first_level": first}


def analyse_bulk(stats: PairStatistics, positions: np.ndarray, L: int, *, w0: float = 1.0,
                 scan: tuple[float, ...] = W0_SCAN, pair_groups: int | None = None) -> BulkAnalysis:
    """Questions (a)-(d) for the pair statistics of nodes at ``positions`` ``[m, 3]`` on the L x L torus.

    Errors: sampled statistics carry block-jackknife replicas. Exact ones (an exact or saddle-point
    covariance) have none: with ``pair_groups`` the errors are the scatter of the equivalent pairs in a class
    (:meth:`PairClasses.pair_jackknife` over that many groups of pairs) and the fits are made in ln q with
    every class weighing equally; without, the classes weigh equally in q and there are no errors.

    Why not weigh exact classes by their scatter: their values span many decades and their distances from
    any law are systematic, not noise. Weights 1 / error^2 let the few classes with thousands of small,
    tightly clustered level-0 pairs decide every fit; on the shipped L = 16 critical flow that turned R^2
    0.74 (hyperbolic) against 0.07 (flat) in ln q with equal weights into 0.03 against 0.83.
    """
    positions = np.asarray(positions)
    classes = pair_classes(positions, L)
    y = classes.average(stats.q)
    if stats.q_replicas is not None:
        replicas, errors = classes.average(stats.q_replicas), f"block jackknife over {len(stats.q_replicas)} " \
            "consecutive windows of the chain; classes weighted by 1 / error^2"
    elif pair_groups is not None:
        replicas, errors = classes.pair_jackknife(stats.q, pair_groups), "no sampling error: fits of ln q, every " \
            "class weighing equally; errors from the scatter of the equivalent pairs within each class " \
            f"(delete-a-group jackknife over {pair_groups} groups of pairs; pairs of a class share nodes, so these " \
            "errors may be too small)"
    else:
        replicas, errors = None, "none (an exact covariance): classes weigh equally"
    error = None if replicas is None else np.array([jackknife_error(r) for r in replicas.T])
    if not np.all(np.isfinite(y)) or (stats.q_replicas is not None and not np.any(error > 0)):
        raise ValueError("the latent samples hold too few distinct configurations for correlations with errors "
                         "(a flow with a very low acceptance): draw more samples or sample by bulk HMC")
    log = stats.q_replicas is None and pair_groups is not None
    everything = np.ones(len(y), dtype=bool)

    def fits(w: float) -> tuple[np.ndarray, np.ndarray, DecayFit, DecayFit]:
        d_hyp, d_flat = classes.distances(w)
        hyperbolic, flat = _fit_subset(classes, everything, d_hyp, y, replicas, log), \
            _fit_subset(classes, everything, d_flat, y, replicas, log)
        if hyperbolic is None or flat is None:
            raise ValueError(f"only {len(y)} pair classes: too few nodes for a distance fit")
        return d_hyp, d_flat, hyperbolic, flat

    d_hyp, d_flat, hyperbolic, flat = fits(w0)
    same = _fit_subset(classes, classes.same_level, d_hyp, y, replicas, log)
    cross = _fit_subset(classes, ~classes.same_level, d_hyp, y, replicas, log)
    gap_error = None if replicas is None else jackknife_error(hyperbolic.r2_replicas - flat.r2_replicas)
    scan_rows = []
    for w in sorted(set(scan) | {w0}):
        h, f = fits(w)[2:]
        doc = h.to_json()
        scan_rows.append({"w0": w, **{k: doc[k] for k in ("xi", "xi_error", "r2", "r2_error")}, "r2_flat": f.r2})
    return BulkAnalysis(stats, classes, positions, L, w0, node_coordinates(positions, w0), y, replicas, error,
                        d_hyp, d_flat, hyperbolic, flat, same, cross, (hyperbolic.r2 - flat.r2, gap_error),
                        _difference(same, cross),
                        collapse(classes, *((log_q(y), log_q(replicas)) if log else (y, replicas))), scan_rows,
                        departure(classes, d_hyp, y, replicas, log), errors)
