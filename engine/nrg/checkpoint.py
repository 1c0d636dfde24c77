"""One versioned file per trained flow: weights, hyperparameters, target and training history.

The file is a ``torch.save`` of plain data only (tensors, dicts, lists, strings, numbers), and
loading uses ``torch.load(weights_only=True)``, which refuses to unpickle anything else: opening a
checkpoint can never run code. Every way a file can be unusable (not a checkpoint, corrupt,
another format version, another target or lattice size than expected) raises
:class:`CheckpointError`, a ValueError, with a message saying which.

Before anything is built the file is read against a schema (:func:`_check_schema`): the lattice
size is at most :data:`MAX_L`, the declared network cannot hold more parameters than the file
stores, every number is finite and every section has the type the loader expects. A file that
declares L = 2^20 or hidden widths of a million is refused instead of being allocated.

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

from ..errors import CheckpointError
from ..io import FORMATS, atomic_write
from ..resources import checkpoint_path, shipped
from ..validate import least_parameters
from .density import PRIORS, SYMMETRIES, FlowDensity
from .flow import BIJECTORS, HierarchicalFlow
from .targets import DATA_TARGETS, TARGETS, make_target

FORMAT = "rgviz-nrg-flow"
VERSION = FORMATS[FORMAT]
#: Largest lattice a checkpoint may declare (and ``train`` builds): one float32 sample of a complex
#: field at L = 1024 is 8 MB, a training batch of 256 of them 2 GB before any activation.
MAX_L = 1024
#: Largest checkpoint file read: the shipped flows are about 1 MB; torch.load holds all of it in memory.
MAX_FILE_BYTES = 2 ** 31
#: Entries of ``training["plan"]`` and what each must be (int >= 0, int >= 1 or a finite float >= 0).
_PLAN = {"start": (int, 0), "steps": (int, 1), "batch": (int, 1), "lr": (float, 0), "clip": (float, 0),
         "mass_covering": (float, 0)}


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


def checkpoint_data(density: FlowDensity, target, history: dict | None = None, info: dict | None = None,
                    training: dict | None = None) -> dict:
    """What a checkpoint holds, as plain data: weights as float32 CPU tensors (copies, whatever the flow
    was trained in), everything else numbers, strings, lists and dicts."""
    data = {
        "format": FORMAT, "version": VERSION,
        "flow": density.flow.hyperparameters(),
        "symmetry": density.symmetry,
        "prior": density.prior,
        "target": {"name": target.name, "L": target.L, "params": dict(target.params())},
        "weights": {k: v.detach().to("cpu", torch.float32).clone() for k, v in density.state_dict().items()},
        "history": {k: [float(x) for x in v] for k, v in (history or {}).items()},
        "info": dict(info or {}),
    }
    if training is not None:
        data["training"] = training
    return data


def save_checkpoint(path: str | Path, density: FlowDensity, target, history: dict | None = None,
                    info: dict | None = None, training: dict | None = None) -> Path:
    """Write a checkpoint (:func:`checkpoint_data`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = checkpoint_data(density, target, history, info, training)
    return atomic_write(path, lambda tmp: torch.save(data, tmp))


def _read(path: Path) -> object:
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file (shipped: {', '.join(shipped())})")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise CheckpointError(f"{path}: {path.stat().st_size} bytes is too large for a flow checkpoint "
                              f"(at most {MAX_FILE_BYTES})")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError,
            AttributeError, TypeError, KeyError, IndexError) as err:  # a legacy-format text file: KeyError
        raise CheckpointError(f"{path}: not a readable rgviz flow checkpoint ({type(err).__name__}: "
                              f"{str(err).splitlines()[0] if str(err) else 'no detail'})") from None
    return data


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _whole(value, low: int, high: int | None = None) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value and (high is None or value <= high)


