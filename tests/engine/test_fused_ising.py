"""The fused Ising kernel (Triton): the same chain as a plain-torch replay, exact physics.

Without a GPU the kernel runs in Triton's interpreter on CPU tensors (``TRITON_INTERPRET=1``, set
by ``fused_reference`` before the kernel module is imported); the interpreter's cost is about 0.05-0.1 s per kernel
call whatever the lattice, so the statistical tests use many replicas and few sweeps. With a CUDA
device the same tests run the compiled kernel.
"""

from __future__ import annotations

import math

import pytest
import torch
from fused_reference import DEVICE, reference_sweeps, site_words

pytest.importorskip("triton")

from enumeration import all_states, bond_magnetisation_key, boltzmann, exact_key_distribution  # noqa: E402
from test_ising_samplers import check_kaufman, chi_square_p_value  # noqa: E402
from test_session import _assert_same_future  # noqa: E402

from engine.device import make_generator  # noqa: E402
from engine.errors import ParameterError  # noqa: E402
from engine.models.ising import IsingModel  # noqa: E402
from engine.samplers import choice, make_sampler, run_sweeps  # noqa: E402
from engine.samplers.checkerboard import CheckerboardSampler  # noqa: E402
from engine.samplers.fused.colours import join_colours, split_colours  # noqa: E402
from engine.samplers.fused.ising import FusedIsingSampler, flip_thresholds  # noqa: E402
from engine.session import Simulation  # noqa: E402

pytestmark = pytest.mark.triton
RULES = ("metropolis", "heatbath")


def fused(model: IsingModel, rule: str) -> FusedIsingSampler:
    sampler = make_sampler(model, rule, fused=True)
    assert isinstance(sampler, FusedIsingSampler)
    return sampler


# --- layout and thresholds (no kernel) -------------------------------------------------------

def test_colour_split_is_the_checkerboard_and_round_trips():
    x = torch.randn(3, 6, 6)
    split = split_colours(x, torch.empty(2, 3, 6, 3))
    y, j = torch.meshgrid(torch.arange(6), torch.arange(3), indexing="ij")
    for c in (0, 1):
        assert torch.equal(split[c], x[:, y, 2 * j + (y + c) % 2])
    assert torch.equal(join_colours(split, torch.empty(3, 6, 6)), x)


@pytest.mark.parametrize("rule", RULES)
def test_thresholds_are_the_rules_and_satisfy_detailed_balance(rule):
    """t(s, n) = floor(2^32 p) with p Metropolis or heat bath, and p(s) / p(-s) = exp(-2 s x) to 2^-32."""
    model = IsingModel(4, T=[0.3, 2.0, 3.5, 40.0], J=[1.0, -1.0, 0.7, 1.0], h=[0.0, 0.5, -0.3, 2.0])
    table = flip_thresholds(model, rule).double()
    T, J, h = (model.param(k).double().view(-1, 1) for k in ("T", "J", "h"))
    n = torch.arange(-4, 5, 2, dtype=torch.float64)
    x = (J * n + h) / T  # [B, 5]
    for index, s in ((0, -1.0), (1, 1.0)):
        z = -2.0 * s * x
        p = z.exp().clamp(max=1.0) if rule == "metropolis" else z.sigmoid()
        assert torch.equal(table[:, index], torch.floor(p * 2.0 ** 32))
    # detailed balance: t(+1) = t(-1) exp(-2x) up to the floor of each (at most 1 + exp(-2x))
    ratio = (-2.0 * x).exp()
    assert bool(((table[:, 1] - table[:, 0] * ratio).abs() <= 1.0 + ratio).all())
    if rule == "metropolis":
        assert bool((table.max(dim=1).values == 2.0 ** 32).all())  # a downhill move always flips


# --- the kernel replays the reference chain exactly -------------------------------------------

REPLAY = {  # model keywords; L = 6 leaves a partial group of four columns (L/2 = 3)
    "field-L8": dict(L=8, T=[1.8, 2.4, 3.5], h=[0.0, 0.3, -0.2]),
    "antiferro-disorder-L6": dict(L=6, T=[2.0, 1.2], J=[-1.0, 1.0], h=0.1, bond_disorder=0.3, disorder_seed=2),
}


@pytest.mark.parametrize("tile", [None, (8, 1)])
@pytest.mark.parametrize("case", REPLAY)
@pytest.mark.parametrize("rule", RULES)
def test_kernel_replays_the_reference_chain(rule, case, tile):
    """Same spins and flip counts as :mod:`fused_reference` after 3 sweeps, for any tiling of the lattice."""
    params = dict(REPLAY[case])
    L = params.pop("L")
    model = IsingModel(L, device=DEVICE, **params)
    sampler = FusedIsingSampler(model, rule, tile=tile)
    gen, replay = make_generator(5, DEVICE), make_generator(5, DEVICE)
    state = model.hot_state(gen)
    out = run_sweeps(sampler, state, gen, 3)
    model.hot_state(replay)
    key = int(torch.zeros(1, dtype=torch.int64, device=DEVICE).random_(generator=replay))
    cpu = IsingModel(L, **{k: v for k, v in params.items()})
    expected, flips = reference_sweeps(cpu, flip_thresholds(cpu, rule), state.cpu(), key, 3)
    assert torch.equal(out.cpu(), expected)
    assert torch.equal((sampler.stats["acceptance"].cpu() * model.N).round().long(), flips)
    assert bool((flips > 0).all()), "the replay must include flips to mean anything"


