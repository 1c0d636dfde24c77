"""Every bad file through the loaders the GUI calls: ``FlowLab.load``, ``load_checkpoint``, ``Simulation.load``.

A refused file raises the loader's documented error (a ValueError with a one-line message naming the
file), runs nothing from the file and leaves the state that was there before untouched.
"""

from __future__ import annotations

import numpy as np
import pytest
from campaign import record
from files import bad_checkpoints, bad_sessions, good_checkpoint

from engine.errors import ParameterError
from engine.nrg.checkpoint import CheckpointError, load_checkpoint
from engine.nrg.lab import FlowLab
from engine.session import SessionFormatError, Simulation

CHECKPOINTS = ["malicious-pickle", "malicious-torch", "truncated", "empty", "foreign-text", "foreign-json",
               "foreign-torch", "newer-version", "wrong-shape", "huge-L", "huge-hidden", "nan-weights",
               "attribute-name", "string-param", "bad-symmetry", "bad-history", "bad-training", "missing-target"]
SESSIONS = ["truncated", "empty", "foreign-text", "malicious-pickle", "foreign-npz", "newer-version", "wrong-shape",
            "huge-L", "nan-lattice", "ising-spin-7", "attribute-key", "wrong-replicas", "unknown-model",
            "negative-sweep", "header-bomb"]


@pytest.fixture(scope="module")
def checkpoint_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ckpt")
    return bad_checkpoints(folder, folder / "EXECUTED"), folder / "EXECUTED"


@pytest.fixture(scope="module")
def session_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sessions")
    return bad_sessions(folder, folder / "EXECUTED"), folder / "EXECUTED"


def attempt(load, error: type[Exception], marker) -> None:
    """Run ``load``; record and assert a clean refusal of type ``error`` and no planted code run."""
    try:
        load()
    except error as err:
        message = str(err)
        clean = bool(message) and "\n" not in message
        record(clean=clean, executed=marker.exists())
        assert clean, message
    except Exception as err:  # noqa: BLE001 - the campaign counts anything else as a traceback
        record(clean=False, traceback=True, executed=marker.exists())
        raise AssertionError(f"{type(err).__name__} escaped: {err}") from err
    else:
        record(clean=False, executed=marker.exists())
        raise AssertionError("a bad file was accepted")
    assert not marker.exists()


@pytest.mark.parametrize("name", CHECKPOINTS)
def test_load_checkpoint_refuses(checkpoint_files, name):
    files, marker = checkpoint_files
    attempt(lambda: load_checkpoint(files[name]), CheckpointError, marker)


@pytest.mark.parametrize("name", CHECKPOINTS)
def test_flowlab_keeps_its_flow(checkpoint_files, tmp_path, name):
    files, marker = checkpoint_files
    lab = FlowLab()
    lab.load(good_checkpoint(tmp_path / "current.pt"))
    before = {k: v.clone() for k, v in lab.density.state_dict().items()}
    attempt(lambda: lab.load(files[name]), CheckpointError, marker)
    after = lab.density.state_dict()
    assert lab.target.L == 4 and all(bool((after[k] == v).all()) for k, v in before.items())


@pytest.mark.parametrize("name", SESSIONS)
def test_simulation_load_refuses_and_running_simulation_survives(session_files, name):
    files, marker = session_files
    running = Simulation("ising", L=4, seed=2, device="cpu")
    running.step(2)
    lattice = running.state.clone()
    attempt(lambda: Simulation.load(files[name]), SessionFormatError, marker)
    assert bool((running.state == lattice).all())
    running.step(2)  # still runs; and a new Ising simulation still works (no class attribute was set)
    fresh = Simulation("ising", L=4, seed=3, device="cpu")
    fresh.step(2)
    assert np.isfinite(fresh.series()["energy"]).all()



PHI4 = {"t": 0.44, "mu": -2.0, "lam": 1.0}


def test_flowlab_refuses_a_flow_too_wide_to_fit_before_allocating():
    """The GUI builds flows through FlowLab: the same memory refusal as ``train``, before any allocation."""
    lab = FlowLab()
    with pytest.raises(ParameterError, match="needs at least .* of memory"):
        lab.new_flow("phi4", 8, PHI4, 10, (1_000_000, 1_000_000))
    assert lab.density is None


def test_flowlab_refuses_a_batch_too_large_to_train():
    lab = FlowLab()
    lab.new_flow("phi4", 8, PHI4, 2, (10, 10, 10))
    with pytest.raises(ParameterError, match="batch"):
        lab.train(1, 10**12, 1e-3, 0)
    assert lab.history["step"] == []


def test_a_session_that_unpacks_past_the_memory_available_is_refused_before_reading(tmp_path, monkeypatch):
    """A zip member's declared size is checked before numpy unpacks anything (a small file can unpack to GB)."""
    import engine.session as session

    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, meta=np.array("{}"), lattice=np.zeros((1, 1024, 1024), np.float32))  # 4 MB unpacked
    monkeypatch.setattr(session, "available_memory", lambda: 1_000_000)
    read = []
    monkeypatch.setattr(session.np, "load", lambda *a, **k: read.append(a))
    with pytest.raises(SessionFormatError, match="unpack to 4.* MB; 1.* MB of memory is available"):
        Simulation.load(path)
    assert read == [] and path.stat().st_size < 50_000
