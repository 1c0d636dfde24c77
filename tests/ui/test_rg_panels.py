"""The real-space RG panels: Hierarchy, RG flow (Ising and XY tabs, background jobs), teaching tabs.

Flows are tiny (L = 8-16, a few dozen samples): these tests check that the panels run the
engine's studies to completion and draw what they return; the physics of the studies is tested
in tests/engine. Every job a test starts is cancelled and joined by the ``rg_panel`` fixture.
"""

from __future__ import annotations

import csv
import html
import json
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch
from PySide6.QtCore import QSettings
from PySide6.QtGui import QImage

from engine.rg.teaching import decimation_1d, fbm, flow_1d
from rgviz import export
from rgviz.mainwindow import MainWindow
from rgviz.ui import hierarchy as hierarchy_ui
from rgviz.ui.hierarchy import HierarchyPanel
from rgviz.ui.colors import COLORMAPS, colorize, lookup_table
from rgviz.ui.registry import specs
from rgviz.ui.rgflow import RGFlowPanel, parse_temperatures
from rgviz.ui.teaching import TeachingPanel, cobweb

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def ising_snapshot(L: int, seed: int = 0) -> dict:
    spins = np.random.default_rng(seed).choice(np.array([-1, 1], dtype=np.int8), size=(L, L))
    return {"model": "ising", "lattice": spins, "params": {"T": 2.269}, "sweep": 0}


def show(qtbot, widget, size=(1000, 600)):
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    return widget


def curves(plot) -> list:
    """The PlotDataItems (curves and point sets) a PlotItem shows."""
    return plot.listDataItems()


def assert_exports(widget, folder, stem: str) -> None:
    """PNG, SVG and PDF of ``widget`` are written and parse as such."""
    for suffix in (".png", ".svg", ".pdf"):
        path = export.export_figure(widget, folder / f"{stem}{suffix}")
        data = path.read_bytes()
        if suffix == ".png":
            assert data.startswith(PNG_MAGIC)
            image = QImage(str(path))
            assert not image.isNull() and image.width() == widget.width()
        elif suffix == ".svg":
            root = ET.fromstring(data)
            assert root.tag.endswith("svg")
            assert len(list(root.iter())) > 10  # more than an empty document
        else:
            assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")


# --- Hierarchy ---------------------------------------------------------------------------------

@pytest.fixture
def hierarchy(qtbot):
    return show(qtbot, HierarchyPanel(), (900, 320))


def test_hierarchy_shows_every_level_with_its_shape(hierarchy):
    hierarchy.levels_box.setValue(3)
    hierarchy.show_frame(ising_snapshot(64))
    assert [lv.shape for lv in hierarchy.levels] == [(64, 64), (32, 32), (16, 16), (8, 8)]
    assert len(hierarchy.images) == 4
    for level, image, label in zip(hierarchy.levels, hierarchy.images, hierarchy.labels):
        # the lattice panel's colours, every level stretched over a unit square
        assert np.array_equal(image.image, colorize(level, "ising", lookup_table(COLORMAPS["ising"][0])))
        assert image.mapRectToView(image.boundingRect()).width() == pytest.approx(1.0)
        assert f"= {level.shape[-1]}" in label.toPlainText()
    sizes = {(round(im.sceneBoundingRect().width(), 3), round(im.sceneBoundingRect().height(), 3))
             for im in hierarchy.images}
    assert len(sizes) == 1  # same on-screen size


def test_hierarchy_majority_b3_is_the_sign_of_block_sums(hierarchy):
    hierarchy.rule_box.setCurrentText("majority, b = 3")
    hierarchy.levels_box.setValue(2)
    snap = ising_snapshot(54, seed=3)
    hierarchy.show_frame(snap)
    s = snap["lattice"].astype(int)
    expected = np.sign(s.reshape(18, 3, 18, 3).sum(axis=(1, 3)))
    assert [lv.shape for lv in hierarchy.levels] == [(54, 54), (18, 18), (6, 6)]
    assert np.array_equal(hierarchy.levels[1], expected)
    assert np.array_equal(hierarchy.levels[2], np.sign(expected.reshape(6, 3, 6, 3).sum(axis=(1, 3))))


