"""A saved session brings back what the panels made (sweep, RG flow, the loaded flow), and a file whose
panels' section is bad is refused in one line with the running window left as it was."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.nrg import PRESETS
from engine.nrg.checkpoint import save_checkpoint
from engine.nrg.density import FlowDensity
from engine.nrg.flow import HierarchicalFlow
from engine.nrg.targets import make_target
from engine.session import PANELS_FORMAT, PANELS_VERSION
from rgviz.mainwindow import MainWindow
from rgviz.ui import registry


@pytest.fixture
def windows(make_window):
    return lambda: make_window(play=False, panels=registry.specs(["phase", "fss", "rgflow", "neuralrg"]), L=8)


def table_text(table) -> list[list[str]]:
    return [[table.item(r, c).text() if table.item(r, c) else "" for c in range(table.columnCount())]
            for r in range(table.rowCount())]


def run_panels(window: MainWindow, qtbot, tmp_path) -> None:
    """A tiny sweep and a tiny Ising RG flow through the panels' own jobs, and a small flow loaded."""
    phase = window.panels["phase"]
    phase.sizes.setText("4 8")
    phase.t_from.setValue(2.0)
    phase.t_to.setValue(2.6)
    phase.t_n.setValue(3)
    phase.sweeps.setValue(40)
    phase.thermalize.setValue(10)
    phase.start()
    ising = window.panels["rgflow"].ising
    ising.L.setValue(8)
    ising.temperatures.setText("2.0 2.3 2.6")
    ising.levels.setValue(1)
    ising.samples.setValue(40)
    ising.thermalize.setValue(10)
    ising.start()
    qtbot.waitUntil(lambda: phase.job.is_done and ising.job.is_done, timeout=120_000)
    target = make_target("phi4", 4, **PRESETS["critical"])
    path = save_checkpoint(tmp_path / "flow.pt", FlowDensity(HierarchicalFlow(4, 2, n_couplings=3, hidden=(12,)),
                                                             "u1"), target)
    assert window.panels["neuralrg"].load(path)


def test_a_session_restores_the_panels_results(windows, qtbot, tmp_path):
    first = windows()
    run_panels(first, qtbot, tmp_path)
    path = tmp_path / "s.npz"
    first.save_session(str(path))
    qtbot.waitUntil(path.exists, timeout=10_000)

    second = windows()
    assert second.open_session(str(path))
    phase, saved = second.panels["phase"], first.panels["phase"]
    qtbot.waitUntil(lambda: phase.result is not None, timeout=10_000)
    assert table_text(phase.table) == table_text(saved.table) and phase.table.rowCount() > 3
    for L in (4, 8):
        np.testing.assert_array_equal(phase.result.sizes[L].series["energy"], saved.result.sizes[L].series["energy"])
    assert phase.sizes.text() == "4 8" and phase.t_n.value() == 3 and phase.export_button.isEnabled()
    assert phase.plots.plots  # the curves are drawn again, not the empty grid's hint
    assert second.panels["fss"].result is phase.result  # the FSS panel follows the restored sweep
    rg, rg_saved = second.panels["rgflow"].ising, first.panels["rgflow"].ising
    assert table_text(rg.table) == table_text(rg_saved.table) and rg.export_button.isEnabled()
    np.testing.assert_array_equal(rg.result.trajectories[1].K, rg_saved.result.trajectories[1].K)
    neural = second.panels["neuralrg"]
    assert neural.checkpoint == str(tmp_path / "flow.pt") and neural.couplings.value() == 3
    assert "From the session (first loaded from" in neural.status.text()
    same_weights(neural, first.panels["neuralrg"])


def same_weights(panel, other) -> None:
    mine, theirs = panel.density.state_dict(), other.density.state_dict()
    assert mine.keys() == theirs.keys() and all(torch.equal(mine[k], theirs[k]) for k in mine)


def test_a_flow_trained_and_not_saved_is_in_the_session(windows, train_tiny, qtbot, tmp_path):
    first = windows()
    trained = first.panels["neuralrg"]
    train_tiny(trained)
    qtbot.waitUntil(lambda: len(trained.history.get("step", [])) >= 2, timeout=30_000)
    errors = []
    trained.error.connect(errors.append)
    assert trained.session_state() == {} and "pause training" in errors[-1]  # the weights are changing
    trained.buttons["Pause"].setChecked(True)
    qtbot.waitUntil(trained.parked.is_set, timeout=10_000)
    path = tmp_path / "s.npz"
    first.save_session(str(path))
    qtbot.waitUntil(path.exists, timeout=10_000)

    second = windows()
    assert second.open_session(str(path))
    neural = second.panels["neuralrg"]
    qtbot.waitUntil(lambda: neural.density is not None, timeout=10_000)
    assert neural.checkpoint is None and neural.history == trained.history and neural.lab.L == 4
    assert neural.couplings.value() == 2 and neural.width.value() == 8 and "From the session:" in neural.status.text()
    same_weights(neural, trained)
    trained.stop_training()


def test_a_bad_panels_section_is_refused_and_changes_nothing(windows, qtbot, tmp_path):
    first = windows()
    path = tmp_path / "s.npz"
    first.save_session(str(path))
    qtbot.waitUntil(path.exists, timeout=10_000)
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    doc = {"format": PANELS_FORMAT, "version": PANELS_VERSION,
           "panels": {"neuralrg": {"checkpoint": {"$type": "Popen", "fields": {"args": "rm -rf ~"}}}}}
    arrays["panels"] = np.array(json.dumps(doc))
    np.savez(path, **arrays)

    second = windows()
    second.worker.step(3)
    qtbot.waitUntil(lambda: second.last_snapshot is not None and second.last_snapshot["sweep"] == 3)
    assert not second.open_session(str(path))
    message = second.error_box.text()
    assert "'Popen' is not a result type" in message and "\n" not in message
    qtbot.wait(300)
    assert second.last_snapshot["sweep"] == 3 and second.panels["neuralrg"].checkpoint is None
