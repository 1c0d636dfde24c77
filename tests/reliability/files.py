"""Bad files, generated: malicious, truncated, foreign, empty, newer-version, wrong-shape and huge-size.

Malicious files carry a pickle whose loading would create ``marker``; a loader that executes it
leaves the marker behind, which the tests count as code executed.
"""

from __future__ import annotations

import json
import pathlib
import pickle
import zipfile
from pathlib import Path

import numpy as np
import torch

from engine.nrg.checkpoint import save_checkpoint
from engine.nrg.density import FlowDensity
from engine.nrg.flow import HierarchicalFlow
from engine.nrg.targets import make_target
from engine.session import Simulation


class Payload:
    """Unpickling this calls ``Path(marker).touch()``: the proof that a loader ran code from a file."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return pathlib.Path.touch, (pathlib.Path(self.marker),)


def good_checkpoint(path: Path, L: int = 4) -> Path:
    """A small, valid Ising flow checkpoint (untrained: loaders only need it well formed)."""
    target = make_target("ising", L, T=2.5)
    density = FlowDensity(HierarchicalFlow(L, 1, n_couplings=2, hidden=(4,)), "z2")
    return save_checkpoint(path, density, target, {"step": [0.0], "loss": [1.0]}, {"source": "test"})


def _edit_checkpoint(src: Path, dst: Path, edit) -> Path:
    data = torch.load(src, weights_only=True)
    edit(data)
    torch.save(data, dst)
    return dst


def _damaged(good: Path, **extra: bytes) -> dict[str, Path]:
    """Byte-level variants of a good file beside it: truncated, empty, foreign text, and ``extra``."""
    raw = good.read_bytes()
    variants = {"truncated": raw[: len(raw) // 2], "empty": b"", "foreign-text": b"just some text\n", **extra}
    files = {}
    for name, data in variants.items():
        files[name] = good.with_name(name + good.suffix)
        files[name].write_bytes(data)
    return files


def bad_checkpoints(folder: Path, marker: Path) -> dict[str, Path]:
    """name -> file; every one must be refused with CheckpointError."""
    good = good_checkpoint(folder / "good.pt")
    files = _damaged(good, **{"malicious-pickle": pickle.dumps(Payload(marker), protocol=2),
                              "foreign-json": json.dumps({"format": "rgviz-nrg-flow", "version": 1}).encode()})
    malicious_torch = folder / "malicious-torch.pt"
    torch.save({"format": "rgviz-nrg-flow", "version": 1, "payload": Payload(marker)}, malicious_torch)
    files["malicious-torch"] = malicious_torch
    foreign_torch = folder / "foreign-torch.pt"
    torch.save({"weights": torch.zeros(3)}, foreign_torch)
    files["foreign-torch"] = foreign_torch
    edits = {
        "newer-version": lambda d: d.update(version=99),
        "wrong-shape": lambda d: d.update(weights={k: v[..., :1] for k, v in d["weights"].items()}),
        "huge-L": lambda d: (d["target"].update(L=2 ** 20), d["flow"].update(L=2 ** 20, levels=20)),
        "huge-hidden": lambda d: d["flow"].update(hidden=[1_000_000, 1_000_000]),
        "nan-weights": lambda d: next(iter(d["weights"].values())).fill_(float("nan")),
        "attribute-name": lambda d: d["target"]["params"].update({"__class__": 1.0}),
        "string-param": lambda d: d["target"]["params"].update(T="2.5"),
        "bad-symmetry": lambda d: d.update(symmetry="so3"),
        "bad-history": lambda d: d.update(history={"loss": "abc"}),
        "bad-training": lambda d: d.update(training={"plan": {"start": 0}, "optimizer": {}}),
        "missing-target": lambda d: d.pop("target"),
    }
    for name, edit in edits.items():
        files[name] = _edit_checkpoint(good, folder / f"{name}.pt", edit)
    return files


def good_session(path: Path) -> Path:
    sim = Simulation("ising", L=4, seed=1, device="cpu")
    sim.step(3)
    return sim.save(path)


def _rewrite_session(src: Path, dst: Path, edit) -> Path:
    with np.load(src, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(str(arrays.pop("meta")))
    edit(meta, arrays)
    np.savez(dst, meta=np.array(json.dumps(meta)), **arrays)
    return dst


def bad_sessions(folder: Path, marker: Path) -> dict[str, Path]:
    """name -> file; every one must be refused with SessionFormatError."""
    good = good_session(folder / "good.npz")
    files = _damaged(good)
    malicious = folder / "malicious.npz"
    with zipfile.ZipFile(malicious, "w") as zf:  # an object array: loading it needs pickle
        obj = np.empty(1, dtype=object)
        obj[0] = Payload(marker)
        with zf.open("lattice.npy", "w") as fh:
            np.lib.format.write_array(fh, obj, allow_pickle=True)
        with zf.open("meta.npy", "w") as fh:
            np.lib.format.write_array(fh, np.array(json.dumps({"format": "rgviz-session", "version": 2})))
    files["malicious-pickle"] = malicious
    foreign = folder / "foreign.npz"
    np.savez(foreign, x=np.zeros(3))
    files["foreign-npz"] = foreign
    bomb = folder / "header-bomb.npz"  # a few hundred bytes whose .npy header declares 4 TB of float32
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in ("meta.npy", "lattice.npy"):
            with zf.open(name, "w") as fh:
                np.lib.format.write_array_header_1_0(fh, {"descr": "<f4", "fortran_order": False, "shape": (10**12,)})
                fh.write(bytes(64))
    files["header-bomb"] = bomb

    def sampler_key(meta, arrays):
        meta["sampler"]["model.__class__.measure"] = 1

    def series_replicas(meta, arrays):
        arrays["series/energy"] = np.zeros((3, 5))

    edits = {
        "newer-version": lambda m, a: m.update(version=99),
        "wrong-shape": lambda m, a: a.update(lattice=np.ones((1, 5, 4), np.float32)),
        "huge-L": lambda m, a: m.update(L=2 ** 20),
        "nan-lattice": lambda m, a: a.update(lattice=np.full((1, 4, 4), np.nan, np.float32)),
        "ising-spin-7": lambda m, a: a.update(lattice=np.full((1, 4, 4), 7, np.float32)),
        "attribute-key": sampler_key,
        "wrong-replicas": series_replicas,
        "unknown-model": lambda m, a: m.update(model="os.system"),
        "negative-sweep": lambda m, a: m.update(sweep=-5),
    }
    for name, edit in edits.items():
        files[name] = _rewrite_session(good, folder / f"{name}.npz", edit)
    return files
