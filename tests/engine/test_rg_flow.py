"""RG trajectories, the separatrix, the Ising study driver and the rgflow CLI."""

import csv
import json
import math

import numpy as np
import pytest
import torch

from engine.cli import main
from engine.device import make_generator
from engine.errors import ParameterError
from engine.exact import KC_ISING
from engine.models.ising import IsingModel
from engine.rg.flow import Trajectory, separatrix
from engine.rg.ising_flow import RGFlowConfig, run_ising_rgflow
from engine.rg.pseudolikelihood import CouplingFit, fit_couplings
from engine.rg.sampling import SamplingPlan, collect_blocked
from engine.samplers import make_sampler

torch.set_num_threads(1)

NAMES = ("nn", "nnn", "plaq", "d2")


def fake_trajectory(K0, strengths, sd=0.005, n_blocks=10):
    """A trajectory whose levels carry the given strength in K_nn alone, with independent errors sd."""
    fits = []
    rng = np.random.default_rng(len(strengths))
    for s in strengths:
        infl = np.zeros((n_blocks, 4))
        infl[:, 0] = rng.normal(0, sd / math.sqrt(n_blocks), n_blocks)
        cov = n_blocks / (n_blocks - 1) * (infl - infl.mean(0)).T @ (infl - infl.mean(0))
        fits.append(CouplingFit(NAMES, np.array([s / 2, 0, 0, 0]), cov, infl, 100, bool(np.isfinite(s)), 5))
    return Trajectory(1 / K0, K0, fits)


def test_separatrix_interpolates_the_zero_of_the_last_step():
    trs = [fake_trajectory(0.40, [0.8, 0.7, 0.5]), fake_trajectory(0.43, [0.86, 0.85, 0.84]),
           fake_trajectory(0.45, [0.9, 0.92, 0.96]), fake_trajectory(0.50, [1.0, 1.2, math.nan])]
    sep = separatrix(trs)
    # last steps: -0.01 at 0.43, +0.04 at 0.45 -> zero at 0.43 + 0.02 * 0.01 / 0.05
    assert sep.Kc == pytest.approx(0.434)
    assert sep.bracket == (0.43, 0.45)
    assert 0 < sep.error < 0.02
    assert [t.fate for t in trs] == ["K -> 0", "undecided", "K -> inf", "K -> inf"]
    with pytest.raises(ParameterError, match="T"):
        separatrix(trs[:2])
    # A saturated ordered side only brackets Kc.
    sat = separatrix([trs[1], trs[3]])
    assert (sat.Kc, sat.error) == pytest.approx((0.465, 0.035))


def test_pseudolikelihood_recovers_couplings_of_cluster_samples():
    # Markov-chain samples (correlated in time and space) at three temperatures: K_nn = 1/T and
    # the others 0, each within 3 standard errors (sandwich errors over 20 sample blocks of 75
    # sweeps each, much longer than the Swendsen-Wang autocorrelation time).
    temps = [2.0, 2.269185, 2.6]
    model = IsingModel(16, T=temps)
    gen = make_generator(12)
    levels = collect_blocked(model, make_sampler(model, "swendsen-wang"), gen, SamplingPlan(500, 100, 3), levels=0)
    for r, T in enumerate(temps):
        fit = fit_couplings(levels[0][r], NAMES, n_blocks=20)
        z = (fit.K - np.array([1 / T, 0, 0, 0])) / fit.stderr
        assert np.all(np.abs(z) < 3), (T, fit.K, fit.stderr)
        assert fit.stderr[0] < 0.03


