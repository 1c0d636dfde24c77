"""Checkpoints round-trip exactly, never unpickle code, and refuse files that do not fit."""

import pickle

import pytest
import torch

from engine.nrg.checkpoint import (
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
    summary,
)
from engine.nrg.density import FlowDensity
from engine.nrg.flow import HierarchicalFlow
from engine.nrg.targets import PRESETS, make_target

torch.set_num_threads(1)


@pytest.fixture
def saved(tmp_path):
    gen = torch.Generator().manual_seed(0)
    flow = HierarchicalFlow(8, 2, n_couplings=3, hidden=(6, 5))
    with torch.no_grad():
        for p in flow.parameters():
            p.copy_(0.2 * torch.randn(p.shape, generator=gen))
    density = FlowDensity(flow, "u1")
    target = make_target("phi4", 8, **PRESETS["critical"])
    history = {"step": [0.0, 1.0], "loss": [3.0, 2.5]}
    path = save_checkpoint(tmp_path / "phi4.pt", density, target, history, {"seed": 3})
    return path, density, target


def test_round_trip_restores_the_same_density(saved):
    path, density, target = saved
    ckpt = load_checkpoint(path, target="phi4", L=8)
    x = torch.randn(4, 2, 8, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.allclose(ckpt.density.log_prob(x), density.log_prob(x), atol=1e-6)
    assert ckpt.target.params() == target.params() and ckpt.density.symmetry == "u1"
    assert ckpt.history["loss"] == [3.0, 2.5] and ckpt.info["seed"] == 3
    assert summary(ckpt)["final_loss"] == 2.5


def test_load_in_float64(saved):
    ckpt = load_checkpoint(saved[0], dtype=torch.float64)
    x, ln_q = ckpt.density.sample(3, torch.Generator().manual_seed(2))
    assert x.dtype == torch.float64 and torch.isfinite(ln_q).all()


def test_wrong_target_or_size_is_refused(saved):
    with pytest.raises(CheckpointError, match="phi4 target, not ising"):
        load_checkpoint(saved[0], target="ising")
    with pytest.raises(CheckpointError, match="L=8, not L=16"):
        load_checkpoint(saved[0], L=16)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04 broken zip"])
def test_corrupt_files_are_refused(tmp_path, content):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_truncated_file_is_refused(saved, tmp_path):
    data = saved[0].read_bytes()
    path = tmp_path / "cut.pt"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


class Boom:
    def __reduce__(self):
        return (exec, ("open('/tmp/rgviz_pwned', 'w').write('x')",))


def test_arbitrary_objects_are_never_unpickled(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "rgviz-nrg-flow", "version": 1, "payload": Boom()}, path)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    path.write_bytes(pickle.dumps(Boom(), protocol=2))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_other_files_and_versions_are_refused(saved, tmp_path):
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(CheckpointError, match="not an rgviz flow checkpoint"):
        load_checkpoint(other)
    data = torch.load(saved[0], weights_only=True)
    data["version"] = 99
    torch.save(data, other)
    with pytest.raises(CheckpointError, match="version 99"):
        load_checkpoint(other)
    data["version"] = 1
    data["weights"] = {k: v[..., :1] for k, v in data["weights"].items()}
    torch.save(data, other)
    with pytest.raises(CheckpointError, match="inconsistent|needs at least"):
        load_checkpoint(other)
    with pytest.raises(CheckpointError, match="no such"):
        load_checkpoint(tmp_path / "missing.pt")


def test_checkpoint_errors_are_value_errors():
    assert issubclass(CheckpointError, ValueError)


def test_a_lab_flow_goes_through_a_session_file_as_plain_data(saved):
    """FlowLab.state is plain data (numpy weights and history, no pickle) that comes back as the same flow."""
    import numpy as np

    from engine.nrg.lab import FlowLab
    from engine.plain import decode, encode

    lab = FlowLab()
    lab.load(saved[0])
    lab.history["loss"][1] = float("nan")  # a diverged step is recorded as such
    arrays = {}
    doc = encode(lab.state(), arrays, "panels/")
    assert all(isinstance(v, np.ndarray) for v in arrays.values()) and "weights" in doc
    ckpt = FlowLab().read_state(decode(doc, arrays, ()))
    x = torch.randn(4, 2, 8, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(ckpt.density.log_prob(x), lab.density.log_prob(x))
    assert ckpt.history["step"] == [0.0, 1.0] and np.isnan(ckpt.history["loss"][1])
    assert ckpt.target.params() == saved[2].params()


def test_a_session_flow_that_does_not_fit_is_refused(saved):
    from engine.nrg.lab import FlowLab

    lab = FlowLab()
    lab.load(saved[0])
    for change, message in (
            (lambda s: s["weights"].update({k: v.astype("int64") for k, v in s["weights"].items()}), "floats"),
            (lambda s: s.pop("history"), "weights and history"),
            (lambda s: s["target"].update(L=2 ** 20), "not a power of 2 in"),
            (lambda s: s.update(version=99), "version 99")):
        state = lab.state()
        change(state)
        with pytest.raises(CheckpointError, match=message):
            FlowLab().read_state(state)
