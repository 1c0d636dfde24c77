"""Plots that fit: at 1400 x 900 and 1920 x 1080 every plot of every panel (each tab of it in front)
keeps a readable data area, with results drawn; empty plots say what to run."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QTabBar, QTabWidget

from engine.figures import Figure, Series
from engine.rg.ising_flow import RGFlowConfig, run_ising_rgflow
from engine.sweep import SweepConfig, SweepRunner
from rgviz.figures import draw_figure, show_hint
from rgviz.mainwindow import MainWindow
from rgviz.ui import registry
from rgviz.ui.plotting import MIN_CELL, PlotGrid

#: The least data area (ViewBox) of a plot, in pixels: the issue's rule of thumb.
MIN_PLOT = (150, 120)


def tiny_sweep():
    result = SweepRunner(SweepConfig(sizes=(4, 8), temperatures=(2.1, 2.3, 2.5), sweeps=40, thermalize=10,
                                     chunk=20, device="cpu", algorithm="wolff")).run()
    result.analyse()
    return result


def tiny_flow():
    return run_ising_rgflow(RGFlowConfig(L=8, temperatures=(2.0, 2.3, 2.6), levels=1, n_samples=40,
                                         thermalize=10, n_blocks=4))


@pytest.fixture
def full_window(make_window):
    return make_window(play=False, panels=registry.PANELS)


def settle(qtbot) -> None:
    for _ in range(5):
        QApplication.processEvents()
    qtbot.wait(20)


def views_shown(root) -> list[tuple[str, pg.ViewBox]]:
    """Every visible data area under ``root``, named by its widget's class and title (a colour bar's
    narrow strip is a key, not a plot)."""
    found = []
    for view in root.findChildren(pg.GraphicsView):
        if not view.isVisible():
            continue
        for item in view.scene().items():
            if isinstance(item, pg.ViewBox) and item.isVisible() and not isinstance(item.parentItem(), pg.ColorBarItem):
                found.append((type(view).__name__, item))
    return found


def each_page(window: MainWindow):
    """Bring every panel, and every tab of a panel, to the front in turn; yield a name for each."""
    for key in window.docks:
        window.bring_to_front(key)
        panel = window.panels[key]
        tab_sets = ([panel] if isinstance(panel, QTabWidget) else []) + panel.findChildren(QTabWidget)
        pages = [(tabs, i) for tabs in tab_sets for i in range(tabs.count())] or [(None, 0)]
        for tabs, i in pages:
            if tabs is not None:
                if tabs.tabText(i) == "3D bulk":  # OpenGL: not on the offscreen platform
                    continue
                tabs.setCurrentIndex(i)
            yield key + ("" if tabs is None else f" / {tabs.tabText(i)}")


@pytest.mark.parametrize("size", [(1400, 900), (1920, 1080)])
def test_every_plot_of_every_panel_keeps_a_readable_size(full_window, qtbot, size):
    window = full_window
    window.resize(*size)
    window.panels["phase"].show_result(tiny_sweep())
    window.panels["rgflow"].ising.show_result(tiny_flow())
    settle(qtbot)
    small, checked = [], 0
    for page in each_page(window):
        settle(qtbot)
        for name, view in views_shown(window.panels[page.split(" / ")[0]]):
            rect = view.sceneBoundingRect()
            checked += 1
            if rect.width() < MIN_PLOT[0] or rect.height() < MIN_PLOT[1]:
                small.append(f"{page}: {name} {rect.width():.0f} x {rect.height():.0f}")
    assert checked > 20
    assert not small, "plots squashed below 150 x 120 px:\n" + "\n".join(small)


def test_the_lattice_fills_its_view(full_window, qtbot):
    """The lattice's dock is about square, so the square image leaves no wide empty margins."""
    window = full_window
    window.resize(1400, 900)
    settle(qtbot)
    view = window.panels["lattice"].plot.getViewBox().sceneBoundingRect()
    assert 0.8 <= view.width() / view.height() <= 1.25


def test_panel_tabs_show_whole_titles(full_window, qtbot):
    window = full_window
    settle(qtbot)
    bars = [bar for bar in window.findChildren(QTabBar) if bar.parent() is window and bar.count() > 1]
    assert bars, "the further panels are one tab group"
    for bar in bars:
        assert bar.elideMode() == Qt.TextElideMode.ElideNone and bar.usesScrollButtons()
    window.reset_layout()
    settle(qtbot)
    assert all(bar.elideMode() == Qt.TextElideMode.ElideNone for bar in window.findChildren(QTabBar)
               if bar.parent() is window)


