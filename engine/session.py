"""One simulation's full state, driven the same way by the GUI worker and the batch CLI.

A :class:`Simulation` owns the model (B replicas with per-replica parameters), the sampler, the
torch generator, the lattice, the sweep count and the per-replica time series of every observable
the model measures (plus the sampler's acceptance or cluster size, the two Fourier moments behind
the second-moment correlation length, and for XY the vortex density and helicity modulus).

Snapshots and saved states are plain numpy and JSON. A saved state holds everything that affects
the future of the chain, the generator state and the sampler's tuned quantities included, so
that a run continued from a file is bit-identical to one that never stopped (on the same
device type and torch build). Loading trusts nothing in the file: the lattice is checked by its
model (shape, dtype, values), the sampler's state by the sampler's declared ``state_spec``
(nothing read becomes an attribute name), the series by shape; any mismatch is a
:class:`SessionFormatError` and no simulation is built.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import re
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import plain
from .device import make_generator, resolve_device
from .errors import ParameterError, SessionFormatError
from .io import FORMATS, write_npz
from .measure import correlation, stats, vortices
from .models.base import LatticeModel
from .models.ising import IsingModel
from .models.phi4 import Phi4Model
from .models.xy import XYModel
from .progress import Progress
from .samplers import make_sampler, run_sweeps
from .validate import available_memory, size_text

FORMAT = "rgviz-session"
#: The panels' results in a session file: a JSON document (version 1) and its arrays, named ``panels/<n>``.
PANELS_FORMAT, PANELS_VERSION, PANEL_ARRAYS = "rgviz-panels", 1, "panels/"
VERSION = FORMATS[FORMAT]  # 2: the sampler's explicit state (1: its attributes, still read)
MODELS: dict[str, type[LatticeModel]] = {"ising": IsingModel, "xy": XYModel, "phi4": Phi4Model}
#: Components of each model's order parameter (for the Binder cumulant's normalisation).
COMPONENTS = {"ising": 1, "xy": 2, "phi4": 2}
STARTS = ("hot", "cold")
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def model_options(model: str) -> tuple[str, ...]:
    """The keyword arguments a model accepts besides L, device and dtype (parameters and options)."""
    signature = inspect.signature(MODELS[model].__init__)
    return tuple(name for name, p in signature.parameters.items()
                 if p.kind is p.KEYWORD_ONLY and name not in ("device", "dtype"))


class _SeriesBuffer:
    """Growable time series ``{name: [n, ...] float64}``; keys may appear later (NaN before)."""

    def __init__(self):
        self.n = 0
        self._data: dict[str, np.ndarray] = {}

    def append(self, block: dict[str, np.ndarray]) -> None:
        k = len(next(iter(block.values())))
        capacity = len(next(iter(self._data.values()))) if self._data else 0
        if self.n + k > capacity:
            capacity = max(2 * capacity, self.n + k, 256)
            for name, arr in self._data.items():
                grown = np.full((capacity,) + arr.shape[1:], np.nan, dtype=arr.dtype)
                grown[: self.n] = arr[: self.n]
                self._data[name] = grown
        for name, values in block.items():
            if name not in self._data:
                shape = (capacity,) + np.shape(values)[1:]
                self._data[name] = np.full(shape, np.nan, dtype=np.asarray(values).dtype)
            self._data[name][self.n : self.n + k] = values
        for name in self._data.keys() - block.keys():
            self._data[name][self.n : self.n + k] = np.nan
        self.n += k

    def view(self, start: int = 0) -> dict[str, np.ndarray]:
        """Copies of the rows ``start:n``."""
        return {name: arr[start : self.n].copy() for name, arr in self._data.items()}


# --- reading version-1 files, whose sampler state was a dump of attributes ---------------------

#: version 1 key -> today's name; keys of constructor options (always the defaults in a session)
#: and of derived work space map to None and are dropped. Any other key is refused.
_V1_SAMPLER_KEYS = {
    "step._done": "step.done", "_params_seen": "params_seen", "_calibrating": "calibrating",
    "_size_sum": "size_sum", "_flip_sum": "flip_sum", "_flips": "flips",
    **dict.fromkeys(("rule", "fixed", "calibration_sweeps", "max_flips", "max_moves", "n_steps", "n_over",
                     "step.adaptive", "step.target", "step.max_width", "step.adapt_sweeps", "masks",
                     "heatbath.masks", "heatbath.stats{}acceptance")),
}


def _v1_sampler_state(state: dict[str, Any]) -> dict[str, Any]:
    """A version-1 sampler state under today's names (``stats{}x`` is ``stats.x``)."""
    out = {}
    for key, value in state.items():
        new = key.replace("stats{}", "stats.", 1) if key.startswith("stats{}") else _V1_SAMPLER_KEYS.get(key, key)
        if new is not None:
            out[new] = value
    return out


