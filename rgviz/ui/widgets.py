"""Small widget helpers shared by the panels."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSlider,
    QSpinBox,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)


def int_spin(lo: int, hi: int, value: int, step: int = 1, prefix: str = "") -> QSpinBox:
    """An integer spin box with its range, step and starting value set."""
    box = QSpinBox()
    box.setRange(lo, hi)
    box.setSingleStep(step)
    box.setValue(value)
    if prefix:
        box.setPrefix(prefix)
    return box


def view_with_bar(owner: QWidget, view: QWidget, tools: list[QWidget | str], status: QWidget) -> None:
    """Lay ``owner`` out as ``view`` filling it above one row: ``tools`` (strings become labels)
    from the left, ``status`` (a readout or note) at the right end."""
    bar = QHBoxLayout()
    for tool in tools:
        bar.addWidget(QLabel(tool) if isinstance(tool, str) else tool)
    bar.addStretch(1)
    bar.addWidget(status)
    layout = QVBoxLayout(owner)
    layout.setContentsMargins(2, 2, 2, 2)
    layout.addWidget(view, 1)
    layout.addLayout(bar)


def estimate_table(reference: str) -> QTableWidget:
    """An empty results table with the columns estimate, value, error and ``reference`` (the exact
    or reference value it is compared with), sized to its contents."""
    table = QTableWidget(0, 4)
    table.setHorizontalHeaderLabels(["estimate", "value", "error", reference])
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.verticalHeader().setVisible(False)
    return table


class SliderSpin(QWidget):
    """A slider for dragging and a spin box for typing, kept in sync, showing one float in [lo, hi].

    ``valueChanged(value)`` fires once per change, whichever of the two made it.
    """

    valueChanged = Signal(float)
    STEPS = 1000

    def __init__(self, lo: float, hi: float, value: float, decimals: int = 4, tooltip: str = "",
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, self.STEPS)
        self.spin = QDoubleSpinBox()
        self.spin.setDecimals(decimals)
        self.spin.setKeyboardTracking(False)
        self.set_range(lo, hi)
        self.spin.setValue(value)
        self._sync_slider()
        self.slider.valueChanged.connect(self._slider_moved)
        self.spin.valueChanged.connect(self._spin_changed)
        if tooltip:
            for widget in (self.slider, self.spin):
                widget.setToolTip(tooltip)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.slider, 3)
        row.addWidget(self.spin, 1)

    def set_range(self, lo: float, hi: float) -> None:
        self.lo, self.hi = lo, max(hi, lo + 1e-6)  # an empty range would leave the slider nowhere to go
        self.spin.setRange(self.lo, self.hi)
        self.spin.setSingleStep((self.hi - self.lo) / 200)

    def value(self) -> float:
        return self.spin.value()

    def set_value(self, value: float) -> None:
        self.spin.setValue(value)

    def _sync_slider(self) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round((self.spin.value() - self.lo) / (self.hi - self.lo) * self.STEPS))
        self.slider.blockSignals(False)

    def _slider_moved(self, position: int) -> None:
        self.spin.setValue(self.lo + (self.hi - self.lo) * position / self.STEPS)

    def _spin_changed(self, value: float) -> None:
        self._sync_slider()
        self.valueChanged.emit(value)
