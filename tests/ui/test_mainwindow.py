"""The main window: docks, live frames, controls, export, sessions, errors, layout, clean close."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from rgviz.jobs import Job
from rgviz.mainwindow import WHOLE_WINDOW, ExportFigureDialog, MainWindow
from rgviz.ui.panel import Panel
from rgviz.ui import registry
from rgviz.ui.registry import CORE, PanelSpec

PANELS = {"controls", "lattice", "timeseries"}


def wait_frame(qtbot, window, predicate, timeout=10_000):
    qtbot.waitUntil(lambda: window.last_snapshot is not None and bool(predicate(window.last_snapshot)),
                    timeout=timeout)
    return window.last_snapshot


def test_window_opens_with_every_dock(make_window, qtbot):
    window = make_window()
    assert "rgviz" in window.windowTitle()
    assert set(window.docks) == PANELS
    qtbot.waitUntil(lambda: all(d.isVisible() for d in window.docks.values()))
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    titles = {a.text() for a in view_menu.actions()}
    assert {"Controls", "Lattice", "Time series", "Reset &layout"} <= titles
    window.docks["timeseries"].toggleViewAction().trigger()  # close a panel from the View menu
    assert not window.docks["timeseries"].isVisible()
    window.docks["lattice"].setFloating(True)
    window.reset_layout()
    assert window.docks["timeseries"].isVisible() and not window.docks["lattice"].isFloating()


def test_live_frames_change_the_image_and_status(make_window, qtbot):
    window = make_window()
    first = wait_frame(qtbot, window, lambda s: s["sweep"] > 0)
    rgb = window.panels["lattice"].rgb.copy()
    wait_frame(qtbot, window, lambda s: s["sweep"] > first["sweep"] + 5)
    assert rgb.shape == (16, 16, 3) and not np.array_equal(rgb, window.panels["lattice"].rgb)
    qtbot.waitUntil(lambda: window.frames_shown > 10)
    assert window.displayed_fps() > 0
    assert "sweeps/s" in window.status_labels["sweeps"].text()
    assert window.status_labels["device"].text() == "device: cpu"


def test_controls_step_temperature_model(make_window, qtbot):
    window = make_window(play=False)
    controls = window.panels["controls"]
    wait_frame(qtbot, window, lambda s: s["sweep"] == 0)
    controls.step_button.click()
    wait_frame(qtbot, window, lambda s: s["sweep"] == 1)
    controls.T.spin.setValue(3.5)
    controls.step_button.click()
    snap = wait_frame(qtbot, window, lambda s: s["sweep"] == 2)
    assert np.ravel(snap["params"]["T"])[0] == pytest.approx(3.5)
    assert controls.T.critical.text().startswith("Tc = 2.269")
    assert [controls.algorithm.itemText(i) for i in range(controls.algorithm.count())][:2] == ["metropolis", "heatbath"]
    controls.play.click()
    wait_frame(qtbot, window, lambda s: s["running"] and s["sweep"] > 10)
    controls.play.click()
    wait_frame(qtbot, window, lambda s: not s["running"])
    controls.model.setCurrentIndex(controls.model.findData("phi4"))
    snap = wait_frame(qtbot, window, lambda s: s["model"] == "phi4")
    assert snap["lattice"].shape == (2, 16, 16)
    assert not controls.T.isVisible() and controls.params["mu"].isVisible()


def test_every_export_parses(make_window, qtbot, tmp_path):
    window = make_window()
    wait_frame(qtbot, window, lambda s: s["sweep"] > 3)
    for target in window.figure_targets():
        png = window.export_figure(target, str(tmp_path / f"{target}.png"), 640, 480)
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        svg = window.export_figure(target, str(tmp_path / f"{target}.svg"))
        assert ET.parse(svg).getroot().tag.endswith("svg")
        pdf = window.export_figure(target, str(tmp_path / f"{target}.pdf"))
        assert pdf.read_bytes().startswith(b"%PDF-")
    [npz] = window.export_data(str(tmp_path / "d.npz"))
    with np.load(npz) as data:
        assert data["lattice"].shape == (16, 16)
        assert json.loads(str(data["metadata"]))["model"] == "ising"
    series, lattice, _ = window.export_data(str(tmp_path / "d.csv"))
    assert np.genfromtxt(lattice, delimiter=",", names=True).shape == (256,)
    assert "energy" in series.read_text().splitlines()[0]


def test_movie_recording(make_window, qtbot, tmp_path):
    import imageio.v3 as iio

    window = make_window()
    wait_frame(qtbot, window, lambda s: s["sweep"] > 0)
    window.start_recording(str(tmp_path / "m.gif"))
    # the movie keeps 30 frames per second of real time (frames shown faster are left out), so wait
    # for the movie's frames, not for the frames shown
    qtbot.waitUntil(lambda: window.recorder.frames >= 4)
    path = window.stop_recording()
    assert iio.imread(path, index=None).shape[0] >= 4


def test_worker_error_is_shown_and_app_survives(make_window, qtbot):
    window = make_window()
    window.panels["controls"].command.emit("set_params", {"T": -1.0})
    qtbot.waitUntil(lambda: window.error_box is not None and window.error_box.isVisible())
    assert window.error_box.text().startswith("T:")
    # The error can be shown before the first frame arrives: wait for one, then for the run to go on.
    sweep = wait_frame(qtbot, window, lambda s: True)["sweep"]
    wait_frame(qtbot, window, lambda s: s["sweep"] > sweep + 5)  # still running


def test_session_save_and_corrupt_open(make_window, qtbot, tmp_path):
    window = make_window(play=False)
    window.worker.step(5)
    before = wait_frame(qtbot, window, lambda s: s["sweep"] == 5)
    window.worker.save_session(str(tmp_path / "s.npz"))
    qtbot.waitUntil(lambda: (tmp_path / "s.npz").exists())
    bad = tmp_path / "bad.npz"
    bad.write_text("garbage")
    window.worker.load_session(str(bad))
    qtbot.waitUntil(lambda: window.error_box is not None and window.error_box.isVisible())
    window.worker.step(1)
    after = wait_frame(qtbot, window, lambda s: s["sweep"] == 6)
    assert after["model"] == before["model"]
    window.worker.load_session(str(tmp_path / "s.npz"))
    restored = wait_frame(qtbot, window, lambda s: s["sweep"] == 5)
    np.testing.assert_array_equal(restored["lattice"], before["lattice"])


def test_layout_is_persisted(qtbot, tmp_path, make_window):
    window = make_window(play=False)
    window.docks["timeseries"].hide()
    window.close()
    again = make_window(play=False)
    assert not again.docks["timeseries"].isVisible() and again.docks["lattice"].isVisible()


def test_ctrl_q_during_run_closes_and_leaves_no_thread(make_window, qtbot):
    window = make_window(L=64)
    wait_frame(qtbot, window, lambda s: s["sweep"] > 2)
    quit_action = next(a for a in window.findChildren(QAction) if a.text() == "&Quit")
    assert quit_action.shortcut() == QKeySequence("Ctrl+Q")
    # Which window is active on the offscreen platform depends on the tests before this one, so
    # the shortcut's action is triggered directly rather than through a synthesized key press.
    t0 = time.monotonic()
    quit_action.trigger()
    assert not window.isVisible()
    assert not window.engine.is_running() and time.monotonic() - t0 < 2.0


def test_app_process_exits_cleanly_mid_run(tmp_path):
    """The real entry point: running, interrupted (Ctrl+C closes the window), exit 130 within 2 s."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "rgviz.app", "--L", "32", "--device", "cpu"], env=env,
                            cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        lines = []
        while not (lines and lines[-1].startswith("rgviz: ising, L = 32")):  # printed once running
            line = proc.stdout.readline().decode()
            assert line, "".join(lines)
            lines.append(line)
        time.sleep(1.0)
        assert proc.poll() is None
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
        assert time.monotonic() - t0 < 2.0
        rest = proc.stdout.read().decode()
        assert proc.returncode == 130 and rest.strip().endswith("rgviz: interrupted"), rest
    finally:
        proc.kill()
        proc.communicate()


