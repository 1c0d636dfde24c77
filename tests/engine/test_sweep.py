"""Temperature sweeps: parallel tempering keeps the exact distribution; results stream in."""

import numpy as np
import pytest

from engine.errors import ParameterError
from engine.exact import enumeration_averages, kaufman_energy
from engine.sweep import SweepConfig, SweepRunner


def test_tempering_reproduces_exact_energies_on_a_tiny_torus():
    temps = (1.6, 2.0, 2.4, 2.8)
    cfg = SweepConfig("ising", sizes=(4,), temperatures=temps, algorithm="metropolis", sweeps=6000,
                      thermalize=200, seed=5, device="cpu", tempering=True)
    res = SweepRunner(cfg).run()
    size = res.sizes[4]
    rates = size.exchange_rate
    assert np.all((rates > 0.05) & (rates <= 1.0))
    for b, T in enumerate(temps):
        exact = enumeration_averages(4, T)
        for key, name in (("energy", "energy"), ("abs_magnetization", "abs_m")):
            est = size.estimates[key]
            assert abs(est.mean[b] - exact[name]) < 4 * est.error[b], (T, key)


def test_streaming_updates_and_kaufman_agreement():
    updates = []
    cfg = SweepConfig("ising", sizes=(8, 12), temperatures=(2.0, 2.269, 2.6), algorithm="wolff", sweeps=600,
                      thermalize=100, seed=1, device="cpu", chunk=200)
    res = SweepRunner(cfg).run(on_update=lambda r: updates.append(r.sweeps_done))
    assert updates == [200, 400, 600]
    for L in (8, 12):
        est = res.sizes[L].estimates["energy"]
        exact = kaufman_energy(L, np.array([2.0, 2.269, 2.6]))
        assert np.all(np.abs(est.mean - exact) < 4 * est.error)
    analysis = res.analyse(n_fine=41)
    assert set(analysis.curves) == {8, 12}


def test_cancel_returns_partial_result():
    cfg = SweepConfig("ising", sizes=(8,), temperatures=(2.0, 2.5), sweeps=1000, thermalize=0, chunk=10,
                      device="cpu")
    runner = SweepRunner(cfg)
    res = runner.run(on_update=lambda r: runner.cancel() if r.sweeps_done >= 30 else None)
    assert res.sweeps_done == 30


@pytest.mark.parametrize("kw, name", [({"model": "phi4"}, "model"), ({"sizes": (8, 8)}, "L"),
                                      ({"sweeps": 0}, "sweeps"), ({"tempering": True, "temperatures": (2.0,)},
                                                                  "tempering")])
def test_bad_configs_name_the_parameter(kw, name):
    with pytest.raises(ParameterError) as err:
        SweepConfig(**kw).validate()
    assert err.value.name == name


def test_stage_names_the_sweeps_done_as_the_runs_progress_counts_them():
    cfg = SweepConfig(sizes=(4, 8), temperatures=(2.2, 2.4), sweeps=100, thermalize=40, chunk=20, device="cpu")
    steps = []
    SweepRunner(cfg).run(lambda done, total: steps.append((done, total)))
    assert steps[-1] == (14, 14)  # (2 + 5 rounds) x 2 sizes
    assert [cfg.stage(step) for step in (0, 3, 4, 7, 14)] == [
        ("thermalizing", 0, 40), ("thermalizing", 20, 40), ("measuring", 0, 100), ("measuring", 20, 100),
        ("measuring", 100, 100)]
