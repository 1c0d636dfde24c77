"""Ising samplers against exact results: enumeration of a 4x4 torus and Kaufman's finite tori.

Errors are honest: chi-square tests use many independent replicas sampled every few sweeps
(several autocorrelation times on a 4x4 lattice), and the Kaufman comparisons use a jackknife
over independent replicas, which includes all autocorrelation within each replica's run.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.csgraph
import scipy.stats
import torch
from chains import chain
from enumeration import bond_magnetisation_key, exact_key_distribution

from engine.device import make_generator
from engine.errors import ParameterError
from engine.exact import kaufman_energy, kaufman_specific_heat
from engine.models.ising import IsingModel
from engine.samplers import REGISTRY, make_sampler, run_sweeps
from engine.samplers.checkerboard import CheckerboardSampler, metropolis_polynomial
from engine.samplers.clusters import (SwendsenWangSampler, WolffSampler, grow_cluster, label_clusters,
                                      sample_bonds)

ALGORITHMS = IsingModel.algorithms
TC = 2.269185314213022


def run(model, algorithm, sweeps, seed, *, start="hot", every=1, burn=0, observe=None, **options):
    """``observe(state)`` (default: the state) every ``every`` sweeps after ``burn`` sweeps, stacked."""
    sampler = make_sampler(model, algorithm, **options)
    states = chain(model, sampler, seed, sweeps // every, every=every, burn=burn, start=start)
    return torch.stack([s if observe is None else observe(s) for s in states]), sampler


# --- registry --------------------------------------------------------------------------------

def test_registry_covers_every_ising_algorithm():
    model = IsingModel(8)
    assert all(("ising", a) in REGISTRY for a in ALGORITHMS)
    assert isinstance(make_sampler(model), CheckerboardSampler)  # the model's first algorithm
    assert isinstance(make_sampler(model, "heatbath"), CheckerboardSampler)
    assert isinstance(make_sampler(model, "wolff"), WolffSampler)
    assert isinstance(make_sampler(model, "swendsen-wang"), SwendsenWangSampler)


def test_unknown_algorithm_is_a_parameter_error():
    with pytest.raises(ParameterError, match="algorithm: 'hmc' is not available for ising; allowed: metropolis"):
        make_sampler(IsingModel(8), "hmc")
    with pytest.raises(ParameterError, match="flips_per_sweep: must be a positive integer"):
        make_sampler(IsingModel(8), "wolff", flips_per_sweep=0)
    with pytest.raises(ParameterError, match="max_flips: must be a positive integer"):
        make_sampler(IsingModel(8), "wolff", max_flips=2.5)
    with pytest.raises(ParameterError, match="options: .*unexpected keyword argument 'step'"):
        make_sampler(IsingModel(8), "metropolis", step=0.5)


# --- exact enumeration of the 4x4 torus ------------------------------------------------------

CASES = {  # name: model keywords (4x4, one set of parameters for all replicas)
    "ferro": dict(T=2.8, J=1.0, h=0.0),
    "field": dict(T=2.5, J=1.0, h=0.2),
    "antiferro": dict(T=2.0, J=-1.0, h=0.5),
    "random-bonds": dict(T=2.0, J=1.0, h=0.2, bond_disorder=0.35, disorder_seed=4),
    # without a field, Metropolis takes its exp-free polynomial path (see metropolis_polynomial)
    "antiferro-no-field": dict(T=1.8, J=-1.0, h=0.0),
    "random-bonds-no-field": dict(T=2.2, J=1.0, h=0.0, bond_disorder=0.35, disorder_seed=4),
}
#: sweeps between samples: several times the slowest integrated autocorrelation time measured
#: for these cases (local moves: tau_int(M) up to ~15 sweeps; cluster moves: ~2)
SPACING = {"metropolis": 25, "heatbath": 25, "wolff": 3, "swendsen-wang": 4}


def chi_square_p_value(samples: torch.Tensor, keys: torch.Tensor, probs: torch.Tensor) -> float:
    """p-value of observed key counts against exact probabilities (bins with < 5 expected pooled)."""
    n = samples.numel()
    index = torch.searchsorted(keys, samples)
    assert torch.equal(keys[index], samples), "sampled a configuration class of zero weight"
    observed = torch.bincount(index, minlength=len(keys)).double()
    expected = n * probs
    big = expected >= 5
    obs = torch.cat([observed[big], observed[~big].sum().view(1)])
    exp = torch.cat([expected[big], expected[~big].sum().view(1)])
    stat = float(((obs - exp) ** 2 / exp).sum())
    return float(scipy.stats.chi2.sf(stat, len(obs) - 1))


def sampled_keys(params: dict, algorithm: str, seed: int, replicas: int = 1500, samples: int = 16):
    """Keys of ``replicas`` independent chains, each sampled ``samples`` times after a burn-in."""
    model = IsingModel(4, **{k: ([v] * replicas if k in ("T", "J", "h") else v) for k, v in params.items()})
    every = SPACING[algorithm]
    states, _ = run(model, algorithm, samples * every, seed, every=every, burn=4 * every)
    return bond_magnetisation_key(model, states.flatten(0, 1))


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_distribution_matches_enumeration(algorithm, case):
    keys, probs = exact_key_distribution(IsingModel(4, dtype=torch.float64, **CASES[case]))
    p_value = chi_square_p_value(sampled_keys(CASES[case], algorithm, seed=11), keys, probs)
    assert p_value > 1e-3, f"{algorithm} on {case}: chi-square p = {p_value:.2g}"


@pytest.mark.parametrize("case", ["field", "random-bonds"])
def test_multi_seed_wolff_moves_match_enumeration(case):
    """One bond draw serving several seeds (what Wolff does when clusters are small) stays exact."""
    params = CASES[case]
    keys, probs = exact_key_distribution(IsingModel(4, dtype=torch.float64, **params))
    model = IsingModel(4, **{k: ([v] * 1500 if k in ("T", "J", "h") else v) for k, v in params.items()})
    states, _ = run(model, "wolff", 16 * 3, seed=12, every=3, burn=12, flips_per_sweep=5, max_moves=1)
    p_value = chi_square_p_value(bond_magnetisation_key(model, states.flatten(0, 1)), keys, probs)
    assert p_value > 1e-3, f"multi-seed Wolff on {case}: chi-square p = {p_value:.2g}"


@pytest.mark.parametrize("algorithm", ["metropolis", "heatbath"])
def test_replicas_at_different_temperatures_match_enumeration(algorithm):
    """Per-replica temperatures in one batch (Metropolis then needs exp, not the polynomial)."""
    temperatures = (2.4, 3.2)
    model = IsingModel(4, T=list(temperatures) * 750)
    states, sampler = run(model, algorithm, 16 * 25, seed=13, every=25, burn=100)
    if algorithm == "metropolis":
        assert sampler.coefficients()[2] is None
    for k, T in enumerate(temperatures):
        keys, probs = exact_key_distribution(IsingModel(4, T=T, dtype=torch.float64))
        sample = bond_magnetisation_key(IsingModel(4, T=T), states[:, k::2].flatten(0, 1))
        p_value = chi_square_p_value(sample, keys, probs)
        assert p_value > 1e-3, f"{algorithm} at T = {T} in a mixed batch: chi-square p = {p_value:.2g}"


@pytest.mark.parametrize("a", [-3.0, -0.88, -1e-3, 0.0, 0.4, 2.5])
def test_metropolis_polynomial_is_the_metropolis_probability(a):
    """P(u > -(c1 z + c2 z^2)) = min(1, exp(a z)) for every z = s n a sweep can meet."""
    c1, c2 = metropolis_polynomial(a, 1.0)
    for z in (-4, -2, 0, 2, 4):
        flip = min(1.0, max(0.0, 1.0 + c1 * z + c2 * z * z))  # P(u > R) for u uniform on [0, 1)
        assert flip == pytest.approx(min(1.0, np.exp(a * z)), abs=1e-12), (a, z)


def test_chi_square_detects_a_wrong_temperature():
    """The test above has power: samples at T = 2.5 are rejected as a sample of T = 2.7."""
    keys, probs = exact_key_distribution(IsingModel(4, T=2.7, dtype=torch.float64))
    assert chi_square_p_value(sampled_keys(CASES["ferro"], "swendsen-wang", seed=11), keys, probs) < 1e-6


# --- Kaufman: <E>/N and C/N on 8x8 and 16x16 tori -------------------------------------------

TEMPERATURES = (2.0, TC, 2.5)
SWEEPS = {"metropolis": 1500, "heatbath": 1500, "wolff": 150, "swendsen-wang": 500}


def replica_jackknife(e: np.ndarray, N: int, T: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """(mean, error) of <e> and of C/N = N beta^2 var(e) from series ``[n, R]`` of R independent replicas.

    Leave-one-replica-out jackknife: replicas are independent, so the error includes every
    autocorrelation inside a replica's run.
    """
    R = e.shape[1]

    def both(cols):
        x = e[:, cols]
        return np.array([x.mean(), N * x.var() / T**2])

    full = both(np.arange(R))
    leave_out = np.stack([both(np.delete(np.arange(R), r)) for r in range(R)])
    error = np.sqrt((R - 1) / R * ((leave_out - leave_out.mean(axis=0)) ** 2).sum(axis=0))
    return (full[0], error[0]), (full[1], error[1])


def check_kaufman(algorithm: str, L: int, replicas: int = 16, seed: int = 2, device: str = "cpu",
                  sweeps: int | None = None, burn: int | None = None, **options):
    """<E>/N and C/N of cold-started replicas within 4 sigma of Kaufman; ``options`` go to the sampler."""
    temps = np.repeat(TEMPERATURES, replicas)
    model = IsingModel(L, T=temps.tolist(), device=device)
    sweeps = SWEEPS[algorithm] if sweeps is None else sweeps
    energy, _ = run(model, algorithm, sweeps, seed, start="cold", burn=sweeps // 5 if burn is None else burn,
                    observe=model.energy, **options)
    e = (energy / model.N).double().cpu().numpy()
    for k, T in enumerate(TEMPERATURES):
        (e_mean, e_err), (c_mean, c_err) = replica_jackknife(e[:, k * replicas:(k + 1) * replicas], model.N, T)
        e_exact, c_exact = float(kaufman_energy(L, T)), float(kaufman_specific_heat(L, T))
        where = f"{algorithm} L={L} T={T:.3f}"
        assert abs(e_mean - e_exact) < 4 * e_err, f"{where}: e {e_mean:.5f}+-{e_err:.5f} vs {e_exact:.5f}"
        assert abs(c_mean - c_exact) < 4 * c_err, f"{where}: C {c_mean:.4f}+-{c_err:.4f} vs {c_exact:.4f}"
        assert e_err < 0.01 * abs(e_exact) and c_err < 0.1 * c_exact, "too few samples to be a meaningful test"


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_energy_and_specific_heat_match_kaufman_8(algorithm):
    check_kaufman(algorithm, 8)


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_energy_and_specific_heat_match_kaufman_16(algorithm):
    check_kaufman(algorithm, 16)


# --- cluster labelling -----------------------------------------------------------------------

def scipy_components(active: np.ndarray) -> np.ndarray:
    """Reference labels of one replica's active-bond graph: scipy's connected components."""
    L = active.shape[-1]
    site = np.arange(L * L).reshape(L, L)
    src = np.concatenate([site[active[0]], site[active[1]]])
    dst = np.concatenate([np.roll(site, -1, axis=1)[active[0]], np.roll(site, -1, axis=0)[active[1]]])
    graph = scipy.sparse.coo_matrix((np.ones(len(src)), (src, dst)), shape=(L * L, L * L))
    return scipy.sparse.csgraph.connected_components(graph, directed=False)[1].reshape(L, L)


@pytest.mark.parametrize("p", [0.3, 0.5, 0.7])
def test_labels_are_connected_components(p):
    B, L = 3, 12
    active = sample_bonds(torch.full((B, 2, L, L), p), make_generator(int(10 * p)))
    labels = label_clusters(active)
    for b in range(B):
        ref = scipy_components(active[b].numpy())
        ours = labels[b].numpy()
        # same partition: the map between reference and our labels is one-to-one
        pairs = set(zip(ref.ravel().tolist(), ours.ravel().tolist()))
        assert len(pairs) == len(set(ref.ravel())) == len(set(ours.ravel()))
        # each label is the smallest global site index in its cluster
        for lab in set(ours.ravel().tolist()):
            assert lab == b * L * L + np.flatnonzero(ours.ravel() == lab).min()


def test_grown_cluster_is_the_labelled_cluster():
    B, L = 4, 10
    active = sample_bonds(torch.full((B, 2, L, L), 0.55), make_generator(9))
    labels = label_clusters(active)
    seeds = torch.zeros(B, L, L, dtype=torch.bool)
    seeds[torch.arange(B), torch.tensor([0, 3, 7, 9]), torch.tensor([5, 0, 9, 2])] = True
    grown = grow_cluster(active, seeds)
    seed_labels = labels[seeds].view(B, 1, 1)
    assert torch.equal(grown, labels == seed_labels)


# --- determinism, stats ----------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_seed_determinism(algorithm):
    model = IsingModel(8, T=[2.0, 2.5], h=[0.0, 0.1], bond_disorder=0.1)
    a, _ = run(model, algorithm, 5, seed=3)
    b, _ = run(model, algorithm, 5, seed=3)
    c, _ = run(model, algorithm, 5, seed=4)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_stats_are_per_replica():
    model = IsingModel(8, T=[0.5, 1e3])
    _, metro = run(model, "metropolis", 3, seed=0, start="cold")
    acc = metro.stats["acceptance"]
    assert acc.shape == (2,) and acc[0] < 0.01 and acc[1] > 0.95
    _, heat = run(model, "heatbath", 3, seed=0, start="cold")
    assert abs(heat.stats["acceptance"][1] - 0.5) < 0.15
    _, sw = run(model, "swendsen-wang", 3, seed=0, start="cold")
    assert sw.stats["cluster_size"][0] > 60 and sw.stats["cluster_size"][1] < 1.1
    _, wolff = run(model, "wolff", 8, seed=0, start="cold")
    assert wolff.stats["cluster_size"][0] > 60 and wolff.stats["cluster_size"][1] < 1.1
    assert wolff._flips.tolist()[0] == 1 and wolff._flips.tolist()[1] > 50  # ~N sites per sweep


def test_wolff_recalibrates_after_a_temperature_change():
    model = IsingModel(8, T=1e3)
    gen = make_generator(0)
    sampler = make_sampler(model, "wolff")
    state = model.cold_state()
    for _ in range(6):
        state = sampler.sweep(state, gen)
    assert sampler._flips.item() > 50
    model.set_params(T=1.0)
    for _ in range(6):
        state = sampler.sweep(state, gen)
    assert sampler._flips.item() <= 2


def test_wolff_flip_count_cap_and_fixed_count():
    model = IsingModel(8, T=1e3)
    _, capped = run(model, "wolff", 6, seed=0, max_flips=10)
    assert capped._flips.item() == 10
    _, fixed = run(model, "wolff", 2, seed=0, flips_per_sweep=3)
    assert fixed._flips is None and 0.9 < fixed.stats["cluster_size"].item() < 1.1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_runs_on_cuda(algorithm):
    model = IsingModel(16, T=[2.0, 2.5], h=[0.0, 0.1], bond_disorder=0.1, device="cuda")
    gen = make_generator(0, "cuda")
    sampler = make_sampler(model, algorithm)
    state = model.hot_state(gen)
    for _ in range(5):
        state = sampler.sweep(state, gen)
    assert state.device.type == "cuda" and set(state.unique().tolist()) <= {-1.0, 1.0}
    assert all(v.device.type == "cuda" and v.shape == (2,) for v in sampler.stats.values())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_kaufman_on_cuda(algorithm):
    check_kaufman(algorithm, 16, replicas=32, device="cuda")


@pytest.mark.parametrize("edit", [False, True])
def test_checkerboard_packed_cache_follows_the_state(edit):
    """Reusing the packed copy of the last output must give what a fresh sampler gives."""
    model = IsingModel(8, T=2.0)
    gen = make_generator(0)
    sampler = make_sampler(model, "metropolis")
    state = sampler.sweep(model.cold_state(), gen)
    if edit:
        state[0, :4] = -1  # in-place change between sweeps
    saved = gen.get_state()
    cached = sampler.sweep(state, gen)
    gen.set_state(saved)
    fresh = make_sampler(model, "metropolis").sweep(state.clone(), gen)
    assert torch.equal(cached, fresh)


@pytest.mark.parametrize("algorithm", ["metropolis", "heatbath", "wolff"])
@pytest.mark.parametrize("params", [{"T": [2.0, 2.5], "h": [0.0, 0.3]}, {"T": [2.2, 2.2]}])  # exp / polynomial
def test_run_sweeps_equals_single_sweeps(algorithm, params):
    """n sweeps in one call (packed throughout, for the checkerboard) give the same lattice and stats as n calls."""
    model = IsingModel(8, **params)
    states, stats = [], []
    for many in (False, True):
        gen = make_generator(3, torch.device("cpu"))
        sampler = make_sampler(model, algorithm)
        state = model.hot_state(gen)
        if many:
            state = run_sweeps(sampler, state, gen, 7)
        else:
            for _ in range(7):
                state = sampler.sweep(state, gen)
        states.append(state)
        stats.append(sampler.stats)
    assert torch.equal(states[0], states[1])
    for name in stats[0]:
        assert torch.equal(stats[0][name], stats[1][name])