def test_empty_grids_say_what_to_run_and_reflow_when_narrow(qtbot):
    grid = PlotGrid("Press Start")
    qtbot.addWidget(grid)
    grid.resize(900, 400)
    grid.show()
    [hint] = [item for item in grid.ci.items]
    assert "Press Start" in hint.titleLabel.text and not hint.getAxis("left").isVisible()
    plots = grid.fill(6)
    assert [grid.ci.items[p] for p in plots[:4]] == [[(0, 0)], [(0, 1)], [(0, 2)], [(1, 0)]]
    grid.resize(500, 400)  # two columns fit: three rows, and the grid asks for their height
    settle(qtbot)
    assert [grid.ci.items[p] for p in plots[:3]] == [[(0, 0)], [(0, 1)], [(1, 0)]]
    assert grid.minimumHeight() >= 3 * MIN_CELL.height()


def legends_over_data(plots) -> list[str]:
    """The titles of ``plots`` whose shown legend overlaps their data area or sticks out of the plot."""
    def misplaced(plot):
        rect = plot.legend.sceneBoundingRect()
        inner = rect.adjusted(1, 1, -1, -1)  # touching the data area by a fraction of a pixel is not covering it
        return inner.intersects(plot.getViewBox().sceneBoundingRect()) or not plot.sceneBoundingRect().contains(rect)

    return [plot.titleLabel.text for plot in plots if plot.legend.isVisible() and plot.legend.items and misplaced(plot)]


def test_legends_stay_outside_the_data_of_a_phase_sweep(qtbot):
    from rgviz.ui.phase import PhasePanel

    panel = PhasePanel(device="cpu")
    qtbot.addWidget(panel)
    panel.resize(1000, 700)
    panel.show()
    panel.show_result(tiny_sweep())
    settle(qtbot)
    shown = [plot for plot in panel._plots.values() if plot.legend.isVisible()]
    assert len(shown) >= 4 and all(len(plot.legend.items) >= 2 for plot in shown)
    assert not legends_over_data(panel._plots.values())


def test_one_legend_per_plot_through_redraws_resizes_hints_and_exports(qtbot):
    from rgviz import export

    labelled = Figure("f", "", "T", "chi", [Series(np.linspace(0, 1, 50), np.linspace(0, 1, 50) ** k, label=f"L={k}")
                                            for k in range(1, 6)])
    bare = Figure("f", "", "T", "chi", [Series(np.linspace(0, 1, 50), np.linspace(0, 1, 50))])
    grid = PlotGrid()
    qtbot.addWidget(grid)
    grid.resize(MIN_CELL.width(), MIN_CELL.height())
    grid.show()
    [plot] = grid.fill(1)
    for _ in range(3):
        draw_figure(plot, labelled)
    settle(qtbot)
    legends = [item for item in plot.scene().items() if isinstance(item, pg.LegendItem)]
    assert legends == [plot.legend] and len(plot.legend.items) == 5
    assert not legends_over_data([plot])
    # five entries side by side in the plot's width, not a column as tall as the plot
    assert plot.legend.columnCount > 1 and plot.legend.sceneBoundingRect().height() < 40
    view = plot.getViewBox().sceneBoundingRect()
    assert plot.legend.sceneBoundingRect().right() <= grid.width() and view.right() <= grid.width()
    assert "L=5" in export.svg_bytes(grid).data().decode()
    grid.resize(3 * MIN_CELL.width(), MIN_CELL.height())  # wide: the legend moves right of the data, one column
    settle(qtbot)
    right_of_data = plot.getViewBox().sceneBoundingRect().right() - 1
    assert plot.legend.columnCount == 1 and plot.legend.sceneBoundingRect().left() >= right_of_data
    assert not legends_over_data([plot])
    grid.resize(MIN_CELL.width(), MIN_CELL.height())
    settle(qtbot)
    draw_figure(plot, bare)  # no labels: no legend, and no empty row under the axis
    settle(qtbot)
    assert not plot.legend.isVisible() and plot.getViewBox().sceneBoundingRect().height() > view.height()
    draw_figure(plot, labelled)
    show_hint(plot, "Press Start")
    assert not plot.legend.isVisible()


def test_every_panels_settings_come_back_through_the_window(full_window):
    """What a session saves of each panel is restored by the window's own path (a panel that only
    implements an old restore method would silently lose its settings)."""
    window = full_window
    window.panels["sandpile"].seed.setValue(17)
    states = window.panel_states()
    assert "sandpile" in states and "deepnets" in states
    window.panels["sandpile"].seed.setValue(3)
    window.restore_panel_states(states)
    assert window.panels["sandpile"].seed.value() == 17
