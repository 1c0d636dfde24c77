"""The engine worker: commands in, acknowledged frames out, errors survived, clean stop."""

from __future__ import annotations

import numpy as np
import pytest


def test_running_simulation_changes_lattice(qtbot, start_worker):
    _, sink = start_worker(play=True)
    first = sink.wait_for(qtbot, lambda f: f["sweep"] > 0)
    later = sink.wait_for(qtbot, lambda f: f["sweep"] > first["sweep"] + 5)
    assert later["running"] and not np.array_equal(first["lattice"], later["lattice"])
    assert later["lattice"].shape == (16, 16) and set(np.unique(later["lattice"])) <= {-1.0, 1.0}
    assert later["rate"]["sweeps_per_s"] > 0


def test_step_advances_exactly_one_sweep(qtbot, start_worker):
    worker, sink = start_worker()
    start = sink.wait_for(qtbot, lambda f: True)
    assert start["sweep"] == 0 and not start["running"]
    worker.step()
    assert sink.wait_for(qtbot, lambda f: f["sweep"] > 0)["sweep"] == 1
    assert sink.wait_quiet(qtbot)["sweep"] == 1  # and nothing more happens
    worker.step(3)
    sink.wait_for(qtbot, lambda f: f["sweep"] >= 4)
    assert sink.wait_quiet(qtbot)["sweep"] == 4


def test_back_pressure_one_frame_until_acked(qtbot, start_worker):
    worker, sink = start_worker(auto_ack=False, play=True)
    qtbot.waitUntil(lambda: len(sink.frames) == 1)
    qtbot.wait(300)
    assert len(sink.frames) == 1  # the engine runs on, but nothing is published before the ack
    worker.ack()
    qtbot.waitUntil(lambda: len(sink.frames) == 2)
    assert sink.frames[1]["sweep"] > sink.frames[0]["sweep"]


def test_sweeps_per_frame_is_exact(qtbot, start_worker):
    worker, sink = start_worker()
    sink.wait_for(qtbot, lambda f: True)
    worker.set_sweeps_per_frame(7)
    worker.play()
    sink.wait_for(qtbot, lambda f: f["sweep"] >= 7 * 6)
    sweeps = [f["sweep"] for f in sink.frames if f["running"]]
    assert np.all(np.diff(sweeps[1:]) == 7)


def test_temperature_change_takes_effect_mid_run(qtbot, start_worker):
    """Ordered at T = 1 (<|m|> = 0.9993 on the infinite lattice), disordered at T = 20."""
    worker, sink = start_worker(T=1.0, start="cold", play=True)
    cold = sink.wait_for(qtbot, lambda f: f["sweep"] >= 200)
    assert np.mean(cold["series"]["abs_m"][-100:]) > 0.97
    worker.set_params(T=20.0)
    hot = sink.wait_for(qtbot, lambda f: f["sweep"] >= cold["sweep"] + 300)
    assert np.ravel(hot["params"]["T"])[0] == 20.0
    # At T = 20, |m| of 256 nearly free spins is ~ sqrt(2/(pi N)) ~ 0.05; 0.3 is > 10 sigma away.
    assert np.mean(hot["series"]["abs_m"][-100:]) < 0.3


def test_switch_model_and_algorithm(qtbot, start_worker):
    worker, sink = start_worker()
    sink.wait_for(qtbot, lambda f: True)
    worker.set_model(model="xy", L=8, T=0.5, seed=3, device="cpu")
    xy = sink.wait_for(qtbot, lambda f: f["model"] == "xy")
    assert xy["lattice"].shape == (8, 8) and xy["sweep"] == 0
    worker.set_algorithm("heatbath")
    worker.step(2)
    frame = sink.wait_for(qtbot, lambda f: f["sweep"] == 2)
    assert frame["algorithm"] == "heatbath"
    worker.set_algorithm("swendsen-wang")  # an Ising algorithm: refused, nothing changes
    qtbot.waitUntil(lambda: bool(sink.errors))
    assert "algorithm" in sink.errors[-1]
    worker.step()
    assert sink.wait_for(qtbot, lambda f: f["sweep"] == 3)["algorithm"] == "heatbath"
    worker.set_model(model="phi4", L=6, seed=0, device="cpu", t=0.3, mu=-1.0, lam=1.0)
    assert sink.wait_for(qtbot, lambda f: f["model"] == "phi4")["lattice"].shape == (2, 6, 6)


def test_xy_frames_carry_vortices(qtbot, start_worker):
    worker, sink = start_worker(model="xy", L=16, T=3.0)
    worker.step(5)
    frame = sink.wait_for(qtbot, lambda f: f["sweep"] == 5)
    v, a = frame["vortices"]["vortex"], frame["vortices"]["antivortex"]
    assert len(v) == len(a) > 0  # on a torus the total winding is zero; at T = 3 there are many


