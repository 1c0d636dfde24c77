"""Every panel of the application, in one list: what the main window builds its docks from.

A :class:`PanelSpec` says how to build a panel (from the device and the start-up simulation), its
dock title, what it is for (the dock's tooltip and the Help menu's getting-started page), an optional shortcut
that brings it to the front, and where it docks. :func:`connect_panels`
holds every signal connection between panels and to the window, in one place. Adding a panel: write
the widget (inherit :class:`rgviz.ui.panel.Panel`), add a spec to :data:`PANELS` and, if it has
signals, a line to :func:`connect_panels`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from .bulk import BulkPanel
from .controls import ControlPanel
from .correlation import CorrelationPanel
from .deepnets import DeepNetsPanel
from .dynamics import DynamicsPanel
from .fss import FssPanel
from .hierarchy import HierarchyPanel
from .images import ImagesPanel
from .lattice_view import LatticeView
from .neuralrg import NeuralRGPanel
from .panel import Panel
from .phase import PhasePanel
from .rgflow import RGFlowPanel
from .sandpile import SandpilePanel
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
    """One dock: ``build(context)`` makes the panel (a QWidget that inherits :class:`Panel`). Panels
    beyond the three core ones open as tabs of one group below the lattice, in registry order."""

    key: str
    title: str
    build: Callable[[Context], Panel]
    area: Qt.DockWidgetArea = Area.BottomDockWidgetArea
    shortcut: str | None = None
    purpose: str = ""


def _controls(context: Context) -> ControlPanel:
    sim = context.simulation
    return ControlPanel(model=sim["model"], L=sim["L"], T=sim.get("T", 2.269), seed=sim["seed"])


#: The live simulation's own panels: always present (the window needs them).
CORE = (
    PanelSpec("controls", "Controls", _controls, Area.LeftDockWidgetArea, "Ctrl+1",
              purpose="model, algorithm, L, T and the couplings of the live run; play, step, quench, anneal"),
    PanelSpec("lattice", "Lattice", lambda c: LatticeView(), Area.RightDockWidgetArea, "Ctrl+2",
              purpose="the live configuration with zoom, colour maps, vortex markers and a cursor readout"),
    PanelSpec("timeseries", "Time series", lambda c: TimeSeriesView(), Area.RightDockWidgetArea, "Ctrl+3",
              purpose="energy and order parameter of the live run against sweeps, with running means"),
)

#: Every panel, in the order of their tabs.
PANELS = CORE + (
    PanelSpec("phase", "Phase transitions", lambda c: PhasePanel(c.device), shortcut="Ctrl+4",
              purpose="temperature sweeps over several L: curves with errors, exact overlays, Binder crossings"),
    PanelSpec("fss", "Finite-size scaling", lambda c: FssPanel(),
              purpose="data collapse of the last sweep with sliders and an automatic fit of the exponents"),
    PanelSpec("correlation", "Correlations", lambda c: CorrelationPanel(),
              purpose="G(r) of the live lattice with exponential and power-law fits"),
    PanelSpec("dynamics", "Dynamics", lambda c: DynamicsPanel(c.device),
              purpose="critical slowing down: autocorrelations, tau_int against T and the dynamic exponent z"),
    PanelSpec("hierarchy", "Hierarchy", lambda c: HierarchyPanel(),
              purpose="the live lattice beside its block-spin levels"),
    PanelSpec("rgflow", "RG flow", lambda c: RGFlowPanel(c.device), shortcut="Ctrl+5",
              purpose="block-spin RG: coupling trajectories, the separatrix Kc, MCRG exponents, the Kosterlitz flow"),
    PanelSpec("teaching", "RG teaching", lambda c: TeachingPanel(),
              purpose="toy flows: 1D decimation, a scaling law, fractional Brownian motion"),
    PanelSpec("bulk", "Bulk geometry", lambda c: BulkPanel(c.device), Area.RightDockWidgetArea, "Ctrl+6",
              purpose="a trained flow's latent variables in hyperbolic space against their correlations"),
    PanelSpec("neuralrg", "Neural RG", lambda c: NeuralRGPanel(c.device), Area.RightDockWidgetArea,
              purpose="train, load and sample a hierarchical flow; latent response, mixing, bulk against MCMC"),
    PanelSpec("deepnets", "Deep networks", lambda c: DeepNetsPanel(),
              purpose="critical initialisation: the order-to-chaos transition of random networks, measured, and "
                      "trainability against depth"),
    PanelSpec("sandpile", "Sandpile", lambda c: SandpilePanel(),
              purpose="self-organised criticality: BTW and Manna avalanches, exponents, finite-size scaling, spectrum"),
    PanelSpec("images", "RG-Flow images", lambda c: ImagesPanel(c.device), Area.RightDockWidgetArea,
              purpose="the hierarchical flow on natural-image patches: samples, bits/dim, receptive fields per "
                      "level, mixing, error correction in the causal cone"),
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
    for key in ("phase", "fss", "dynamics", "rgflow", "bulk", "neuralrg", "deepnets", "sandpile", "images"):
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
