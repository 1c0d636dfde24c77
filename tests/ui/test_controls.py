"""The control panel with real key events: typing survives live frames, bad text is refused
visibly, each model keeps its own temperature, sizes stay where the app answers, every input
explains itself; vortex markers; the live run held while background jobs run."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox, QLineEdit, QWidget

from engine.exact import T_KT_XY, TC_ISING
from rgviz.jobs import Job
from rgviz.mainwindow import MainWindow
from rgviz.ui.controls import ControlPanel
from rgviz.ui.lattice_view import MARKER_PX, LatticeView, marker_size


@pytest.fixture
def panel(qtbot):
    """A shown control panel; ``panel.sent`` lists its commands, ``panel.messages`` its messages."""
    p = ControlPanel(L=16)
    qtbot.addWidget(p)
    p.sent, p.messages = [], []
    p.command.connect(lambda name, kwargs: p.sent.append((name, kwargs)))
    p.message.connect(p.messages.append)
    p.show()
    qtbot.waitExposed(p)
    p.activateWindow()
    return p


@pytest.fixture
def live_panel(panel, start_worker):
    """``panel`` driving a running worker and shown its frames, as the main window wires them."""
    worker, sink = start_worker(play=True, L=16)
    panel.command.connect(lambda name, kwargs: worker.send(name, **kwargs))
    worker.frame.connect(panel.show_frame)  # a GUI-thread QObject's method: runs in the GUI thread
    return panel, sink


def focus(qtbot, field: QAbstractSpinBox) -> None:
    field.setFocus()
    qtbot.waitUntil(field.hasFocus)
    field.selectAll()


def type_slowly(qtbot, field: QAbstractSpinBox, text: str, sink) -> None:
    """Type ``text`` key by key, letting several frames reach the panel after every key."""
    for key in text:
        QTest.keyClicks(field, key)
        n = len(sink.frames)
        qtbot.waitUntil(lambda: len(sink.frames) >= n + 3)


def T_of(frame: dict) -> float:
    return float(np.ravel(frame["params"]["T"])[0])


def test_typing_survives_live_frames_and_enter_applies(qtbot, live_panel):
    panel, sink = live_panel
    sink.wait_for(qtbot, lambda f: f["sweep"] > 5)
    focus(qtbot, panel.T.spin)
    type_slowly(qtbot, panel.T.spin, "3.62", sink)
    assert panel.T.spin.text() == "3.62"
    assert T_of(sink.last) == pytest.approx(2.269)  # nothing applied before Enter
    QTest.keyClick(panel.T.spin, Qt.Key.Key_Return)
    sink.wait_for(qtbot, lambda f: T_of(f) == pytest.approx(3.62))

    focus(qtbot, panel.L)
    type_slowly(qtbot, panel.L, "64", sink)
    assert panel.L.text() == "64"
    QTest.keyClick(panel.L, Qt.Key.Key_Return)
    frame = sink.wait_for(qtbot, lambda f: f["lattice"].shape == (64, 64))
    assert T_of(frame) == pytest.approx(3.62)  # the new run keeps the applied T

    focus(qtbot, panel.seed)
    type_slowly(qtbot, panel.seed, "77", sink)
    panel.L.setFocus()  # leaving the field applies it too
    qtbot.waitUntil(lambda: panel.sent[-1][0] == "set_model")
    assert panel.seed.text() == "77" and panel.sent[-1][1]["seed"] == 77


def test_phi4_fields_survive_live_frames(qtbot, live_panel):
    panel, sink = live_panel
    panel.model.setCurrentIndex(panel.model.findData("phi4"))
    sink.wait_for(qtbot, lambda f: f["model"] == "phi4")
    for name, text in (("t", "0.45"), ("mu", "-2.5"), ("lam", "1.25")):
        focus(qtbot, panel.params[name])
        type_slowly(qtbot, panel.params[name], text, sink)
        assert panel.params[name].text() == text
        QTest.keyClick(panel.params[name], Qt.Key.Key_Return)
        sink.wait_for(qtbot, lambda f: float(np.ravel(f["params"][name])[0]) == pytest.approx(float(text)))


@pytest.mark.parametrize("field, text", [("L", "-16"), ("L", "63"), ("L", "8192"), ("T", "-1"), ("T", "1e9"),
                                         ("T", "abc"), ("seed", "-5"), ("seed", "1.5"), ("J", "nan"),
                                         ("J", "0.00001")])
def test_bad_text_is_refused_visibly_never_rewritten(qtbot, panel, field, text):
    box = {"L": panel.L, "T": panel.T.spin, "seed": panel.seed}.get(field) or panel.params[field]
    before, tooltip = box.value(), box.toolTip()
    focus(qtbot, box)
    QTest.keyClicks(box, text)
    QTest.keyClick(box, Qt.Key.Key_Return)
    assert box.text() == text and box.value() == before
    assert box.error and box.error in box.toolTip() and box.lineEdit().styleSheet()
    assert panel.messages[-1] == box.error and field in box.error
    assert not panel.sent  # nothing reached the worker
    panel.anneal_button.setFocus()  # leaving the field: still refused, still as typed
    qtbot.waitUntil(lambda: not box.hasFocus())
    assert box.text() == text and box.value() == before and box.error and not panel.sent
    panel.show_frame({"model": "ising", "lattice": np.ones((32, 32)), "params": {"T": 1.0, "J": 2.0}})
    assert box.text() == text  # a frame leaves refused text alone
    focus(qtbot, box)
    QTest.keyClick(box, Qt.Key.Key_Escape)  # Escape: back to the applied value, plain again
    assert box.value() == before and box.text() == box.textFromValue(before)
    assert box.error is None and not box.lineEdit().styleSheet() and box.toolTip() == tooltip


def test_arrow_keys_leave_no_stale_red(qtbot, panel):
    focus(qtbot, panel.L)
    QTest.keyClicks(panel.L, "63")
    QTest.keyClick(panel.L, Qt.Key.Key_Return)
    assert panel.L.error
    QTest.keyClick(panel.L, Qt.Key.Key_Up)  # on refused text: back to the applied value, as Escape
    assert panel.L.text() == "16" and panel.L.error is None and not panel.L.lineEdit().styleSheet()
    QTest.keyClick(panel.L, Qt.Key.Key_Up)
    assert panel.L.text() == "18" and panel.L.value() == 18


def test_refused_protocol_field_stops_the_protocol(qtbot, panel):
    focus(qtbot, panel.anneal_sweeps)
    QTest.keyClicks(panel.anneal_sweeps, "-10")
    panel.anneal_button.click()
    assert not panel.sent and "anneal sweeps" in panel.messages[-1]


def test_each_model_starts_at_its_transition_or_its_last_T(qtbot, panel):
    def switch(model):
        panel.model.setCurrentIndex(panel.model.findData(model))
        return panel.sent[-1][1]

    panel.T.spin.setValue(3.62)
    assert switch("xy")["T"] == pytest.approx(T_KT_XY, abs=1e-6)
    assert panel.T.value() == pytest.approx(T_KT_XY, abs=1e-6)
    panel.T.spin.setValue(1.1)
    assert switch("ising")["T"] == pytest.approx(3.62)
    assert "T" not in switch("phi4")
    assert switch("xy")["T"] == pytest.approx(1.1)
    panel.T.critical.click()
    assert panel.sent[-1] == ("set_params", {"T": pytest.approx(T_KT_XY, abs=1e-6)})
    assert switch("ising")["T"] == pytest.approx(3.62)
    panel.T.critical.click()
    assert panel.T.value() == pytest.approx(TC_ISING, abs=1e-6)  # Tc = 2.269185, not 2.2692


def input_widgets(root: QWidget) -> list[QWidget]:
    """Every control a user can change, except the parts of spin boxes and combo boxes (their
    line edits, a combo box's list and scroll bars)."""
    def part_of_a_compound(w: QWidget) -> bool:
        parent = w.parent()
        while parent is not None and parent is not root:
            if isinstance(parent, (QAbstractSpinBox, QComboBox)):
                return True
            parent = parent.parent()
        return False

    kinds = (QAbstractSpinBox, QComboBox, QAbstractButton, QAbstractSlider, QLineEdit)
    return [w for w in root.findChildren(QWidget) if isinstance(w, kinds) and not part_of_a_compound(w)]


def test_every_input_control_has_a_tooltip_with_its_unit(panel):
    widgets = input_widgets(panel)
    assert len(widgets) >= 20
    for w in widgets:
        text = w.toolTip()
        assert len(text) > 10, f"{type(w).__name__} {getattr(w, 'text', lambda: '')()!r} has no tooltip"
        if isinstance(w, (QAbstractSpinBox, QAbstractSlider)):
            assert "[" in text and "]" in text, f"no [unit] in the tooltip {text!r}"


def xy_frame(L: int = 4) -> dict:
    vortices = {"vortex": np.array([[0.5, 1.5]]), "antivortex": np.array([[2.5, 0.5]])}
    return {"model": "xy", "lattice": np.zeros((L, L), np.float32), "params": {}, "vortices": vortices}


@pytest.mark.parametrize("model, lattice", [("phi4", np.ones((2, 4, 4), np.float32)),
                                            ("ising", np.ones((4, 4), np.float32))])
def test_vortex_markers_are_cleared_on_model_change(qtbot, model, lattice):
    view = LatticeView()
    qtbot.addWidget(view)
    view.show_frame(xy_frame())
    view.vortex_box.setChecked(True)
    assert all(item.isVisible() and len(item.data) == 1 for item in view.vortex_items.values())
    view.show_frame({"model": model, "lattice": lattice, "params": {}})
    assert all(not item.isVisible() and len(item.data) == 0 for item in view.vortex_items.values())
    view.show_frame({**xy_frame(), "vortices": {"vortex": np.zeros((0, 2)), "antivortex": np.zeros((0, 2))}})
    assert all(len(item.data) == 0 for item in view.vortex_items.values())  # none of the old ones return


def test_vortex_and_antivortex_markers_are_alike_but_for_swapped_colours(qtbot):
    view = LatticeView()
    qtbot.addWidget(view)
    vortex, anti = (view.vortex_items[k].opts for k in ("vortex", "antivortex"))
    assert vortex["symbol"] == anti["symbol"] and vortex["size"] == anti["size"]
    assert vortex["pen"].width() == anti["pen"].width() >= 1.5
    assert vortex["brush"].color() == anti["pen"].color() and anti["brush"].color() == vortex["pen"].color()
    assert abs(vortex["brush"].color().lightness() - anti["brush"].color().lightness()) == 255  # white, black


def test_sizes_whose_sweep_would_hold_up_commands_are_refused(qtbot, panel):
    """The worker answers between sweeps: L is kept where one sweep takes at most 0.5 s."""
    measured = {"model": "ising", "algorithm": "metropolis", "params": {}, "running": True}
    panel.show_frame({**measured, "lattice": np.ones((256, 256)), "rate": {"sites_per_s": 1e6}})
    panel.show_frame({**measured, "lattice": np.ones((256, 256)), "rate": {"sites_per_s": 2e6}})
    assert panel.L_limit.text() == "max 784"  # rates are averaged: 1.25e6 sites/s
    panel.speed.rates.clear()
    panel.show_frame({**measured, "lattice": np.ones((256, 256)), "rate": {"sites_per_s": 1e6}})
    assert panel.L_limit.text() == "max 704"  # sqrt(0.5 s * 1e6 sites/s) = 707, down to a multiple of 16
    panel.show_frame({**measured, "lattice": np.ones((16, 16)), "rate": {"sites_per_s": 1e3}})
    assert panel.L_limit.text() == "max 704"  # a small lattice's rate is mostly overhead: not used
    focus(qtbot, panel.L)
    QTest.keyClicks(panel.L, "1024")
    QTest.keyClick(panel.L, Qt.Key.Key_Return)
    assert panel.L.text() == "1024" and "~1.0 s per metropolis sweep" in panel.L.error and "704" in panel.L.error
    assert not panel.sent
    panel.L.selectAll()
    QTest.keyClicks(panel.L, "704")
    QTest.keyClick(panel.L, Qt.Key.Key_Return)
    assert panel.sent[-1][0] == "set_model" and panel.sent[-1][1]["L"] == 704


def test_model_and_algorithm_switches_keep_within_the_sweep_budget(qtbot):
    panel = ControlPanel(L=2048)  # Ising Metropolis: 2048^2 / 28e6 sites/s = 0.15 s per sweep on one core
    qtbot.addWidget(panel)
    sent, messages = [], []
    panel.command.connect(lambda name, kwargs: sent.append((name, kwargs)))
    panel.message.connect(messages.append)
    panel.model.setCurrentIndex(panel.model.findData("xy"))  # XY Metropolis: 1.8e6 sites/s, so L <= 944
    assert sent[-1][1]["L"] == 944 and panel.L.value() == 944 and messages[-1].startswith("L reduced from 2048")
    panel.algorithm.setCurrentText("wolff")  # 0.67e6 sites/s: 944^2 would take 1.3 s
    assert panel.algorithm.currentText() == "metropolis" and sent[-1][0] == "set_model"
    assert messages[-1].startswith("wolff not started") and "at most 576" in messages[-1]
    panel.algorithm.setCurrentText("heatbath")  # 0.85e6 sites/s: L <= 640, still refused
    assert panel.algorithm.currentText() == "metropolis"


def test_hold_suspends_an_anneal_and_keeps_it(qtbot, start_worker):
    worker, sink = start_worker()
    sink.wait_for(qtbot, lambda f: True)
    worker.anneal(3.0, 1.0, 400)
    sink.wait_for(qtbot, lambda f: f["sweep"] >= 40)
    worker.send("hold", on=True)
    held = sink.wait_for(qtbot, lambda f: f["held"] and not f["running"])
    assert sink.wait_quiet(qtbot)["sweep"] == held["sweep"]  # nothing runs while held
    worker.send("hold", on=False)
    done = sink.wait_for(qtbot, lambda f: f["protocol"] is None and f["sweep"] >= 400)
    assert done["sweep"] == 400 and T_of(done) == 1.0  # the anneal went on to its end, exactly


def test_live_run_is_held_while_a_background_job_runs(qtbot, tmp_path):
    window = MainWindow({"model": "ising", "L": 16, "seed": 0, "device": "cpu"},
                        settings=QSettings(str(tmp_path / "rgviz.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    release = threading.Event()
    jobs = []

    def start_job():
        jobs.append(Job(lambda control: release.wait(10)).start())

    def live(running: bool):
        return lambda: window.last_snapshot is not None and window.last_snapshot["running"] is running

    try:
        qtbot.waitUntil(live(True))
        start_job()
        qtbot.waitUntil(live(False))
        assert window.last_snapshot["held"] and window.job_note.isVisible()
        release.set()  # the job ends: the live run goes on by itself
        qtbot.waitUntil(lambda: live(True)() and not window.job_note.isVisible())
        release.clear()
        start_job()
        qtbot.waitUntil(window.job_note.isVisible)
        window.resume_button.click()  # the user's choice: run beside the job
        qtbot.waitUntil(live(True))
        assert jobs[-1].is_running() and not window.job_note.isVisible()
        start_job()  # a further job leaves that choice alone
        qtbot.wait(300)
        assert live(True)() and not window.job_note.isVisible()
    finally:
        release.set()
        assert all(job.shutdown(5000) for job in jobs)
        window.close()
    assert not window.engine.is_running()


def test_vortex_markers_scale_with_zoom_within_bounds(qtbot):
    view = LatticeView()
    qtbot.addWidget(view)
    view.resize(500, 500)
    view.show()
    qtbot.waitExposed(view)
    view.show_frame(xy_frame(L=256))  # about 1.5 screen pixels per site: the smallest markers

    def sizes() -> set[int]:
        return {item.opts["size"] for item in view.vortex_items.values()}

    qtbot.waitUntil(lambda: sizes() == {MARKER_PX[0]})
    view.plot.getViewBox().setRange(xRange=(0, 40), yRange=(0, 40), padding=0)  # about 10 px per site
    qtbot.waitUntil(lambda: sizes() == {marker_size(1 / view.plot.getViewBox().viewPixelSize()[0])})
    assert MARKER_PX[0] < sizes().pop() < MARKER_PX[1]
    view.plot.getViewBox().setRange(xRange=(0, 4), yRange=(0, 4), padding=0)
    qtbot.waitUntil(lambda: sizes() == {MARKER_PX[1]})
