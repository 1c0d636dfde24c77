"""``rgviz-batch bulk`` on a small (untrained) checkpoint: files, keys, and clear errors."""

import json

import numpy as np
import pytest
import torch

from engine.cli import main
from engine.nrg.checkpoint import save_checkpoint
from engine.nrg.density import FlowDensity
from engine.nrg.flow import HierarchicalFlow
from engine.nrg.targets import make_target


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)  # weight initialisation only; sampling uses the CLI's seeded generator
    density = FlowDensity(HierarchicalFlow(4, 2, n_couplings=2, hidden=(8,)))
    return save_checkpoint(tmp_path / "phi4_L4.pt", density, make_target("phi4", 4, t=0.3, mu=-0.5, lam=1.0))


def test_bulk_writes_fits_correlations_and_figure_data(tmp_path, checkpoint, capsys):
    out = tmp_path / "bulk"
    assert main(["bulk", "--checkpoint", str(checkpoint), "--samples", "2000", "--seed", "3",
                 "--out", str(out), "--json"]) == 0
    doc = json.loads((out / "bulk.json").read_text())
    assert doc == json.loads(capsys.readouterr().out)
    assert {"xi", "d0", "r2"} <= set(doc["fit"]) and "r2" in doc["fit_boundary_distance"]
    assert doc["fit"]["pairs"] == doc["fit_boundary_distance"]["pairs"] == doc["pairs_used"] > 0
    data = np.load(out / "correlations.npz")
    assert data["corr"].shape == (16, 16)
    assert np.allclose(data["corr"], data["corr"].T)
    assert (out / "bulk_vs_hyperbolic.figure.json").exists()


def test_bulk_hmc_sampling_reports_its_method_and_r2_errors(tmp_path, checkpoint, capsys):
    out = tmp_path / "bulk_hmc"
    assert main(["bulk", "--checkpoint", str(checkpoint), "--mcmc", "bulk", "--chains", "8", "--samples", "480",
                 "--seed", "3", "--out", str(out), "--json", "--no-progress"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["mcmc"] == "bulk" and doc["samples"] == 480 and doc["ess"] is None
    assert 0.3 < doc["acceptance"] <= 1.0
    assert doc["fit"]["r2_error"] > 0 and doc["r2_gap"]["error"] > 0


def test_bulk_refuses_a_corrupt_checkpoint(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["bulk", "--checkpoint", str(bad), "--out", str(tmp_path / "o")]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.pt" in err
