"""The main window: panels as docks, menus, status bar, export, sessions, layout persistence.

The docks are built from the registry (:mod:`rgviz.ui.registry`); the window talks to every panel
through the :class:`rgviz.ui.panel.Panel` protocol only (frames, figure targets, data export,
session state, shutdown). Closing the window is the one shutdown path: every panel cancels and
joins its jobs, then the worker thread is joined.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QSettings, QSize, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTabBar,
    QWidget,
)

from engine.device import device_label, resolve_device
from engine.session import read_panels

from . import export, jobs
from .help import add_help_menu
from .ui.panel import FigureTarget, Panel
from .ui.registry import CORE, Context, PanelSpec, connect_panels
from .worker import EngineWorker, WorkerThread

#: Bumped whenever the set of docks changes, so an old saved layout is ignored, not misapplied.
LAYOUT_VERSION = 1
WHOLE_WINDOW = "window"
CORE_PANELS = tuple(spec.key for spec in CORE)
#: Commands by which the user runs the live simulation (they end a hold for background jobs).
RUN_COMMANDS = ("play", "step", "quench", "anneal")
#: How long closing the window waits for each panel's jobs and for the worker (milliseconds). Every job
#: is cancelled before the first is waited for, so this bounds a job that is slow to notice, not the sum.
CLOSE_TIMEOUT_MS = 10_000


class MainWindow(QMainWindow):
    """``simulation_kwargs`` start the live simulation; ``panels`` are the docks to build (default:
    the core three; the application passes :data:`rgviz.ui.registry.PANELS`); ``settings`` hold the
    layout (default: the user's rgviz settings)."""

    SLOW_INTERVAL = 0.2

    def __init__(self, simulation_kwargs: dict | None = None, settings: QSettings | None = None,
                 play: bool = True, panels: Sequence[PanelSpec] = CORE):
        super().__init__()
        kwargs = {"model": "ising", "L": 256, "T": 2.269, "seed": 0, "device": "auto", **(simulation_kwargs or {})}
        self.setWindowTitle(f"rgviz: {kwargs['model']} model")
        self.setDockNestingEnabled(True)
        self.settings = settings or QSettings("rgviz", "rgviz")
        self.device = str(resolve_device(kwargs["device"]))
        self.panels: dict[str, Panel] = {}  # the panel widgets, by registry key
        self.docks: dict[str, QDockWidget] = {}
        self.front: str | None = None  # the panel the user last raised or worked in
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
        self.worker.session_loaded.connect(self._on_session_loaded)
        self._restoring: tuple[str, list] | None = None  # (session path, the panels' restorers) while it loads
        self.engine = WorkerThread(self.worker)

        self._build_menus()  # first: add_panel lists every dock in the View menu
        context = Context(self.device, kwargs)
        for spec in panels:
            widget = spec.build(context)
            self.add_panel(spec.key, spec.title, widget, spec.area, spec.shortcut)
            self.docks[spec.key].setToolTip(spec.purpose)
        connect_panels(self.panels, self.show_error, self.send, self._on_notice)
        self._arrange_default_layout()
        self._build_status_bar(kwargs["device"])
        self.help_actions = add_help_menu(self, self.status_labels["device"].text().removeprefix("device: "),
                                          [(spec.title, spec.purpose) for spec in panels])
        self._build_job_note()
        self._default_state = self.saveState(LAYOUT_VERSION)
        self._restore_layout()
        self._whole_tab_titles()
        QApplication.instance().focusChanged.connect(self._on_focus)
        self.engine.start()
        if play:
            self.worker.play()

    # --- panels ---------------------------------------------------------------------------
    def add_panel(self, key: str, title: str, widget: QWidget, area: Qt.DockWidgetArea,
                  shortcut: str | None = None) -> QDockWidget:
        """Dock ``widget`` (a :class:`Panel`) as a movable, floatable, closable panel listed in the View menu."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{key}")  # saveState/restoreState identify docks by name
        dock.setWidget(widget if key == "lattice" else scrolling(widget))
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        further = [other for name, other in self.docks.items() if name not in CORE_PANELS]
        if key not in CORE_PANELS and further:
            # Every further panel is a tab of one group below the lattice and the time series.
            self.tabifyDockWidget(further[0], dock)
        dock.toggleViewAction().setStatusTip(f"Show or hide the {title} panel")
        self._view_menu.insertAction(self._view_separator, dock.toggleViewAction())
        if shortcut is not None:
            self._action(self._front_menu, title, lambda: self.bring_to_front(key), f"Show and raise the {title} panel",
                         shortcut)
        dock.visibilityChanged.connect(lambda shown: self._on_dock_shown(key, shown))
        self.panels[key], self.docks[key] = widget, dock
        return dock

    def bring_to_front(self, key: str) -> None:
        """Show the panel's dock and raise its tab."""
        dock = self.docks[key]
        dock.show()
        dock.raise_()
        self.front = key

    def _on_dock_shown(self, key: str, shown: bool) -> None:
        """A tab raised (or a dock shown) becomes the panel in front; core docks only by focus."""
        if shown and key not in CORE_PANELS:
            self.front = key

    def _on_focus(self, _old: QWidget | None, new: QWidget | None) -> None:
        for key, dock in self.docks.items():
            if new is not None and dock.isAncestorOf(new):
                self.front = key
                return

    def _arrange_default_layout(self) -> None:
        """Controls on the left (full height); on the right the lattice, about square so that its
        image fills the view, beside the time series; below them every further panel as a tab
        (see :meth:`add_panel`), with room for a grid of plots."""
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        lattice, series = self.docks["lattice"], self.docks["timeseries"]
        self.splitDockWidget(lattice, series, Qt.Orientation.Horizontal)
        self.resize(1400, 900)
        self.resizeDocks([self.docks["controls"], lattice, series], [380, 420, 600], Qt.Orientation.Horizontal)
        further = [dock for key, dock in self.docks.items() if key not in CORE_PANELS]
        if further:
            further[0].raise_()
            self.resizeDocks([lattice, further[0]], [420, 420], Qt.Orientation.Vertical)

    def _whole_tab_titles(self) -> None:
        """Dock tabs show their whole titles, with scroll arrows where they do not all fit: a dozen panel
        tabs below the lattice were cut to "RG...", "San..." at 1400 x 900."""
        for bar in self.findChildren(QTabBar):
            bar.setElideMode(Qt.TextElideMode.ElideNone)
            bar.setUsesScrollButtons(True)

    def _figures(self) -> dict[str, tuple[str, FigureTarget]]:
        """Export-figure targets: key -> (title, target); a panel with several has ``key/index`` keys."""
        found = {}
        for key, panel in self.panels.items():
            targets = panel.figure_targets()
            title = self.docks[key].windowTitle()
            for i, target in enumerate(targets):
                found[key if len(targets) == 1 else f"{key}/{i}"] = (
                    f"{title}: {target.title}" if target.title else title, target)
        found[WHOLE_WINDOW] = ("Whole window", FigureTarget("Whole window", lambda: self))
        return found

    def figure_targets(self) -> dict[str, str]:
        """Export-figure targets: key -> title (panels, then the whole window)."""
        return {key: title for key, (title, _) in self._figures().items()}

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

        Plots and numbers gain nothing from 40 redraws a second, and every millisecond of Python
        in the GUI thread holds the GIL that the engine thread needs between its torch calls.
        """
        try:
            now = time.perf_counter()
            self.last_snapshot = snapshot
            self.panels["lattice"].show_frame(snapshot)
            if self.recorder is not None:
                self._record(self.panels["lattice"].rgb, now)
            self.frames_shown += 1
            self._frame_times.append(now)
            if not snapshot.get("running") or now - self._slow_drawn_at >= self.SLOW_INTERVAL:
                self._slow_drawn_at = now
                for key, panel in self.panels.items():
                    if key != "lattice" and self.docks[key].isVisible():
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
            if width:  # fixed widths: numbers changing 40 times a second must not make the bar jitter
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
    def _action(self, menu, text: str, slot, tip: str, shortcut=None, checkable: bool = False) -> QAction:
        action = QAction(text, self)
        action.setStatusTip(tip)
        action.setToolTip(tip)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        file = self.menuBar().addMenu("&File")
        file.menuAction().setStatusTip("Sessions, figure and data export, movies")
        self._action(file, "&Open session...", self._open_session_dialog,
                     "Open a saved session: the live simulation and the panels' results", QKeySequence.StandardKey.Open)
        self._action(file, "&Save session...", self._save_session_dialog,
                     "Save the live simulation and the panels' results to a file", QKeySequence.StandardKey.Save)
        file.addSeparator()
        self._action(file, "Export &figure...", self._export_figure_dialog,
                     "Render a panel or the whole window as PNG, SVG and PDF", "Ctrl+E")
        self._action(file, "Export &data...", self._export_data_dialog,
                     "Write the data of the panel in front (else the live lattice) to files", "Ctrl+Shift+E")
        self.record_action = self._action(file, "&Record movie...", self._toggle_recording,
                                          "Start or stop recording the lattice as a GIF or MP4 movie", "Ctrl+R", True)
        file.addSeparator()
        self._action(file, "&Quit", self.close, "Stop every job and close rgviz", QKeySequence("Ctrl+Q"))
        self._view_menu = self.menuBar().addMenu("&View")
        self._view_menu.menuAction().setStatusTip("Show, hide and raise panels; reset the layout")
        self._view_separator = self._view_menu.addSeparator()  # the panels' toggles go above it
        self._front_menu = self._view_menu.addMenu("Bring to &front")  # panels with a shortcut
        self._front_menu.menuAction().setStatusTip("Show and raise a panel (each has a shortcut)")
        self._action(self._view_menu, "Reset &layout", self.reset_layout, "Put every panel back where it starts")

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
        self._whole_tab_titles()

    # --- export ---------------------------------------------------------------------------
    def figure_target(self, target: str) -> FigureTarget:
        figures = self._figures()
        if target not in figures:
            raise export.ExportError(f"No panel {target!r} to export; allowed: {', '.join(figures)}")
        return figures[target][1]

    def figure_widget(self, target: str) -> QWidget:
        return self.figure_target(target).widget()

    def export_figure(self, target: str, path: str, width: int | None = None, height: int | None = None) -> Path:
        return export.export_figure(self.figure_widget(target), path, width, height)

    def data_panel(self) -> str | None:
        """The panel File > Export data writes: the one in front when it has data, else None (the lattice)."""
        return self.front if self.front is not None and self.panels[self.front].has_data() else None

    def export_data(self, path: str, panel: str | None = None) -> list[Path]:
        """``panel``'s results into the folder ``path``; without a panel, the live lattice and
        its series into the file ``path`` (NPZ, or CSV files beside it)."""
        if panel is not None:
            return self.panels[panel].export_data(path)
        if self.last_snapshot is None:
            raise export.ExportError("Nothing to export yet: no frame has been shown")
        return export.export_data(self.last_snapshot, path)

    # --- session state of the panels --------------------------------------------------------
    def panel_states(self) -> dict[str, dict]:
        """Each panel's settings (plain data), for the session file; panels with none are left out."""
        return {key: state for key, panel in self.panels.items() if (state := panel.session_state())}

    def restore_panel_states(self, states: dict[str, dict]) -> None:
        """Hand each panel its part of ``states`` (keys of panels not present are ignored); every part is
        checked before any panel changes (ValueError, one line)."""
        for restore in [self.panels[key].session_restorer(state) for key, state in states.items() if key in self.panels]:
            restore()

    def save_session(self, path: str) -> None:
        """The live simulation and the panels' results into one file (written by the worker)."""
        self.worker.save_session(path, self.panel_states())

    def open_session(self, path: str) -> bool:
        """Read and check the panels' part of a session, then let the worker load the simulation; the
        panels show their results once it has. A bad file changes nothing: one line says why."""
        types = {t for panel in self.panels.values() for t in panel.session_types}
        try:
            states = read_panels(path, self.panels, types)
            restorers = [self.panels[key].session_restorer(state) for key, state in states.items()]
        except ValueError as err:  # SessionFormatError too
            self.show_error(str(err))
            return False
        except OSError as err:
            self.show_error(f"Cannot open {path}: {err.strerror or err}")
            return False
        self._restoring = (str(path), restorers)
        self.worker.load_session(path)
        return True

    @Slot(str)
    def _on_session_loaded(self, path: str) -> None:
        restoring, self._restoring = self._restoring, None
        if restoring is not None and restoring[0] == path:
            for restore in restoring[1]:
                restore()

    def start_recording(self, path: str, fps: int = 30) -> None:
        self.recorder = export.MovieRecorder(path, fps=fps)
        self.record_action.setChecked(True)
        self.statusBar().showMessage(f"Recording {path} at {fps} frames/s: it plays at the speed shown")

    def stop_recording(self) -> Path | None:
        recorder, self.recorder = self.recorder, None
        self.record_action.setChecked(False)
        if recorder is None:
            return None
        path = recorder.close()
        self.statusBar().showMessage(f"Saved movie {path} ({recorder.frames} frames)", 10_000)
        return path

    def _record(self, rgb, at: float) -> None:
        try:
            self.recorder.add(rgb, at)
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
        figures = self._figures()
        initial = next((key for key in figures if key.split("/")[0] == self.front), "lattice")
        dialog = ExportFigureDialog({key: (title, target.default_size()) for key, (title, target) in figures.items()},
                                    initial, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export figure", "figure.png",
                                              "PNG image (*.png);;SVG vector (*.svg);;PDF (*.pdf)")
        if path:
            target, width, height = dialog.choice()
            if self._guard(self.export_figure, target, path, width, height):
                self.statusBar().showMessage(f"Exported {path}", 5_000)

    def _export_data_dialog(self) -> None:
        panel = self.data_panel()
        if panel is not None:
            path = QFileDialog.getExistingDirectory(self, f"Export {self.docks[panel].windowTitle()} data to folder")
        else:
            path, _ = QFileDialog.getSaveFileName(self, "Export lattice data", "data.npz",
                                                  "NumPy archive (*.npz);;CSV (*.csv)")
        if path:
            written = self._guard(self.export_data, path, panel)
            if written:
                self.statusBar().showMessage("Exported " + ", ".join(map(str, written)), 5_000)

    def _save_session_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save session", "session.npz", "rgviz session (*.npz)")
        if path:
            self.save_session(path)

    def _open_session_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open session", "", "rgviz session (*.npz);;All files (*)")
        if path:
            self.open_session(path)

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
        """The one shutdown path: the worker is told to stop and every panel to cancel its jobs (they
        all wind down at once), the movie is closed, then every panel's jobs and the worker thread
        are joined. True when no thread is left."""
        self.worker.stop()
        for panel in self.panels.values():
            panel.shutdown(0)  # cancel, do not wait yet
        if self.recorder is not None:
            self._guard(self.stop_recording)
        joined = [panel.shutdown(CLOSE_TIMEOUT_MS) for panel in self.panels.values()]
        return self.engine.shutdown(timeout_ms=CLOSE_TIMEOUT_MS) and all(joined)

    def closeEvent(self, event) -> None:
        self.save_layout()
        self.shutdown()
        event.accept()


def scrolling(panel: QWidget) -> QScrollArea:
    """``panel`` in a scroll area: a dock too small for the panel's plots (each keeps a readable minimum
    size, :data:`rgviz.ui.plotting.MIN_CELL`) or its forms scrolls rather than squashing or clipping them."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(panel)
    return area


class ExportFigureDialog(QDialog):
    """Which panel to export and, for PNG, at what pixel size (proposed per target: choosing
    another target proposes its size)."""

    def __init__(self, targets: dict[str, tuple[str, QSize]], initial: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Export figure")
        self.sizes = {key: size for key, (_, size) in targets.items()}
        self.target = QComboBox()
        self.target.setToolTip("The panel (or the whole window) to render")
        for key, (title, _) in targets.items():
            self.target.addItem(title, key)
        self.width_box, self.height_box = QSpinBox(), QSpinBox()
        for box, what in ((self.width_box, "width"), (self.height_box, "height")):
            box.setRange(16, 16384)
            box.setSuffix(" px")
            box.setToolTip(f"PNG {what} in pixels (SVG and PDF use the panel's size on screen)")
        self.target.currentIndexChanged.connect(self._propose_size)
        self.target.setCurrentIndex(max(self.target.findData(initial), 0))
        self._propose_size()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Panel", self.target)
        form.addRow("PNG width", self.width_box)
        form.addRow("PNG height", self.height_box)
        form.addRow(buttons)

    def _propose_size(self) -> None:
        size = self.sizes[self.target.currentData()]
        self.width_box.setValue(size.width())
        self.height_box.setValue(size.height())

    def choice(self) -> tuple[str, int, int]:
        return self.target.currentData(), self.width_box.value(), self.height_box.value()