def _schema_problem(data: dict) -> str | None:
    """What is wrong with a checkpoint's layout, or None; looks at sizes before anything is allocated."""
    tinfo, hp, weights = data.get("target"), data.get("flow"), data.get("weights")
    if not isinstance(tinfo, dict) or tinfo.get("name") not in TARGETS + DATA_TARGETS:
        return f"target must name one of {', '.join(TARGETS + DATA_TARGETS)}"
    L = tinfo.get("L")
    if not _whole(L, 2, MAX_L) or L & (L - 1):
        return f"lattice size L={L!r} is not a power of 2 in 2..{MAX_L}"
    params = tinfo.get("params")
    if not isinstance(params, dict) or not all(isinstance(k, str) and _finite(v) for k, v in params.items()):
        return "target parameters must be finite numbers"
    if not isinstance(hp, dict) or hp.get("L") != L or hp.get("channels") not in (1, 2):
        return "flow hyperparameters do not match the target"
    hidden, levels, couplings = hp.get("hidden"), hp.get("levels"), hp.get("n_couplings")
    if not (_whole(levels, 1, L.bit_length() - 1) and _whole(couplings, 1) and isinstance(hidden, list)
            and hidden and all(_whole(h, 1) for h in hidden)):
        return "flow hyperparameters (levels, n_couplings, hidden) are invalid"
    if hp.get("bijector", "coupling") not in BIJECTORS or not _whole(hp.get("ode_steps", 1), 1, 1000):
        return f"flow bijector must be one of {', '.join(BIJECTORS)} with ode_steps in 1..1000"
    if data.get("symmetry") not in SYMMETRIES:
        return f"symmetry must be one of {', '.join(SYMMETRIES)}"
    if data.get("prior", "normal") not in PRIORS:  # files written before the Laplace prior have a normal one
        return f"prior must be one of {', '.join(PRIORS)}"
    if not isinstance(weights, dict) or not all(isinstance(v, torch.Tensor) and v.is_floating_point()
                                                for v in weights.values()):
        return "weights must be floating-point tensors"
    least = least_parameters(levels, couplings, hidden)
    stored = sum(v.numel() for v in weights.values())
    if least > stored:
        return f"the declared network needs at least {least} parameters, the file stores {stored}"
    history = data.get("history", {})
    if not isinstance(history, dict) or not all(
            isinstance(v, list) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
            for v in history.values()):
        return "history must be lists of numbers"  # NaN allowed: a diverged step's loss is recorded as such
    if not isinstance(data.get("info", {}), dict):
        return "info must be a dictionary"
    return _training_problem(data.get("training"))


def _training_problem(training) -> str | None:
    """What ``train --resume`` could not use in the saved training state, or None."""
    if training is None:
        return None
    plan = training.get("plan") if isinstance(training, dict) else None
    if not isinstance(plan, dict) or not all(
            _whole(plan.get(k), low) if kind is int else _finite(plan.get(k)) and plan.get(k) >= low
            for k, (kind, low) in _PLAN.items()):
        return f"training plan must hold {', '.join(_PLAN)} in range"
    optimizer, generator = training.get("optimizer"), training.get("generator")
    if not isinstance(optimizer, dict) or not isinstance(optimizer.get("param_groups"), list):
        return "training optimizer state is not an optimizer's state"
    if generator is not None and not (isinstance(generator, torch.Tensor) and generator.dtype == torch.uint8):
        return "training generator state is not a generator's state"
    return None


def load_checkpoint(path: str | Path, *, target: str | None = None, L: int | None = None,
                    device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32) -> Checkpoint:
    """Load a checkpoint (a path or a shipped checkpoint's name, :func:`engine.resources.checkpoint_path`);
    ``target`` / ``L`` given means the file must be for that model and size. A flow learnt from data
    (:data:`.targets.DATA_TARGETS`) loads only when its target is named: everything else needs an action."""
    path = checkpoint_path(path)
    return build_checkpoint(_read(path), path, target=target, L=L, device=device, dtype=dtype)


def build_checkpoint(data, path: str | Path, *, target: str | None = None, L: int | None = None,
                     device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32) -> Checkpoint:
    """A :class:`Checkpoint` from what a file holds (or :func:`checkpoint_data` made), checked against the
    schema before anything is built; ``path`` names where it came from in every CheckpointError. ``target``
    and ``L`` as for :func:`load_checkpoint`."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an rgviz flow checkpoint")
    if data.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {data.get('version')!r} is not supported "
                              f"(this rgviz reads version {VERSION})")
    problem = _schema_problem(data)
    if problem is not None:
        raise CheckpointError(f"{path}: {problem}")
    try:
        tinfo = data["target"]
        if tinfo["name"] in DATA_TARGETS and target != tinfo["name"]:
            raise CheckpointError(f"{path}: checkpoint is a flow learnt from {tinfo['name']} (no action to sample "
                                  "or train against); rgviz-batch images and the RG-Flow images panel use it")
        if target is not None and tinfo["name"] != target:
            raise CheckpointError(f"{path}: checkpoint is for the {tinfo['name']} target, not {target}")
        if L is not None and tinfo["L"] != L:
            raise CheckpointError(f"{path}: checkpoint is for L={tinfo['L']}, not L={L}")
        hp = data["flow"]
        flow = HierarchicalFlow(hp["L"], hp["channels"], hp["levels"], hp["n_couplings"], tuple(hp["hidden"]),
                                hp.get("bijector", "coupling"), hp.get("ode_steps", 4))
        density = FlowDensity(flow, data["symmetry"], data.get("prior", "normal"))
        density.load_state_dict(data["weights"])
        tgt = make_target(tinfo["name"], tinfo["L"], **tinfo["params"])
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        detail = str(err).strip().splitlines()  # load_state_dict lists every mismatch, one per line
        raise CheckpointError(f"{path}: inconsistent checkpoint ({type(err).__name__}: "
                              f"{detail[-1].strip() if detail else 'no detail'})") from None
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
            "flow": ckpt.flow.hyperparameters(), "symmetry": ckpt.density.symmetry, "prior": ckpt.density.prior,
            "steps": len(ckpt.history.get("step", [])), "final_loss": losses[-1] if losses else None,
            **ckpt.info}