def test_hierarchy_decimation_and_level_limit(hierarchy):
    hierarchy.rule_box.setCurrentText("decimation, b = 2")
    hierarchy.levels_box.setValue(4)
    snap = ising_snapshot(20)
    hierarchy.show_frame(snap)
    # 20 = 4 * 5: only two blockings by 2 are possible
    assert [lv.shape for lv in hierarchy.levels] == [(20, 20), (10, 10), (5, 5)]
    assert np.array_equal(hierarchy.levels[2], snap["lattice"][::4, ::4])
    assert "allows 2" in hierarchy.note.text()


def test_hierarchy_xy_and_phi4_use_their_own_maps(hierarchy):
    rng = np.random.default_rng(1)
    theta = rng.uniform(0, 2 * np.pi, (32, 32)).astype(np.float32)
    hierarchy._next_block = -np.inf
    hierarchy.show_frame({"model": "xy", "lattice": theta})
    assert hierarchy.rule() == ("xy-average", 2)
    assert [lv.shape for lv in hierarchy.levels] == [(32, 32), (16, 16), (8, 8), (4, 4)]
    c, s = np.cos(theta).reshape(16, 2, 16, 2).sum((1, 3)), np.sin(theta).reshape(16, 2, 16, 2).sum((1, 3))
    assert np.allclose(hierarchy.levels[1], np.mod(np.arctan2(s, c), 2 * np.pi), atol=1e-5)
    hierarchy._next_block = -np.inf
    hierarchy.show_frame({"model": "phi4", "lattice": rng.normal(size=(2, 16, 16)).astype(np.float32)})
    assert hierarchy.rule() == ("phi4-average", 2)
    assert [lv.shape for lv in hierarchy.levels] == [(2, 16, 16), (2, 8, 8), (2, 4, 4), (2, 2, 2)]


def test_hierarchy_blocks_the_newest_frame_at_a_limited_rate(hierarchy, qtbot, monkeypatch):
    calls = []
    original = hierarchy_ui.coarse_levels
    monkeypatch.setattr(hierarchy_ui, "coarse_levels", lambda *a: calls.append(1) or original(*a))
    monkeypatch.setattr(hierarchy_ui.time, "monotonic", lambda: 100.0)  # all frames arrive at once
    frames = [ising_snapshot(16, seed=i) for i in range(30)]
    for frame in frames:
        hierarchy.show_frame(frame)
    assert len(calls) == 1  # the first frame at once, the rest wait for the timer
    qtbot.waitUntil(lambda: len(calls) == 2, timeout=2000)
    assert np.array_equal(hierarchy.levels[0], frames[-1]["lattice"])  # the frames between were dropped
    qtbot.wait(int(1000 / hierarchy_ui.MAX_RATE) + 100)
    assert len(calls) == 2 and not hierarchy._timer.isActive()


# --- RG flow -----------------------------------------------------------------------------------

@pytest.fixture
def rg_panel(qtbot):
    panels = []

    def make() -> RGFlowPanel:
        panel = show(qtbot, RGFlowPanel(device="cpu"), (1300, 800))
        panels.append(panel)
        return panel

    yield make
    for panel in panels:
        assert panel.shutdown(10_000), "RG flow job did not stop"
        for tab in (panel.ising, panel.xy):
            assert tab.job is None or not tab.job.is_running()


