"""Checks a run passes before any work starts: numbers in range, memory it will need, paths it will write.

Every failure is a :class:`~engine.errors.ParameterError` naming the parameter, so the CLI answers
with one line and exit status 2 and the GUI can show the same words. Memory estimates count only
what a run must hold at once (lattices, recorded series, stored samples, saved activations); a run
refused here would certainly not fit, a run let through may still need somewhat more.
"""

from __future__ import annotations

import itertools
import math
import os
import tempfile
from pathlib import Path

from .errors import ParameterError


def integer(name: str, value: int, low: int = 0, high: int | None = None) -> int:
    """``value`` if it is an integer in [low, high], else ParameterError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        allowed = f">= {low}" if high is None else f"in {low}..{high}"
        raise ParameterError(name, f"must be an integer {allowed}, got {value!r}")
    return value


def number(name: str, value: float, low: float = -math.inf, high: float = math.inf, *, positive: bool = False) -> float:
    """``value`` if it is finite and in [low, high] (and > 0 when ``positive``), else ParameterError."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not low <= value <= high or (positive and value <= 0):
        parts = ["> 0" if positive else ""] + [f">= {low:g}" if low > -math.inf else "",
                                               f"<= {high:g}" if high < math.inf else ""]
        allowed = " and ".join(p for p in parts if p)
        raise ParameterError(name, f"must be a finite number{' ' + allowed if allowed else ''}, got {value!r}")
    return float(value)


def numbers(name: str, values, **limits) -> None:
    """:func:`number` for each of ``values`` (None or an empty list passes)."""
    for value in values or ():
        number(name, value, **limits)


def on_gpu(device) -> bool:
    """True for a CUDA device (a torch.device or its name), whose memory is the GPU's own."""
    return device is not None and str(device).startswith("cuda")


