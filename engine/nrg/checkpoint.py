"""One versioned file per trained flow: weights, hyperparameters, target and training history.

The file is a ``torch.save`` of plain data only (tensors, dicts, lists, strings, numbers), and
loading uses ``torch.load(weights_only=True)``, which refuses to unpickle anything else: opening a
checkpoint can never run code. Every way a file can be unusable (not a checkpoint, corrupt,
another format version, another target or lattice size than expected) raises
:class:`CheckpointError`, a ValueError, with a message saying which.

A checkpoint written during training also holds ``training``: the optimiser's state, the random
generator's state and the plan (schedule length, learning rate, batch, ...) that
``rgviz-batch train --resume`` needs to continue an interrupted run exactly. Files are written
atomically (:func:`engine.io.atomic_write`), so a run stopped mid-save keeps its last good file.
"""

from __future__ import annotations

import math
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from ..io import FORMATS, atomic_write
from .density import FlowDensity
from .flow import HierarchicalFlow
from .targets import make_target

FORMAT = "rgviz-nrg-flow"
VERSION = FORMATS[FORMAT]


class CheckpointError(ValueError):
    """A checkpoint file cannot be used (corrupt, wrong format, or not the expected model)."""


@dataclass
class Checkpoint:
    """What a checkpoint holds, rebuilt: the density (flow + symmetry), its target and history."""

    density: FlowDensity
    target: object
    history: dict[str, list[float]]
    info: dict
    training: dict | None = None

    @property
    def flow(self) -> HierarchicalFlow:
        return self.density.flow


def save_checkpoint(path: str | Path, density: FlowDensity, target, history: dict | None = None,
                    info: dict | None = None, training: dict | None = None) -> Path:
    """Write a checkpoint (weights stored as float32 on the CPU, whatever they were trained in)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "format": FORMAT, "version": VERSION,
        "flow": density.flow.hyperparameters(),
        "symmetry": density.symmetry,
        "target": {"name": target.name, "L": target.L, "params": dict(target.params())},
        "weights": {k: v.detach().to("cpu", torch.float32).clone() for k, v in density.state_dict().items()},
        "history": {k: [float(x) for x in v] for k, v in (history or {}).items()},
        "info": dict(info or {}),
    }
    if training is not None:
        data["training"] = training
    return atomic_write(path, lambda tmp: torch.save(data, tmp))


def _read(path: Path) -> dict:
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError,
            AttributeError, TypeError) as err:
        raise CheckpointError(f"{path}: not a readable rgviz flow checkpoint ({type(err).__name__}: "
                              f"{str(err).splitlines()[0] if str(err) else 'no detail'})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an rgviz flow checkpoint")
    if data.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {data.get('version')!r} is not supported "
                              f"(this rgviz reads version {VERSION})")
    return data


def load_checkpoint(path: str | Path, *, target: str | None = None, L: int | None = None,
                    device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32) -> Checkpoint:
    """Load a checkpoint; ``target`` / ``L`` given means the file must be for that model and size."""
    path = Path(path)
    data = _read(path)
    try:
        tinfo = data["target"]
        if target is not None and tinfo["name"] != target:
            raise CheckpointError(f"{path}: checkpoint is for the {tinfo['name']} target, not {target}")
        if L is not None and tinfo["L"] != L:
            raise CheckpointError(f"{path}: checkpoint is for L={tinfo['L']}, not L={L}")
        hp = data["flow"]
        flow = HierarchicalFlow(hp["L"], hp["channels"], hp["levels"], hp["n_couplings"], tuple(hp["hidden"]))
        density = FlowDensity(flow, data["symmetry"])
        density.load_state_dict(data["weights"])
        tgt = make_target(tinfo["name"], tinfo["L"], **tinfo["params"])
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path}: inconsistent checkpoint ({type(err).__name__}: {err})") from None
    if tgt.channels != flow.channels or tgt.L != flow.L:
        raise CheckpointError(f"{path}: flow ({flow.channels} channel(s), L={flow.L}) does not fit its target")
    if not all(bool(torch.isfinite(v).all()) for v in data["weights"].values()):
        raise CheckpointError(f"{path}: checkpoint weights are not finite")
    history = {k: [float(x) for x in v] for k, v in data.get("history", {}).items()}
    density = density.to(device=device, dtype=dtype)
    training = data.get("training")
    return Checkpoint(density, tgt, history, dict(data.get("info", {})), training if isinstance(training, dict) else None)


def summary(ckpt: Checkpoint) -> dict:
    """JSON-ready description (for the GUI and ``rgviz-batch``)."""
    losses = [x for x in ckpt.history.get("loss", []) if math.isfinite(x)]
    return {"target": ckpt.target.name, "L": ckpt.target.L, "params": ckpt.target.params(),
            "flow": ckpt.flow.hyperparameters(), "symmetry": ckpt.density.symmetry,
            "steps": len(ckpt.history.get("step", [])), "final_loss": losses[-1] if losses else None,
            **ckpt.info}
