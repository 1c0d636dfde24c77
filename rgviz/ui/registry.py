"""Every panel of the application, in one list: what the main window builds its docks from.

A :class:`PanelSpec` says how to build a panel (from the device and the start-up simulation), its
dock title, an optional shortcut that brings it to the front, and where it docks. :func:`connect_panels`
holds every signal connection between panels and to the window, in one place. Adding a panel: write
the widget (inherit :class:`rgviz.ui.panel.Panel`), add a spec to :data:`PANELS` and, if it has
signals, a line to :func:`connect_panels`.

Panels that do not yet inherit :class:`~rgviz.ui.panel.Panel` get an adapter here that names what
the window may call on them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from .bulk import BulkPanel
from .controls import ControlPanel
from .correlation import CorrelationPanel
from .dynamics import DynamicsPanel
from .fss import FssPanel
from .hierarchy import HierarchyPanel
from .lattice_view import LatticeView
from .neuralrg import NeuralRGPanel
from .panel import FigureTarget, Panel, WidgetPanel, as_panel, proposed_size
from .phase import PhasePanel
from .rgflow import RGFlowPanel
from .teaching import TeachingPanel
from .timeseries import TimeSeriesView

Area = Qt.DockWidgetArea


@dataclass(frozen=True)
class Context:
    """What a panel is built from: the resolved device and the start-up simulation's arguments."""

    device: str
    simulation: dict


@dataclass(frozen=True)
class PanelSpec:
    """One dock: ``build(context)`` makes the widget, ``adapt(widget)`` gives its :class:`Panel`
    (the widget itself when it is one). Panels beyond the three core ones open as tabs beside the
    time series, in registry order."""

    key: str
    title: str
    build: Callable[[Context], QWidget]
    area: Qt.DockWidgetArea = Area.BottomDockWidgetArea
    shortcut: str | None = None
    adapt: Callable[[QWidget], Panel] = as_panel


class _Controls(WidgetPanel):
    """The control panel draws the run state from frames; it has no figure to export."""

    def __init__(self, widget: ControlPanel):
        super().__init__(widget, show_frame=widget.show_frame)

    def figure_targets(self) -> list:
        return []


class _Bulk(WidgetPanel):
    """The bulk panel: its current tab as figure, its analysed checkpoints as data (NPZ and CSV)."""

    def __init__(self, widget: BulkPanel):
        super().__init__(widget, shutdown=widget.shutdown)

    def figure_targets(self) -> list[FigureTarget]:
        """The tab on show; its size is the panel's, as the 3D tab's figure is rendered on demand."""
        return [FigureTarget("", self.widget.figure_widget, proposed_size(self.widget))]

    def has_data(self) -> bool:
        return bool(self.widget.results)

    def export_data(self, folder: str | Path) -> list[Path]:
        folder = Path(folder)
        return [path for suffix in (".npz", ".csv") for path in self.widget.export_data(folder / f"bulk{suffix}")]


def _lattice(widget: LatticeView) -> Panel:
    return WidgetPanel(widget, show_frame=widget.show_frame, figure=widget.figure_widget)


def _neural_rg(widget: NeuralRGPanel) -> Panel:
    return WidgetPanel(widget, figure=widget.figure_widget, shutdown=widget.shutdown)


def _controls(context: Context) -> ControlPanel:
    sim = context.simulation
    return ControlPanel(model=sim["model"], L=sim["L"], T=sim.get("T", 2.269), seed=sim["seed"])


#: The live simulation's own panels: always present (the window needs them).
CORE = (
    PanelSpec("controls", "Controls", _controls, Area.LeftDockWidgetArea, "Ctrl+1", _Controls),
    PanelSpec("lattice", "Lattice", lambda c: LatticeView(), Area.RightDockWidgetArea, "Ctrl+2", _lattice),
    PanelSpec("timeseries", "Time series", lambda c: TimeSeriesView(), shortcut="Ctrl+3"),
)

#: Every panel, in the order of their tabs.
PANELS = CORE + (
    PanelSpec("phase", "Phase transitions", lambda c: PhasePanel(c.device), shortcut="Ctrl+4"),
    PanelSpec("fss", "Finite-size scaling", lambda c: FssPanel()),
    PanelSpec("correlation", "Correlations", lambda c: CorrelationPanel()),
    PanelSpec("dynamics", "Dynamics", lambda c: DynamicsPanel(c.device)),
    PanelSpec("hierarchy", "Hierarchy", lambda c: HierarchyPanel()),
    PanelSpec("rgflow", "RG flow", lambda c: RGFlowPanel(c.device), shortcut="Ctrl+5"),
    PanelSpec("teaching", "RG teaching", lambda c: TeachingPanel()),
    PanelSpec("bulk", "Bulk geometry", lambda c: BulkPanel(c.device), Area.RightDockWidgetArea, "Ctrl+6", _Bulk),
    PanelSpec("neuralrg", "Neural RG", lambda c: NeuralRGPanel(c.device), Area.RightDockWidgetArea,
              adapt=_neural_rg),
)


def connect_panels(panels: dict[str, QWidget], show_error: Callable[[str], None],
                   send: Callable[[str, dict], None], notice: Callable[[str], None]) -> None:
    """Every connection of the panels present in ``panels``: errors to ``show_error``, worker
    commands to ``send``, short messages (a refused field) to ``notice``, and what one panel feeds
    another."""
    def has(*keys: str) -> bool:
        return all(key in panels for key in keys)

    if has("controls"):
        panels["controls"].command.connect(send)
        panels["controls"].message.connect(notice)
    for key in ("phase", "fss", "dynamics", "rgflow", "bulk", "neuralrg"):
        if has(key):
            panels[key].error.connect(show_error)
    if has("phase", "fss"):
        panels["phase"].result_ready.connect(panels["fss"].set_result)
    if has("lattice", "hierarchy"):
        panels["lattice"].cmap_box.currentTextChanged.connect(panels["hierarchy"].set_colormap)
    if has("bulk", "neuralrg"):
        panels["bulk"].site_picked.connect(panels["neuralrg"].set_latent_site)


def specs(keys: Sequence[str]) -> tuple[PanelSpec, ...]:
    """The core panels plus those named (registry order), e.g. for a window with fewer panels."""
    return tuple(spec for spec in PANELS if spec in CORE or spec.key in keys)
