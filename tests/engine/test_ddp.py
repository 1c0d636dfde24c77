"""Flow training with DistributedDataParallel (gloo on the CPU) against one process on the same total batch.

Two ranks each draw half of the batch from their own generator; the reference is one process whose
density draws the same two halves from the same two generators (rank 0's first, as the ranks gather).
Their gradients must agree at every step: DDP's average of the ranks' mean losses is the gradient of
the whole batch's mean loss, and the mass-covering term's weights are normalised over the whole batch.
"""

import multiprocessing
import os
import socket
import sys
from contextlib import contextmanager

import pytest
import torch
from torch import nn

from engine.cli import main
from engine.device import make_generator
from engine.nrg import distributed
from engine.nrg.checkpoint import load_checkpoint
from engine.nrg.density import FlowDensity
from engine.nrg.flow import HierarchicalFlow
from engine.nrg.targets import make_target
from engine.nrg.train import train_reverse_kl

pytestmark = pytest.mark.cluster

SEED, BATCH, STEPS = 4, 16, 3
TRAIN = {"steps": STEPS, "lr": 0.01, "clip": 10.0, "mass_covering": 0.5}


def _density() -> FlowDensity:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        flow = HierarchicalFlow(4, 1, 2, 4, (6, 6))
    return FlowDensity(flow, "z2").to(dtype=torch.float64)


def _target():
    return make_target("ising", 4, T=2.5)


@contextmanager
def _gradients():
    """Record the gradients train.py clips (under DDP, the synchronised ones), step by step."""
    recorded, clip = [], torch.nn.utils.clip_grad_norm_

    def spy(params, max_norm):
        recorded.append(torch.cat([p.grad.reshape(-1) for p in params]).clone())
        return clip(params, max_norm)

    torch.nn.utils.clip_grad_norm_ = spy
    try:
        yield recorded
    finally:
        torch.nn.utils.clip_grad_norm_ = clip


def _rank(rank: int, world: int, store: str, out: str) -> None:
    torch.set_num_threads(1)
    torch.distributed.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        ranks = distributed.Ranks(rank, world, torch.device("cpu"))
        density = _density()
        with _gradients() as grads:
            history = train_reverse_kl(density, _target(), batch=ranks.share(BATCH),
                                       gen=make_generator(ranks.seed(SEED)), ranks=ranks, **TRAIN)
        torch.save({"grads": grads, "history": history,
                    "weights": {k: v.clone() for k, v in density.state_dict().items()}}, f"{out}.{rank}")
    finally:
        torch.distributed.destroy_process_group()


class _Halves(nn.Module):
    """One process drawing the batch the ranks draw: the first half from ``gen`` (rank 0's), the rest from
    rank 1's generator, reseeded at every step as rank 1 reseeds it."""

    def __init__(self, density: FlowDensity):
        super().__init__()
        self.density, self.rank1 = density, distributed.Ranks(1, 2, torch.device("cpu"))
        self.second, self.step = make_generator(self.rank1.seed(SEED)), 0
        self.base = self.second.initial_seed()

    def sample(self, n, gen):
        self.rank1.reseed(self.second, self.base, self.step)
        self.step += 1
        (x0, q0), (x1, q1) = self.density.sample(n // 2, gen), self.density.sample(n // 2, self.second)
        return torch.cat([x0, x1]), torch.cat([q0, q1])

    def log_prob(self, x):
        return self.density.log_prob(x)


def test_two_gloo_ranks_match_one_process_on_the_same_batch(tmp_path):
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_rank, args=(r, 2, str(tmp_path / "store"), str(tmp_path / "rank")))
             for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=240)
    assert [p.exitcode for p in procs] == [0, 0]
    ranks = [torch.load(tmp_path / f"rank.{r}", weights_only=False) for r in range(2)]

    density = _density()
    with _gradients() as grads:
        history = train_reverse_kl(_Halves(density), _target(), batch=BATCH, gen=make_generator(SEED),
                                   **TRAIN)

    assert len(grads) == STEPS == len(ranks[0]["grads"])
    for step in range(STEPS):
        assert torch.equal(ranks[0]["grads"][step], ranks[1]["grads"][step])  # DDP: one gradient everywhere
        assert torch.allclose(ranks[0]["grads"][step], grads[step], rtol=1e-9, atol=1e-12), step
    for key in ("loss", "loss_error", "ess", "acceptance"):
        assert ranks[0]["history"][key] == pytest.approx(history[key], rel=1e-9), key
    for name, value in density.state_dict().items():
        assert torch.allclose(ranks[0]["weights"][name], value, rtol=1e-9, atol=1e-12), name