def test_ising_flow_runs_and_draws_trajectories(rg_panel, qtbot, tmp_path):
    panel = rg_panel()
    tab = panel.ising
    tab.L.setValue(16)
    tab.levels.setValue(2)
    tab.samples.setValue(80)
    tab.thermalize.setValue(30)
    tab.temperatures.setText("1.8 2.269 2.9")
    progress = []
    tab.start()
    tab.job.progress.connect(lambda d, t: progress.append((d, t)))
    with qtbot.waitSignal(tab.job.stopped, timeout=60_000):
        pass
    assert tab.result is not None, tab.status.text()
    assert progress and progress[-1][0] == progress[-1][1]
    labels = [item.name() for item in curves(tab.plane)]
    for T in ("1.8", "2.269", "2.9"):
        assert any(label and label.startswith(f"T = {T} ") for label in labels), labels
    assert any(label and "critical" in label for label in labels)
    assert "K = 0: high-T fixed point (stable)" in labels
    # trajectories have one point per identifiable level; T = 2.9 (disordered) keeps all three
    hot = next(item for item in curves(tab.plane) if item.name() and item.name().startswith("T = 2.9 "))
    x, y = hot.getData()
    traj = tab.result.trajectories[2]
    assert np.array_equal(x, traj.K[:, 0]) and np.array_equal(y, traj.K[:, 1])
    # level 0 is fitted from the samples: it recovers (K0, 0) within its errors
    assert abs(x[0] - 1 / 2.9) < 4 * traj.stderr[0, 0] and abs(y[0]) < 4 * traj.stderr[0, 1]
    assert x[-1] < x[0]  # the high-temperature trajectory heads for K = 0
    rows = [tab.table.item(r, 0).text() for r in range(tab.table.rowCount())]
    assert any(r.startswith("y_t") for r in rows) and any(r.startswith("y_h") for r in rows)
    assert len(tab._grid_plots) >= 3 and all(curves(p) for p in tab._grid_plots.values())

    tab.y_coupling.setCurrentText("plaq")  # another projection redraws the plane
    assert tab.plane.getAxis("left").labelText == "K_plaq"

    written = tab.export_data(tmp_path / "ising")
    names = {p.name for p in written}
    assert {"rgflow.json", "trajectories.csv", "rg_plane_nn_plaq.png", "rg_plane_nn_plaq.svg",
            "rg_plane_nn_plaq.pdf"} <= names
    doc = json.loads((tmp_path / "ising" / "rgflow.json").read_text())
    assert len(doc["trajectories"]) == 3
    with open(tmp_path / "ising" / "trajectories.csv") as fh:
        assert len(list(csv.reader(fh))) == 1 + 3 * 3
    for path in written:
        if path.suffix == ".svg":
            ET.parse(path)
        elif path.suffix == ".png":
            assert path.read_bytes().startswith(PNG_MAGIC)
        elif path.suffix == ".pdf":
            assert path.read_bytes().startswith(b"%PDF")
    assert_exports(panel.figure_widget(), tmp_path, "ising_panel")


def test_ising_flow_can_be_stopped(rg_panel, qtbot):
    tab = rg_panel().ising
    tab.L.setValue(32)
    tab.samples.setValue(100_000)  # minutes of work
    tab.start()
    qtbot.waitUntil(lambda: tab.progress.value() > 0, timeout=20_000)
    t0 = time.monotonic()
    with qtbot.waitSignal(tab.job.stopped, timeout=10_000):
        tab.stop()
    assert time.monotonic() - t0 < 10
    assert tab.result is None and tab.status.text() == "stopped"
    assert tab.start_button.isEnabled()


def test_flow_rejects_bad_parameters(rg_panel, qtbot):
    tab = rg_panel().ising
    tab.temperatures.setText("2.0 hot")
    with qtbot.waitSignal(tab.error, timeout=1000) as blocker:
        tab.start()
    assert blocker.args[0].startswith("T:")
    assert tab.job is None
    tab.temperatures.setText("2.0 2.5")
    tab.L.setValue(12)
    tab.levels.setValue(3)  # 12 is not divisible by 8
    with qtbot.waitSignal(tab.error, timeout=1000) as blocker:
        tab.start()
    assert blocker.args[0].startswith("levels:")
    with pytest.raises(ValueError, match="T:"):
        parse_temperatures("-1")


def test_xy_flow_draws_theory_then_measured_trajectories(rg_panel, qtbot, tmp_path):
    panel = rg_panel()
    panel.setCurrentIndex(1)
    tab = panel.xy
    labels = [html.unescape(item.name() or "") for item in curves(tab.plot)]
    assert "separatrix" in labels and "fixed line (y = 0, 1/K < π/2)" in labels
    theory = len(curves(tab.plot))
    tab.L.setValue(8)
    tab.levels.setValue(1)
    tab.samples.setValue(40)
    tab.thermalize.setValue(20)
    tab.temperatures.setText("0.7 1.3")
    tab.start()
    with qtbot.waitSignal(tab.job.stopped, timeout=60_000):
        pass
    assert tab.result is not None, tab.status.text()
    measured = [item for item in curves(tab.plot) if item.name() and "blocked levels" in item.name()]
    assert len(measured) == 2 and len(curves(tab.plot)) == theory + 2
    cold = tab.result[0]
    x, y = measured[0].getData()
    assert np.allclose(x, cold.x[np.isfinite(cold.x)]) and np.allclose(y, cold.y[np.isfinite(cold.x)])
    written = tab.export_data(tmp_path / "xy")
    assert {"rgflow.json", "trajectories.csv", "kt_flow.png", "kt_flow.svg", "kt_flow.pdf"} <= {p.name for p in written}
    with open(tmp_path / "xy" / "trajectories.csv") as fh:
        assert len(list(csv.reader(fh))) == 1 + 2 * 2
    assert_exports(panel.figure_widget(), tmp_path, "xy_panel")


