"""A full disk part-way through every writer: the run ends with one line (status 2), every file that
was there before is unchanged and no temporary file is left.

The failure is planted in :func:`engine.io.commit`, the step every writer goes through: the temporary
file is cut to half its size (what a full disk leaves) and the flush fails with ENOSPC.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from campaign import record
from files import good_checkpoint, good_session
from test_cli import TINY

from engine import io
from engine.cli import main
from engine.nrg.lab import FlowLab
from engine.session import Simulation

OLD = b"results of an earlier run\n"
# subcommand -> the files its --out holds when it succeeds (a file name: --out is that file)
OUTPUTS = {
    "simulate": "run.npz",
    "sweep": ["results.csv", "results.npz", "estimates.json"],
    "rgflow": ["rgflow.json", "trajectories.csv"],
    "dynamics": ["dynamics.json", "tau_int.csv"],
    "train": "flow.pt",
    "bulk": ["bulk.json", "correlations.npz"],
    "deepnets-phase": ["deepnets.json", "phase.csv", "deepnets.npz"],
    "soc": ["soc.json", "distributions.csv", "avalanches.npz"],
}


def _commit_on_full_disk(tmp: str, path) -> Path:
    os.truncate(tmp, os.path.getsize(tmp) // 2)
    with io._discard_on_failure(tmp, Path(path)):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    raise AssertionError("unreachable")


@pytest.fixture
def fill_disk(monkeypatch):
    """Call it to make every later write fail part-way."""
    return lambda: monkeypatch.setattr(io, "commit", _commit_on_full_disk)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.mark.parametrize("command", OUTPUTS)
def test_cli_run_on_a_full_disk(command, tmp_path, fill_disk, capsys):
    ckpt = good_checkpoint(tmp_path / "ckpt" / "good.pt")
    folder = tmp_path / "out"
    folder.mkdir()
    names = OUTPUTS[command]
    for name in [names] if isinstance(names, str) else names:
        (folder / name).write_bytes(OLD)
    out = folder / names if isinstance(names, str) else folder
    before = _snapshot(folder)
    argv = [t.format(ckpt=ckpt) for t in TINY[command]] + ["--out", str(out), "--no-progress"]
    fill_disk()
    status = main(argv)
    err = capsys.readouterr().err
    lost = _snapshot(folder) != before
    clean = status == 2 and len(err.strip().splitlines()) == 1 and "No space left" in err and ".part" not in err
    record(clean=clean, traceback="Traceback" in err, lost=lost)
    assert clean, (status, err)
    assert not lost


def _failed_save(save, path: Path) -> None:
    before = path.read_bytes()
    try:
        save(path)
    except io.WriteError as err:
        clean = "\n" not in str(err) and ".part" not in str(err)
    else:
        clean = False
    lost = path.read_bytes() != before or len(list(path.parent.iterdir())) != 1
    record(clean=clean, lost=lost)
    assert clean and not lost


def test_flowlab_save_on_a_full_disk(tmp_path, fill_disk):
    """The Neural RG panel's Save: the previous checkpoint still loads after a failed save."""
    path = good_checkpoint(tmp_path / "flow.pt")
    lab = FlowLab()
    lab.load(path)
    fill_disk()
    _failed_save(lab.save, path)
    FlowLab().load(path)


def test_session_save_on_a_full_disk(tmp_path, fill_disk):
    """File > Save session: the previous session still loads after a failed save."""
    path = good_session(tmp_path / "run.npz")
    sim = Simulation.load(path)
    sim.step(2)
    fill_disk()
    _failed_save(sim.save, path)
    assert Simulation.load(path).sweep == 3
