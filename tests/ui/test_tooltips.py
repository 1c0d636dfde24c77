"""Every input control of the window (every panel's and the window's own) has a tooltip saying what it does."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QDockWidget,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMenuBar,
    QSlider,
    QTabBar,
    QWidget,
)

from rgviz.ui import registry

#: What a user types into, picks, drags or presses.
INPUTS = (QAbstractSpinBox, QComboBox, QLineEdit, QAbstractButton, QSlider)


def is_part_of_another_control(widget: QWidget) -> bool:
    """Widgets Qt builds inside a control, which the control's own tooltip covers: the text field of a spin box
    or an editable combo box, a tab bar's scroll arrows, a dock's float and close buttons, a table's corner
    button, a menu bar's overflow arrow."""
    parent = widget.parent()
    if isinstance(widget, QLineEdit):
        return isinstance(parent, (QAbstractSpinBox, QComboBox))
    if isinstance(widget, QAbstractButton):
        return isinstance(parent, (QTabBar, QDockWidget, QAbstractItemView, QMenuBar))
    return False


def label_of(widget: QWidget) -> str:
    """What the user reads next to ``widget``: its own text, else the label just before it in its layout, else
    the form label of its row."""
    if isinstance(widget, QAbstractButton) and widget.text():
        return widget.text()
    parent = widget.parentWidget()
    found = []
    if parent is not None and parent.layout() is not None:
        find_label(parent.layout(), widget, found)
    return found[0] if found else ""


def find_label(layout, widget: QWidget, found: list[str]) -> bool:
    """Whether ``layout`` holds ``widget`` (at any depth); appends to ``found`` the labels that name it, the
    innermost first."""
    items = [layout.itemAt(i) for i in range(layout.count())]
    for i, item in enumerate(items):
        if item.widget() is widget:
            if i > 0 and isinstance(items[i - 1].widget(), QLabel):
                found.append(items[i - 1].widget().text())
        elif item.layout() is None or not find_label(item.layout(), widget, found):
            continue
        if isinstance(layout, QFormLayout):
            row, _ = layout.getItemPosition(i)
            label = layout.itemAt(row, QFormLayout.ItemRole.LabelRole)
            if label is not None and isinstance(label.widget(), QLabel):
                found.append(label.widget().text())
        return True
    return False


def without_tooltip(root: QWidget, skip: tuple[QWidget, ...] = ()) -> list[QWidget]:
    """The input controls under ``root`` (not under ``skip``) with an empty tooltip."""
    def inside(widget: QWidget, others) -> bool:
        return any(other.isAncestorOf(widget) for other in others)

    return [widget for widget in root.findChildren(QWidget) if isinstance(widget, INPUTS)
            and not widget.toolTip().strip() and not is_part_of_another_control(widget) and not inside(widget, skip)]


def describe(where: str, widget: QWidget) -> str:
    return f"{where}: {widget.objectName() or '-'}/{type(widget).__name__}, {label_of(widget)!r}"


def test_every_input_control_says_what_it_does(make_window):
    window = make_window(play=False, panels=registry.PANELS)
    missing = [describe(key, widget) for key, panel in window.panels.items() for widget in without_tooltip(panel)]
    missing += [describe("window", widget) for widget in without_tooltip(window, tuple(window.panels.values()))]
    assert len(window.panels) == len(registry.PANELS)
    assert not missing, f"{len(missing)} input controls without a tooltip:\n" + "\n".join(missing)
