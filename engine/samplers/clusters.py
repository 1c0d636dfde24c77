"""Cluster algorithms: batched cluster labelling, Swendsen-Wang and Wolff moves.

The generic part works on *active bonds*: a bool tensor ``[B, 2, L, L]`` whose channel 0 says
whether site (y, x) is bonded to its right neighbour (y, x+1) and channel 1 to the neighbour
below (y+1, x), on the torus. Any Fortuin-Kasteleyn-type embedding builds on it: the caller
computes bond activation probabilities for its model (Ising: :func:`ising_bond_probabilities`;
the XY Wolff embedding: the same with the spins projected on a random mirror direction), draws
bonds with :func:`sample_bonds` and asks for a flip mask:

- :func:`sw_flip_mask`: Swendsen-Wang, every cluster flipped independently,
- :func:`wolff_flip`: Wolff, only the cluster that contains a random seed site per replica.

External fields. Terms that act on single sites (Ising: -h s_i) are not in the bonds; the
caller passes their cost ``flip_cost`` = beta * (energy change when that site alone is flipped),
which is additive over a cluster. Given the bonds, the cluster orientations are then
independent with weight exp(-cost), so Swendsen-Wang flips each cluster by heat bath with
probability 1 / (1 + exp(cost_C)) (1/2 without a field); Wolff accepts its cluster flip with
the Metropolis probability min(1, exp(-cost_C)) (the bond construction already balances the
coupling part). This is the ghost-spin construction with the ghost's bonds summed out: exact.

Labelling is a Shiloach-Vishkin style min-label union: every active bond between two different
trees hooks the larger root under the smaller one (``scatter_reduce`` amin, deterministic),
then pointer jumping flattens the trees; bonds whose ends share a root are dropped for good
(only roots are ever re-hooked, so such ends stay together). A few rounds suffice even for
spanning clusters. It is torch-only, batched (labels are global indices b * N + site) and
runs on CUDA. Wolff grows its one cluster from the seed instead while that is cheaper.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from ..errors import ParameterError
from ..models.ising import IsingModel
from .state import Entry, Stateful, StateError


class ClusterFlip(NamedTuple):
    """Which sites to flip (``[B, L, L]`` bool) and a cluster size per replica (``[B]``, see the maker)."""

    mask: torch.Tensor
    cluster_size: torch.Tensor


def sample_bonds(prob: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Activate each bond independently with its probability; ``prob`` is ``[B, 2, L, L]``."""
    return torch.rand(prob.shape, generator=gen, device=prob.device, dtype=prob.dtype) < prob


def _flatten_roots(parent: torch.Tensor) -> torch.Tensor:
    """Pointer jumping until every entry points at its tree's root."""
    while True:
        grand = parent.index_select(0, parent)
        if torch.equal(grand, parent):
            return parent
        parent = grand


def label_clusters(active: torch.Tensor) -> torch.Tensor:
    """Connected components of the active-bond graph on the torus, ``[B, L, L]`` int64.

    Each site gets the smallest global index ``b * L * L + y * L + x`` in its cluster, so labels
    are unique across replicas and do not depend on the order of operations.
    """
    B, _, L, _ = active.shape
    site = torch.arange(B * L * L, device=active.device).view(B, L, L)
    neighbour = torch.stack((site.roll(-1, dims=-1), site.roll(-1, dims=-2)), dim=1)
    edges = active.flatten().nonzero().squeeze(1)
    src = site.unsqueeze(1).expand(B, 2, L, L).flatten().index_select(0, edges)
    dst = neighbour.flatten().index_select(0, edges)
    parent = site.flatten().clone()
    root_s, root_d = src, dst  # every site is its own root at the start
    while True:
        parent.scatter_reduce_(0, torch.maximum(root_s, root_d), torch.minimum(root_s, root_d), reduce="amin")
        parent = _flatten_roots(parent)
        root_s, root_d = parent.index_select(0, src), parent.index_select(0, dst)
        open_ = (root_s != root_d).nonzero().squeeze(1)
        if not open_.numel():
            break
        src, dst, root_s, root_d = (t.index_select(0, open_) for t in (src, dst, root_s, root_d))
    return parent.view(B, L, L)


