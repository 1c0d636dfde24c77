"""Ctrl+C at any moment: ``python -m engine`` ends with status 130 and one line, leaves no partial
output and no temporary file, and removes the empty ``--out`` folder it created.

These are the campaign's only subprocess tests (a real SIGINT); each takes a few seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from campaign import record

ROOT = Path(__file__).resolve().parents[2]


def _interrupt(argv: list[str], ready) -> tuple[int, str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # the child answers Ctrl+C as a terminal's foreground program does even when this test runs as a background
    # job, which a shell starts with SIGINT ignored (and a child inherits an ignored signal)
    proc = subprocess.Popen([sys.executable, "-m", "engine", *argv, "--no-progress"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not ready(proc) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


def importing_torch(proc: subprocess.Popen) -> bool:
    """True once the child has begun loading torch's libraries: past the interpreter's own start-up, in
    which no program can catch Ctrl+C (a fixed delay landed there on a loaded machine), and before the run."""
    try:
        return "libtorch" in Path(f"/proc/{proc.pid}/maps").read_text()
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads the child's memory map from /proc")
@pytest.mark.parametrize("moment", ["while importing", "while running"])
def test_ctrl_c_sweep(moment, tmp_path):
    out = tmp_path / "new" / "sweep"
    ready = importing_torch if moment == "while importing" else (lambda proc: out.exists())
    status, err = _interrupt(["sweep", "--L", "32", "--T", "2.2:2.4:8", "--sweeps", "100000", "--out", str(out)],
                             ready)
    clean = status == 130 and err.strip() == "rgviz-batch: interrupted"
    lost = (tmp_path / "new").exists()  # the folders the run created are gone again
    record(clean=clean, traceback="Traceback" in err, lost=lost)
    assert clean, (status, err)
    assert not lost


def test_ctrl_c_keeps_the_previous_file(tmp_path):
    out = tmp_path / "run.npz"
    out.write_bytes(b"an earlier session\n")
    start = time.monotonic()  # the engine imports in about 2 s: after 6 s the run is under way
    status, err = _interrupt(["simulate", "--L", "64", "--sweeps", "1000000", "--out", str(out)],
                             lambda proc: time.monotonic() - start > 6)
    clean = status == 130 and err.strip() == "rgviz-batch: interrupted"
    lost = out.read_bytes() != b"an earlier session\n" or sorted(p.name for p in tmp_path.iterdir()) != ["run.npz"]
    record(clean=clean, traceback="Traceback" in err, lost=lost)
    assert clean, (status, err)
    assert not lost



def loading(library: str):
    """Ready once the child has mapped ``library`` (it is importing the module that needs it)."""
    def ready(proc: subprocess.Popen) -> bool:
        try:
            return library in Path(f"/proc/{proc.pid}/maps").read_text()
        except OSError:
            return False
    return ready


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads the child's memory map from /proc")
@pytest.mark.parametrize("moment", ["importing Qt", "importing torch", "building the window", "in the event loop"])
def test_ctrl_c_rgviz(moment, tmp_path):
    """``rgviz`` ends with status 130 and the one line "rgviz: interrupted" whenever Ctrl+C comes: a SIGINT
    while Qt's libraries loaded was lost (the window opened anyway); one while torch loaded was a traceback."""
    err_file = tmp_path / "stderr"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    ready = {"importing Qt": loading("libQt6Core"), "importing torch": loading("libtorch"),
             "building the window": loading("libQt6Widgets"),
             "in the event loop": lambda proc: "rgviz: ising" in err_file.read_text()}[moment]
    with err_file.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "rgviz.app", "--L", "16", "--paused"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 120
        while not ready(proc) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        try:
            status = proc.wait(timeout=60)
        finally:
            proc.kill()
    text = err_file.read_text()
    lines = [line for line in text.splitlines() if line.startswith("rgviz:") or "Traceback" in line]
    clean = status == 130 and lines[-1:] == ["rgviz: interrupted"] and "Traceback" not in text
    record(clean=clean, traceback="Traceback" in text)
    assert clean, (status, text)