def test_site_words_are_uniform_and_distinct():
    """The reference's Philox words (which the kernel reproduces): no repeats, uniform bits.

    A word is per (replica, row, packed column, half-sweep): the two colours' sites at the same
    packed place share it, but never in the same half-sweep (the counter is 2 sweep + colour).
    """
    words = torch.cat([site_words(key=12345, B=4, L=32, counter=c)[..., ::2].flatten() for c in (6, 7)])
    assert words.unique().numel() == words.numel()
    bits = ((words.unsqueeze(1) >> torch.arange(32)) & 1).double().mean(dim=0)
    assert bool(((bits - 0.5).abs() < 4 * 0.5 / math.sqrt(words.numel())).all())


def test_seed_determines_the_run_and_a_restored_generator_resumes_it():
    model = IsingModel(8, T=[2.0, 2.5], h=[0.0, 0.1], bond_disorder=0.1, device=DEVICE)

    def run(seed, n):
        gen = make_generator(seed, DEVICE)
        return run_sweeps(fused(model, "metropolis"), model.hot_state(gen), gen, n), gen

    a, b, c = run(3, 2)[0], run(3, 2)[0], run(4, 2)[0]
    assert torch.equal(a, b) and not torch.equal(a, c)
    state, gen = run(3, 1)
    saved = gen.get_state()
    first = run_sweeps(fused(model, "metropolis"), state, gen, 1)
    gen.set_state(saved)
    assert torch.equal(run_sweeps(fused(model, "metropolis"), state, gen, 1), first)


# --- exact distributions on the 4 x 4 torus ---------------------------------------------------

def exact_samples(model: IsingModel, R: int, gen: torch.Generator) -> torch.Tensor:
    """R independent exact Boltzmann samples of a one-parameter-set 4 x 4 model, ``[R, 4, 4]``."""
    states = all_states(4)
    probs = boltzmann(model.energy(states), float(model.param("T")[0]))
    return states[torch.multinomial(probs, R, replacement=True, generator=gen)].float()


@pytest.mark.parametrize("rule", RULES)
def test_one_sweep_has_the_exact_transition_probabilities(rule):
    """From one configuration, the distribution of the state after one sweep (chi-square over all 2^16).

    P(a -> b) is the product over the first colour of p or 1 - p given a, then over the second
    colour given the first colour's new spins; p from the exact Metropolis / heat-bath formula.
    """
    R = 40000
    model = IsingModel(4, T=[1.6] * R, h=0.3, bond_disorder=0.3, disorder_seed=1, device=DEVICE)
    one = IsingModel(4, T=1.6, h=0.3, bond_disorder=0.3, disorder_seed=1, dtype=torch.float64)
    start = torch.tensor([[1, 1, -1, 1], [1, -1, -1, 1], [1, 1, 1, -1], [-1, 1, 1, 1]], dtype=torch.float64)
    ends = all_states(4)
    colour = (torch.arange(4).view(-1, 1) + torch.arange(4).view(1, -1)) % 2
    log_p = torch.zeros(len(ends), dtype=torch.float64)
    current = start.expand_as(ends)
    for c in (0, 1):
        z = -2.0 * current * one.local_field(current) / 1.6
        p_flip = z.exp().clamp(max=1.0) if rule == "metropolis" else z.sigmoid()
        flipped = ends != current
        p = torch.where(flipped, p_flip, 1.0 - p_flip)
        log_p += torch.where(colour == c, p.log(), torch.zeros_like(p)).sum(dim=(-2, -1))
        current = torch.where(colour == c, ends, current)
    probs = log_p.exp()
    gen = make_generator(3, DEVICE)
    out = fused(model, rule).sweep(start.float().to(DEVICE).expand(R, 4, 4).contiguous(), gen).cpu()
    codes = (((out < 0).long().flatten(1)) << torch.arange(16)).sum(dim=1)  # the index into all_states
    keys = torch.arange(len(ends))
    assert probs.sum().item() == pytest.approx(1.0, abs=1e-9)
    assert chi_square_p_value(codes, keys, probs) > 1e-3


