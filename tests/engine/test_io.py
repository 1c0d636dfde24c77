"""Every writer is atomic: a write that fails part-way keeps the previous file and leaves no temporary file."""

import errno
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from engine import io
from engine.cli import main
from engine.figures import Figure, Series, write_figures
from engine.nrg.checkpoint import load_checkpoint, save_checkpoint
from engine.nrg.density import FlowDensity
from engine.nrg.flow import HierarchicalFlow
from engine.nrg.targets import PRESETS, make_target
from engine.session import Simulation

torch.set_num_threads(1)


def disk_full(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def fill_then_fail(tmp):
    with open(tmp, "wb") as fh:
        fh.write(b"half a file")
    disk_full()


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("failure", ["writer raises", "disk full while writing", "replace fails", "interrupt"])
def test_a_failed_write_keeps_the_previous_file(tmp_path, monkeypatch, failure):
    target = tmp_path / "keep.txt"
    target.write_text("precious")
    write = {"writer raises": lambda tmp: (open(tmp, "w").write("x"), 1 / 0),
             "disk full while writing": fill_then_fail,
             "replace fails": lambda tmp: open(tmp, "w").write("new"),
             "interrupt": lambda tmp: (open(tmp, "w").write("x"), (_ for _ in ()).throw(KeyboardInterrupt()))}[failure]
    if failure == "replace fails":
        monkeypatch.setattr(io.os, "replace", disk_full)
    expected = {"writer raises": ZeroDivisionError, "interrupt": KeyboardInterrupt}.get(failure, io.WriteError)
    with pytest.raises(expected) as err:
        io.atomic_write(target, write)
    if expected is io.WriteError:
        assert str(err.value) == f"Cannot write {target}: No space left on device"  # the target, not the temp
    assert target.read_text() == "precious"
    assert listing(tmp_path) == ["keep.txt"]


def test_the_file_gets_umask_permissions_and_is_replaced(tmp_path):
    target = tmp_path / "f.json"
    io.write_json(target, {"a": 1}, "rgviz-figure")
    io.write_json(target, {"a": 2}, "rgviz-figure")
    assert json.loads(target.read_text()) == {"format": "rgviz-figure", "version": 1, "a": 2}
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
    assert listing(tmp_path) == ["f.json"]


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_later_save_cleans_the_stale_temps_of_its_target(tmp_path):
    target = tmp_path / "run.npz"
    killed = tmp_path / f".run.npz.{dead_pid()}-abc123_x.part"          # a save killed outright
    killed_movie = tmp_path / f".run.npz.{dead_pid()}-k9.part.mp4"
    running = tmp_path / f".run.npz.{os.getpid()}-live1.part"          # a save in progress
    forgotten = tmp_path / f".run.npz.{os.getpid()}-old1.part"         # untouched for two days
    other = tmp_path / f".other.npz.{dead_pid()}-abc.part"             # another target's
    for path in (killed, killed_movie, running, forgotten, other):
        path.write_bytes(b"x" * 100)
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(forgotten, (two_days_ago, two_days_ago))
    io.write_npz(target, {"x": np.arange(3)})
    assert listing(tmp_path) == sorted([running.name, other.name, "run.npz"])
    with np.load(target) as data:
        np.testing.assert_array_equal(data["x"], np.arange(3))


# --- every writer of the engine, failing at the last moment (the disk fills while flushing) ----------

def small_density():
    flow = HierarchicalFlow(4, 2, n_couplings=2, hidden=(4,))
    return FlowDensity(flow, "u1"), make_target("phi4", 4, **PRESETS["critical"])


def save_session(path):
    sim = Simulation("ising", L=4, seed=1, device="cpu")
    sim.step(3)
    return sim.save(path)


WRITERS = {
    "session": ("run.npz", save_session, lambda p: Simulation.load(p).sweep == 3),
    "checkpoint": ("flow.pt", lambda p: save_checkpoint(p, *small_density()),
                   lambda p: load_checkpoint(p).target.L == 4),
    "figure": ("chi.figure.json", lambda p: write_figures([Figure("chi", "t", "x", "y", [Series([1], [2])])],
                                                          p.parent),
               lambda p: json.loads(p.read_text())["format"] == "rgviz-figure"),
    "npz": ("a.npz", lambda p: io.write_npz(p, {"x": np.ones(2)}), lambda p: np.load(p)["x"].sum() == 2),
    "csv": ("a.csv", lambda p: io.write_csv(p, ["a"], [[1], [2]]), lambda p: p.read_text().split() == ["a", "1", "2"]),
}


@pytest.mark.parametrize("kind", WRITERS)
def test_every_writer_keeps_the_previous_file_when_the_disk_fills(tmp_path, monkeypatch, kind):
    name, write, check = WRITERS[kind]
    path = tmp_path / name
    write(path)
    before = path.read_bytes()
    assert check(path)
    monkeypatch.setattr(io.os, "fsync", disk_full)
    with pytest.raises(io.WriteError, match="No space left on device"):
        write(path)
    assert path.read_bytes() == before
    assert listing(tmp_path) == [name]


@pytest.mark.parametrize("argv, files", [
    (["sweep", "--L", "4", "--T", "2.2", "2.5", "--sweeps", "20", "--thermalize", "5", "--out"],
     {"results.csv", "results.npz", "estimates.json"}),
    (["rgflow", "--L", "8", "--T", "2.2", "--levels", "1", "--samples", "20", "--thermalize", "5", "--out"],
     {"rgflow.json", "trajectories.csv"}),
    (["simulate", "--L", "4", "--sweeps", "20", "--thermalize", "5", "--out"], {"run.npz"}),
])
def test_cli_outputs_survive_a_full_disk(tmp_path, monkeypatch, capsys, argv, files):
    out = tmp_path / ("run.npz" if argv[0] == "simulate" else "out")
    folder = out.parent if argv[0] == "simulate" else out
    argv = argv + [str(out), "--seed", "1", "--device", "cpu", "--no-progress"]
    assert main(argv) == 0
    assert files <= set(listing(folder))
    for name in files & {"estimates.json", "rgflow.json"}:
        assert json.loads((folder / name).read_text())["version"] == 1
    if argv[0] == "sweep":
        assert json.loads(str(np.load(folder / "results.npz")["format"]))["format"] == "rgviz-sweep"
    before = {name: (folder / name).read_bytes() for name in listing(folder)}
    monkeypatch.setattr(io.os, "replace", disk_full)
    capsys.readouterr()
    assert main(argv) == 2  # an output that cannot be written is bad input
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err and ".part" not in err
    assert {name: (folder / name).read_bytes() for name in listing(folder)} == before