def test_main_in_process_returns_zero(qtbot, tmp_path):
    """``main`` opens every panel group, each further panel as a tab of one group (with the phase panel),
    the lattice beside the time series."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from rgviz import app

    seen = {}

    def inspect_and_close():
        [window] = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
        seen["docks"] = set(window.docks)
        seen["tabbed"] = {k for k, d in window.docks.items() if d in window.tabifiedDockWidgets(window.docks["phase"])}
        seen["tabbed"].add("phase")
        seen["series_tabbed"] = window.tabifiedDockWidgets(window.docks["timeseries"])
        window.close()

    QTimer.singleShot(1500, inspect_and_close)
    assert app.main(["--model", "ising", "--L", "16", "--device", "cpu"]) == 0
    assert {"phase", "rgflow", "bulk", "neuralrg"} <= seen["docks"]
    assert seen["tabbed"] == seen["docks"] - PANELS
    assert not seen["series_tabbed"]


# --- the panel protocol ----------------------------------------------------------------------

class SlowJobPanel(Panel, QWidget):
    """A panel whose job runs until cancelled (it checks its flag every 10 ms), with data and state."""

    def __init__(self):
        super().__init__()
        self.job = Job(self.spin, name="test-spin").start()
        self.setting = 1

    @staticmethod
    def spin(control):
        while not control.cancelled:
            time.sleep(0.01)

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        return self.job.shutdown(timeout_ms)

    def has_data(self) -> bool:
        return True

    def export_data(self, folder):
        path = Path(folder) / "slow.txt"
        path.write_text("data")
        return [path]

    def session_state(self) -> dict:
        return {"setting": self.setting}

    def session_restorer(self, state: dict):
        if not isinstance(state.get("setting", 0), int):
            raise ValueError("setting must be an integer")
        return lambda: setattr(self, "setting", state.get("setting", self.setting))


SLOW = PanelSpec("slow", "Slow job", lambda context: SlowJobPanel(), shortcut="Ctrl+9")


def test_close_with_a_job_running_joins_it_within_2_s(make_window, qtbot):
    window = make_window(panels=CORE + (SLOW,))
    job = window.panels["slow"].job
    qtbot.waitUntil(job.is_running)
    t0 = time.monotonic()
    window.close()
    assert time.monotonic() - t0 < 2.0
    assert not job.is_running() and not window.engine.is_running()


def test_export_data_writes_the_panel_in_front_else_the_lattice(make_window, qtbot, tmp_path):
    window = make_window(panels=CORE + (SLOW,))
    wait_frame(qtbot, window, lambda s: s["sweep"] > 0)
    window.bring_to_front("lattice")  # Ctrl+2 (focus needs an active window, which a bare X server may not give)
    assert window.data_panel() is None  # the lattice has no panel data: File > Export data writes the lattice
    front = next(a for a in window.findChildren(QAction) if a.shortcut() == QKeySequence("Ctrl+9"))
    front.trigger()
    assert window.front == "slow" and window.docks["slow"].isVisible()
    assert window.data_panel() == "slow"
    assert [p.name for p in window.export_data(str(tmp_path), window.data_panel())] == ["slow.txt"]


def test_panel_states_round_trip(make_window):
    window = make_window(play=False, panels=CORE + (SLOW,))
    states = window.panel_states()
    assert states == {"slow": {"setting": 1}}  # panels with the default (no state) are left out
    window.restore_panel_states({"slow": {"setting": 7}, "gone": {"x": 1}})
    assert window.panels["slow"].setting == 7
    with pytest.raises(ValueError, match="integer"):
        window.restore_panel_states({"slow": {"setting": "x"}})
    assert window.panels["slow"].setting == 7


def test_export_dialog_proposes_the_chosen_targets_size(make_window, qtbot):
    window = make_window(play=False)
    window.resize(1400, 900)
    qtbot.waitUntil(lambda: window.docks["lattice"].isVisible())
    sizes = {key: target.default_size() for key, (_, target) in window._figures().items()}
    dialog = ExportFigureDialog({k: (t, sizes[k]) for k, t in window.figure_targets().items()}, "lattice", window)
    assert (dialog.width_box.value(), dialog.height_box.value()) == (sizes["lattice"].width(),
                                                                     sizes["lattice"].height())
    dialog.target.setCurrentIndex(dialog.target.findData(WHOLE_WINDOW))
    assert (dialog.width_box.value(), dialog.height_box.value()) == (window.width(), window.height())
    assert "controls" not in window.figure_targets()  # the control panel has no figure


def test_every_panel_of_the_registry_is_built_once_and_shut_down(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "rgviz.ini"), QSettings.Format.IniFormat)
    window = MainWindow({"model": "ising", "L": 8, "device": "cpu"}, settings=settings, play=False,
                        panels=registry.PANELS)
    qtbot.addWidget(window)
    window.show()
    try:
        assert list(window.docks) == [spec.key for spec in registry.PANELS]
        assert all(isinstance(window.panels[key], Panel) for key in window.docks)
        titles = set(window.figure_targets().values())
        assert {"RG flow: Ising", "RG flow: XY", "Whole window"} <= titles
        # the export dialog asks every target for its size: none may need OpenGL (the bulk's 3D tab) for that
        assert all(target.default_size().width() >= 16 for _, target in window._figures().values())
    finally:
        window.close()
    assert not window.engine.is_running()


def _menu_actions(menu) -> list[QAction]:
    """Every action of ``menu`` and its submenus (separators left out), submenus' own actions included."""
    found = []
    for action in menu.actions():
        if action.isSeparator():
            continue
        found.append(action)
        if action.menu() is not None:
            found.extend(_menu_actions(action.menu()))
    return found


