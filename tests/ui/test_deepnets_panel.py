"""The Deep networks panel: each tab computes in a job, draws the engine's figures, refuses bad input in one
line, exports what ``rgviz-batch deepnets`` writes, and keeps its settings in the session."""

from __future__ import annotations

import json

import numpy as np
import pyqtgraph as pg
import pytest

from engine.figures import Figure, Heatmap
from rgviz.figures import draw_figure, style_plot
from rgviz.ui.deepnets import DeepNetsPanel


@pytest.fixture
def deepnets(qtbot):
    """A panel with a small theory grid, shown on another tab (the theory tab computes when first shown); every job
    joined at teardown."""
    panel = DeepNetsPanel()
    panel.theory.sw2_n.setValue(8)
    panel.theory.sb2_n.setValue(4)
    panel.setCurrentWidget(panel.measure)
    qtbot.addWidget(panel)
    panel.resize(1000, 420)
    panel.show()
    yield panel
    assert panel.shutdown(10_000), "a deep-network job did not stop"


def wait_done(qtbot, tab, timeout=60_000):
    qtbot.waitUntil(lambda: tab.job is not None and tab.job.is_done, timeout=timeout)
    assert tab.result is not None, tab.status.text()


def test_first_showing_computes_the_phase_diagram_and_it_exports(deepnets, qtbot, tmp_path):
    tab = deepnets.theory
    assert tab.job is None  # not shown yet
    deepnets.setCurrentWidget(tab)
    wait_done(qtbot, tab)
    assert tab.result.grid.chi_1.shape == (4, 8)
    assert "1.761" in tab.status.text()  # chi_1 = 1 at sigma_w^2 = 1.761 for sigma_b^2 = 0.05
    phase_plot = tab.plot_items[0]
    assert phase_plot._rgviz_colorbar is not None
    assert any(isinstance(item, pg.PColorMeshItem) for item in phase_plot.items)
    written = {p.name for p in deepnets.export_data(tmp_path)}
    assert {"deepnets.json", "phase.csv", "deepnets.npz", "phase_diagram.png", "depth_scales.svg",
            "maps.pdf"} <= written
    doc = json.loads((tmp_path / "deepnets.json").read_text())
    assert doc["part"] == "phase" and doc["cut"]["critical_sw2"] == pytest.approx(1.76095, abs=1e-4)


def test_random_networks_tab_measures_and_tabulates(deepnets, qtbot):
    tab = deepnets.measure
    tab.sw2.setText("1.0 2.5")
    for box, value in ((tab.width, 64), (tab.depth, 6), (tab.draws, 3), (tab.pairs, 2)):
        box.setValue(value)
    tab.start()
    wait_done(qtbot, tab)
    assert [run.sw2 for run in tab.result.runs] == [1.0, 2.5]
    assert tab.table.rowCount() == 6  # q^L, c^L and xi_c per sigma_w^2
    assert tab.table.item(0, 0).text() == "q^6 at sigma_w^2 = 1"


def test_bad_input_is_one_line_and_starts_nothing(deepnets, qtbot):
    tab = deepnets.measure
    tab.sw2.setText("1.0 lots")
    with qtbot.waitSignal(tab.error, timeout=1000) as blocker:
        tab.start()
    assert blocker.args[0].startswith("sigma_w^2:") and tab.job is None
    train = deepnets.train
    train.depths.setText("10 0")
    with qtbot.waitSignal(train.error, timeout=1000) as blocker:
        train.start()
    assert blocker.args[0].startswith("depths:") and train.job is None


def test_trainability_tab_draws_its_heat_map(deepnets, qtbot):
    tab = deepnets.train
    tab.depths.setText("2 6")
    tab.sw2_n.setValue(3)
    tab.width.setValue(16)
    tab.steps.setValue(10)
    tab.start()
    wait_done(qtbot, tab)
    assert tab.result.accuracy.shape == (2, 3) and np.all(np.isfinite(tab.result.accuracy))
    assert tab.plot_items[0]._rgviz_colorbar is not None


def test_settings_round_trip_through_the_session(qtbot):
    deepnets = DeepNetsPanel()  # not shown: nothing computes
    qtbot.addWidget(deepnets)
    deepnets.measure.width.setValue(777)
    deepnets.train.depths.setText("3 4")
    deepnets.theory.activation.setCurrentText("relu")
    state = json.loads(json.dumps(deepnets.session_state()))
    fresh = DeepNetsPanel()
    qtbot.addWidget(fresh)
    fresh.session_restorer(state)()
    assert fresh.measure.width.value() == 777 and fresh.train.depths.text() == "3 4"
    assert fresh.theory.activation.currentText() == "relu"


def test_a_heat_map_redrawn_keeps_one_colour_bar_and_no_grid_over_it(qtbot):
    widget = pg.GraphicsLayoutWidget()
    qtbot.addWidget(widget)
    plot = widget.addPlot()
    style_plot(plot)
    fig = Figure("h", "h", "x", "y", heatmap=Heatmap([0, 1, 3], [0, 2], [[0, 1, 2], [3, 4, np.nan]], "v"))
    for _ in range(3):
        draw_figure(plot, fig)
    assert isinstance(plot.layout.itemAt(2, 5), pg.ColorBarItem)
    assert sum(isinstance(plot.layout.itemAt(i), pg.ColorBarItem) for i in range(plot.layout.count())) == 1
    assert all(plot.getAxis(side).grid is False for side in ("bottom", "left"))
    draw_figure(plot, Figure("p", "p", "x", "y"))
    assert not any(isinstance(plot.layout.itemAt(i), pg.ColorBarItem) for i in range(plot.layout.count()))
    assert all(plot.getAxis(side).grid for side in ("bottom", "left"))  # a plain plot keeps its faint grid
