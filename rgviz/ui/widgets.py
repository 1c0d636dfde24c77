"""Small widget helpers shared by the panels."""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSlider,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QToolTip,
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


def side_by_side(owner: QWidget, left: QWidget, right: QWidget, sizes: tuple[int, int], stretch: int = 3) -> None:
    """Lay ``owner`` out as ``left`` (settings) beside ``right`` (plots) in a splitter: initial widths ``sizes``,
    and ``right`` takes ``stretch`` times the share of extra width."""
    splitter = QSplitter(Qt.Orientation.Horizontal)
    splitter.addWidget(left)
    splitter.addWidget(right)
    splitter.setStretchFactor(1, stretch)
    splitter.setSizes(list(sizes))
    layout = QVBoxLayout(owner)
    layout.setContentsMargins(2, 2, 2, 2)
    layout.addWidget(splitter)


def estimate_table(reference: str) -> QTableWidget:
    """An empty results table with the columns estimate, value, error and ``reference`` (the exact
    or reference value it is compared with), sized to its contents."""
    table = QTableWidget(0, 4)
    table.setHorizontalHeaderLabels(["estimate", "value", "error", reference])
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.verticalHeader().setVisible(False)
    return table


def fill_estimate_table(table: QTableWidget, rows: list[tuple[str, float, float, float | None]]) -> None:
    """Rows of (estimate, value, error, reference), read-only; a NaN value (an estimate that could
    not be made, its label saying why) leaves its cells empty, and every label is also its tooltip
    (a long reason may be clipped)."""
    table.setRowCount(len(rows))
    for i, (label, value, error, ref) in enumerate(rows):
        found = math.isfinite(value)
        cells = (label, f"{value:.5g}" if found else "", f"{error:.2g}" if found else "",
                 "" if ref is None else f"{ref:.5g}")
        for j, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(label if j == 0 else "")
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            table.setItem(i, j, item)