def test_help_menu_pages_show_versions_panels_and_every_shortcut(make_window, qtbot):
    import pyqtgraph
    import PySide6
    import torch
    import vispy

    window = make_window(play=False)
    menus = {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions()}
    assert list(menus)[-1] == "Help"
    assert [a.text().replace("&", "") for a in menus["Help"].actions()] == [
        "About rgviz", "Getting started", "Keyboard shortcuts"]

    window.help_actions["about"].trigger()
    about = window.help_page.browser.toPlainText()
    for version in (torch.__version__, PySide6.__version__, pyqtgraph.__version__, vispy.__version__):
        assert version in about
    assert window.status_labels["device"].text().removeprefix("device: ") in about

    window.help_actions["start"].trigger()
    start = window.help_page.browser.toPlainText()
    assert all(spec.title in start and spec.purpose in start for spec in CORE)

    window.help_actions["shortcuts"].trigger()
    shortcuts = window.help_page.browser.toPlainText()
    bound = [a for a in window.findChildren(QAction) if not a.shortcut().isEmpty()]
    assert len(bound) >= 8  # File's five, and one per core panel
    for action in bound:
        assert action.shortcut().toString(QKeySequence.SequenceFormat.NativeText) in shortcuts
        assert action.text().replace("&", "") in shortcuts
    assert "Ctrl+E" in shortcuts and "Export figure..." in shortcuts


def test_every_menu_action_has_a_status_tip(make_window):
    window = make_window(play=False)
    actions = [a for menu in window.menuBar().actions() for a in [menu, *_menu_actions(menu.menu())]]
    assert len(actions) > 15
    assert [a.text() for a in actions if not a.statusTip()] == []
