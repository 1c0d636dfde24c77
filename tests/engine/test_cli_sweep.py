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
    # C's pulls (C - exact) / error are skewed (see engine.measure.stats.specific_heat): C's error scales with C,
    # so a run that happens to sample few large energy fluctuations gets a low C with a low error. Over 150 seeds
    # of this sweep (1500 rows; C unbiased within 1%, scatter / rms error 1.04-1.05): none above +4, 0.27% below
    # -5. Hence one-sided bounds: +4 sigma, which catches any excess C (thermalisation left in inflates var(E)),
    # and -5 sigma, whose false alarms for this test's 10 rows are about 3%.
    for row in rows:
        L, T = int(row["L"]), float(row["T"])
        for key, exact, low, high in (("energy", kaufman_energy(L, T), 4.5, 4.5),
                                      ("specific_heat", kaufman_specific_heat(L, T), 5, 4)):
            mean, err = float(row[f"{key}_mean"]), float(row[f"{key}_error"])
            assert 0 < err and -low < (mean - exact) / err < high, (L, T, key, mean, err, exact)
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
