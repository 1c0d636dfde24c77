"""Writing files so that a failure never harms what was there before; the format version of each kind of file.

:func:`atomic_write` writes next to the target under a hidden temporary name, flushes it to disk
and moves it into place with ``os.replace`` only when complete. A full disk, an unwritable folder
or an exception in the writer raises :class:`WriteError` (an ``OSError`` whose message is one line
for the user), removes the temporary file and leaves any existing file untouched. The file gets
the permissions the user's umask gives a new file (``mkstemp`` alone would leave it 0600).

A save killed outright (SIGKILL, power loss) cannot remove its temporary file. The temporary
name carries the writer's process id, so the next save to the same target removes the temporary
files of processes that no longer run (and, where process ids cannot be checked, those untouched
for a day); a save in progress in another live process is left alone.

Every file rgviz writes for reading back or for other programs carries its kind and a format
version (:data:`FORMATS`, :func:`stamp`): a JSON document as two top-level keys, an ``.npz`` as
a ``format`` array holding that JSON. Loaders compare the version with theirs and refuse newer files.
"""

from __future__ import annotations

import csv
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

TEMP_SUFFIX = ".part"
#: A temporary file untouched this long is stale even where process ids cannot be checked.
STALE_AFTER_S = 24 * 3600.0

#: Format version of each kind of file; raise one when its layout changes incompatibly.
FORMATS = {
    "rgviz-session": 2,      # Simulation.save, simulate --out
    "rgviz-nrg-flow": 1,     # neural-RG checkpoints
    "rgviz-export": 1,       # File > Export data (NPZ, and the JSON beside a CSV)
    "rgviz-sweep": 1,        # sweep: estimates.json, results.npz
    "rgviz-rgflow": 1,       # rgflow: rgflow.json
    "rgviz-figure": 1,       # *.figure.json
    "rgviz-bulk": 1,         # bulk: bulk.json, correlations.npz; the Bulk panel's data export
    "rgviz-dynamics": 1,     # dynamics: dynamics.json
    "rgviz-deepnets": 1,     # deepnets: deepnets.json, deepnets.npz
    "rgviz-soc": 1,          # soc: soc.json, avalanches.npz
    "rgviz-images": 1,       # images evaluate / receptive / cone: *.json, *.npz
}


class WriteError(OSError):
    """A file could not be written; ``str(err)`` is a message for the user."""


def stamp(kind: str) -> dict[str, str | int]:
    """``{"format": kind, "version": FORMATS[kind]}``, the first keys of a file of that kind."""
    return {"format": kind, "version": FORMATS[kind]}


def npz_stamp(kind: str) -> dict[str, np.ndarray]:
    """The stamp as an ``.npz`` member: ``{"format": array('{"format": ..., "version": ...}')}``."""
    return {"format": np.array(json.dumps(stamp(kind)))}


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _remove_quietly(path: str | os.PathLike) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def _process_alive(pid: int) -> bool:
    if os.name != "posix":
        return True  # no cheap, harmless check elsewhere (os.kill(pid, 0) would end the process on Windows)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def remove_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary files that earlier, killed saves to ``path`` left behind; returns them."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    pattern = re.compile(rf"\.{re.escape(path.name)}\.(\d+)-[A-Za-z0-9_]+{re.escape(TEMP_SUFFIX)}(\.\w+)?")
    removed = []
    try:
        candidates = list(folder.iterdir())
    except OSError:
        return removed
    now = time.time()
    for candidate in candidates:
        match = pattern.fullmatch(candidate.name)
        if match is None:
            continue
        try:
            stale = not _process_alive(int(match.group(1))) or now - candidate.stat().st_mtime > STALE_AFTER_S
        except OSError:
            continue
        if stale:
            _remove_quietly(candidate)
            removed.append(candidate)
    return removed


def open_temp(path: str | os.PathLike, suffix: str = "") -> str:
    """A new empty temporary file next to ``path`` (umask permissions), for :func:`commit` or :func:`discard`.

    For writers that produce a file over time (a movie); one-shot writers use :func:`atomic_write`.
    ``suffix`` goes after ``.part``, for libraries that choose the format by the file name (ffmpeg).
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    remove_stale_temps(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-", suffix=TEMP_SUFFIX + suffix,
                                   dir=folder)
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_umask())
    except OSError as err:
        raise WriteError(f"Cannot write {path}: {err.strerror or err}") from err
    return tmp


@contextmanager
def _discard_on_failure(tmp: str, path: Path) -> Iterator[None]:
    """Any exception inside removes ``tmp``; an OSError comes out as a one-line WriteError naming ``path``."""
    try:
        yield
    except BaseException as err:
        discard(tmp)
        if isinstance(err, OSError) and not isinstance(err, WriteError):
            raise WriteError(f"Cannot write {path}: {err.strerror or err}") from err
        raise


def commit(tmp: str, path: str | os.PathLike) -> Path:
    """Flush the finished temporary file to disk and move it onto ``path``; on failure remove it."""
    path = Path(path)
    with _discard_on_failure(tmp, path):
        if os.path.getsize(tmp) == 0:
            raise WriteError(f"Cannot write {path}: nothing was written (disk full?)")
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    return path


def discard(tmp: str) -> None:
    """Remove an unfinished temporary file (no error if it is gone)."""
    _remove_quietly(tmp)


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` and move the result to ``path`` only if it succeeded."""
    tmp = open_temp(path)
    with _discard_on_failure(tmp, Path(path)):
        write(tmp)
    return commit(tmp, path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """``text`` to ``path`` atomically."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def write_json(path: str | os.PathLike, doc: dict, kind: str, **dumps) -> Path:
    """``doc`` as JSON with ``kind``'s format stamp first, atomically."""
    return write_text(path, json.dumps({**stamp(kind), **doc}, **dumps))


def write_csv(path: str | os.PathLike, header: Sequence[str], rows: Iterable[Sequence]) -> Path:
    """A plain CSV table (one header row), atomically."""
    def write(tmp: str) -> None:
        with open(tmp, "w", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(header)
            out.writerows(rows)

    return atomic_write(path, write)


def write_npz(path: str | os.PathLike, arrays: dict[str, np.ndarray], compress: bool = True) -> Path:
    """``arrays`` as an ``.npz``, atomically (through a file handle: numpy would append ``.npz`` to a name)."""
    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            (np.savez_compressed if compress else np.savez)(fh, **arrays)

    return atomic_write(path, write)
