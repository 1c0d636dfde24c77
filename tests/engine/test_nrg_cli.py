"""``rgviz-batch train`` and ``sample``: JSON documents, checkpoints, one-line errors."""

import json

import pytest
import torch

from engine.cli import main
from engine.measure.chains import MIN_MOVES, RHAT_LIMIT
from engine.nrg.checkpoint import load_checkpoint

torch.set_num_threads(1)

TINY = ["--L", "4", "--steps", "3", "--batch", "16", "--couplings", "2", "--hidden", "8", "--eval", "256",
        "--device", "cpu", "--json", "--no-progress"]


@pytest.fixture(scope="module")
def ising_ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "ising4.pt"
    assert main(["train", "--target", "ising", "--T", "2.5", "--out", str(path), *TINY]) == 0
    return path


def test_train_prints_free_energies_in_loss_units(ising_ckpt, tmp_path, capsys):
    out = tmp_path / "again.pt"
    assert main(["train", "--target", "ising", "--T", "2.5", "--out", str(out), *TINY]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["free_energy"]) == {"mean", "error"}
    assert doc["exact_free_energy"] < doc["free_energy"]["mean"] + 4 * doc["free_energy"]["error"]
    assert 0 < doc["ess"] <= 1 and 0 <= doc["acceptance"] <= 1
    ckpt = load_checkpoint(out, target="ising", L=4)
    assert len(ckpt.history["loss"]) == 3 and "rgviz-batch train" in ckpt.info["command"]
    assert ckpt.target.params()["T"] == 2.5


def test_resume_continues_the_history(ising_ckpt, tmp_path, capsys):
    out = tmp_path / "more.pt"
    argv = ["train", "--resume", str(ising_ckpt), "--steps", "2", "--batch", "8", "--eval", "64", "--device", "cpu",
            "--no-progress", "--out", str(out)]
    assert main(argv) == 0
    ckpt = load_checkpoint(out)
    assert ckpt.history["step"] == [0, 1, 2, 3, 4] and ckpt.flow.n_couplings == 2
    capsys.readouterr()
    assert main(argv[:1] + ["--target", "phi4"] + argv[1:]) == 2  # an unusable checkpoint is bad input
    assert "ising target, not phi4" in capsys.readouterr().err


def test_an_interrupted_run_resumes_exactly_where_it_stopped(tmp_path, monkeypatch):
    """A run killed after its step-4 save, resumed, ends with the same weights and history as one
    that was never interrupted: same schedule, optimiser moments and random stream."""
    from engine.cli import training as train_cli

    args = ["--target", "phi4", "--preset", "critical", "--L", "4", "--steps", "7", "--batch", "8", "--couplings",
            "2", "--hidden", "8", "--eval", "16", "--device", "cpu", "--no-progress", "--save-every", "2"]
    whole, cut = tmp_path / "whole.pt", tmp_path / "cut.pt"
    assert main(["train", *args, "--out", str(whole)]) == 0

    calls = []
    real = train_cli._StepLog.__call__

    def dies_after_five_steps(self, record):
        calls.append(record["step"])
        if len(calls) == 6:
            raise KeyboardInterrupt
        real(self, record)

    monkeypatch.setattr(train_cli._StepLog, "__call__", dies_after_five_steps)
    assert main(["train", *args, "--out", str(cut), "--log", str(tmp_path / "cut.csv")]) == 130
    monkeypatch.undo()
    assert load_checkpoint(cut).history["step"] == [0, 1, 2, 3]  # the last save before the interrupt
    assert main(["train", "--resume", str(cut), "--out", str(cut), "--device", "cpu", "--no-progress",
                 "--eval", "16", "--log", str(tmp_path / "cut.csv")]) == 0

    a, b = load_checkpoint(whole), load_checkpoint(cut)
    assert b.history["step"] == list(range(7))
    assert b.history["loss"] == pytest.approx(a.history["loss"], rel=1e-5)
    assert b.history["lr"] == pytest.approx(a.history["lr"], rel=1e-12)
    for key, value in a.density.state_dict().items():
        torch.testing.assert_close(b.density.state_dict()[key], value, rtol=1e-5, atol=1e-6)
    lines = (tmp_path / "cut.csv").read_text().splitlines()
    assert lines[0].startswith("step,loss") and len(lines) == 1 + 5 + 3  # steps 0-4, then 4-6 again after resume
    assert len(b.info["commands"]) == 2


def test_continuing_a_schedule_refuses_a_changed_learning_rate(ising_ckpt, tmp_path, capsys):
    out = tmp_path / "half.pt"
    assert main(["train", "--target", "ising", "--T", "2.5", "--L", "4", "--steps", "6", "--batch", "8",
                 "--couplings", "2", "--hidden", "8", "--eval", "16", "--device", "cpu", "--no-progress",
                 "--out", str(out)]) == 0
    ckpt = load_checkpoint(out)
    plan = ckpt.training["plan"]
    assert plan["steps"] == 6 and plan["start"] == 0 and "optimizer" in ckpt.training
    # Pretend the run stopped after its first 3 steps: continuing then may not change the rate.
    from engine.nrg.checkpoint import save_checkpoint
    history = {k: v[:3] for k, v in ckpt.history.items()}
    save_checkpoint(out, ckpt.density, ckpt.target, history, ckpt.info, ckpt.training)
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--lr", "0.1", "--device", "cpu", "--no-progress"]) == 2
    assert "lr" in capsys.readouterr().err


