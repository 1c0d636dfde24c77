"""Sweeps, RG fans and bulk runs on a Ray cluster: the same numbers as a local run, and a task whose worker
dies is run again.

One local Ray instance with two worker slots serves the whole module (starting Ray takes about 10 s).
"""

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.cli import main
from engine.cluster import RayExecutor, import_ray
from engine.errors import ParameterError
from engine.nrg.checkpoint import save_checkpoint
from engine.nrg.density import FlowDensity
from engine.nrg.flow import HierarchicalFlow
from engine.nrg.targets import make_target
from engine.sweep import (
    SweepConfig,
    SweepRunner,
    merge_sizes,
    run_size_task,
    size_tasks,
)

pytestmark = pytest.mark.cluster

SWEEP = ["sweep", "--L", "8", "12", "--T", "2.1:2.5:3", "--algorithm", "wolff", "--sweeps", "80",
         "--thermalize", "20", "--seed", "3", "--no-progress"]


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)  # a new one, always
    yield ray
    ray.shutdown()


def _same(a: SweepConfig, b) -> None:
    """Every size's series, estimates and temperatures agree bit for bit."""
    assert list(a.sizes) == list(b.sizes)
    for L in a.sizes:
        x, y = a.sizes[L], b.sizes[L]
        assert np.array_equal(x.T, y.T)
        assert x.series.keys() == y.series.keys()
        for k in x.series:
            assert np.array_equal(x.series[k], y.series[k]), (L, k)
        for k in x.estimates:
            for part in ("mean", "error", "tau_int"):
                assert np.array_equal(getattr(x.estimates[k], part), getattr(y.estimates[k], part),
                                      equal_nan=True), (L, k, part)


def test_ray_sweep_gives_the_local_numbers(ray_cluster, tmp_path, capsys):
    assert main([*SWEEP, "--out", str(tmp_path / "local")]) == 0
    assert main([*SWEEP, "--executor", "ray", "--out", str(tmp_path / "ray")]) == 0
    local, remote = (np.load(tmp_path / name / "results.npz") for name in ("local", "ray"))
    assert sorted(local.files) == sorted(remote.files) and any(k.startswith("L12_curve_") for k in local.files)
    for key in local.files:
        assert np.array_equal(local[key], remote[key]), key
    assert (tmp_path / "local" / "results.csv").read_text() == (tmp_path / "ray" / "results.csv").read_text()
    est = {name: json.loads((tmp_path / name / "estimates.json").read_text()) for name in ("local", "ray")}
    assert est["local"]["binder_crossings"] == est["ray"]["binder_crossings"]
    assert est["ray"]["executor"]["name"] == "ray" and est["ray"]["config"] == est["local"]["config"]


FANS = {"ising": ["--T", "2.0", "2.3", "2.6"], "xy": ["--T", "0.7", "0.9", "1.2"]}


@pytest.mark.parametrize("model", FANS)
def test_ray_fan_gives_the_local_numbers(ray_cluster, tmp_path, model):
    """One task per starting temperature, seeded by its index: rgflow.json and the CSV agree bit for bit."""
    argv = ["rgflow", "--model", model, *FANS[model], "--L", "16", "--levels", "2", "--samples", "60",
            "--thermalize", "10", "--seed", "2", "--no-progress"]
    docs = {}
    for name in ("local", "ray"):
        assert main([*argv, "--executor", name, "--out", str(tmp_path / name)]) == 0
        docs[name] = json.loads((tmp_path / name / "rgflow.json").read_text())
        assert docs[name].pop("executor")["name"] == name and docs[name].pop("seconds") > 0
    assert docs["local"] == docs["ray"] and len(docs["ray"]["trajectories"]) == 3
    assert (tmp_path / "local" / "trajectories.csv").read_text() == (tmp_path / "ray" / "trajectories.csv").read_text()


