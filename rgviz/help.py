"""The Help menu's pages: About (versions), Getting started (the panels and what to try first), Shortcuts.

Each page is HTML built from what is running (package metadata, the window's panels and actions), so it
cannot drift from the application; :func:`add_help_menu` adds the menu to a main window.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from importlib import metadata

import pyqtgraph
import PySide6
from PySide6.QtCore import qVersion
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QMainWindow,
    QTextBrowser,
    QVBoxLayout,
)

import engine

#: The three things to try first (each names only controls that exist in the core panels).
FIRST_STEPS = (
    ("Watch the Ising lattice at Tc, then drag T in <b>Controls</b> below 2.0 and above 2.6: domains grow, "
     "then dissolve; <b>Time series</b> shows |m| follow."),
    "Switch the model to XY and lower T below T_KT = 0.89: vortex pairs (white +1, black -1) bind and vanish.",
    ("Run a temperature sweep in <b>Phase transitions</b> (Ctrl+4) for L = 16, 32: the Binder curves cross "
     "at Tc, and <b>Finite-size scaling</b> collapses the curves."),
)


def version(dist: str, fallback: str = "not installed") -> str:
    """A distribution's version from its package metadata (no import)."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return fallback


def about_html(device: str) -> str:
    """rgviz's version, the device the live run uses, and the versions of the libraries it runs on."""
    rows = (("rgviz", version("rgviz", f"{engine.__version__} (source tree, not installed)")),
            ("device", device), ("torch", version("torch")), ("Qt", qVersion()),
            ("PySide6", PySide6.__version__), ("pyqtgraph", pyqtgraph.__version__), ("vispy", version("vispy")))
    table = "".join(f"<tr><td><b>{name}</b></td><td>{html.escape(value)}</td></tr>" for name, value in rows)
    return ("<h3>rgviz</h3><p>Watch phase transitions and the renormalization group happen, live.</p>"
            f"<table cellspacing='6'>{table}</table>")


def getting_started_html(panels: Iterable[tuple[str, str]]) -> str:
    """What each panel (``(title, purpose)``) is for, and the three things to try first."""
    items = "".join(f"<li><b>{html.escape(title)}</b>: {html.escape(purpose)}</li>" for title, purpose in panels)
    steps = "".join(f"<li>{step}</li>" for step in FIRST_STEPS)
    return (f"<h3>Three things to try first</h3><ol>{steps}</ol>"
            f"<h3>The panels</h3><p>Every panel is a dock: drag, float or close it; <b>View</b> brings it back "
            f"and <b>View &gt; Reset layout</b> restores the layout.</p><ul>{items}</ul>")


def shortcuts_html(actions: Sequence[QAction]) -> str:
    """Every action with a shortcut, as the menus show it (text without the mnemonic ampersand)."""
    rows = sorted({(a.shortcut().toString(QKeySequence.SequenceFormat.NativeText), a.text().replace("&", ""))
                   for a in actions if not a.shortcut().isEmpty()})
    table = "".join(f"<tr><td><b>{html.escape(key)}</b></td><td>{html.escape(text)}</td></tr>"
                    for key, text in rows)
    return f"<h3>Keyboard shortcuts</h3><table cellspacing='6'>{table}</table>"


class HelpPage(QDialog):
    """One page of help text in a scrollable, non-modal window."""

    def __init__(self, title: str, text: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(640, 520)
        self.browser = QTextBrowser()
        self.browser.setHtml(text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)


def add_help_menu(window: QMainWindow, device: str, panels: Sequence[tuple[str, str]]) -> dict[str, QAction]:
    """Add Help > About, Getting started, Keyboard shortcuts to ``window``; the pages open in
    ``window.help_page`` (the shortcuts are read when the page opens, so every panel's are listed)."""
    menu = window.menuBar().addMenu("&Help")
    menu.menuAction().setStatusTip("About rgviz, a first tour, the keyboard shortcuts")
    pages = {
        "about": ("&About rgviz", "rgviz version, device and library versions", lambda: about_html(device)),
        "start": ("&Getting started", "What each panel is for and three things to try first",
                  lambda: getting_started_html(panels)),
        "shortcuts": ("&Keyboard shortcuts", "Every keyboard shortcut of the window",
                      lambda: shortcuts_html(window.findChildren(QAction))),
    }
    actions = {}
    for key, (text, tip, page) in pages.items():
        action = QAction(text, window)
        action.setStatusTip(tip)
        action.setToolTip(tip)
        action.triggered.connect(lambda _=False, t=text, p=page: _open(window, t.replace("&", ""), p()))
        menu.addAction(action)
        actions[key] = action
    return actions


def _open(window: QMainWindow, title: str, text: str) -> None:
    window.help_page = HelpPage(title, text, window)
    window.help_page.show()