def test_train_phi4_preset_with_override(tmp_path, capsys):
    assert main(["train", "--target", "phi4", "--preset", "critical", "--lam", "2.0",
                 "--out", str(tmp_path / "p.pt"), *TINY]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["params"] == {"t": 0.44, "mu": -2.0, "lam": 2.0} and "exact_free_energy" not in doc
    assert doc["symmetry"] == "u1"


@pytest.mark.parametrize("method", ["independent", "bulk", "physical"])
def test_sample_prints_observables(ising_ckpt, method, capsys):
    hmc = [] if method == "independent" else ["--leapfrog", "2"]  # only HMC has trajectories
    assert main(["sample", "--checkpoint", str(ising_ckpt), "--n", "64", "--mcmc", method, "--chains", "4", *hmc,
                 "--burn-in", "5", "--seed", "1", "--device", "cpu", "--json", "--no-progress"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["observables"]) >= {"energy", "abs_m"}
    assert set(doc["observables"]["energy"]) == {"mean", "error", "error_within", "error_between", "tau_int", "rhat"}
    assert 0 <= doc["acceptance"] <= 1 and doc["method"] == method
    assert (doc["chains"], doc["steps"], doc["burn_in"], len(doc["accepted"])) == (4, 16, 5, 4)
    assert doc["exact"]["energy"] == pytest.approx(-1.3791165, abs=1e-6)  # Kaufman, L=4, T=2.5


def _sample(ising_ckpt, capsys, *argv) -> tuple[dict, str]:
    assert main(["sample", "--checkpoint", str(ising_ckpt), *argv, "--device", "cpu", "--json", "--no-progress"]) == 0
    out = capsys.readouterr()
    return json.loads(out.out), out.err


def test_converged_chains_agree_with_kaufman(ising_ckpt, capsys):
    # Exact sampling: whatever the flow's quality, converged chains must agree with Kaufman within their error.
    # Physical HMC, 4 chains of 2000 trajectories: R-hat <= 1.03 (the signed m, tau_int ~ 35, is the slowest).
    doc, err = _sample(ising_ckpt, capsys, "--n", "8000", "--mcmc", "physical", "--chains", "4", "--seed", "1")
    energy = doc["observables"]["energy"]
    assert doc["converged"] and doc["warning"] is None and "warning" not in err
    assert all(o["rhat"] <= RHAT_LIMIT for o in doc["observables"].values())
    assert 0 < energy["error"] < 0.05
    assert abs(energy["mean"] - doc["exact"]["energy"]) < 4 * energy["error"], (energy, doc["exact"]["energy"])


def test_stuck_independent_chains_are_reported_not_converged(ising_ckpt, capsys):
    """After 3 training steps the flow is poor: 4 independent-Metropolis chains of 1000 proposals accept
    only a handful of moves each (4-44 here; acceptance 0.02) and their energy, -0.19 +- 0.05, is far from
    Kaufman's -1.379. No error bar computed from the chains can see states they never visit, so the run
    must say that it has not converged: in the JSON and in one line on stderr."""
    doc, err = _sample(ising_ckpt, capsys, "--n", "4000", "--mcmc", "independent", "--chains", "4", "--seed", "1")
    assert doc["converged"] is False and len(doc["accepted"]) == 4 and min(doc["accepted"]) < MIN_MOVES
    assert doc["warning"].startswith("chains not converged") and "accepted moves per chain" in doc["warning"]
    assert err.strip().splitlines() == [f"rgviz-batch: warning: sample: {doc['warning']}"]
    energy = doc["observables"]["energy"]
    assert energy["error"] == max(energy["error_within"], energy["error_between"]) > 0


@pytest.mark.parametrize("argv,fragment", [
    (["train", "--target", "ising", "--L", "6", "--T", "2"], "L:"),
    (["train", "--target", "ising", "--L", "4"], "T:"),
    (["train", "--target", "ising", "--L", "4", "--T", "2", "--t", "0.5"], "t:"),
    (["train", "--target", "phi4", "--L", "4", "--t", "0.5", "--mu", "-2"], "lam:"),
    (["train", "--target", "ising", "--L", "4", "--T", "2", "--steps", "0"], "steps:"),
    (["sample", "--checkpoint", "nowhere.pt"], "no such checkpoint"),
    (["sample", "--checkpoint", "nowhere.pt", "--burn-in", "-1"], "burn-in: must be an integer >= 0"),
    (["sample", "--checkpoint", "nowhere.pt", "--mcmc", "independent", "--leapfrog", "4"], "leapfrog: applies to"),
])
def test_bad_input_is_one_line(argv, fragment, capsys):
    assert main(argv + ["--no-progress"]) in (1, 2)
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_corrupt_checkpoint_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    assert main(["sample", "--checkpoint", str(bad), "--no-progress"]) == 2
    assert "not a readable rgviz flow checkpoint" in capsys.readouterr().err
