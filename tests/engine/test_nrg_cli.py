"""``rgviz-batch train`` and ``sample``: JSON documents, checkpoints, one-line errors."""

import json

import pytest
import torch

from engine.cli import main
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
    assert main(argv[:1] + ["--target", "phi4"] + argv[1:]) == 1
    assert "ising target, not phi4" in capsys.readouterr().err


def test_train_phi4_preset_with_override(tmp_path, capsys):
    assert main(["train", "--target", "phi4", "--preset", "critical", "--lam", "2.0",
                 "--out", str(tmp_path / "p.pt"), *TINY]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["params"] == {"t": 0.8, "mu": -2.0, "lam": 2.0} and "exact_free_energy" not in doc
    assert doc["symmetry"] == "u1"


@pytest.mark.parametrize("method", ["independent", "bulk", "physical"])
def test_sample_prints_observables(ising_ckpt, method, capsys):
    assert main(["sample", "--checkpoint", str(ising_ckpt), "--n", "64", "--mcmc", method, "--chains", "4",
                 "--leapfrog", "2", "--seed", "1", "--device", "cpu", "--json", "--no-progress"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["observables"]) >= {"energy", "abs_m"}
    assert set(doc["observables"]["energy"]) == {"mean", "error", "tau_int"}
    assert -2 <= doc["observables"]["energy"]["mean"] <= 2
    assert 0 <= doc["acceptance"] <= 1 and doc["method"] == method
    assert doc["exact"]["energy"] == pytest.approx(-1.3791165, abs=1e-6)  # Kaufman, L=4, T=2.5


@pytest.mark.parametrize("argv,fragment", [
    (["train", "--target", "ising", "--L", "6", "--T", "2"], "L:"),
    (["train", "--target", "ising", "--L", "4"], "T:"),
    (["train", "--target", "ising", "--L", "4", "--T", "2", "--t", "0.5"], "t:"),
    (["train", "--target", "phi4", "--L", "4", "--t", "0.5", "--mu", "-2"], "lam:"),
    (["train", "--target", "ising", "--L", "4", "--T", "2", "--steps", "0"], "steps:"),
    (["sample", "--checkpoint", "nowhere.pt"], "no such checkpoint"),
])
def test_bad_input_is_one_line(argv, fragment, capsys):
    assert main(argv + ["--no-progress"]) in (1, 2)
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_corrupt_checkpoint_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    assert main(["sample", "--checkpoint", str(bad), "--no-progress"]) == 1
    assert "not a readable rgviz flow checkpoint" in capsys.readouterr().err
