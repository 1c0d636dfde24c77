"""The live views are painted by Qt without Python in between (so without the GIL), and still
prepare their pyqtgraph scene before each paint."""

from __future__ import annotations

import sys

import pyqtgraph as pg
import pytest
from PySide6.QtWidgets import QGraphicsRectItem

from rgviz.ui.plotting import GraphicsLayoutWidget, PlotWidget


class StackProbe(QGraphicsRectItem):
    """A scene item that records the names of the Python functions its paint was called from."""

    def __init__(self):
        super().__init__(0.0, 0.0, 1.0, 1.0)
        self.callers: list[list[str]] = []

    def paint(self, painter, option, widget=None):
        frame, names = sys._getframe(1), []
        while frame is not None:
            names.append(frame.f_code.co_name)
            frame = frame.f_back
        self.callers.append(names)
        super().paint(painter, option, widget)


def paint_callers(qtbot, widget, view_box) -> list[str]:
    """The Python callers of an item's paint when the widget's viewport is repainted from here."""
    probe = StackProbe()
    view_box.addItem(probe)
    view_box.setRange(xRange=(-1, 2), yRange=(-1, 2), padding=0)
    qtbot.addWidget(widget)
    widget.resize(300, 300)
    widget.show()
    qtbot.waitUntil(lambda: len(probe.callers) > 0)  # laid out and painted once
    probe.callers.clear()
    widget.viewport().repaint()
    assert probe.callers, "the probe was not painted"
    return probe.callers[-1]


def layout_with_plot(cls):
    widget = cls()
    return widget, widget.addPlot().getViewBox()


def plot_widget(cls):
    widget = cls()
    return widget, widget.getViewBox()


@pytest.mark.parametrize("make", [lambda: plot_widget(PlotWidget), lambda: layout_with_plot(GraphicsLayoutWidget)])
def test_scene_is_painted_straight_from_qt(qtbot, make):
    callers = paint_callers(qtbot, *make())
    assert callers[0] == "paint_callers"  # repaint() -> Qt -> the item: no Python paintEvent in between


def test_pyqtgraph_view_paints_from_python(qtbot):
    """The control: pyqtgraph's own view paints its scene from a Python paintEvent (holding the GIL)."""
    assert paint_callers(qtbot, *plot_widget(pg.PlotWidget))[0] == "paintEvent"


def test_scene_prepared_before_paint(qtbot):
    """Deferred range changes reach the screen: the scene is prepared before each paint."""
    widget, box = plot_widget(PlotWidget)
    paint_callers(qtbot, widget, box)
    prepared = []
    widget.scene().sigPrepareForPaint.connect(lambda: prepared.append(True))
    box.setRange(xRange=(0, 10), yRange=(0, 10), padding=0)
    assert box._matrixNeedsUpdate  # pyqtgraph defers the view transform to the next paint
    widget.viewport().repaint()
    assert prepared and not box._matrixNeedsUpdate
    assert box.mapViewToDevice(pg.Point(10, 0)).x() == pytest.approx(box.mapViewToDevice(pg.Point(0, 0)).x()
                                                                    + box.width(), abs=1)
