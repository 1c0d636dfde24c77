"""Plots that fit: at 1400 x 900 and 1920 x 1080 every plot of every panel (each tab of it in front)
keeps a readable data area, with results drawn; empty plots say what to run."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtWidgets import QApplication, QTabWidget

from engine.figures import Figure, Series
from engine.rg.ising_flow import RGFlowConfig, run_ising_rgflow
from engine.sweep import SweepConfig, SweepRunner
from rgviz.figures import draw_figure, legend_corner
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


def test_legends_go_to_the_corner_without_data(qtbot):
    rising = Figure("f", "", "T", "chi", [Series(np.linspace(0, 1, 50), np.linspace(0, 1, 50) ** 3, label="L=8")])
    falling = Figure("f", "", "T", "U4", [Series(np.linspace(0, 1, 50), 1 - np.linspace(0, 1, 50), label="L=8")])
    assert legend_corner(rising) == (10, 10)  # top left: the curve ends top right
    assert legend_corner(falling) == (-10, 10)  # top right is empty
    grid = PlotGrid()
    qtbot.addWidget(grid)
    [plot] = grid.fill(1)
    draw_figure(plot, rising)
    assert plot.legend.isVisible() and tuple(plot.legend.opts["offset"]) == (10, 10)
