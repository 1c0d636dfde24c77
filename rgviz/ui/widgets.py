"""Small widget helpers shared by the panels."""

from __future__ import annotations

from PySide6.QtWidgets import QSpinBox


def int_spin(lo: int, hi: int, value: int, step: int = 1, prefix: str = "") -> QSpinBox:
    """An integer spin box with its range, step and starting value set."""
    box = QSpinBox()
    box.setRange(lo, hi)
    box.setSingleStep(step)
    box.setValue(value)
    if prefix:
        box.setPrefix(prefix)
    return box