CASES = {  # 4 x 4, each a case of tests/engine/test_ising_samplers.py
    "field": dict(T=2.5, J=1.0, h=0.2),
    "antiferro": dict(T=2.0, J=-1.0, h=0.5),
    "random-bonds": dict(T=2.0, J=1.0, h=0.2, bond_disorder=0.35, disorder_seed=4),
}


def stationary_p_value(case: dict, rule: str, sweeps: int, seed: int, sample_T: float | None = None) -> float:
    """Chi-square p of the kernel's states after ``sweeps`` sweeps from exact samples (of ``sample_T``)."""
    R = 20000
    exact = IsingModel(4, dtype=torch.float64, **case)
    source = exact if sample_T is None else IsingModel(4, dtype=torch.float64, **{**case, "T": sample_T})
    keys, probs = exact_key_distribution(exact)
    model = IsingModel(4, **{k: ([v] * R if k in ("T", "J", "h") else v) for k, v in case.items()}, device=DEVICE)
    gen = make_generator(seed, DEVICE)
    start = exact_samples(source, R, torch.Generator().manual_seed(seed)).to(DEVICE)
    out = run_sweeps(fused(model, rule), start, gen, sweeps).cpu()
    return chi_square_p_value(bond_magnetisation_key(IsingModel(4, **case), out), keys, probs)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("rule", RULES)
def test_boltzmann_distribution_is_stationary(rule, case):
    """Exact samples stay exact samples (chi-square over the (bond sum, magnetisation) classes)."""
    p_value = stationary_p_value(CASES[case], rule, sweeps=2, seed=11)
    assert p_value > 1e-3, f"{rule} on {case}: chi-square p = {p_value:.2g}"


def test_stationarity_test_detects_a_wrong_temperature():
    """Power: samples of T = 3.5 run for 2 sweeps at T = 2.5 are still told apart from T = 2.5."""
    assert stationary_p_value(CASES["field"], "metropolis", sweeps=2, seed=11, sample_T=3.5) < 1e-6


# --- Kaufman: <E>/N and C/N on 8 x 8 and 16 x 16 -------------------------------------------

ON_GPU = pytest.mark.skipif(DEVICE == "cpu", reason="minutes in the interpreter: runs on a GPU (gpu_check.sh)")


@pytest.mark.parametrize("rule, L, burn, sweeps", [
    ("metropolis", 8, 40, 60), pytest.param("heatbath", 8, 200, 1000, marks=ON_GPU),
    pytest.param("metropolis", 16, 400, 2000, marks=ON_GPU), pytest.param("heatbath", 16, 400, 2000, marks=ON_GPU)])
def test_energy_and_specific_heat_match_kaufman(rule, L, burn, sweeps, replicas=128):
    """<E>/N and C/N from cold starts within 4 sigma of Kaufman (jackknife over independent replicas).

    Many replicas and few sweeps, because the interpreter's cost is per kernel call: at L = 8
    the energy's autocorrelation time is a few sweeps, and 40 sweeps relax a cold start.
    """
    check_kaufman(rule, L, replicas=replicas, device=DEVICE, sweeps=sweeps, burn=burn, fused=True)


# --- choosing the fused path ------------------------------------------------------------------

@pytest.mark.skipif(DEVICE == "cpu", reason="needs a CUDA device")
def test_cuda_runs_the_fused_kernel_by_default():
    assert isinstance(make_sampler(IsingModel(8, device="cuda"), "heatbath"), FusedIsingSampler)
    assert isinstance(make_sampler(IsingModel(8, device="cuda"), fused=False), CheckerboardSampler)


@pytest.mark.parametrize("model, params", [("ising", dict(T=[2.0, 2.6], h=[0.0, 0.1], bond_disorder=0.1)),
                                           ("xy", dict(T=[0.8, 1.2]))])
def test_session_with_the_fused_kernel_restores_exactly(model, params, monkeypatch):
    """A saved session resumes the fused chain bit-identically (the key comes from the saved generator)."""
    if DEVICE == "cpu":  # in the interpreter, make the fused kernel the default choice, as on CUDA
        monkeypatch.setattr(choice, "use_fused", lambda m, fused: fused is not False)
    sim = Simulation(model, L=8, algorithm="metropolis", seed=5, device=DEVICE, **params)
    sim.step(4)
    assert type(sim.sampler).__name__.startswith("Fused")
    restored = Simulation.from_state(*sim.to_state())
    _assert_same_future(sim, restored, 3)


def test_fused_path_is_chosen_only_where_it_can_run(monkeypatch):
    model = IsingModel(8)
    assert isinstance(make_sampler(model), CheckerboardSampler)  # CPU: the unfused sampler by default
    assert isinstance(make_sampler(model, "heatbath", fused=False), CheckerboardSampler)
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    with pytest.raises(ParameterError, match="fused: runs on CUDA"):
        make_sampler(model, fused=True)
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None)
    with pytest.raises(ParameterError, match="fused: needs the triton package"):
        make_sampler(model, fused=True)
