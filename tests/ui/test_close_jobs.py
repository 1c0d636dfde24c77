"""Closing the window with any kind of background job running: it closes within 2 s and every job's thread
is joined. Each job starts with parameters that keep it busy for many seconds (small lattices, long runs), so
the close has to cancel it mid-work: between sweeps, samples, training steps, HMC trajectories, or inside them.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from rgviz.mainwindow import MainWindow
from rgviz.ui import registry
from rgviz.ui.bulk import shipped_checkpoints

SPECS = {spec.key: spec for spec in registry.PANELS}


def _checkpoint(name: str) -> str:
    return str(next(p for p in shipped_checkpoints() if p.stem == name))


def phase_sweep(panel):
    panel.sizes.setText("16 32")
    panel.sweeps.setValue(1_000_000)
    panel.start()
    return [panel.job]


def ising_rg_flow(panel):
    panel.ising.L.setValue(64)
    panel.ising.samples.setValue(50_000)  # 2.7 GB of recorded levels: well within memory, minutes of work
    panel.ising.start()
    return [panel.ising.job]


def xy_rg_flow(panel):
    panel.xy.L.setValue(64)
    panel.xy.samples.setValue(20_000)  # 4.4 GB of recorded levels: well within memory, minutes of work
    panel.xy.start()
    return [panel.xy.job]


def bulk_analysis(panel):
    panel.set_checkpoint("critical", _checkpoint("phi4_L16_crit"))
    panel.samples.setValue(100_000)
    panel.start_analysis()
    return [panel.job]


def tau_scan(panel):
    panel.sizes.setText("16 32")
    panel.sweeps.setValue(panel.sweeps.maximum())
    panel.start()
    return [panel.job]


def correlations(panel):
    """One frame's analysis (a second or so: it has no checks, the close waits for it)."""
    rng = np.random.default_rng(0)
    lattice = np.where(rng.random((1, 256, 256)) < 0.5, -1.0, 1.0).astype(np.float32)
    panel.analysis.submit((panel.average, {"lattice": lattice, "model": "ising", "params": {"T": 2.269}}, False))
    return [panel.analysis.job]


def training(panel):
    # The first optimiser of a process imports torch's compiler (13 s on a busy machine), which no check
    # can interrupt; this test is about the training steps, so the import happens before the job starts.
    import torch._dynamo  # noqa: F401

    panel.L.setCurrentText("16")
    panel.width.setValue(64)
    panel.batch.setValue(1024)
    panel.steps.setValue(1_000_000)
    panel.start_training()
    return [panel.job]


def latent_operation(panel):
    assert panel.load(_checkpoint("phi4_L16_crit"))
    panel.proposals.setValue(panel.proposals.maximum())
    return [panel.show_error_correction()]


def mcmc(panel):
    assert panel.load(_checkpoint("phi4_L16_crit"))
    panel.mcmc_steps.setValue(100_000)
    panel.leapfrog.setValue(100)
    panel.start_mcmc()
    return [panel.mcmc_job]


KINDS = [("phase", phase_sweep), ("rgflow", ising_rg_flow), ("rgflow", xy_rg_flow), ("bulk", bulk_analysis),
         ("dynamics", tau_scan), ("correlation", correlations), ("neuralrg", training),
         ("neuralrg", latent_operation), ("neuralrg", mcmc)]


@pytest.mark.parametrize("key,start", KINDS, ids=[start.__name__ for _, start in KINDS])
def test_close_with_each_kind_of_job_running(key, start, qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "rgviz.ini"), QSettings.Format.IniFormat)
    window = MainWindow({"model": "ising", "L": 16, "device": "cpu"}, settings=settings, play=False,
                        panels=registry.CORE + (SPECS[key],))
    qtbot.addWidget(window)
    window.show()
    errors = []
    if hasattr(window.panels[key], "error"):
        window.panels[key].error.connect(errors.append)
    jobs = start(window.panels[key])
    try:
        assert None not in jobs, errors
        qtbot.waitUntil(lambda: all(job.is_running() for job in jobs), timeout=10_000)
        if start is not correlations:
            qtbot.wait(1500)  # well into its work
            assert all(job.is_running() for job in jobs), f"the job ended by itself: not a test of closing ({errors})"
        t0 = time.monotonic()
        window.close()
        elapsed = time.monotonic() - t0
        assert not any(job.is_running() for job in jobs) and not window.engine.is_running()
        assert elapsed < 2.0, f"closing took {elapsed:.1f} s"
    finally:  # joined in any case: a thread left running aborts the test process
        for job in jobs:
            if job is not None:
                job.shutdown(120_000)
