"""The main window: panels as docks, menus, status bar, export, sessions, layout persistence.

Every panel is a QDockWidget registered with one :meth:`MainWindow.add_panel` line. A panel may
provide ``show_frame(snapshot)`` (called for every frame the worker publishes), a
``command = Signal(str, dict)`` (forwarded to the worker) and ``figure_widget()`` (what "Export
figure" renders; default: the panel itself). Later panels (phase diagrams, RG flows, the neural-RG
bulk) plug in the same way.
"""

from __future__ import annotations

import importlib
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QWidget,
)

from engine.device import device_label, resolve_device

from . import export, jobs
from .ui.controls import ControlPanel
from .ui.lattice_view import LatticeView
from .ui.timeseries import TimeSeriesView
from .worker import EngineWorker, WorkerThread

#: Bumped whenever the set of docks changes, so an old saved layout is ignored, not misapplied.
LAYOUT_VERSION = 1
WHOLE_WINDOW = "window"
CORE_PANELS = ("controls", "lattice", "timeseries")
#: Commands by which the user runs the live simulation (they end a hold for background jobs).
RUN_COMMANDS = ("play", "step", "quench", "anneal")

#: Panel groups beyond the live simulation's own: "module:function", each function adding its
#: docks with :meth:`MainWindow.add_panel` (one line per group here).
PANEL_GROUPS = (
    "rgviz.ui.phase:register_phase_panels",
    "rgviz.ui.rgflow:register_rg_panels",
    "rgviz.ui.bulk:register_bulk_panels",
)


def register_group(window: MainWindow, spec: str) -> dict[str, QWidget]:
    """Import ``module:function`` and let it add its panels to ``window``."""
    module, function = spec.split(":")
    return getattr(importlib.import_module(module), function)(window)


