"""A display for scripts that must show real windows (benchmarks, screenshots) on headless machines."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def virtual_display(width: int = 1600, height: int = 1000) -> Iterator[str]:
    """Use ``$DISPLAY`` if there is one, else run Xvfb (24-bit) for the duration of the block.

    Call before the QApplication exists: Qt picks its platform plugin when it is created.
    """
    if os.environ.get("DISPLAY"):
        yield os.environ["DISPLAY"]
        return
    read_fd, write_fd = os.pipe()
    try:
        proc = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x24",
                                 "-nolisten", "tcp"], pass_fds=(write_fd,), stderr=subprocess.DEVNULL)
    except FileNotFoundError:
        raise RuntimeError("No display and no Xvfb: install xvfb or run under a desktop session") from None
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()  # Xvfb writes its display number once it accepts clients
    if not number:
        proc.kill()
        raise RuntimeError("Xvfb did not start")
    previous = {k: os.environ.get(k) for k in ("DISPLAY", "QT_QPA_PLATFORM")}
    os.environ.update(DISPLAY=f":{number}", QT_QPA_PLATFORM="xcb")
    try:
        yield os.environ["DISPLAY"]
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        proc.terminate()
        proc.wait(timeout=10)