_SERIES_NAME = re.compile(r"[A-Za-z0-9_]+")


def _check_series(series: dict[str, np.ndarray], B: int) -> None:
    """Every series ``[n, B]`` floating point (``sweep``: ``[n]``), all of one length n."""
    lengths = set()
    for name, values in series.items():
        want = 1 if name == "sweep" else 2
        if (not _SERIES_NAME.fullmatch(name) or values.dtype.kind != "f" or values.ndim != want
                or (want == 2 and values.shape[1] != B)):
            raise SessionFormatError(f"series {name!r} is {values.dtype} {list(values.shape)}, expected "
                                     f"floating point [n{', ' + str(B) if want == 2 else ''}]")
        lengths.add(len(values))
    if len(lengths) > 1:
        raise SessionFormatError(f"series have different lengths {sorted(lengths)}")


# --- the session ---------------------------------------------------------------------------

class Simulation:
    """One Monte Carlo simulation of B replicas: step it, read its series, save and restore it.

    ``params`` are the model's parameters (scalars, or one value per replica: a list of T is a
    temperature scan in one batch) and its construction options (Ising: ``bond_disorder``,
    ``disorder_seed``).
    """

    def __init__(self, model: str = "ising", L: int = 64, algorithm: str | None = None, seed: int = 0,
                 device: str | torch.device = "auto", start: str = "hot", dtype: torch.dtype = torch.float32,
                 **params: Any):
        if model not in MODELS:
            raise ParameterError("model", f"unknown model {model!r}; allowed: {', '.join(MODELS)}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ParameterError("seed", f"must be an integer >= 0, got {seed!r}")
        if dtype not in _DTYPES.values():
            raise ParameterError("dtype", f"must be torch.float32 or torch.float64, got {dtype!r}")
        self.model_name = model
        self.seed = seed
        self.device = resolve_device(device)
        allowed = model_options(model)
        unknown = sorted(set(params) - set(allowed))
        if unknown:
            raise ParameterError(unknown[0], f"not a parameter of the {model} model; allowed: {', '.join(allowed)}")
        self.model: LatticeModel = MODELS[model](L, device=self.device, dtype=dtype, **params)
        self.set_algorithm(self.model.algorithms[0] if algorithm is None else algorithm)
        self.gen = make_generator(seed, self.device)
        self.timing = {"sweeps_per_s": 0.0, "flips_per_s": 0.0}
        self.start = start
        self.reset()

    # --- properties ------------------------------------------------------------------------
    @property
    def L(self) -> int:
        return self.model.L

    @property
    def B(self) -> int:
        return self.model.B

    @property
    def temperatures(self) -> np.ndarray:
        """Per-replica T, ``[B]``; 1 for phi^4, whose weight exp(-S) has no temperature."""
        if "T" in self.model.param_names:
            return self.model.param("T").double().cpu().numpy()
        return np.ones(self.B)

    # --- control ---------------------------------------------------------------------------
    def set_params(self, **params: Any) -> None:
        """Change model parameters (validated now, used from the next sweep on).

        Estimates then start afresh: samples taken at the old parameters describe another
        ensemble. The series keep everything, with the parameters recorded per sample.
        """
        self.model.set_params(**params)
        self._segment_start = self._series.n

    def set_algorithm(self, name: str) -> None:
        """Switch the update algorithm; the lattice and the series continue (same ensemble)."""
        self.sampler = make_sampler(self.model, name)
        self.algorithm = name

    def reset(self, start: str | None = None) -> None:
        """A new hot or cold lattice (default: the last start), sweep 0, empty series.

        The generator continues, so a reset run is a fresh, independent chain.
        """
        start = self.start if start is None else start
        if start not in STARTS:
            raise ParameterError("start", f"must be one of {', '.join(STARTS)}, got {start!r}")
        self.start = start
        self.state = self.model.hot_state(self.gen) if start == "hot" else self.model.cold_state()
        self.sweep = 0
        self._series = _SeriesBuffer()
        self._segment_start = 0

    def thermalize(self, n_sweeps: int, progress: Progress | None = None) -> None:
        """``n_sweeps`` sweeps without recording (they do count in ``sweep``)."""
        self._run(n_sweeps, 0, progress)

    def step(self, n_sweeps: int = 1, measure_every: int = 1, progress: Progress | None = None) -> None:
        """``n_sweeps`` sweeps, measuring after every ``measure_every``-th."""
        if isinstance(measure_every, bool) or not isinstance(measure_every, int) or measure_every < 1:
            raise ParameterError("measure_every", f"must be an integer >= 1, got {measure_every!r}")
        self._run(n_sweeps, measure_every, progress)

    def _run(self, n_sweeps: int, measure_every: int, progress: Progress | None) -> None:
        if isinstance(n_sweeps, bool) or not isinstance(n_sweeps, int) or n_sweeps < 0:
            raise ParameterError("n_sweeps", f"must be an integer >= 0, got {n_sweeps!r}")
        report_every = max(1, n_sweeps // 100)
        records: list[dict[str, torch.Tensor]] = []
        measured_at: list[int] = []
        t0 = time.perf_counter()
        k = 0
        while k < n_sweeps:
            # one call up to the next measurement, progress report or the end
            stop = n_sweeps
            for every in (measure_every, report_every if progress is not None else 0):
                if every:
                    stop = min(stop, (k // every + 1) * every)
            self.state = run_sweeps(self.sampler, self.state, self.gen, stop - k)
            self.sweep += stop - k
            k = stop
            if measure_every and k % measure_every == 0:
                records.append(self._measure())
                measured_at.append(self.sweep)
            if progress is not None and (k % report_every == 0 or k == n_sweeps):
                progress(k, n_sweeps)
        if records:
            block = {name: torch.stack([r[name] for r in records]).double().cpu().numpy() for name in records[0]}
            block["sweep"] = np.array(measured_at, dtype=np.float64)
            self._series.append(block)
        elif self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        elapsed = time.perf_counter() - t0
        if n_sweeps and elapsed > 0:
            rate = n_sweeps / elapsed
            self.timing = {"sweeps_per_s": rate, "flips_per_s": rate * self.model.N * self.B}

    def _measure(self) -> dict[str, torch.Tensor]:
        """All per-replica observables of the current lattice, each ``[B]``."""
        model, state = self.model, self.state
        out = dict(model.measure(state))
        for name, value in self.sampler.stats.items():
            out[name] = value
        field = correlation.angles_to_vectors(state) if self.model_name == "xy" else state
        out["s_k0"], out["s_kmin"] = correlation.fourier_moments(field)
        if self.model_name == "xy":
            out["vortex_density"] = vortices.vortex_density(state)
            out["helicity"] = vortices.helicity_modulus(state, model.param("T"), model.param("J"))
        for name in model.param_names:
            out[name] = model.param(name)
        return out

    # --- results ---------------------------------------------------------------------------
    def series(self, start: int = 0) -> dict[str, np.ndarray]:
        """Copies of the time series from sample ``start`` on: ``{name: [n, B]}``, ``"sweep"``: ``[n]``."""
        out = self._series.view(start)
        if "sweep" in out:
            out["sweep"] = out["sweep"].astype(np.int64)
        return out

    def estimates(self, start: int | None = None, discard: float = 0.0) -> dict[str, stats.Estimate]:
        """Per-replica estimates (each field ``[B]``) from the samples since the last parameter change.

        ``start`` overrides the first sample; ``discard`` drops that fraction of the samples
        first (equilibration). Keys: energy and specific_heat (per site), abs_magnetization,
        susceptibility, binder (see :mod:`engine.measure.stats`), correlation_length (second
        moment), the sampler's acceptance or cluster_size, and for XY vortex_density and
        helicity_modulus.
        """
        if not 0.0 <= discard < 1.0:
            raise ParameterError("discard", f"must be in [0, 1), got {discard!r}")
        first = self._segment_start if start is None else start
        n = self._series.n - first
        data = self._series.view(first + int(discard * n))
        if not data or len(data["energy"]) == 0:
            return {}
        out = stats.thermodynamics(data, self.model.N, self.temperatures, COMPONENTS[self.model_name])
        L = self.L
        out["correlation_length"] = stats.jackknife(
            lambda s0, sk: correlation.xi_second_moment(s0.mean(axis=0), sk.mean(axis=0), L),
            data["s_k0"], data["s_kmin"])
        for name, key in (("acceptance", "acceptance"), ("cluster_size", "cluster_size"),
                          ("vortex_density", "vortex_density"), ("helicity_modulus", "helicity")):
            if key in data and not np.all(np.isnan(data[key])):
                out[name] = stats.estimate(data[key])
        return out

    def snapshot(self, replica: int = 0, tail: int = 2000) -> dict[str, Any]:
        """Plain-data picture of one replica for the GUI: lattice, last ``tail`` samples, stats, timing."""
        if isinstance(replica, bool) or not isinstance(replica, int) or not 0 <= replica < self.B:
            raise ParameterError("replica", f"must be an integer in [0, {self.B}), got {replica!r}")
        start = max(0, self._series.n - tail)
        series = {k: (v if k == "sweep" else v[:, replica]) for k, v in self.series(start).items()}
        snap = {
            "model": self.model_name,
            "algorithm": self.algorithm,
            "sweep": self.sweep,
            "lattice": self.state[replica].detach().cpu().numpy().copy(),
            "series": series,
            "params": {k: v[replica] if len(v) == self.B else v[0] for k, v in self.model.params_dict().items()},
            "stats": {k: float(v[replica]) for k, v in self.sampler.stats.items()},
            "timing": dict(self.timing),
        }
        if self.model_name == "xy":
            snap["vortices"] = vortices.vortex_positions(vortices.vortex_map(self.state[replica : replica + 1]))
        return snap

    # --- persistence -----------------------------------------------------------------------
    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """``(meta, arrays)``: JSON-able metadata and numpy arrays that :meth:`from_state` restores."""
        params = self.model.params_dict()
        sampler = self.sampler.state_dict()
        arrays = {
            "lattice": self.state.detach().cpu().numpy(),
            "rng_state": self.gen.get_state().cpu().numpy(),
        }
        sampler_meta = {}
        for key, value in sampler.items():
            if isinstance(value, torch.Tensor):
                arrays[f"sampler/{key}"] = value.detach().cpu().numpy()
            else:
                sampler_meta[key] = value
        arrays.update({f"series/{k}": v for k, v in self._series.view().items()})
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "model": self.model_name,
            "L": self.L,
            "algorithm": self.algorithm,
            "seed": self.seed,
            "device": self.device.type,
            "dtype": str(self.model.dtype).removeprefix("torch."),
            "start": self.start,
            "sweep": self.sweep,
            "segment_start": self._segment_start,
            "params": {k: params[k] for k in self.model.param_names},
            "options": {k: v[0] for k, v in params.items() if k not in self.model.param_names},
            "sampler": sampler_meta,
        }
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray],
                   device: str | torch.device | None = None) -> Simulation:
        """Rebuild a simulation saved by :meth:`to_state`.

        On the saved device type the continuation is bit-identical. ``device`` may move it to
        another device type; the generator then restarts from (seed, sweep) instead.
        """
        _check_meta(meta)
        try:
            lattice = np.asarray(arrays["lattice"])
            if lattice.ndim < 3 or lattice.shape[-2:] != (meta["L"], meta["L"]):
                raise SessionFormatError(f"lattice of shape {list(lattice.shape)} does not fit L = {meta['L']!r}")
            sim = cls(meta["model"], meta["L"], meta["algorithm"], seed=meta["seed"],
                      device=meta["device"] if device is None else device, start=meta["start"],
                      dtype=_DTYPES[meta["dtype"]], **meta["params"], **meta["options"])
            state = torch.from_numpy(lattice.copy())
            try:
                sim.model.check_state(state)
            except ValueError as err:
                raise SessionFormatError(str(err)) from None
            sim.state = state.to(sim.device)
            if sim.device.type == meta["device"]:
                sim.gen.set_state(torch.from_numpy(np.array(arrays["rng_state"], dtype=np.uint8)))
            else:
                sim.gen.manual_seed(meta["seed"] * 1_000_003 + meta["sweep"])
            sampler_state = dict(meta["sampler"])
            sampler_state.update({k.removeprefix("sampler/"): np.array(v) for k, v in arrays.items()
                                  if k.startswith("sampler/")})
            if meta["version"] == 1:
                sampler_state = _v1_sampler_state(sampler_state)
            try:
                sim.sampler.load_state_dict(sampler_state)
            except ValueError as err:
                raise SessionFormatError(str(err)) from None
            series = {k.removeprefix("series/"): np.array(v) for k, v in arrays.items() if k.startswith("series/")}
            _check_series(series, sim.B)
            if series:
                sim._series.append(series)
            sim.sweep, sim._segment_start = _count(meta, "sweep"), _count(meta, "segment_start", sim._series.n)
        except SessionFormatError:
            raise
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as err:
            raise SessionFormatError(f"session state is inconsistent or corrupt: {err}") from err
        return sim

    def save(self, path: str | os.PathLike, panels: dict[str, dict] | None = None) -> Path:
        """Write one ``.npz`` atomically (:func:`engine.io.atomic_write`); WriteError if it cannot.

        ``panels``: what the application's panels made (results as :mod:`engine.plain` data, by panel),
        stored beside the simulation and read back by :func:`read_panels`."""
        meta, arrays = self.to_state()
        if panels:
            panel_arrays: dict[str, np.ndarray] = {}
            doc = {"format": PANELS_FORMAT, "version": PANELS_VERSION,
                   "panels": {key: plain.encode(state, panel_arrays, PANEL_ARRAYS) for key, state in panels.items()}}
            arrays.update({"panels": np.array(json.dumps(doc)), **panel_arrays})
        return write_npz(path, {"meta": np.array(json.dumps(meta)), **arrays}, compress=False)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | torch.device | None = None) -> Simulation:
        """Read a file written by :meth:`save` (no pickle); SessionFormatError if it is not one (its
        arrays' unpacked size is checked against the memory available before any is read)."""
        try:
            _check_unpacked(path)
            with np.load(path, allow_pickle=False) as npz:  # the panels' part is read_panels'
                arrays = {k: npz[k] for k in npz.files if k != "panels" and not k.startswith(PANEL_ARRAYS)}
            meta = json.loads(str(arrays.pop("meta")))
        except (FileNotFoundError, SessionFormatError):
            raise
        except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as err:
            raise SessionFormatError(f"{path}: not a readable rgviz session file ({err})") from err
        try:
            return cls.from_state(meta, arrays, device)
        except SessionFormatError as err:
            raise SessionFormatError(f"{path}: {err}") from err


