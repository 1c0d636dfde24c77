"""The neural-ODE bijector: RK4 round trip, exact log-det against the Jacobian determinant, Hutchinson's
estimate unbiased, and a hierarchical flow built of ODE blocks that checkpoints and trains."""

import math

import pytest
import torch

from engine.nrg.checkpoint import load_checkpoint, save_checkpoint
from engine.nrg.density import FlowDensity
from engine.nrg.flow import HierarchicalFlow
from engine.nrg.ode import ODEBlock, hutchinson
from engine.nrg.targets import PRESETS, make_target
from engine.nrg.train import train_reverse_kl

torch.set_num_threads(1)


def randomised(module: torch.nn.Module, seed: int, scale: float = 0.5) -> torch.nn.Module:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(scale * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return module


def test_a_fresh_block_is_the_identity():
    block = ODEBlock(4, (8,), 3)
    v = torch.randn(5, 4, generator=torch.Generator().manual_seed(0))
    y, logdet = block(v)
    assert torch.equal(y, v) and torch.equal(logdet, torch.zeros(5))


@pytest.mark.parametrize("steps, tol", [(4, 2e-2), (16, 1e-4)])
def test_inverse_by_integrating_backwards_undoes_the_forward_map(steps, tol):
    block = randomised(ODEBlock(8, (16, 16), steps), 1, 0.3).double()
    v = torch.randn(64, 8, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    y, logdet = block(v)
    back, logdet_back = block.inverse(y)
    assert (y - v).abs().max() > 0.3  # not a trivial map
    assert (back - v).abs().max() < tol
    assert (logdet + logdet_back).abs().max() < tol


def test_round_trip_error_falls_like_the_fourth_power_of_the_step():
    v = torch.randn(64, 8, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    errors = []
    for steps in (4, 8):
        block = randomised(ODEBlock(8, (16,), steps), 4).double()
        errors.append((block.inverse(block(v)[0])[0] - v).abs().max().item())
    assert 8 < errors[0] / errors[1] < 64  # 2^4 = 16, up to higher orders


@pytest.mark.parametrize("dim", [4, 8])
def test_log_det_matches_the_brute_force_jacobian_determinant(dim):
    block = randomised(ODEBlock(dim, (12,), 16), 5).double()
    v = torch.randn(3, dim, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    logdet = block(v)[1]
    for r in range(3):
        jac = torch.autograd.functional.jacobian(lambda u: block(u[None])[0][0], v[r])
        sign, logabs = torch.linalg.slogdet(jac)
        assert sign > 0 and abs(logabs.item()) > 0.05  # a missing term would show
        assert logdet[r].item() == pytest.approx(logabs.item(), abs=2e-5)  # RK4 error at 16 steps


def test_hutchinson_estimate_is_unbiased_and_noisy():
    block = randomised(ODEBlock(8, (12,), 4), 7).double()
    v = torch.randn(1, 8, generator=torch.Generator().manual_seed(8), dtype=torch.float64).expand(4000, -1)
    exact = block(v[:1])[1].item()
    with hutchinson(block, torch.Generator().manual_seed(9)):
        estimates = block(v)[1]
    assert estimates.std() > 1e-3  # it is an estimate
    assert estimates.mean().item() == pytest.approx(exact, abs=5 * estimates.std().item() / math.sqrt(len(v)))
    assert block.estimator is None  # switched off again


def test_flow_of_ode_blocks_is_a_bijection_with_its_log_det_and_checkpoints(tmp_path):
    flow = randomised(HierarchicalFlow(4, 2, n_couplings=1, hidden=(8,), bijector="ode", ode_steps=12), 10, 0.3)
    flow = flow.double()
    z = torch.randn(1, 2, 4, 4, generator=torch.Generator().manual_seed(11), dtype=torch.float64)
    x, logdet = flow(z)
    jac = torch.autograd.functional.jacobian(lambda u: flow(u.reshape(z.shape))[0].flatten(), z.flatten())
    assert logdet.item() == pytest.approx(torch.linalg.slogdet(jac)[1].item(), abs=1e-5)
    assert torch.allclose(flow.inverse(x)[0], z, atol=1e-5)
    density = FlowDensity(flow.float(), "u1")
    target = make_target("phi4", 4, **PRESETS["critical"])
    path = save_checkpoint(tmp_path / "ode.pt", density, target)
    ckpt = load_checkpoint(path)
    assert ckpt.flow.bijector == "ode" and ckpt.flow.ode_steps == 12
    assert torch.equal(ckpt.flow(z.float())[0], flow(z.float())[0])


def test_reverse_kl_trains_an_ode_flow_with_the_trace_estimator():
    torch.manual_seed(0)
    flow = HierarchicalFlow(4, 2, n_couplings=1, hidden=(16,), bijector="ode", ode_steps=2)
    density = FlowDensity(flow, "u1")
    target = make_target("phi4", 4, **PRESETS["critical"])
    gen = torch.Generator().manual_seed(1)
    with hutchinson(flow, gen):
        history = train_reverse_kl(density, target, steps=60, batch=32, gen=gen, lr=1e-2)
    first, last = sum(history["loss"][:10]) / 10, sum(history["loss"][-10:]) / 10
    assert last < first - 3.0


def test_cli_trains_and_resumes_an_ode_flow(tmp_path, capsys):
    import json

    from engine.cli import main

    out = str(tmp_path / "ode.pt")
    common = ["--target", "phi4", "--preset", "critical", "--L", "4", "--eval", "64", "--json", "--no-progress"]
    assert main(["train", *common, "--bijector", "ode", "--ode-steps", "2", "--hidden", "8", "--steps", "4",
                 "--batch", "8", "--save-every", "2", "--out", out]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["flow"]["bijector"] == "ode" and doc["flow"]["ode_steps"] == 2 and math.isfinite(doc["acceptance"])
    assert main(["train", *common, "--resume", out, "--steps", "2", "--out", out]) == 0
    assert json.loads(capsys.readouterr().out)["total_steps"] == 6
    assert main(["train", *common, "--resume", out, "--bijector", "coupling"]) == 2  # a resumed flow keeps its shape
    assert main(["train", *common, "--bijector", "ode", "--couplings", "3"]) == 2