class MainWindow(QMainWindow):
    """``simulation_kwargs`` start the live simulation; ``panel_groups`` (e.g. :data:`PANEL_GROUPS`)
    add further docks; ``settings`` hold the layout (default: the user's rgviz settings)."""

    SLOW_INTERVAL = 0.2

    def __init__(self, simulation_kwargs: dict | None = None, settings: QSettings | None = None,
                 play: bool = True, panel_groups: Sequence[str] = ()):
        super().__init__()
        kwargs = {"model": "ising", "L": 256, "T": 2.269, "seed": 0, "device": "auto", **(simulation_kwargs or {})}
        self.setWindowTitle(f"rgviz: {kwargs['model']} model")
        self.setDockNestingEnabled(True)
        self.settings = settings or QSettings("rgviz", "rgviz")
        self.device = str(resolve_device(kwargs["device"]))
        self.panels: dict[str, QWidget] = {}
        self.docks: dict[str, QDockWidget] = {}
        self.last_snapshot: dict | None = None
        self.recorder: export.MovieRecorder | None = None
        self.error_box: QMessageBox | None = None
        self.frames_shown = 0
        self._frame_times: deque[float] = deque(maxlen=120)
        self._slow_drawn_at = -1.0

        self.worker = EngineWorker(**kwargs)
        self.worker.frame.connect(self._on_frame)
        self.worker.error.connect(self.show_error)
        self.worker.notice.connect(self._on_notice)
        self.engine = WorkerThread(self.worker)

        self._build_menus()  # first: add_panel lists every dock in the View menu
        controls = ControlPanel(model=kwargs["model"], L=kwargs["L"], T=kwargs.get("T", 2.269), seed=kwargs["seed"])
        self.add_panel("controls", "Controls", controls, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.add_panel("lattice", "Lattice", LatticeView(), Qt.DockWidgetArea.RightDockWidgetArea)
        self.add_panel("timeseries", "Time series", TimeSeriesView(), Qt.DockWidgetArea.BottomDockWidgetArea)
        for group in panel_groups:
            register_group(self, group)
        self._arrange_default_layout()
        self._build_status_bar(kwargs["device"])
        self._build_job_note()
        self._default_state = self.saveState(LAYOUT_VERSION)
        self._restore_layout()
        self.engine.start()
        if play:
            self.worker.play()

    # --- panels ---------------------------------------------------------------------------
    def add_panel(self, key: str, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        """Dock ``widget`` as a movable, floatable, closable panel listed in the View menu."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{key}")  # saveState/restoreState identify docks by name
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        if key not in CORE_PANELS and "timeseries" in self.docks:
            # Every further panel starts as a tab beside the time series: the lattice stays large.
            # (Tabbing here, not after a group has tabbed its own docks, leaves no stray tab bars.)
            self.tabifyDockWidget(self.docks["timeseries"], dock)
        self._view_menu.insertAction(self._view_separator, dock.toggleViewAction())
        self.panels[key], self.docks[key] = widget, dock
        if hasattr(widget, "command"):
            widget.command.connect(self.send)
        if hasattr(widget, "message"):
            widget.message.connect(self._on_notice)
        return dock

    def _arrange_default_layout(self) -> None:
        """Controls on the left (full height), the lattice large on the right, the time series
        (with every further panel as a tab, see :meth:`add_panel`) below the lattice."""
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        series = self.docks["timeseries"]
        series.raise_()
        self.resize(1400, 900)
        self.resizeDocks([self.docks["controls"], self.docks["lattice"]], [380, 1000], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["lattice"], series], [560, 320], Qt.Orientation.Vertical)

    def figure_targets(self) -> dict[str, str]:
        """Export-figure targets: key -> title (panels, then the whole window)."""
        targets = {key: dock.windowTitle() for key, dock in self.docks.items() if key != "controls"}
        targets[WHOLE_WINDOW] = "Whole window"
        return targets

    # --- worker traffic -------------------------------------------------------------------
    @Slot(str, dict)
    def send(self, command: str, kwargs: dict) -> None:
        if command == "set_model":
            kwargs = {**kwargs, "device": self.device}
        if command in RUN_COMMANDS and self._held_for_jobs:
            self._run_beside_jobs()  # the user wants the live run now
        self.worker.send(command, **kwargs)

    @Slot(object)
    def _on_frame(self, snapshot: dict) -> None:
        """Draw the lattice (every frame) and, at most every ``SLOW_INTERVAL`` s while running,
        the other visible panels and the status bar; then let the worker publish the next frame.

        Plots and numbers gain nothing from 60 redraws a second, and every millisecond of Python
        in the GUI thread holds the GIL that the engine thread needs between its torch calls.
        """
        try:
            now = time.perf_counter()
            self.last_snapshot = snapshot
            self.panels["lattice"].show_frame(snapshot)
            if self.recorder is not None:
                self._record(self.panels["lattice"].rgb)
            self.frames_shown += 1
            self._frame_times.append(now)
            if not snapshot.get("running") or now - self._slow_drawn_at >= self.SLOW_INTERVAL:
                self._slow_drawn_at = now
                for key, panel in self.panels.items():
                    if key != "lattice" and hasattr(panel, "show_frame") and self.docks[key].isVisible():
                        panel.show_frame(snapshot)
                self._update_status(snapshot)
        finally:
            self.worker.ack()

    @Slot(str)
    def show_error(self, message: str) -> None:
        """A non-modal dialog (the simulation and the GUI keep running behind it)."""
        self.statusBar().showMessage(message, 10_000)
        if self.error_box is None:
            self.error_box = QMessageBox(QMessageBox.Icon.Warning, "rgviz", "", QMessageBox.StandardButton.Ok, self)
            self.error_box.setWindowModality(Qt.WindowModality.NonModal)
        self.error_box.setText(message)
        self.error_box.show()

    @Slot(str)
    def _on_notice(self, message: str) -> None:
        self.statusBar().showMessage(message, 5_000)

    # --- background jobs ------------------------------------------------------------------
    def _build_job_note(self) -> None:
        """A note in the status bar while the live run is held for background jobs, with a way on."""
        self._held_for_jobs = self._beside_jobs = False
        self.job_note = QWidget()
        layout = QHBoxLayout(self.job_note)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Live run on hold while a background job runs"))
        self.resume_button = QPushButton("Run it anyway")
        self.resume_button.setToolTip("Run the live simulation beside the job; both share the processor and run slower")
        self.resume_button.clicked.connect(self._run_beside_jobs)
        layout.addWidget(self.resume_button)
        self.statusBar().insertPermanentWidget(0, self.job_note)
        self.job_note.hide()
        jobs.running_jobs.changed.connect(self._on_jobs_changed)

    @Slot()
    def _on_jobs_changed(self) -> None:
        """Hold a running live simulation while background jobs run: they share the processor
        (a phase sweep crawled beside it). It goes on, with anything in progress, after the last
        job, or when the user asks."""
        if jobs.running_jobs.count():
            running = self.last_snapshot is not None and self.last_snapshot.get("running")
            if running and not (self._held_for_jobs or self._beside_jobs):
                self.worker.send("hold", on=True)
                self._held_for_jobs = True
                self.job_note.show()
        else:
            if self._held_for_jobs:
                self.worker.send("hold", on=False)
            self._held_for_jobs = self._beside_jobs = False
            self.job_note.hide()

    @Slot()
    def _run_beside_jobs(self) -> None:
        self.worker.send("hold", on=False)
        self._held_for_jobs, self._beside_jobs = False, True
        self.job_note.hide()

    # --- status bar -----------------------------------------------------------------------
    def _build_status_bar(self, device: str) -> None:
        self.status_labels = {}
        try:
            label = device_label(resolve_device(device))
        except Exception:  # noqa: BLE001 - the worker reports a bad device as an error
            label = device
        for key, text, width in (("device", f"device: {label}", None), ("sweep", "sweep 0", "sweep 000000000"),
                                 ("sweeps", "0 sweeps/s", "00000.0 sweeps/s"), ("flips", "0 flips/s", "0000.0 M flips/s"),
                                 ("fps", "0 frames/s", "000 frames/s")):
            label_widget = QLabel(text)
            if width:  # fixed widths: numbers changing 60 times a second must not make the bar jitter
                label_widget.setMinimumWidth(label_widget.fontMetrics().horizontalAdvance(width))
            self.status_labels[key] = label_widget
            self.statusBar().addPermanentWidget(label_widget)

    def displayed_fps(self) -> float:
        """Frames drawn per second over the last ~2 seconds."""
        times = [t for t in self._frame_times if t > time.perf_counter() - 2.0]
        return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0

    def _update_status(self, snapshot: dict) -> None:
        rate = snapshot.get("rate", {})
        self.status_labels["sweep"].setText(f"sweep {snapshot['sweep']}")
        self.status_labels["sweeps"].setText(f"{rate.get('sweeps_per_s', 0):.1f} sweeps/s")
        self.status_labels["flips"].setText(f"{rate.get('sites_per_s', 0) / 1e6:.1f} M flips/s")
        self.status_labels["fps"].setText(f"{self.displayed_fps():.0f} frames/s")

    # --- menus ----------------------------------------------------------------------------
    def _action(self, menu, text: str, slot, shortcut=None, checkable: bool = False) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        file = self.menuBar().addMenu("&File")
        self._action(file, "&Open session...", self._open_session_dialog, QKeySequence.StandardKey.Open)
        self._action(file, "&Save session...", self._save_session_dialog, QKeySequence.StandardKey.Save)
        file.addSeparator()
        self._action(file, "Export &figure...", self._export_figure_dialog, "Ctrl+E")
        self._action(file, "Export &data...", self._export_data_dialog, "Ctrl+Shift+E")
        self.record_action = self._action(file, "&Record movie...", self._toggle_recording, "Ctrl+R", True)
        file.addSeparator()
        self._action(file, "&Quit", self.close, QKeySequence("Ctrl+Q"))
        self._view_menu = self.menuBar().addMenu("&View")
        self._view_separator = self._view_menu.addSeparator()  # the panels' toggles go above it
        self._action(self._view_menu, "Reset &layout", self.reset_layout)

    # --- layout ---------------------------------------------------------------------------
    def _restore_layout(self) -> None:
        geometry = self.settings.value("mainwindow/geometry")
        state = self.settings.value("mainwindow/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state, LAYOUT_VERSION)

    def save_layout(self) -> None:
        self.settings.setValue("mainwindow/geometry", self.saveGeometry())
        self.settings.setValue("mainwindow/state", self.saveState(LAYOUT_VERSION))
        self.settings.sync()

    def reset_layout(self) -> None:
        """Back to the built-in arrangement: every dock shown and docked."""
        for dock in self.docks.values():
            dock.setFloating(False)
            dock.show()
        self.restoreState(self._default_state, LAYOUT_VERSION)

    # --- export ---------------------------------------------------------------------------
    def figure_widget(self, target: str) -> QWidget:
        if target == WHOLE_WINDOW:
            return self
        if target not in self.panels:
            raise export.ExportError(f"No panel {target!r} to export; allowed: {', '.join(self.figure_targets())}")
        panel = self.panels[target]
        return panel.figure_widget() if hasattr(panel, "figure_widget") else panel

    def export_figure(self, target: str, path: str, width: int | None = None, height: int | None = None) -> Path:
        return export.export_figure(self.figure_widget(target), path, width, height)

    def export_data(self, path: str) -> list[Path]:
        if self.last_snapshot is None:
            raise export.ExportError("Nothing to export yet: no frame has been shown")
        return export.export_data(self.last_snapshot, path)

    def start_recording(self, path: str, fps: int = 30) -> None:
        self.recorder = export.MovieRecorder(path, fps=fps)
        self.record_action.setChecked(True)
        self.statusBar().showMessage(f"Recording {path}")

    def stop_recording(self) -> Path | None:
        recorder, self.recorder = self.recorder, None
        self.record_action.setChecked(False)
        if recorder is None:
            return None
        path = recorder.close()
        self.statusBar().showMessage(f"Saved movie {path} ({recorder.frames} frames)", 10_000)
        return path

    def _record(self, rgb) -> None:
        try:
            self.recorder.add(rgb)
        except export.ExportError as err:
            self.recorder = None
            self.record_action.setChecked(False)
            self.show_error(str(err))

    def _guard(self, fn, *args):
        """Run an export or file action; failures become an error dialog."""
        try:
            return fn(*args)
        except (OSError, ValueError) as err:
            self.show_error(str(err))
            return None

    def _export_figure_dialog(self) -> None:
        dialog = ExportFigureDialog(self.figure_targets(), self.figure_widget("lattice").size(), self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export figure", "figure.png",
                                              "PNG image (*.png);;SVG vector (*.svg);;PDF (*.pdf)")
        if path:
            target, width, height = dialog.choice()
            if self._guard(self.export_figure, target, path, width, height):
                self.statusBar().showMessage(f"Exported {path}", 5_000)

    def _export_data_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export data", "data.npz",
                                              "NumPy archive (*.npz);;CSV (*.csv)")
        if path:
            written = self._guard(self.export_data, path)
            if written:
                self.statusBar().showMessage("Exported " + ", ".join(map(str, written)), 5_000)

    def _save_session_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save session", "session.npz", "rgviz session (*.npz)")
        if path:
            self.worker.save_session(path)

    def _open_session_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open session", "", "rgviz session (*.npz);;All files (*)")
        if path:
            self.worker.load_session(path)

    def _toggle_recording(self, on: bool) -> None:
        if not on:
            self._guard(self.stop_recording)
            return
        self.record_action.setChecked(False)
        path, _ = QFileDialog.getSaveFileName(self, "Record movie", "movie.mp4", "MP4 video (*.mp4);;GIF (*.gif)")
        if path:
            self._guard(self.start_recording, path)

    # --- shutdown -------------------------------------------------------------------------
    def shutdown(self) -> bool:
        """Stop the worker and join its thread; True when it has ended."""
        if self.recorder is not None:
            self._guard(self.stop_recording)
        return self.engine.shutdown(timeout_ms=2000)

    def closeEvent(self, event) -> None:
        self.save_layout()
        self.shutdown()
        event.accept()


class ExportFigureDialog(QDialog):
    """Which panel to export and, for PNG, at what pixel size."""

    def __init__(self, targets: dict[str, str], size, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Export figure")
        self.target = QComboBox()
        for key, title in targets.items():
            self.target.addItem(title, key)
        self.width_box, self.height_box = QSpinBox(), QSpinBox()
        for box, value in ((self.width_box, size.width()), (self.height_box, size.height())):
            box.setRange(16, 16384)
            box.setValue(value)
            box.setSuffix(" px")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Panel", self.target)
        form.addRow("PNG width", self.width_box)
        form.addRow("PNG height", self.height_box)
        form.addRow(buttons)

    def choice(self) -> tuple[str, int, int]:
        return self.target.currentData(), self.width_box.value(), self.height_box.value()
