"""The studies the panels and ``rgviz-batch`` share, run without Qt: G(r) and its fits, the dynamics
study (live tau_int and the tau_int(T, L) scan with z), the RG tables, and ``rgviz-batch dynamics``."""

import csv
import json
import math

import numpy as np
import pytest

from engine.cli import main
from engine.errors import ParameterError
from engine.exact import TC_ISING
from engine.rg.kosterlitz import XYTrajectory
from engine.studies.correlation import CorrelationAverage, fit_exponential, fit_power_law, lattice_correlation
from engine.studies.dynamics import (TauScan, TauScanConfig, equal_parameter_tail, live_autocorrelation,
                                     run_tau_scan, scan_temperatures)
from engine.studies.rgflow import xy_document, xy_table


# --- G(r) -------------------------------------------------------------------------------------

@pytest.mark.parametrize("model", ["ising", "xy"])
def test_lattice_correlation_matches_a_direct_sum(model):
    rng = np.random.default_rng(0)
    L = 8
    lattice = rng.choice([-1.0, 1.0], (L, L)) if model == "ising" else rng.uniform(0, 2 * np.pi, (L, L))
    G = lattice_correlation(lattice, model)
    for r in range(L // 2 + 1):
        pairs = []
        for axis in (0, 1):
            for shift in (r, -r):
                other = np.roll(lattice, shift, axis=axis)
                pairs.append(np.mean(lattice * other if model == "ising" else np.cos(lattice - other)))
        assert G[r] == pytest.approx(np.mean(pairs), abs=1e-12)


L_FIT = 32
R = np.arange(L_FIT // 2 + 1, dtype=float)


def noisy(G: np.ndarray, rel: float, rng) -> tuple[np.ndarray, np.ndarray]:
    err = rel * G
    return G + err * rng.standard_normal(len(G)), err


def test_exponential_fit_recovers_xi_with_calibrated_errors():
    rng = np.random.default_rng(1)
    fits = [fit_exponential(R, *noisy(0.8 * np.exp(-R / 3.0), 0.02, rng), L_FIT) for _ in range(400)]
    pulls = np.array([(f.value - 3.0) / f.error for f in fits])
    assert abs(pulls.mean()) < 4 / np.sqrt(len(pulls))  # unbiased to well within the statistics
    assert np.mean(np.abs(pulls) < 1) >= 0.683 - 3 * np.sqrt(0.683 * 0.317 / len(pulls))


def test_power_law_fit_recovers_eta():
    rng = np.random.default_rng(2)
    fit = fit_power_law(R, *noisy(0.9 * np.maximum(R, 1) ** -0.25, 0.01, rng), L_FIT)
    assert abs(fit.value - 0.25) < 3 * fit.error and fit.error < 0.02
    assert fit.intercept == pytest.approx(math.log(0.9), abs=5 * fit.error)


def test_fits_stop_at_the_first_insignificant_distance_and_refuse_flat_data():
    G, err = 0.8 * np.exp(-R / 3.0), 0.01 * np.exp(-R / 3.0)
    G_cut = G.copy()
    G_cut[5] = -0.01  # noise at r = 5: r = 5..8 must not enter the fit
    exact_start = fit_exponential(R[:5], G[:5], err[:5], L_FIT)
    assert fit_exponential(R, G_cut, err, L_FIT).value == pytest.approx(exact_start.value)
    assert fit_exponential(R, np.ones_like(R), np.zeros_like(R), L_FIT) is None  # G = 1 does not decay


def test_the_average_restarts_when_the_parameters_change():
    rng = np.random.default_rng(3)
    frames = [rng.choice([-1.0, 1.0], (8, 8)) for _ in range(4)]
    avg = CorrelationAverage()
    for f in frames[:3]:
        avg.add(f, "ising", {"T": 2.5})
    G = np.array([lattice_correlation(f, "ising") for f in frames[:3]])
    result = avg.result()
    assert result.frames == 3 and result.L == 8
    np.testing.assert_allclose(result.G, G.mean(axis=0))
    np.testing.assert_allclose(result.error, G.std(axis=0, ddof=1) / np.sqrt(3), atol=1e-12)
    avg.add(frames[3], "ising", {"T": 2.4})
    assert avg.frames == 1


# --- dynamics ---------------------------------------------------------------------------------

def ar1(phi: float, n: int, seed: int) -> np.ndarray:
    """A stationary AR(1) chain: tau_int = (1 + phi) / (2 (1 - phi))."""
    rng = np.random.default_rng(seed)
    x = np.empty(n)
    x[0] = rng.standard_normal()
    noise = rng.standard_normal(n) * np.sqrt(1 - phi**2)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + noise[t]
    return x


def test_live_autocorrelation_reads_the_samples_since_the_last_change():
    n = 20_000
    old = np.full(50, 9.0)  # samples at the old temperature: far off, they would spoil rho(t)
    series = {"abs_m": np.concatenate([old, ar1(0.8, n, seed=4)]), "energy": np.concatenate([old, ar1(0.5, n, 5)]),
              "T": np.concatenate([np.full(50, 1.5), np.full(n, 2.269)])}
    assert equal_parameter_tail(series, {"T": 2.269}) == 50
    live = live_autocorrelation(series, {"T": 2.269})
    assert live.samples == n
    for label, phi in (("|m|", 0.8), ("E", 0.5)):
        tau, err = live.tau[label]
        assert abs(tau - (1 + phi) / (2 * (1 - phi))) < 3 * err
        assert live.rho[label][0] == 1.0 and live.rho[label][1] == pytest.approx(phi, abs=0.03)
    assert live_autocorrelation({"abs_m": np.ones(100), "energy": np.ones(5)}, {}).tau == {}


def test_dynamic_exponent_of_an_exact_power_law_and_the_json_and_table():
    T = scan_temperatures(2.2, 2.4, 3)
    assert np.any(T == TC_ISING) and len(T) == 4
    i = int(np.argmin(np.abs(T - TC_ISING)))
    scan = TauScan(T)
    for L in (8, 16, 32):
        tau = np.full(len(T), 1.0)
        tau[i] = 0.5 * L**2.17
        scan.tau[("metropolis", L)] = {"|m|": (tau, 0.05 * tau), "E": (tau / 2, 0.05 * tau / 2)}
    z = scan.dynamic_exponents("|m|")["metropolis"]
    assert z.exponent == pytest.approx(2.17) and z.amplitude == pytest.approx(0.5)
    doc = json.loads(json.dumps(scan.to_dict()))
    assert doc["z"]["abs_m"]["metropolis"]["mean"] == pytest.approx(2.17)
    assert doc["tau_int"]["metropolis"]["16"]["energy"]["tau_int"][i] == pytest.approx(0.25 * 16**2.17)
    header, rows = scan.table()
    assert header == ["algorithm", "L", "T", "tau_int_abs_m", "tau_int_abs_m_error", "tau_int_energy",
                      "tau_int_energy_error"]
    assert len(rows) == 3 * 4 and rows[4 + i][:4] == ["metropolis", 16, T[i], 0.5 * 16**2.17]


def test_tau_scan_reports_each_run_and_stops_when_asked():
    config = TauScanConfig((4, 6), (2.0, 2.5), ("metropolis",), sweeps=40, thermalize=10, seed=1, device="cpu")
    partials, progress = [], []
    scan = run_tau_scan(config, lambda d, t: progress.append((d, t)), partials.append)
    assert sorted(scan.tau) == [("metropolis", 4), ("metropolis", 6)] and len(partials) == 2
    assert progress[-1] == (100, 100)
    stopped = run_tau_scan(config, cancelled=lambda: True)
    assert stopped.tau == {}


@pytest.mark.parametrize("change, name", [({"sizes": ()}, "L"), ({"algorithms": ()}, "algorithms"),
                                          ({"algorithms": ("glauber",)}, "algorithms"), ({"sweeps": 5}, "sweeps"),
                                          ({"temperatures": (0.0,)}, "T")])
def test_tau_scan_config_names_the_bad_parameter(change, name):
    config = TauScanConfig(**{"sizes": (4,), "temperatures": (2.3,), **change})
    with pytest.raises(ParameterError) as err:
        config.validate()
    assert err.value.name == name


def test_rgviz_batch_dynamics_prints_json_and_writes_files(tmp_path, capsys):
    rc = main(["dynamics", "--L", "4", "6", "--T", "2.0", "2.5", "--sweeps", "60", "--thermalize", "10",
               "--algorithms", "metropolis", "--device", "cpu", "--out", str(tmp_path), "--no-progress"])
    assert rc == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["T"] == [2.0, TC_ISING, 2.5] and set(printed["tau_int"]["metropolis"]) == {"4", "6"}
    assert set(printed["z"]["abs_m"]) == {"metropolis"}
    assert json.loads((tmp_path / "dynamics.json").read_text())["z"] == printed["z"]
    rows = list(csv.DictReader(open(tmp_path / "tau_int.csv")))
    assert len(rows) == 2 * 3 and float(rows[1]["tau_int_abs_m"]) == pytest.approx(
        printed["tau_int"]["metropolis"]["4"]["abs_m"]["tau_int"][1])
    assert (tmp_path / "tau_vs_L_abs_m.figure.json").exists()


@pytest.mark.parametrize("argv", [["--sweeps", "5"], ["--L", "1"], ["--algorithms", "glauber"]])
def test_rgviz_batch_dynamics_bad_input_exits_2(tmp_path, capsys, argv):
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(["dynamics", "--no-progress", *argv]))
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rgviz-batch: error:") and "\n" not in err


# --- RG tables --------------------------------------------------------------------------------

def test_xy_table_and_document_describe_the_same_levels():
    t = XYTrajectory(0.8, np.array([1.0, 0.9]), np.array([0.01, 0.02]), np.array([0.1, 0.05]), np.array([0.01, 0.01]))
    header, rows = xy_table([t], L=16, b=2)
    assert header[:3] == ["T", "level", "L_level"] and [r[2] for r in rows] == [16, 8]
    doc = xy_document([t], L=16, b=2)
    assert (doc["L"], doc["b"]) == (16, 2) and doc["trajectories"][0]["x"] == [1.0, 0.9]