def available_memory(device=None) -> int | None:
    """Bytes a new allocation can use now, or None where unknown: on a CUDA device the GPU's free memory
    (``torch.cuda.mem_get_info``), elsewhere the machine's (Linux MemAvailable)."""
    if on_gpu(device):
        import torch  # only here: the CLI's argument checks run before torch is imported

        return torch.cuda.mem_get_info(torch.device(device))[0]
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def size_text(n_bytes: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n_bytes < 1000 or unit == "PB":
            return f"{n_bytes:.3g} {unit}"
        n_bytes /= 1000
    raise AssertionError("unreachable")


def memory(name: str, need_bytes: float, what: str, device=None) -> None:
    """ParameterError naming ``name`` when ``what`` needs more memory than ``device`` has available
    (the machine's memory unless ``device`` is a CUDA device, :func:`available_memory`)."""
    have = available_memory(device)
    if have is not None and need_bytes > have:
        where = "GPU memory" if on_gpu(device) else "memory"
        raise ParameterError(name, f"{what} needs at least {size_text(need_bytes)} of {where}; "
                             f"{size_text(have)} is available")


#: Bytes per lattice site a sweep holds at least: the float32 field, its neighbour sum and the uniforms
#: that accept or reject the moves.
SITE_BYTES = 12
#: Bytes per replica and measurement the recorded series hold at least: 12 float64 observables
#: (Ising records 12, XY 17, phi^4 16).
MEASUREMENT_BYTES = 96


def lattice_run(replicas: int, L: int, measurements: int, channels: int = 1, device=None) -> None:
    """:func:`memory` for Monte Carlo of ``replicas`` lattices of L x L recording ``measurements`` each.

    Blames ``L`` when the lattices dominate the estimate, ``sweeps`` when the recorded series do. On a
    GPU the lattices live in its memory and the series in the machine's, so each is checked on its own.
    """
    lattices = replicas * channels * L * L * SITE_BYTES
    series = replicas * measurements * MEASUREMENT_BYTES
    what = f"{replicas} replica(s) of {L} x {L} with {measurements} measurements each"
    if on_gpu(device):
        memory("L", lattices, what, device)
        memory("sweeps", series, what)
    else:
        memory("L" if lattices >= series else "sweeps", lattices + series, what)


def blocked_samples(samples: int, temperatures: int, L: int, site_bytes: int, device=None) -> None:
    """:func:`memory` of an RG flow's recorded samples: every level of every sample is kept (4/3 of a
    lattice) for each temperature, and stacked once more at the end. ``site_bytes``: 1 for Ising spins
    (int8), 4 for XY angles (float32)."""
    memory("samples", 2 * samples * temperatures * L * L * 4 / 3 * site_bytes,
           f"{samples} samples x {temperatures} temperatures of {L} x {L} with their block levels", device)


#: Most samples one neural-RG run (``sample``, ``bulk``) may draw. Measured on one core with the shipped
#: 16 x 16 flows: independent Metropolis 0.65-0.9 ms per sample, physical HMC 0.6 ms, HMC on the latents
#: 26 ms; so 10^7 samples are about 2 hours of work (3 days by latent HMC), and more is not a batch job.
MAX_SAMPLES = 10 ** 7


def sample_count(name: str, n: int, low: int = 1) -> int:
    """``n`` if it is an integer in [low, :data:`MAX_SAMPLES`]; the message says why there is a limit."""
    integer(name, n, low)
    if n > MAX_SAMPLES:
        raise ParameterError(name, f"at most {MAX_SAMPLES} samples per run (already about 2 hours on one core "
                             f"for a 16 x 16 flow), got {n}")
    return n


def flow_samples(name: str, n: int, L: int, channels: int, copies: int, device=None) -> None:
    """Refuse a count beyond :func:`sample_count`, or ``copies`` float32 fields of ``n`` samples that cannot fit."""
    sample_count(name, n)
    memory(name, copies * n * channels * L * L * 4, f"{n} samples of {channels} x {L} x {L}", device)


def least_parameters(levels: int, couplings: int, hidden) -> int:
    """Fewest parameters a hierarchical flow of this shape has: two coupling blocks per level, each of
    ``couplings`` networks holding at least the weights between its hidden layers and their biases."""
    return 2 * levels * couplings * (sum(a * b for a, b in itertools.pairwise(hidden)) + sum(hidden))


def flow_training(L: int, channels: int, levels: int, couplings: int, hidden, batch: int, evals: int,
                  dtype_bytes: int, device=None) -> None:
    """Refuse a flow and batch that cannot fit: weights with gradients and Adam's two moments, and the
    activations one training step keeps for the backward pass (every network's hidden layers, evaluated
    on each 2 x 2 block of every level: about L^2 / 3 blocks per sample over all levels)."""
    weights = 4 * least_parameters(levels, couplings, hidden) * dtype_bytes
    activations = batch * 2 * couplings * sum(hidden) * (L * L // 3 + 1) * channels * dtype_bytes
    what = f"a flow with hidden widths {','.join(map(str, hidden))} on L={L} with batch {batch}"
    memory("hidden" if weights > activations else "batch", weights + activations, what, device)
    memory("eval", evals * channels * L * L * dtype_bytes, f"{evals} evaluation samples of L={L}", device)


def _probe(name: str, folder: Path, shown: str) -> None:
    try:
        fd, probe = tempfile.mkstemp(prefix=".rgviz-probe-", dir=folder)
        os.close(fd)
        os.remove(probe)
    except OSError as err:
        raise ParameterError(name, f"cannot write {shown}: {err.strerror or err}") from None


class Outputs:
    """The output paths of one run, each probed before the run starts.

    Folders created on the way are remembered; :meth:`remove_empty` removes those still empty
    when the run failed or was interrupted, so a failed run leaves no empty ``--out`` behind.
    """

    def __init__(self) -> None:
        self.created: list[Path] = []

    def folder(self, name: str, path: str | os.PathLike, shown: str | None = None) -> Path:
        """Create ``path`` (and missing parents) and prove a file can be made in it."""
        path, shown = Path(path), str(shown or path)
        missing = [p for p in (path, *path.parents) if not p.exists()]
        for p in reversed(missing):
            try:
                p.mkdir()
            except FileExistsError:
                continue
            except OSError as err:
                self.remove_empty()
                raise ParameterError(name, f"cannot create {shown}: {err.strerror or err}") from None
            self.created.append(p)
        if not path.is_dir():
            self.remove_empty()
            detail = "not a folder" if shown == str(path) else f"{path} is not a folder"
            raise ParameterError(name, f"cannot write {shown}: {detail}")
        try:
            _probe(name, path, shown)
        except ParameterError:
            self.remove_empty()
            raise
        return path

    def file(self, name: str, path: str | os.PathLike) -> Path:
        """Prove ``path`` can be written (its folder is created if missing); an existing file is not touched."""
        path = Path(path)
        if path.is_dir():
            raise ParameterError(name, f"cannot write {path}: it is a folder")
        self.folder(name, path.parent if str(path.parent) else Path("."), shown=path)
        return path

    def remove_empty(self) -> None:
        """Remove the folders this run created that are still empty (innermost first)."""
        for p in reversed(self.created):
            try:
                p.rmdir()
            except OSError:
                pass
        self.created.clear()