def test_ising_study_flows_to_the_trivial_fixed_points():
    cfg = RGFlowConfig(L=32, temperatures=(1.9, 2.2, 2.269185, 2.35, 3.0), levels=2, n_samples=300, seed=3,
                       thermalize=50)
    streamed = []
    res = run_ising_rgflow(cfg, on_trajectory=lambda ts: streamed.append([t.T for t in ts]))
    assert streamed == [list(cfg.temperatures[:k]) for k in range(1, 6)]  # one more trajectory each time
    fates = [t.fate for t in res.trajectories]
    # Off Tc a flow never goes the wrong way. Whether it is decided within 2 sigma depends on the
    # noise: 3% from Tc, and at T = 1.9, whose 8 x 8 level has so few minority spins that its
    # couplings carry large errors (or none: all aligned); there the first step must grow.
    assert fates[4] == "K -> 0" and fates[3] != "K -> inf"
    assert fates[0] != "K -> 0" and fates[1] != "K -> 0"
    low = res.trajectories[0]
    assert fates[0] == "K -> inf" or low.strength[1] - low.strength[0] > 2 * low.strength_err[1]
    assert np.all(np.diff(res.trajectories[-1].strength) < 0)
    sep = res.separatrix
    assert sep.bracket[0] - 1e-6 < KC_ISING < sep.bracket[1] + 1e-6
    assert abs(sep.Kc - KC_ISING) < 0.02 and sep.error < 0.02
    ex = res.exponents()
    assert ex["T"] == 2.269185  # the fan's temperature nearest the separatrix estimate
    d = ex["distance_from_Kc"]
    assert d["Kc"] == sep.Kc and d["K_minus_Kc"]["mean"] == pytest.approx(1 / 2.269185 - sep.Kc)
    assert d["scaled"] == pytest.approx(abs(1 / 2.269185 / sep.Kc - 1) * 32)
    assert abs(ex["y_h"]["mean"] - 1.875) < 0.05
    assert 0 < ex["y_t"]["error"] < 0.1 and abs(ex["y_t"]["mean"] - 1.0) < 3 * ex["y_t"]["error"]
    assert {f.name for f in res.figures()} >= {"rg_trajectories", "rg_separatrix", "mcrg_y_t", "mcrg_y_h"}
    json.dumps(res.to_dict(), allow_nan=False)


def test_mcrg_off_the_critical_point_is_reported_with_its_distance_and_a_warning():
    # A fan that misses Tc: the exponents come from the temperature nearest the separatrix
    # estimate, with its distance from it, and a note that they are off the critical point.
    fan = (2.0, 2.2, 2.35, 2.6)
    res = run_ising_rgflow(RGFlowConfig(L=16, temperatures=fan, levels=2, n_samples=150, seed=4, thermalize=30))
    kc = res.separatrix.Kc
    ex = res.exponents()
    assert ex["T"] == min(fan, key=lambda T: abs(1 / T - kc))
    d = ex["distance_from_Kc"]
    assert d["Kc_source"] == "separatrix" and d["scaled"] == pytest.approx(abs(1 / ex["T"] / kc - 1) * 16)
    assert d["scaled"] > 0.3
    assert any("off the critical point" in n and f"{ex['T']:.6g}" in n for n in res.notes), res.notes


def test_rgflow_cli_writes_json_csv_and_figures(tmp_path, capsys):
    rc = main(["rgflow", "--L", "16", "--T", "2.0", "2.269185", "2.6", "--levels", "2", "--samples", "60",
               "--thermalize", "20", "--seed", "1", "--out", str(tmp_path), "--no-progress"])
    assert rc == 0
    doc = json.loads((tmp_path / "rgflow.json").read_text())
    for key in ("y_t", "y_h"):
        assert set(doc["mcrg"][key]) == {"mean", "error"}
    assert set(doc["Kc_estimate"]) >= {"mean", "error"}
    assert len(doc["trajectories"]) == 3
    rows = list(csv.DictReader(open(tmp_path / "trajectories.csv")))
    assert len(rows) == 3 * 3 and rows[0]["L_level"] == "16"
    assert (tmp_path / "rg_trajectories.figure.json").exists()
    assert json.loads(capsys.readouterr().out)["Kc_estimate"] == doc["Kc_estimate"]


@pytest.mark.parametrize("argv, name", [
    (["--L", "18", "--levels", "3"], "levels"),
    (["--L", "16", "--levels", "3"], "levels"),  # coarsest lattice too small for the operators
    (["--samples", "1"], "n_samples"),
    (["--couplings", "nn", "bogus"], "operators"),
    (["--mcrg-odd", "7"], "n_odd"),
    (["--T", "-1"], "T"),
])
def test_rgflow_cli_bad_input_is_one_line(tmp_path, capsys, argv, name):
    assert main(["rgflow", *argv, "--out", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"error: {name}" in err


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_ising_study_runs_on_cuda():
    cfg = RGFlowConfig(L=32, temperatures=(2.0, 2.269185, 2.6), levels=2, n_samples=200, seed=5, thermalize=50,
                       device="cuda")
    res = run_ising_rgflow(cfg)
    assert [t.fate for t in res.trajectories][::2] == ["K -> inf", "K -> 0"]
    assert abs(res.exponents()["y_h"]["mean"] - 1.875) < 0.05