# --- teaching ----------------------------------------------------------------------------------

@pytest.fixture
def teaching(qtbot):
    return show(qtbot, TeachingPanel(), (1000, 500))


def test_decimation_cobweb_follows_the_slider(teaching):
    tab = teaching.decimation
    tab.K0.set_value(2.0)
    tab.steps.setValue(5)
    web = next(item for item in curves(tab.plots[0]) if item.name().startswith("iterates"))
    x, y = web.getData()
    K = flow_1d(tab.K0.value(), 5)
    assert np.allclose(x, cobweb(K)[0]) and np.allclose(y, cobweb(K)[1])
    # each vertical step lands on the map K' = (1/2) ln cosh 2K
    assert np.allclose(y[::2][1:], decimation_1d(x[::2][:-1]))
    tab.K0.set_value(0.5)
    x2, _ = next(i for i in curves(tab.plots[0]) if i.name().startswith("iterates")).getData()
    assert x2[0] == pytest.approx(0.5, abs=0.01) and x2[0] != x[0]


def test_toy_law_changes_behaviour_at_c_zero(teaching):
    tab = teaching.toy
    tab.sigma.set_value(2.0)
    tab.c.set_value(0.3)
    assert "explodes" in tab.note.text()
    rates = curves(tab.plots[1])[0].getData()[1]
    assert np.allclose(rates, 0.3 * 2.0 ** np.arange(len(rates)), rtol=1e-2)
    tab.c.set_value(-0.3)
    assert "dies out" in tab.note.text()
    assert np.all(np.diff(curves(tab.plots[1])[0].getData()[1]) < 0)
    tab.c.set_value(0.0)
    assert "fixed point" in tab.note.text()
    assert np.all(curves(tab.plots[1])[0].getData()[1] == 0)


def test_fbm_shows_its_rescaled_copy(teaching):
    tab = teaching.fbm
    tab.sigma.setValue(4)
    tab.hurst.set_value(0.3)
    path, copy = curves(tab.plots[0])[:2]
    h = tab.hurst.value()
    expected = fbm(tab.N, h, torch.Generator().manual_seed(tab.seed.value()))[0].numpy()
    assert np.allclose(path.getData()[1], expected[: tab.N // 4 + 1])
    assert np.allclose(copy.getData()[1], expected[::4] * 4.0 ** -h)
    before = copy.getData()[1].copy()
    tab.seed.setValue(7)
    assert not np.allclose(curves(tab.plots[0])[1].getData()[1], before)


def test_every_panel_exports_png_svg_pdf(teaching, hierarchy, tmp_path):
    hierarchy.show_frame(ising_snapshot(32))
    assert_exports(hierarchy.figure_widget(), tmp_path, "hierarchy")
    for i in range(teaching.count()):
        teaching.setCurrentIndex(i)
        assert_exports(teaching.figure_widget(), tmp_path, f"teaching{i}")


# --- main window -------------------------------------------------------------------------------

def test_registry_tabifies_rg_docks(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "rgviz.ini"), QSettings.Format.IniFormat)
    window = MainWindow({"model": "ising", "L": 16, "device": "cpu"}, settings=settings, play=False,
                        panels=specs(["hierarchy", "rgflow", "teaching"]))
    qtbot.addWidget(window)
    try:
        panels = window.panels
        assert set(panels) == {"controls", "lattice", "timeseries", "hierarchy", "rgflow", "teaching"}
        tabbed = window.tabifiedDockWidgets(window.docks["hierarchy"])
        assert {window.docks["rgflow"], window.docks["teaching"]} <= set(tabbed)
        window.panels["lattice"].set_model("ising")
        window.panels["lattice"].cmap_box.setCurrentText("viridis")
        assert panels["hierarchy"].cmap_box.currentText() == "viridis"
    finally:
        window.close()
        panels["rgflow"].shutdown()
    assert not window.engine.is_running()
