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
    assert (doc.pop("format"), doc.pop("version")) == ("rgviz-bulk", 1)  # the file's stamp, not in the JSON printed
    assert doc == json.loads(capsys.readouterr().out)
    assert doc["estimator"] == "connected"
    for key in ("xi", "xi_error", "d0", "d0_error", "r2", "r2_error"):
        assert key in doc["fit"] and key in doc["fit_boundary_distance"]
    assert doc["fit"]["pairs"] == doc["fit_boundary_distance"]["pairs"] == doc["pairs_used"] > 0
    assert doc["fit"]["classes"] == doc["classes_used"] > 2
    assert doc["fit"]["xi"] is None or doc["fit"]["xi"] > 0  # never a negative decay length
    assert {"collapse", "w0", "fit_same_level", "fit_cross_level", "xi_difference", "verdict"} <= set(doc)
    quality = doc["flow_quality"]
    assert 0 <= quality["acceptance"] <= 1 and 0 < quality["ess"] <= 1
    assert set(quality["latent_variance"]) == {"0", "1", "2"}  # L = 4: levels 0, 1 and the top
    assert not quality["meets_targets"] and "too weak for a geometric reading" in doc["verdict"]
    data = np.load(out / "correlations.npz")
    assert data["value"].shape == data["value_error"].shape == data["d_hyperbolic"].shape == (16, 16)
    assert np.allclose(data["value"], data["value"].T)
    assert len(data["class_value"]) == doc["classes_used"]
    assert (out / "bulk_vs_hyperbolic.figure.json").exists()


def test_bulk_mutual_information_estimator(tmp_path, checkpoint, capsys):
    assert main(["bulk", "--checkpoint", str(checkpoint), "--samples", "1000", "--estimator", "mi", "--w0", "2",
                 "--out", str(tmp_path / "mi"), "--json", "--no-progress"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["estimator"] == "mi" and doc["w0"]["value"] == 2.0
    assert any(row["w0"] == 2.0 for row in doc["w0"]["scan"])


def test_bulk_hmc_sampling_reports_its_method_and_r2_errors(tmp_path, checkpoint, capsys):
    out = tmp_path / "bulk_hmc"
    assert main(["bulk", "--checkpoint", str(checkpoint), "--mcmc", "bulk", "--chains", "8", "--samples", "480",
                 "--seed", "3", "--out", str(out), "--json", "--no-progress"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["mcmc"] == "bulk" and doc["samples"] == 480 and doc["flow_quality"]["ess"] > 0
    assert 0.3 < doc["acceptance"] <= 1.0
    assert doc["fit"]["r2_error"] > 0 and doc["r2_gap"]["error"] > 0
    assert doc["flow_quality"]["proposals"] > 0  # HMC samples: the flow's acceptance is measured separately


def test_bulk_refuses_a_corrupt_checkpoint(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["bulk", "--checkpoint", str(bad), "--out", str(tmp_path / "o")]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.pt" in err


def test_bulk_refuses_a_bad_height_scale(tmp_path, checkpoint, capsys):
    assert main(["bulk", "--checkpoint", str(checkpoint), "--w0", "-1", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "w0" in err


def test_bulk_saddle_estimator_round_trip(tmp_path, checkpoint, capsys):
    """The untrained flow is the identity, so S_eff = S: an ordered phi^4 saddle with one Goldstone zero mode."""
    out = tmp_path / "saddle"
    assert main(["bulk", "--checkpoint", str(checkpoint), "--estimator", "saddle", "--samples", "400",
                 "--blocks", "4", "--out", str(out), "--json", "--no-progress"]) == 0
    doc = json.loads((out / "bulk.json").read_text())
    doc.pop("format"), doc.pop("version")
    assert doc == json.loads(capsys.readouterr().out)
    assert doc["estimator"] == "saddle" and "no sampling error" in doc["errors"]
    saddle = doc["saddle"]
    assert saddle["is_minimum"] and saddle["hessian"]["dimension"] == 32
    assert len(saddle["hessian"]["zero_modes_removed"]) == 1 and saddle["gradient_norm"] < 1e-6
    assert saddle["boundary"]["abs_m"] == pytest.approx(np.sqrt((4 * 0.3 + 0.5) / 2), abs=1e-6)
    assert doc["fit"]["r2_error"] is not None  # the pair scatter gives every number an error
    data = np.load(out / "correlations.npz")
    assert np.allclose(np.diag(data["value"]), 1.0) and np.all(data["value_error"] == 0)
    assert main(["bulk", "--checkpoint", str(checkpoint), "--estimator", "saddle-mi", "--samples", "400",
                 "--out", str(tmp_path / "mi"), "--json", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["estimator"] == "saddle-mi"
