"""``rgviz-batch sweep`` writes its results, estimates and figure data; bad input is one line."""

import csv
import json

import numpy as np
import pytest

from engine.cli import main


def test_sweep_writes_results(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["sweep", "--L", "8", "12", "--T", "2.0:2.6:4", "2.3", "--algorithm", "swendsen-wang",
               "--sweeps", "200", "--thermalize", "50", "--out", str(out), "--json", "--no-progress"])
    assert rc == 0
    printed = json.loads(capsys.readouterr().out)
    saved = json.loads((out / "estimates.json").read_text())
    for key in ("binder_crossing_Tc", "gamma_over_nu", "C_peak", "chi_peak"):
        assert key in saved and key in printed
    assert set(saved["binder_crossing_Tc"]) == {"mean", "error"}
    assert saved["config"]["T"] == [2.0, 2.2, 2.3, 2.4, 2.6]  # ranges and values, sorted by the runner
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert len(rows) == 10 and {"L", "T", "energy_mean", "energy_error", "energy_tau_int"} <= set(rows[0])
    data = np.load(out / "results.npz")
    assert data["L12_series_energy"].shape == (200, 5)
    assert (out / "binder.figure.json").exists()


@pytest.mark.parametrize("argv, name", [
    (["--T", "2:3:x"], "--T"),
    (["--model", "phi4"], "--model"),
    (["--L", "7"], "L"),
    (["--sweeps", "0"], "sweeps"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, argv, name):
    with pytest.raises(SystemExit) as exc:
        rc = main(["sweep", "--out", str(tmp_path), "--no-progress", *argv])
        raise SystemExit(rc)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and name.lstrip("-") in err
