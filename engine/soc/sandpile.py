"""Sandpiles on L x L with open boundaries: Bak-Tang-Wiesenfeld and the stochastic Manna model.

Toppling rules (a grain pushed over the edge leaves the pile, which is what lets it settle):

- ``btw``: a site with h >= 4 topples: h -= 4 and each of its 4 neighbours gets one grain.
- ``manna``: a site with h >= 2 topples: h -= 2 and each of the two grains goes to one of the 4
  neighbours chosen uniformly at random, independently of the other grain.

**Parallel waves.** An avalanche is relaxed wave by wave: in each wave every unstable site topples
once, all at the same time. BTW is Abelian (Dhar 1990): the final configuration and how often each
site topples do not depend on the order of topplings, so the final state, the size s (topplings) and
the area a (distinct sites toppled) are those of sequential toppling (tests/engine/test_soc.py
compares with a stack-based loop); the duration T is the number of waves. For Manna this parallel
update (each active site topples once per time step) is the standard definition of its dynamics and
of T; its Abelian property holds in distribution (Dhar 1999), so the statistics of s and a do not
depend on it either.

**Only active sites are touched.** A wave works on the flat indices of the unstable sites. The
lattice is padded by a one-site border, so the neighbours of any site are index +- 1 and +- (L + 2);
the border starts at :data:`SINK`, far below any threshold, so it takes grains without ever toppling
and what it took is counted (as lost) only when a run ends. A wave's cost is a fixed number of numpy
calls plus a term in the number of topplings, never a pass over L^2 sites.

**Batched, driven asynchronously.** ``piles`` independent piles are relaxed together. A pile gets its
next grain (at a uniformly random site) as soon as its avalanche is over, so each wave's fixed cost
is shared by every pile that is active.

**Warm-up** uses the Abelian property once more: :meth:`Sandpile.warm_up` adds its grains all at
once and relaxes with dense waves (whole-lattice array operations), in which each BTW site topples
as often as its height allows (h // 4 times) and each unstable Manna site once. For BTW that is
exactly the configuration the grains dropped one by one would leave; for Manna the same in
distribution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError

#: The models and their toppling thresholds (a site with h >= threshold topples and loses that many grains).
THRESHOLD = {"btw": 4, "manna": 2}
MODELS = tuple(THRESHOLD)  # engine.names.SOC_MODELS names them without importing numpy
#: Height of the border sites: they can take 2^30 grains and stay below every threshold.
SINK = -(2**30)
#: Piles whose activity (topplings per wave) is recorded, for the power spectrum.
TRACKED_PILES = 4


@dataclass
class Avalanches:
    """One entry per dropped grain, in the order the avalanches ended: the pile, the site the grain fell on
    (row * L + column), size s (topplings), area a (distinct sites toppled) and duration T (waves).
    ``activity[p]``: topplings per wave of tracked pile p's avalanches, in order
    (waves without topplings left out; :meth:`signal` puts a quiet step after each avalanche)."""

    pile: np.ndarray
    site: np.ndarray
    size: np.ndarray
    area: np.ndarray
    duration: np.ndarray
    activity: tuple[np.ndarray, ...] = ()

    FIELDS = ("pile", "site", "size", "area", "duration")

    def __len__(self) -> int:
        return len(self.size)

    @classmethod
    def empty(cls, tracked: int = 0) -> Avalanches:
        return cls(*(np.zeros(0, np.int64) for _ in cls.FIELDS), tuple(np.zeros(0, np.int64) for _ in range(tracked)))

    @classmethod
    def concat(cls, parts: list[Avalanches]) -> Avalanches:
        """The avalanches of several runs of the same piles, in order."""
        if not parts:
            return cls.empty()
        fields = (np.concatenate([getattr(p, name) for p in parts]) for name in cls.FIELDS)
        activity = tuple(np.concatenate([p.activity[k] for p in parts]) for k in range(len(parts[0].activity)))
        return cls(*fields, activity)

    def signal(self, pile: int = 0) -> np.ndarray:
        """Pile ``pile``'s activity against time: topplings per wave, avalanche after avalanche, each followed
        by one quiet step (the time of dropping the next grain; slow driving)."""
        durations = self.duration[self.pile == pile]
        out = np.zeros(int(durations.sum()) + len(durations), np.int64)
        quiet = np.cumsum(durations + 1) - 1
        busy = np.ones(len(out), bool)
        busy[quiet] = False
        out[busy] = self.activity[pile]
        return out


class Sandpile:
    """``piles`` independent L x L sandpiles of one model, with their random generator.

    ``heights``: a starting configuration ``[L, L]`` or ``[piles, L, L]`` of stable heights (default:
    heights drawn uniformly from 0 .. threshold - 1 from the generator).
    """

    def __init__(self, model: str, L: int, piles: int = 1, seed: int = 0, heights: np.ndarray | None = None):
        if model not in THRESHOLD:
            raise ParameterError("model", f"unknown {model!r}; choose from {', '.join(MODELS)}")
        if L < 2:
            raise ParameterError("L", f"must be >= 2, got {L}")
        if piles < 1:
            raise ParameterError("piles", f"must be >= 1, got {piles}")
        self.model, self.L, self.piles = model, int(L), int(piles)
        self.threshold = THRESHOLD[model]
        self.rng = np.random.default_rng(seed)
        W = self.L + 2
        self._W, self._P = W, W * W
        self._h = np.full((self.piles, W, W), SINK, np.int32)
        if heights is None:
            heights = self.rng.integers(0, self.threshold, size=(self.piles, L, L))
        heights = np.broadcast_to(np.asarray(heights), (self.piles, L, L))
        if heights.min() < 0 or heights.max() >= self.threshold:
            raise ParameterError("heights", f"a stable configuration has heights in 0..{self.threshold - 1}")
        self._h[:, 1:-1, 1:-1] = heights
        self._flat = self._h.reshape(-1)  # a view: the sparse waves index it
        self._offsets = np.array([1, -1, W, -W], np.int64)
        self._base = np.arange(self.piles, dtype=np.int64) * self._P
        self._touched = np.full(self.piles * self._P, -1, np.int64)  # id of the avalanche that last toppled a site
        self._next_id = 0
        self._last_id = -1  # id of pile 0's last avalanche with a toppling
        self.added = np.zeros(self.piles, np.int64)  # grains dropped per pile, warm-up included
        self.lost = np.zeros(self.piles, np.int64)  # grains lost over the edge per pile
        self.tracked = min(TRACKED_PILES, self.piles)
        self._one = np.ones(0, np.int32)

    @property
    def heights(self) -> np.ndarray:
        """The configurations ``[piles, L, L]`` (a copy)."""
        return self._h[:, 1:-1, 1:-1].copy()

    def mass(self) -> np.ndarray:
        """Grains on each pile."""
        return self._h[:, 1:-1, 1:-1].sum(axis=(1, 2), dtype=np.int64)

    def last_avalanche(self) -> np.ndarray:
        """``[L, L]`` bool: the sites pile 0's most recent avalanche with a toppling toppled."""
        if self._last_id < 0:
            return np.zeros((self.L, self.L), bool)
        return (self._touched[: self._P] == self._last_id).reshape(self._W, self._W)[1:-1, 1:-1].copy()

    # --- warm-up: many grains at once, dense waves ----------------------------------------------------
    def warm_up(self, grains: int) -> None:
        """Drop ``grains`` grains on each pile at uniformly random sites, all at once, and relax (see the module
        docstring: for BTW the configuration is that of dropping them one by one)."""
        if grains <= 0:
            return
        n = self.L * self.L
        counts = self.rng.multinomial(grains, np.full(n, 1.0 / n), size=self.piles)
        self._h[:, 1:-1, 1:-1] += counts.reshape(self.piles, self.L, self.L).astype(np.int32)
        self.added += grains
        self._relax_dense()

    def _relax_dense(self) -> None:
        h, z = self._h, self.threshold
        inner = h[:, 1:-1, 1:-1]
        while True:
            topplings = inner // z if self.model == "btw" else (inner >= z).astype(np.int32)
            if not topplings.any():
                return
            inner -= z * topplings
            for (rows, cols), share in zip(((slice(None, -2), slice(1, -1)), (slice(2, None), slice(1, -1)),
                                            (slice(1, -1), slice(None, -2)), (slice(1, -1), slice(2, None))),
                                           self._shares(topplings)):
                h[:, rows, cols] += share
            self._sweep_border()

    def _shares(self, topplings: np.ndarray) -> list[np.ndarray]:
        """Grains each site sends up, down, left, right when it topples ``topplings`` times (Manna: 0 or 1)."""
        if self.model == "btw":
            return [topplings] * 4
        active = topplings.astype(bool)
        pair = self.rng.integers(0, 16, size=active.shape, dtype=np.uint8)  # two directions, 2 bits each
        first, second = pair & 3, pair >> 2
        return [((first == k) & active).astype(np.int32) + ((second == k) & active) for k in range(4)]

    def _sweep_border(self) -> None:
        h = self._h
        for edge in (h[:, 0, :], h[:, -1, :], h[:, 1:-1, 0], h[:, 1:-1, -1]):
            self.lost += edge.sum(axis=1, dtype=np.int64) - SINK * edge.shape[1]
            edge[...] = SINK

    # --- measured avalanches: one grain at a time, sparse waves --------------------------------------
    def run(self, grains: int) -> Avalanches:
        """Drop ``grains`` grains on each pile, one at a time: a pile's next grain falls (on a uniformly random
        site) when its last avalanche is over. Returns every avalanche; all piles are stable on return."""
        B, L, W, P, z = self.piles, self.L, self._W, self._P, self.threshold
        h, btw = self._flat, self.model == "btw"
        quota = np.full(B, int(grains), np.int64)
        idle = np.ones(B, bool)
        site, ident = np.zeros(B, np.int64), np.zeros(B, np.int64)
        size, area, duration = (np.zeros(B, np.int64) for _ in range(3))
        unstable = np.zeros(0, np.int64)
        ended: list[tuple[np.ndarray, ...]] = []
        activity: list[np.ndarray] = []
        while True:
            feed = np.flatnonzero(idle & (quota > 0))
            if len(feed):
                s = self.rng.integers(0, L * L, size=len(feed))
                idx = self._base[feed] + (s // L + 1) * W + s % L + 1
                h[idx] += 1
                quota[feed] -= 1
                idle[feed] = False
                site[feed] = s
                for counter in (size, area, duration):
                    counter[feed] = 0
                ident[feed] = self._next_id + np.arange(len(feed))
                self._next_id += len(feed)
                unstable = np.concatenate([unstable, idx[h[idx] >= z]])
            if len(unstable):
                unstable = self._wave(unstable, h, z, btw, ident, size, area, duration, activity)
            busy = np.zeros(B, bool)
            busy[unstable // P] = True
            done = np.flatnonzero(~idle & ~busy)
            if len(done):
                ended.append((done, site[done], size[done], area[done], duration[done]))
                idle[done] = True
                if done[0] == 0 and size[0] > 0:
                    self._last_id = int(ident[0])
            if idle.all() and not quota.any():
                break
        self.added += grains
        self._sweep_border()
        fields = [np.concatenate([e[k] for e in ended]) if ended else np.zeros(0, np.int64) for k in range(5)]
        rows = np.array(activity, np.int64).reshape(-1, self.tracked)
        return Avalanches(*fields, tuple(rows[:, p][rows[:, p] > 0] for p in range(self.tracked)))

    def _wave(self, unstable, h, z, btw, ident, size, area, duration, activity) -> np.ndarray:
        """Topple every site in ``unstable`` once; count per pile; the sites unstable afterwards."""
        B, P = self.piles, self._P
        pile = unstable // P
        count = np.bincount(pile, minlength=B)
        size += count
        duration += count > 0
        mine = ident[pile]
        new = self._touched[unstable] != mine
        self._touched[unstable[new]] = mine[new]
        area += np.bincount(pile[new], minlength=B)
        if self.tracked:
            activity.append(count[: self.tracked])
        h[unstable] -= z
        if btw:
            targets = (unstable[:, None] + self._offsets).reshape(-1)
        else:
            targets = unstable.repeat(2) + self._offsets[self.rng.integers(0, 4, size=2 * len(unstable))]
        np.add.at(h, targets, self._ones(len(targets)))  # a scalar 1 takes numpy's slow path (100x)
        # A BTW site holds at most 3 + 4 grains (a stable site gets at most one from each neighbour per wave), so
        # one toppling leaves it stable until grains come back: only targets can be unstable now. A Manna site
        # may hold more than 2 * 2 and stay unstable after toppling once.
        candidates = targets if btw else np.concatenate([unstable, targets])
        return _distinct(candidates[h[candidates] >= z])

    def _ones(self, n: int) -> np.ndarray:
        if len(self._one) < n:
            self._one = np.ones(2 * n, np.int32)
        return self._one[:n]


def _distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (np.unique is several times slower on these short arrays)."""
    values = np.sort(values)
    keep = np.ones(len(values), bool)
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]