def test_anneal_ramps_temperature_over_exact_sweeps(qtbot, start_worker):
    worker, sink = start_worker()
    sink.wait_for(qtbot, lambda f: True)
    worker.anneal(4.0, 1.0, 300)
    mid = sink.wait_for(qtbot, lambda f: f["protocol"] and 100 <= f["protocol"]["done"] <= 200)
    assert 1.0 < np.ravel(mid["params"]["T"])[0] < 4.0
    end = sink.wait_for(qtbot, lambda f: f["protocol"] is None and f["sweep"] > 0)
    assert end["sweep"] == 300 and not end["running"]
    assert np.ravel(end["params"]["T"])[0] == 1.0


def test_bad_input_and_failing_sweep_are_reported_and_survived(qtbot, start_worker):
    worker, sink = start_worker()
    sink.wait_for(qtbot, lambda f: True)
    worker.set_params(T=-1.0)
    qtbot.waitUntil(lambda: bool(sink.errors))
    assert sink.errors[-1].startswith("T:")

    def boom(n):
        raise RuntimeError("boom")

    real_step, worker.sim.step = worker.sim.step, boom  # the worker is idle: safe to patch
    worker.play()
    qtbot.waitUntil(lambda: len(sink.errors) == 2)
    assert sink.errors[-1] == "RuntimeError: boom"
    assert not sink.wait_quiet(qtbot)["running"]  # paused, not crashed
    worker.sim.step = real_step
    worker.reset()
    worker.step(2)
    assert sink.wait_for(qtbot, lambda f: f["sweep"] == 2)


def test_session_round_trip_is_exact(qtbot, start_worker, tmp_path):
    worker, sink = start_worker(model="xy", L=8, T=0.9)
    worker.step(20)
    saved = sink.wait_for(qtbot, lambda f: f["sweep"] == 20)
    path = tmp_path / "s.npz"
    worker.save_session(path)
    qtbot.waitUntil(lambda: bool(sink.notices))
    worker.step(10)
    ahead = sink.wait_for(qtbot, lambda f: f["sweep"] == 30)
    worker.load_session(path)
    loaded = sink.wait_for(qtbot, lambda f: f["sweep"] == 20)
    np.testing.assert_array_equal(loaded["lattice"], saved["lattice"])
    for key, values in saved["series"].items():
        np.testing.assert_array_equal(loaded["series"][key], values)
    assert (loaded["model"], loaded["algorithm"]) == ("xy", saved["algorithm"])
    worker.step(10)  # the random stream was saved too: the same 10 sweeps again
    again = sink.wait_for(qtbot, lambda f: f["sweep"] == 30)
    np.testing.assert_array_equal(again["lattice"], ahead["lattice"])


def test_corrupt_session_changes_nothing(qtbot, start_worker, tmp_path):
    worker, sink = start_worker()
    worker.step(3)
    before = sink.wait_for(qtbot, lambda f: f["sweep"] == 3)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a session at all")
    worker.load_session(bad)
    qtbot.waitUntil(lambda: bool(sink.errors))
    worker.step(0 + 1)
    after = sink.wait_for(qtbot, lambda f: f["sweep"] == 4)
    assert after["model"] == before["model"] and after["lattice"].shape == before["lattice"].shape


def test_stop_mid_run_joins_quickly(qtbot, start_worker):
    import time

    from rgviz.worker import EngineWorker, WorkerThread

    worker = EngineWorker(model="ising", L=64, T=2.269, seed=0, device="cpu")
    thread = WorkerThread(worker)
    thread.start()
    worker.play()
    qtbot.wait(300)
    t0 = time.monotonic()
    assert thread.shutdown(timeout_ms=2000)
    assert time.monotonic() - t0 < 2.0 and not thread.is_running()


@pytest.mark.parametrize("command,kwargs,name", [("step", {"n": 0}, "n"), ("sweeps_per_frame", {"n": -1}, "sweeps_per_frame"),
                                                 ("anneal", {"T_from": 2.0, "T_to": -1.0, "sweeps": 10}, "T"),
                                                 ("quench", {"T": 1.0, "start": "lukewarm"}, "start")])
def test_invalid_commands_name_the_parameter(qtbot, start_worker, command, kwargs, name):
    worker, sink = start_worker()
    worker.send(command, **kwargs)
    qtbot.waitUntil(lambda: bool(sink.errors))
    assert sink.errors[-1].startswith(f"{name}:")
