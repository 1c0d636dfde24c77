"""``rgviz-batch sweep`` writes its results, estimates and figure data; bad input is one line."""

import csv
import json

import numpy as np
import pytest

from engine.cli import main
from engine.exact import TC_ISING, kaufman_energy, kaufman_specific_heat


def test_sweep_writes_results(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["sweep", "--L", "8", "12", "--T", "2.0:2.6:4", "2.3", "--algorithm", "swendsen-wang",
               "--sweeps", "400", "--thermalize", "50", "--out", str(out), "--json", "--no-progress"])
    assert rc == 0
    printed = json.loads(capsys.readouterr().out)
    saved = json.loads((out / "estimates.json").read_text())
    for key in ("binder_crossing_Tc", "gamma_over_nu", "C_peak", "chi_peak"):
        assert key in saved and key in printed
    assert saved["config"]["T"] == [2.0, 2.2, 2.3, 2.4, 2.6]  # ranges and values, sorted by the runner
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert len(rows) == 10 and {"L", "T", "energy_mean", "energy_error", "energy_tau_int"} <= set(rows[0])
    # The values, not only the keys: every row's E/N and C/N against Kaufman's exact values for the torus,
    # and the Binder crossing of 8-12 against Tc (its finite-size shift is far below its error here).
    # C's pulls have a heavy low tail in short runs (a low variance comes with a low error: over 10 seeds of
    # this sweep at 200 sweeps, rms pull 1.56 and 6% beyond 3 sigma), hence 5 sigma for C.
    for row in rows:
        L, T = int(row["L"]), float(row["T"])
        for key, exact, k in (("energy", kaufman_energy(L, T), 4.5), ("specific_heat", kaufman_specific_heat(L, T), 5)):
            mean, err = float(row[f"{key}_mean"]), float(row[f"{key}_error"])
            assert 0 < err and abs(mean - exact) < k * err, (L, T, key, mean, err, exact)
    tc = saved["binder_crossing_Tc"]
    assert tc["pair"] == "8-12" and 0 < tc["error"] < 0.2 and abs(tc["mean"] - TC_ISING) < 4 * tc["error"], tc
    data = np.load(out / "results.npz")
    assert data["L12_series_energy"].shape == (400, 5)
    assert (out / "binder.figure.json").exists()


@pytest.mark.parametrize("argv, name", [
    (["--T", "2:3:x"], "--T"),
    (["--model", "phi4"], "--model"),
    (["--L", "7"], "L"),
    (["--sweeps", "0"], "sweeps"),
    (["--address", "head:6379"], "address"),  # without --executor ray
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, argv, name):
    with pytest.raises(SystemExit) as exc:
        rc = main(["sweep", "--out", str(tmp_path), "--no-progress", *argv])
        raise SystemExit(rc)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and name.lstrip("-") in err
