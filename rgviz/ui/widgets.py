"""Small widget helpers shared by the panels."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
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
