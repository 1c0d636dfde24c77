"""What the main window asks of a panel: the :class:`Panel` protocol, with defaults for everything.

The main window calls only these methods, on every panel, so it needs no knowledge of any panel's
insides. A panel class inherits :class:`Panel` (before QWidget) and overrides what it has:

- ``show_frame(snapshot)``: a frame of the live simulation (a plain-data dict) arrived; draw it.
- ``figure_targets()``: what File > Export figure can render, each with a default pixel size.
- ``has_data()`` / ``export_data(folder)``: File > Export data writes the panel in front, when it has
  data; otherwise the live lattice is exported.
- ``session_state()`` / ``session_restorer(state)``: the panel's results (and settings) as plain data for a
  session file (:mod:`engine.plain`: JSON types, numpy arrays and the engine's result types that
  ``session_types`` names); a restorer checks a loaded state before it changes anything.
- ``shutdown(timeout_ms)``: cancel and join every background job; the window's one close path.

Title, shortcut and where the dock goes are the registry's (:mod:`rgviz.ui.registry`), so the View
menu is known before any panel is built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QWidget

#: Export size for a figure whose widget is not on screen (a tab behind another has no size yet).
OFF_SCREEN_SIZE = QSize(1200, 800)
#: Smaller than this on screen, a figure is exported at OFF_SCREEN_SIZE instead (a squeezed dock).
MIN_EXPORT_SIZE = QSize(320, 240)


@dataclass(frozen=True)
class FigureTarget:
    """One thing File > Export figure can render: ``widget()`` gives the widget at export time
    (a tab's content may change); ``size`` is the proposed PNG size (default: as shown). Give
    ``size`` when ``widget()`` is expensive (e.g. renders a 3D view), since the dialog asks first."""

    title: str
    widget: Callable[[], QWidget]
    size: QSize | None = None

    def default_size(self) -> QSize:
        """The PNG size the export dialog proposes: ``size``, else the widget's (:func:`proposed_size`)."""
        return self.size if self.size is not None else proposed_size(self.widget())


def proposed_size(widget: QWidget) -> QSize:
    """A widget's size on screen, or :data:`OFF_SCREEN_SIZE` when it is hidden or squeezed."""
    shown = widget.size()
    if widget.isVisible() and shown.width() >= MIN_EXPORT_SIZE.width() and shown.height() >= MIN_EXPORT_SIZE.height():
        return shown
    return OFF_SCREEN_SIZE


class Panel:
    """Mixin for a panel widget: every method has a default, so a panel overrides only what it has."""

    def show_frame(self, snapshot: dict) -> None:
        """A new live frame (called at most a few times a second while the panel is visible)."""

    def figure_widget(self) -> QWidget:
        """The one figure of a panel with one (default: the whole panel)."""
        return self

    def figure_targets(self) -> list[FigureTarget]:
        """What Export figure offers for this panel (a target's title follows the panel's title).
        Default: :meth:`figure_widget`."""
        return [FigureTarget("", self.figure_widget)]

    def has_data(self) -> bool:
        """True when :meth:`export_data` has something to write now."""
        return False

    def export_data(self, folder: str | Path) -> list[Path]:
        """Write the panel's results into ``folder``; returns the files written."""
        raise ValueError("this panel has no data to export")

    #: The engine's result types (dataclasses) :meth:`session_state` may hold: a session file builds only these.
    session_types: tuple[type, ...] = ()

    def session_state(self) -> dict:
        """The panel's results and settings as plain data (see the module docstring), saved with the session."""
        return {}

    def session_restorer(self, state: dict) -> Callable[[], None]:
        """Check ``state`` (what :meth:`session_state` returned, read back) and return what shows it; raise
        ValueError (one line) if it cannot be shown, before anything changes. Unknown keys are ignored."""
        return lambda: None

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel every background job and wait up to ``timeout_ms`` for each to end; True when no
        thread of this panel is left. Closing the window calls it twice: with 0 (cancel everything
        at once), then with a timeout (join)."""
        return True