@pytest.mark.parametrize(("mcmc", "samples"), [("independent", 2000), ("bulk", 160)])
def test_ray_bulk_gives_the_local_numbers(ray_cluster, tmp_path, monkeypatch, mcmc, samples):
    """Two parts (independent Metropolis: two chains; HMC: two groups of two chains), each its own seed:
    bulk.json and the correlations agree bit for bit, and differ from one part's run. The checkpoint is
    named relative to this process's folder, which the workers do not share."""
    torch.manual_seed(0)
    density = FlowDensity(HierarchicalFlow(4, 2, n_couplings=2, hidden=(8,)))
    save_checkpoint(tmp_path / "phi4_L4.pt", density, make_target("phi4", 4, t=0.3, mu=-0.5, lam=1.0))
    monkeypatch.chdir(tmp_path)
    argv = ["bulk", "--checkpoint", "phi4_L4.pt", "--samples", str(samples), "--mcmc", mcmc, "--chains", "4",
            "--blocks", "4", "--seed", "5", "--no-progress"]
    docs, arrays = {}, {}
    for name, extra in (("local", ["--tasks", "2"]), ("ray", ["--tasks", "2", "--executor", "ray"]),
                        ("one", ["--tasks", "1"])):
        assert main([*argv, *extra, "--out", str(tmp_path / name)]) == 0
        docs[name] = json.loads((tmp_path / name / "bulk.json").read_text())
        assert docs[name].pop("executor")["name"] == ("ray" if name == "ray" else "local")
        arrays[name] = np.load(tmp_path / name / "correlations.npz")
    assert docs["local"] == docs["ray"] and docs["ray"]["samples"] == samples
    for key in arrays["local"].files:
        local, remote = arrays["local"][key], arrays["ray"][key]
        assert np.array_equal(local, remote, equal_nan=local.dtype.kind == "f"), key
    assert not np.array_equal(arrays["local"]["value"], arrays["one"]["value"])  # the parts draw other numbers


def test_a_task_whose_worker_dies_is_run_again(ray_cluster, tmp_path):
    cfg = SweepConfig("ising", (8, 12), (2.2, 2.4), "metropolis", 60, 10, seed=5, device="cpu", chunk=20)
    marker = str(tmp_path / "killed")

    def dies_first_time(task):  # kills its worker process on its first attempt at L = 12
        if task.sizes[0] == 12 and not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)
        return run_size_task(task)

    arrived = []
    parts = RayExecutor(retries=2).map(dies_first_time, size_tasks(cfg), lambda i, r: arrived.append(i))
    assert Path(marker).exists() and sorted(arrived) == [0, 1]
    _same(SweepRunner(cfg).run(), merge_sizes(cfg, parts))


def test_a_task_error_is_raised_as_itself_not_retried(ray_cluster, tmp_path):
    attempts = tmp_path / "attempts"

    def bad(_task):
        with open(attempts, "a") as fh:
            fh.write("x")
        raise ParameterError("L", "too small")

    with pytest.raises(ParameterError, match="too small"):
        RayExecutor().map(bad, [0])
    assert attempts.read_text() == "x"


def test_cancel_stops_waiting_and_gives_what_finished(ray_cluster):
    """What the Phase panel's Stop does: the running tasks are cancelled, the finished ones kept."""
    executor = RayExecutor()
    t0 = time.monotonic()
    results = executor.map(lambda t: time.sleep(t) or t, [0, 120, 120], lambda i, r: executor.cancel())
    assert results == [0, None, None] and time.monotonic() - t0 < 60
    finished = []
    executor = RayExecutor()
    executor.map(lambda x: -x, [-1, -2], lambda i, r: finished.append(r))  # the cluster still works afterwards
    assert sorted(finished) == [1, 2]


def test_an_address_where_nothing_answers_is_one_line(tmp_path, capsys):
    pytest.importorskip("ray")
    argv = [*SWEEP, "--executor", "ray", "--address", "127.0.0.1:1", "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "address: nothing answers at 127.0.0.1:1" in err, err
    assert not (tmp_path / "out").exists()


def test_without_ray_the_executor_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(ParameterError, match=r"rgviz\[cluster\]"):
        import_ray()
