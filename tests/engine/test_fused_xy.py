"""The fused XY Metropolis kernel (Triton): the chain of a plain-torch replay, exact 4 x 4 results.

Runs in Triton's interpreter without a GPU (see tests/engine/test_fused_ising.py), so the
statistical tests use many replicas and few sweeps.
"""

from __future__ import annotations

import math

import pytest
import scipy.special
import torch
from fused_reference import DEVICE, site_words

pytest.importorskip("triton")

from test_xy import assert_agrees, replica_jackknife, run, xy_torus_exact  # noqa: E402

from engine.device import make_generator  # noqa: E402
from engine.models.xy import TWO_PI, XYModel  # noqa: E402
from engine.samplers import make_sampler, run_sweeps  # noqa: E402
from engine.samplers.fused.xy import FusedXYMetropolis  # noqa: E402
from engine.samplers.xy import XYMetropolis  # noqa: E402

pytestmark = pytest.mark.triton


def fused(model: XYModel, **options) -> FusedXYMetropolis:
    sampler = make_sampler(model, "metropolis", fused=True, **options)
    assert isinstance(sampler, FusedXYMetropolis)
    return sampler


def reference_sweeps(model: XYModel, state: torch.Tensor, key: int, n: int, width: float
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` sweeps of the kernel's chain on the full lattice (CPU, float64), fixed proposal width;
    (new angles, accepted moves per replica in the last sweep)."""
    B, L = model.B, model.L
    theta = state.clone()
    colour = (torch.arange(L).view(-1, 1) + torch.arange(L).view(1, -1)) % 2
    beta = 1.0 / model.param("T").view(-1, 1, 1)
    for k in range(n):
        accepted = torch.zeros(B, dtype=torch.int64)
        for c in (0, 1):
            fx, fy = (model.local_field(theta) * beta.unsqueeze(1)).unbind(dim=1)
            u, v = ((site_words(key, B, L, 2 * k + c, stream) >> 8).double() * 2.0 ** -24 for stream in (0, 1))
            new = theta + width * (2.0 * u - 1.0)
            new = new - TWO_PI * torch.floor(new / TWO_PI)
            new = torch.where(new >= TWO_PI, new - TWO_PI, new)
            gain = fx * (new.cos() - theta.cos()) + fy * (new.sin() - theta.sin())
            accept = (v < gain.exp()) & (colour == c)
            theta = torch.where(accept, new, theta)
            accepted += accept.sum(dim=(-2, -1))
    return theta, accepted


@pytest.mark.parametrize("L", [6, 8])
def test_kernel_replays_the_reference_chain(L):
    """Same angles (to float64 rounding) as the replay after 3 sweeps, with a field and J of both signs."""
    params = dict(T=[0.7, 1.1, 2.0], J=[1.0, -1.0, 0.5], h=[0.0, 0.4, -0.3])
    model = XYModel(L, device=DEVICE, dtype=torch.float64, **params)
    gen, replay = make_generator(8, DEVICE), make_generator(8, DEVICE)
    state = model.hot_state(gen)
    sampler = fused(model, step=1.7)
    out = run_sweeps(sampler, state, gen, 3).cpu()
    model.hot_state(replay)
    key = int(torch.zeros(1, dtype=torch.int64, device=DEVICE).random_(generator=replay))
    expected, accepted = reference_sweeps(XYModel(L, dtype=torch.float64, **params), state.cpu(), key, 3, 1.7)
    assert torch.allclose(out, expected, rtol=0, atol=1e-9)
    assert torch.equal((sampler.stats["acceptance"].cpu() * model.N).round().long(), accepted)
    assert bool((accepted > 0.1 * model.N).all()), "the replay must include accepted moves to mean anything"


def test_energy_and_specific_heat_match_the_exact_4x4_torus():
    """Character-expansion exact values at T = 1 (see tests/engine/test_xy.py), many short chains."""
    energy, heat = xy_torus_exact(1.0)
    model = XYModel(4, T=[1.0] * 512, dtype=torch.float64, device=DEVICE)
    e = run(model, fused(model, step=2.0), 30, seed=10, burn=20)["energy"]
    value, error = replica_jackknife(lambda x: x, e)
    assert_agrees(value, error, energy, what="fused energy")
    value, error = replica_jackknife(lambda x, x2: model.N * (x2 - x * x), e, e * e)
    assert_agrees(value, error, heat, what="fused specific heat")


def test_independent_spins_in_a_field():
    """J = 0: <cos theta> = I1(h/T) / I0(h/T)."""
    T, h = 0.5, 0.7
    model = XYModel(4, T=[T] * 512, J=0.0, h=h, device=DEVICE)
    series = run(model, fused(model, step=math.pi), 20, seed=11, burn=10)
    value, error = replica_jackknife(lambda x: x, series["mx"])
    assert_agrees(value, error, scipy.special.i1(h / T) / scipy.special.i0(h / T), what="fused <cos>")


def test_step_tunes_like_the_unfused_sampler():
    """The adaptive width moves the acceptance towards 1/2, then freezes (the shared StepWidth)."""
    model = XYModel(8, T=[0.3, 5.0], device=DEVICE)
    sampler = fused(model, adapt_sweeps=20)
    gen = make_generator(2, DEVICE)
    state = run_sweeps(sampler, model.hot_state(gen), gen, 20)
    tuned = sampler.step.width.clone()
    assert bool((tuned != 1.0).all()) and float(tuned[0]) < float(tuned[1])
    run_sweeps(sampler, state, gen, 3)
    assert torch.equal(sampler.step.width, tuned)
    assert set(sampler.stats) == {"acceptance", "step"}


@pytest.mark.skipif(DEVICE == "cpu", reason="needs a CUDA device")
def test_cuda_runs_the_fused_kernel_by_default():
    assert isinstance(make_sampler(XYModel(8, device="cuda"), "metropolis"), FusedXYMetropolis)


def test_cpu_keeps_the_unfused_sampler():
    assert type(make_sampler(XYModel(8), "metropolis")) is XYMetropolis