class _TypedNumber:
    """What :class:`IntField` and :class:`FloatField` share: typed text is applied as typed or
    refused, never rewritten into another number.

    A plain QSpinBox drops characters its validator cannot use ("-16" with a minimum of 4 becomes
    "16", "1e9" becomes "19") and, when the field loses focus, replaces text it cannot read by
    the previous value. Here any text may be typed; Enter or leaving the field applies a number
    that parses, lies in the range, is a multiple of ``multiple_of`` and passes ``limit``;
    anything else stays as typed, the field turns red, its tooltip says why and
    ``rejected(message)`` is emitted. Escape or a step (arrows, wheel) puts the applied value
    back. :meth:`editing` tells a caller that mirrors the engine's state into the field (several
    times a second) to leave it alone.
    """

    #: Refused text: on the line edit only (a style sheet on the spin box itself replaces the style's arrows)
    RED = "QLineEdit { background: #ffc8c8; color: #a00000; }"

    def _setup(self, name: str, tooltip: str, multiple_of: int) -> None:
        self.name, self.multiple_of, self.error = name, multiple_of, None
        #: Optional further check of a parsed value: a reason to refuse it, or None
        self.limit: Callable[[float], str | None] | None = None
        self._tooltip = tooltip
        self.setToolTip(tooltip)
        self.setKeyboardTracking(False)  # apply on Enter or focus loss, not at every key
        self.lineEdit().textChanged.connect(self._on_text)  # typed
        self.textChanged.connect(self._on_text)  # a new value shown (the spin box mutes its line edit then)

    def editing(self) -> bool:
        """True while the user has the field (focus) or it holds refused text."""
        return self.hasFocus() or self.error is not None

    def parse(self, text: str) -> tuple[float | int | None, str | None]:
        """``(value, None)`` for text this field applies as it is, else ``(None, reason)``."""
        text = text.strip()
        if self.specialValueText() and text == self.specialValueText():
            return self.minimum(), None
        text = text.removeprefix(self.prefix().strip()).removesuffix(self.suffix().strip()).strip()
        try:
            value = self._convert(text)
        except ValueError:
            return None, f"{self.name}: {text!r} is not {self._kind}"
        if not self.minimum() <= value <= self.maximum():
            return None, f"{self.name} must lie between {self.minimum():g} and {self.maximum():g}, got {text}"
        if self.multiple_of > 1 and value % self.multiple_of:
            return None, f"{self.name} must be a multiple of {self.multiple_of}, got {text}"
        reason = self.limit(value) if self.limit is not None else None
        return (None, reason) if reason else (value, None)

    def validate(self, text: str, pos: int):
        """Never Invalid, so no keystroke is dropped; Acceptable only for what :meth:`parse` takes."""
        ok = self.parse(text)[1] is None
        return QValidator.State.Acceptable if ok else QValidator.State.Intermediate

    def valueFromText(self, text: str):
        value, _ = self.parse(text)
        return self.value() if value is None else value

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not self._accept_text():
            event.accept()  # keep the text; the base class would reset it to the old value
            return
        if key == Qt.Key.Key_Escape and self.error is not None:
            self._mark(None)
            self.lineEdit().setText(self.textFromValue(self.value()))
            event.accept()
            return
        super().keyPressEvent(event)

    def stepBy(self, steps: int) -> None:
        """Arrows, wheel, Page keys: on refused text the applied value comes back (as with Escape)."""
        super().stepBy(steps)
        self._on_text(self.lineEdit().text())

    def focusOutEvent(self, event) -> None:
        if self._accept_text():
            super().focusOutEvent(event)
        else:
            QWidget.focusOutEvent(self, event)  # skip the base class: it would reset the text

    def apply_text(self) -> bool:
        """Apply the text now (for a button that reads the field); False, and marked, if refused."""
        ok = self._accept_text()
        if ok:
            self.interpretText()
        return ok

    def _accept_text(self) -> bool:
        """Mark the field by whether its text can be applied; True when it can."""
        _, reason = self.parse(self.text())
        self._mark(reason)
        if reason is not None:
            self.rejected.emit(reason)
            QToolTip.showText(self.mapToGlobal(self.rect().bottomLeft()), reason, self)
        return reason is None

    def _on_text(self, text: str) -> None:
        if self.error is not None and self.parse(text)[1] is None:
            self._mark(None)

    def _mark(self, reason: str | None) -> None:
        if reason == self.error:
            return
        self.error = reason
        self.lineEdit().setStyleSheet(self.RED if reason else "")
        self.setToolTip(f"{reason}\n{self._tooltip}" if reason else self._tooltip)


class IntField(_TypedNumber, QSpinBox):
    """An integer spin box that refuses text it cannot apply (see :class:`_TypedNumber`)."""

    rejected = Signal(str)
    _kind = "an integer"

    def __init__(self, name: str, lo: int, hi: int, value: int, tooltip: str, step: int = 1, multiple_of: int = 1):
        super().__init__()
        self._setup(name, tooltip, multiple_of)
        self.setRange(lo, hi)
        self.setSingleStep(step)
        self.setValue(value)

    @staticmethod
    def _convert(text: str) -> int:
        return int(text)


class FloatField(_TypedNumber, QDoubleSpinBox):
    """A decimal spin box that refuses text it cannot apply (see :class:`_TypedNumber`)."""

    rejected = Signal(str)
    _kind = "a number"

    def __init__(self, name: str, lo: float, hi: float, value: float, tooltip: str, step: float = 0.01,
                 decimals: int = 4):
        super().__init__()
        self._setup(name, tooltip, 1)
        self.setDecimals(decimals)
        self.setRange(lo, hi)
        self.setSingleStep(step)
        self.setValue(value)

    @staticmethod
    def _convert(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(text)
        return value

    def parse(self, text: str) -> tuple[float | None, str | None]:
        """As :meth:`_TypedNumber.parse`; more decimals than the field keeps are refused, not rounded away."""
        value, reason = super().parse(text)
        if value is not None and round(value, self.decimals()) != value:
            return None, f"{self.name} takes at most {self.decimals()} decimals, got {text.strip()}"
        return value, reason


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