def _cluster_totals(labels: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Sum of ``values`` over each site's cluster, read back at every site (``[B, L, L]``)."""
    flat = labels.flatten()
    totals = torch.zeros(flat.numel(), device=values.device, dtype=values.dtype)
    totals.index_add_(0, flat, values.flatten())
    return totals.index_select(0, flat).view_as(values)


def sw_flip_mask(active: torch.Tensor, gen: torch.Generator,
                 flip_cost: torch.Tensor | None = None) -> ClusterFlip:
    """Swendsen-Wang: flip every cluster of ``active`` independently.

    Without ``flip_cost`` each cluster flips with probability 1/2; with it (``[B, L, L]``, beta
    times the single-site energy change of a flip) with probability 1 / (1 + exp(cost_C)).
    ``cluster_size`` is the size of the cluster holding a random site, sum_C |C|^2 / N (the
    improved estimator of the susceptibility at h = 0, and what a Wolff seed sees on average).
    """
    B, _, L, _ = active.shape
    labels = label_clusters(active)
    u = torch.rand(B * L * L, generator=gen, device=active.device).index_select(0, labels.flatten()).view_as(labels)
    if flip_cost is None:
        mask = u < 0.5
    else:
        mask = u < torch.sigmoid(-_cluster_totals(labels, flip_cost))
    sizes = torch.bincount(labels.flatten(), minlength=B * L * L).view(B, L * L)
    return ClusterFlip(mask, (sizes * sizes).sum(dim=1).float() / (L * L))


def grow_cluster(active: torch.Tensor, seeds: torch.Tensor, max_steps: int | None = None) -> torch.Tensor | None:
    """All sites connected to ``seeds`` (``[B, L, L]`` bool) through ``active`` bonds.

    Breadth-first growth by whole-lattice shifts, one step of graph distance per iteration:
    cheap for small clusters, slow for large ones (a critical cluster's chemical radius grows
    like L^1.13). Returns None when the growth has not stopped after ``max_steps`` iterations.
    """
    right, down = active[:, 0], active[:, 1]
    mask = seeds
    step = 0
    while max_steps is None or step < max_steps:
        grown = (mask | (mask & right).roll(1, dims=-1) | (right & mask.roll(-1, dims=-1))
                 | (mask & down).roll(1, dims=-2) | (down & mask.roll(-1, dims=-2)))
        if torch.equal(grown, mask):
            return mask
        mask, step = grown, step + 1
    return None


#: Wolff grows its cluster this many steps before it labels the whole lattice instead
GROW_STEPS = 4


def wolff_flip(active: torch.Tensor, gen: torch.Generator, flip_cost: torch.Tensor | None = None,
               n_seeds: torch.Tensor | None = None) -> ClusterFlip:
    """Wolff: flip the cluster of ``active`` that contains a uniformly random seed, per replica.

    With one seed (the default) the cluster is grown from the seed (:func:`grow_cluster`) and,
    if that takes more than ``GROW_STEPS`` steps, read off :func:`label_clusters` instead (whose
    cost grows only about logarithmically with the cluster's radius); with ``flip_cost`` the flip
    is accepted with probability min(1, exp(-cost_C)).

    ``n_seeds`` (``[B]``) > 1 lets one bond draw serve several seeds: every cluster that holds a
    seed flips (each accepted on its own with min(1, exp(-cost_C))). Given the bonds, which
    clusters flip is decided without looking at the spins, so the move leaves the Edwards-Sokal
    distribution of the spins given the bonds invariant, exactly as Swendsen-Wang does; big
    clusters are still chosen in proportion to their size, as in Wolff's algorithm.
    ``cluster_size``: mean size of the seeds' clusters (also when a flip was rejected).
    """
    B, _, L, _ = active.shape
    N = L * L
    counts = torch.ones(B, dtype=torch.long, device=active.device) if n_seeds is None else n_seeds
    k_max = int(counts.max())
    seed = torch.randint(0, N, (B, k_max), generator=gen, device=active.device)
    valid = torch.arange(k_max, device=active.device) < counts.view(-1, 1)
    seeds = torch.zeros(B, N, dtype=torch.bool, device=active.device)
    seeds[torch.arange(B, device=active.device).view(-1, 1).expand(B, k_max)[valid], seed[valid]] = True
    if k_max == 1:
        mask = grow_cluster(active, seeds.view(B, L, L), GROW_STEPS)
        if mask is None:
            labels = label_clusters(active).view(B, N)
            mask = (labels == labels.gather(1, seed)).view(B, L, L)
        size = mask.sum(dim=(-2, -1)).float()
        if flip_cost is not None:
            cost = (flip_cost * mask).sum(dim=(-2, -1))
            accept = torch.rand(B, generator=gen, device=active.device, dtype=cost.dtype) < torch.exp(-cost)
            mask = mask & accept.view(B, 1, 1)
        return ClusterFlip(mask, size)
    labels = label_clusters(active)
    flat = labels.flatten()
    seed_labels = labels.view(B, N).gather(1, seed)
    hit = torch.zeros(B * N, dtype=torch.bool, device=active.device)
    hit[seed_labels[valid]] = True
    mask = hit.index_select(0, flat).view_as(labels)
    if flip_cost is not None:
        u = torch.rand(B * N, generator=gen, device=active.device).index_select(0, flat).view_as(labels)
        mask = mask & (u < torch.exp(-_cluster_totals(labels, flip_cost)))
    sizes = torch.bincount(flat, minlength=B * N)[seed_labels].float()
    return ClusterFlip(mask, (sizes * valid).sum(dim=1) / counts)


# --- the Ising embedding -----------------------------------------------------------------

def ising_bond_probabilities(model: IsingModel, state: torch.Tensor) -> torch.Tensor:
    """p_ij = 1 - exp(-2 beta |J_ij|) on satisfied bonds (J_ij s_i s_j > 0), else 0: ``[B, 2, L, L]``.

    Works for ferro-, antiferromagnetic and random +-J bonds alike: only satisfied bonds bind.
    """
    J = model.param("J").view(-1, 1, 1, 1)
    pairs = torch.stack((state * state.roll(-1, dims=-1), state * state.roll(-1, dims=-2)), dim=1)
    satisfied = J * model.bond_signs * pairs > 0
    p = -torch.expm1(-2 * J.abs() / model.param("T").view(-1, 1, 1, 1))
    return torch.where(satisfied, p, torch.zeros_like(p))


def ising_flip_cost(model: IsingModel, state: torch.Tensor) -> torch.Tensor | None:
    """beta * 2 h s_i: what flipping site i alone costs in the field; None when h = 0 everywhere."""
    h = model.param("h")
    if not bool((h != 0).any()):
        return None
    return (2 * h / model.param("T")).view(-1, 1, 1) * state


class SwendsenWangSampler(Stateful):
    """One sweep = one full Swendsen-Wang decomposition; ``stats['cluster_size']`` as in :func:`sw_flip_mask`."""

    STATS = {"cluster_size": (0.0, math.inf)}
    stats_dtype = torch.float32

    def __init__(self, model: IsingModel):
        self.model = model
        self.stats: dict[str, torch.Tensor] = {}

    def sweep(self, state: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        active = sample_bonds(ising_bond_probabilities(self.model, state), gen)
        flip = sw_flip_mask(active, gen, ising_flip_cost(self.model, state))
        self.stats = {"cluster_size": flip.cluster_size}
        return torch.where(flip.mask, -state, state)


class WolffSampler(Stateful):
    """Single-cluster Wolff updates; one sweep = a fixed number of seeds (cluster flips) per replica.

    Why fixed: choosing the number of flips from the current run's cluster sizes ("flip until N
    sites were touched") makes the measurement times depend on the chain and biases averages.
    So during the first ``calibration_sweeps`` sweeps (and again after T, J or h change: the
    chain is then out of equilibrium anyway) each replica's count is set to
    ceil(N / mean cluster size so far), about N touched sites per sweep, at most ``max_flips``;
    afterwards it is frozen. Pass ``flips_per_sweep`` to fix the count instead.

    Time: every move costs a full-lattice bond draw, whatever its cluster size, and in a batch
    all replicas move together. So a sweep makes at most ``max_moves`` moves; when a replica
    needs more seeds than that (small clusters: high temperature) one bond draw serves several
    seeds (see :func:`wolff_flip`). Near and below Tc, where a few clusters cover the lattice, each
    move is the textbook single-cluster flip. ``stats['cluster_size']``: mean size of the seeds'
    clusters in the last sweep.

    State: the statistics and the calibration (the parameters it was done for, the sweeps left,
    the sums so far and the flip counts); the counts are None until the first sweep.
    """

    STATS = {"cluster_size": (0.0, math.inf)}
    stats_dtype = torch.float32

    def __init__(self, model: IsingModel, flips_per_sweep: int | None = None, calibration_sweeps: int = 5,
                 max_flips: int | None = None, max_moves: int = 8):
        for name, value in (("flips_per_sweep", flips_per_sweep), ("max_flips", max_flips), ("max_moves", max_moves)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ParameterError(name, f"must be a positive integer, got {value!r}")
        self.model = model
        self.fixed = flips_per_sweep
        self.calibration_sweeps = calibration_sweeps
        self.max_flips = model.N if max_flips is None else max_flips
        self.max_moves = max_moves
        self.stats: dict[str, torch.Tensor] = {}
        self._params_seen: torch.Tensor | None = None
        self._calibrating = 0
        self._size_sum = self._flip_sum = self._flips = None

    def _flip_counts(self, device: torch.device) -> torch.Tensor:
        """Flips per replica for this sweep (restarting calibration when the parameters changed)."""
        model = self.model
        if self.fixed is not None:
            return torch.full((model.B,), self.fixed, device=device)
        params = torch.stack([model.param(k) for k in model.param_names])
        if self._params_seen is None or not torch.equal(params, self._params_seen):
            self._params_seen = params.clone()
            self._calibrating = self.calibration_sweeps
            self._size_sum = torch.zeros(model.B, device=device)
            self._flip_sum = torch.zeros_like(self._size_sum)
            self._flips = torch.ones(model.B, device=device, dtype=torch.long)
        return self._flips

    def state_spec(self) -> dict[str, Entry]:
        B, dtype = self.model.B, self.model.dtype
        return {**super().state_spec(),
                "params_seen": Entry(dtype, (len(self.model.param_names), B), optional=True),
                "calibrating": Entry(int, low=0, high=self.calibration_sweeps),
                "size_sum": Entry(torch.float32, (B,), 0.0, math.inf, optional=True),
                "flip_sum": Entry(torch.float32, (B,), 0.0, math.inf, optional=True),
                "flips": Entry(torch.long, (B,), 1, self.max_flips, optional=True)}

    def state_dict(self) -> dict:
        return {**super().state_dict(), "params_seen": self._params_seen, "calibrating": self._calibrating,
                "size_sum": self._size_sum, "flip_sum": self._flip_sum, "flips": self._flips}

    def _take_state(self, state: dict) -> None:
        calibration = [state[k] is None for k in ("params_seen", "size_sum", "flip_sum", "flips")]
        if any(calibration) and not all(calibration):
            raise StateError("sampler state: the Wolff calibration is incomplete")
        super()._take_state(state)
        self._params_seen, self._calibrating = state["params_seen"], state["calibrating"]
        self._size_sum, self._flip_sum, self._flips = state["size_sum"], state["flip_sum"], state["flips"]

    def cluster_move(self, state: torch.Tensor, gen: torch.Generator,
                     n_seeds: torch.Tensor) -> tuple[torch.Tensor, ClusterFlip]:
        """One Wolff move: the state with every site flipped, and which sites to flip.

        The one method an embedding overrides (XY: reflect all spins in a random mirror, with
        bond probabilities of the projected spins); the sweep loop and calibration stay here.
        """
        active = sample_bonds(ising_bond_probabilities(self.model, state), gen)
        return -state, wolff_flip(active, gen, ising_flip_cost(self.model, state), n_seeds)

    def sweep(self, state: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        model = self.model
        counts = self._flip_counts(state.device)
        moves = counts.clamp(max=self.max_moves)
        per_move = torch.div(counts + moves - 1, moves, rounding_mode="floor")
        sizes = torch.zeros(model.B, device=state.device)
        for k in range(int(moves.max())):
            flipped, flip = self.cluster_move(state, gen, per_move)
            todo = k < moves
            state = torch.where(flip.mask & todo.view(-1, 1, 1), flipped, state)
            sizes += flip.cluster_size * todo
        self.stats = {"cluster_size": sizes / moves}
        if self.fixed is None and self._calibrating > 0:
            self._calibrating -= 1
            self._size_sum += sizes
            self._flip_sum += moves
            per_flip = self._size_sum / self._flip_sum
            self._flips = torch.ceil(model.N / per_flip).to(torch.long).clamp(1, self.max_flips)
        return state


SAMPLERS = {
    ("ising", "wolff"): WolffSampler,
    ("ising", "swendsen-wang"): SwendsenWangSampler,
}