_NPY_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def _declared_size(path: str | os.PathLike) -> int:
    """Bytes the arrays of an ``.npz`` take once read, from what the file declares (nothing is unpacked):
    each member's size in the zip directory, or the shape and dtype in its ``.npy`` header if larger
    (numpy allocates the array its header declares before it reads the data, so a header of a few
    bytes can ask for terabytes)."""
    total = 0
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            with archive.open(member) as fh:
                version = np.lib.format.read_magic(fh)
                if version not in _NPY_HEADERS:
                    raise ValueError(f"{member.filename}: .npy format version {version} is not one rgviz writes")
                shape, _, dtype = _NPY_HEADERS[version](fh)
            total += max(member.file_size, math.prod(shape) * dtype.itemsize)
    return total


def read_panels(path: str | os.PathLike, keys: Iterable[str], types: Iterable[type]) -> dict[str, dict]:
    """The panels' part of a session file (empty when it has none), checked against its schema: panels
    among ``keys``, each a mapping, results built only as dataclasses of ``types``
    (:func:`engine.plain.decode`); SessionFormatError (one line) otherwise."""
    try:
        _check_unpacked(path)
        with np.load(path, allow_pickle=False) as npz:
            if "panels" not in npz.files:
                return {}
            doc = json.loads(str(npz["panels"]))
            arrays = {k: npz[k] for k in npz.files if k.startswith(PANEL_ARRAYS)}
    except (FileNotFoundError, SessionFormatError):
        raise
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as err:
        raise SessionFormatError(f"{path}: not a readable rgviz session file ({err})") from err
    if not isinstance(doc, dict) or doc.get("format") != PANELS_FORMAT or not isinstance(doc.get("panels"), dict):
        raise SessionFormatError(f"{path}: the panels' section is not an {PANELS_FORMAT} document")
    version = doc.get("version")
    if not isinstance(version, int) or not 1 <= version <= PANELS_VERSION:
        raise SessionFormatError(f"{path}: panels' section of version {version!r}; this rgviz reads up to "
                                 f"version {PANELS_VERSION}")
    unknown = sorted(set(doc["panels"]) - set(keys))
    if unknown:
        raise SessionFormatError(f"{path}: results of panels this window does not have: {', '.join(map(str, unknown))}")
    panels = {}
    for key, state in doc["panels"].items():
        if not isinstance(state, dict):
            raise SessionFormatError(f"{path}: panels.{key} must be a mapping")
        try:
            panels[key] = plain.decode(state, arrays, types, f"panels.{key}")
        except SessionFormatError as err:
            raise SessionFormatError(f"{path}: {err}") from None
    return panels


def _check_unpacked(path: str | os.PathLike) -> None:
    """SessionFormatError before anything is read when the arrays unpack to more than the memory available
    (a small compressed file can unpack to gigabytes,
    and a few bytes of .npy header can declare terabytes)."""
    unpacked = _declared_size(path)
    have = available_memory()
    if have is not None and unpacked > have:
        raise SessionFormatError(f"{path}: its arrays unpack to {size_text(unpacked)}; "
                                 f"{size_text(have)} of memory is available")


def _count(meta: dict[str, Any], key: str, high: float = math.inf) -> int:
    value = meta[key]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        raise SessionFormatError(f"{key} must be an integer in [0, {high:g}], got {value!r}")
    return value


def _check_meta(meta: Any) -> None:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise SessionFormatError(f"not an {FORMAT} file")
    version = meta.get("version")
    if not isinstance(version, int) or version < 1:
        raise SessionFormatError(f"invalid format version {version!r}")
    if version > VERSION:
        raise SessionFormatError(f"written by a newer rgviz (format version {version}); "
                                 f"this one reads up to version {VERSION}")
