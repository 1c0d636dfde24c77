"""Writing files so that a failure never harms what was there before.

:func:`atomic_write` writes next to the target under a hidden temporary name, flushes it to disk
and moves it into place with ``os.replace`` only when complete. A full disk, an unwritable folder
or an exception in the writer raises :class:`WriteError` (an ``OSError`` whose message is one line
for the user), removes the temporary file and leaves any existing file untouched. The file gets
the permissions the user's umask gives a new file (``mkstemp`` alone would leave it 0600).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

TEMP_SUFFIX = ".part"


class WriteError(OSError):
    """A file could not be written; ``str(err)`` is a message for the user."""


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` and move the result to ``path`` only if it succeeded."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=folder)
        os.close(fd)
    except OSError as err:
        raise WriteError(f"Cannot write {path}: {err.strerror or err}") from err
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        write(tmp)
        if os.path.getsize(tmp) == 0:
            raise WriteError(f"Cannot write {path}: nothing was written (disk full?)")
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except WriteError:
        _remove_quietly(tmp)
        raise
    except OSError as err:
        _remove_quietly(tmp)
        raise WriteError(f"Cannot write {path}: {err.strerror or err}") from err
    except BaseException:
        _remove_quietly(tmp)
        raise
    return path