def test_one_rank_is_the_single_process_run(tmp_path):
    """A world of one (in this process) takes exactly the steps the plain path takes: equal bit for bit."""
    runs = {}
    for ddp in (False, True):
        density = _density()
        ranks = None
        if ddp:
            torch.distributed.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0,
                                                 world_size=1)
            ranks = distributed.Ranks(0, 1, torch.device("cpu"))
        try:
            history = train_reverse_kl(density, _target(), batch=BATCH, gen=make_generator(SEED), ranks=ranks,
                                       **TRAIN)
        finally:
            distributed.stop()
        runs[ddp] = history, density.state_dict()
    (h0, w0), (h1, w1) = runs[False], runs[True]
    assert all(torch.equal(w0[k], w1[k]) for k in w0)
    assert {k: v for k, v in h0.items() if k != "cpu_seconds"} == {k: v for k, v in h1.items() if k != "cpu_seconds"}


def test_ddp_outside_torchrun_is_one_line(capsys, monkeypatch):
    for name in distributed.TORCHRUN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert main(["train", "--T", "2.5", "--L", "4", "--steps", "1", "--ddp", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "torchrun" in err, err


def _train_rank(rank: int, port: int, argv: list[str], die_after: int) -> None:
    """One process of ``torchrun --nproc_per_node 2 -m engine train ...``; with ``die_after``, both ranks
    stop with Ctrl+C after that many steps (as an interrupted job does)."""
    os.environ.update(RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    if die_after:
        from engine.cli import training

        real, calls = training._StepLog.__call__, []

        def dies(self, record):
            calls.append(record["step"])
            if len(calls) > die_after:
                raise KeyboardInterrupt
            real(self, record)

        training._StepLog.__call__ = dies
    sys.exit(main(argv))


def _torchrun(argv: list[str], die_after: int = 0) -> list[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_train_rank, args=(r, port, argv, die_after)) for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=240)
    return [p.exitcode for p in procs]


def test_an_interrupted_two_process_run_resumes_as_if_never_stopped(tmp_path):
    """Killed after its step-4 save and resumed, a two-process run ends with the weights and history of one
    that was never interrupted: rank 0's stream comes back from the checkpoint, rank 1 reseeds per step."""
    args = ["train", "--target", "phi4", "--preset", "critical", "--L", "4", "--steps", "7", "--batch", "8",
            "--couplings", "2", "--hidden", "8", "--eval", "16", "--device", "cpu", "--no-progress",
            "--save-every", "2", "--seed", "3"]
    whole, cut = tmp_path / "whole.pt", tmp_path / "cut.pt"
    assert _torchrun([*args, "--out", str(whole)]) == [0, 0]
    assert _torchrun([*args, "--out", str(cut)], die_after=5) == [130, 130]
    assert load_checkpoint(cut).history["step"] == [0, 1, 2, 3]  # the last save before the interrupt
    assert _torchrun(["train", "--resume", str(cut), "--out", str(cut), "--device", "cpu", "--no-progress",
                      "--eval", "16"]) == [0, 0]
    a, b = load_checkpoint(whole), load_checkpoint(cut)
    assert a.info["processes"] == b.info["processes"] == 2 and b.history["step"] == list(range(7))
    assert b.history["loss"] == pytest.approx(a.history["loss"], rel=1e-5)
    for key, value in a.density.state_dict().items():
        torch.testing.assert_close(b.density.state_dict()[key], value, rtol=1e-5, atol=1e-6)
