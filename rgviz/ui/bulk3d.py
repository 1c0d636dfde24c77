"""A 3D view of the neural RG's holographic bulk (vispy): latent nodes above the boundary lattice.

Two layouts (:data:`LAYOUTS`):

- ``"halfspace"``: a node sits above the centre of the boundary block it summarises
  (``engine.holography.geometry.node_coordinates``) at the visual height
  ``(log2 w + 1) * L / (levels + 2)``. We draw log2 w rather than w because log w is the
  hyperbolic arc length along a vertical line of H^3: every RG step is the same distance (ln 2)
  up, so the levels come out evenly spaced and the scale of the whole stack is L, not 2^levels.
  The boundary lattice (a sample of the field x) is an image at height 0.
- ``"ball"``: the Poincare ball (``poincare_ball``), scaled to radius L/2; the boundary
  lattice then lies on the sphere, drawn as small squares at the images of its sites.

The three latents of a block share one bulk position; each is drawn moved toward its own site by
:data:`SPREAD` of the way, so that all can be seen and picked (node k is site divmod(k, L)).

Nodes are coloured by level, or by a value per node (the correlation with a picked node, on a
diverging map). Drag rotates, the wheel zooms; a click (press and release without a drag) picks
the node whose projected marker is nearest the cursor and emits :attr:`Bulk3DView.node_picked`.

OpenGL does not work on Qt's offscreen platform (and vispy may segfault there), so there the
view shows a plain label and keeps the data without drawing: every method stays callable.
"""

from __future__ import annotations

# Triton (imported by torch's first optimiser) loaded after Mesa's software OpenGL had drawn this view
# crashed the process with a segmentation fault (tests/ui/test_bulk_panels.py, its training tests);
# loaded before any OpenGL context, it does not.
try:
    import triton  # noqa: F401
except ImportError:
    pass

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

import engine.resources
from engine.errors import ParameterError
from engine.holography.geometry import poincare_ball

from .colors import colorize, lookup, lookup_table

RESOURCES = engine.resources.FOLDER  # the shipped checkpoints (package data)
LAYOUTS = ("halfspace", "ball")
LEVEL_CMAP = "viridis"
VALUE_CMAP = "CET-D1"  # diverging: blue (negative), white (0), red (positive)
PICK_RADIUS_PX = 12.0  # a click farther than this from every marker picks nothing
NO_GL_PLATFORMS = ("offscreen", "minimal")
SPREAD = 0.3


def gl_available() -> bool:
    """False on Qt platforms without OpenGL, where creating a vispy canvas may crash."""
    return QGuiApplication.platformName() not in NO_GL_PLATFORMS


def boundary_image(x: np.ndarray, target: str) -> np.ndarray:
    """A field sample ``[C, L, L]`` as RGB: the phase as hue for phi^4, a diverging map for a real field."""
    if target == "phi4":
        return colorize(x, "phi4", lookup_table("CET-C6"))
    scale = float(np.abs(x[0]).max()) or 1.0
    return (lookup(x[0].ravel(), "CET-D1", -scale, scale)[:, :3] * 255).astype(np.uint8).reshape(x.shape[1:] + (3,))


def node_colors(levels: np.ndarray, values: np.ndarray | None) -> np.ndarray:
    """Colours by level, or by ``values`` on a diverging map symmetric about 0."""
    if values is None:
        return lookup(levels, LEVEL_CMAP, 0.0, float(max(levels.max(), 1)))
    scale = float(np.nanmax(np.abs(values))) or 1.0
    return lookup(values, VALUE_CMAP, -scale, scale)


def scene_positions(coords: np.ndarray, L: int, layout: str) -> np.ndarray:
    """``[n, 3]`` display positions of half-space points ``coords`` in the chosen layout."""
    if layout == "ball":
        return poincare_ball(coords, L) * (L / 2)
    levels = np.log2(coords[:, 2])
    top = max(float(levels.max()), 1.0)
    return np.column_stack([coords[:, 0], coords[:, 1], (levels + 1) * L / (top + 2)])


def spread_coords(coords: np.ndarray, L: int) -> np.ndarray:
    """Half-space points moved :data:`SPREAD` of the way from the block centre toward node k's site."""
    i, j = np.divmod(np.arange(len(coords)), L)
    out = coords.copy()
    out[:, 0] += SPREAD * (i - coords[:, 0])
    out[:, 1] += SPREAD * (j - coords[:, 1])
    return out


def boundary_sites(L: int) -> np.ndarray:
    """Half-space points of the boundary sites, just above w = 0 (w = 0 is at infinity)."""
    i, j = np.meshgrid(np.arange(L), np.arange(L), indexing="ij")
    return np.column_stack([i.ravel(), j.ravel(), np.full(L * L, 1e-3)]).astype(float)


class Bulk3DView(QWidget):
    """Nodes of the bulk in 3D; ``node_picked(index)`` on a click near a node."""

    node_picked = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.coords = np.zeros((0, 3))
        self.levels = np.zeros(0, dtype=int)
        self.values: np.ndarray | None = None
        self.picked: list[int] = []
        self.boundary: np.ndarray | None = None
        self.L = 0
        self.layout_name = LAYOUTS[0]
        self.canvas = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        if gl_available():
            self._build_canvas()
            layout.addWidget(self.canvas.native)
        else:
            self.placeholder = QLabel("3D bulk view needs OpenGL (not available on this display);\n"
                                      "pick nodes in the per-level maps instead.")
            self.placeholder.setWordWrap(True)
            layout.addWidget(self.placeholder)

    def _build_canvas(self) -> None:
        from vispy import app as vispy_app  # imported only where GL works (see module docstring)
        from vispy import scene

        vispy_app.use_app("pyside6")
        self.canvas = scene.SceneCanvas(keys=None, show=False, bgcolor="white", size=(500, 400))
        self.view = self.canvas.central_widget.add_view()
        self.view.camera = scene.TurntableCamera(fov=40, elevation=25, azimuth=-60)
        self.image = scene.visuals.Image(parent=self.view.scene, interpolation="nearest")
        self.image.transform = scene.transforms.STTransform(translate=(-0.5, -0.5, 0.0))
        self.sphere_sites = scene.visuals.Markers(parent=self.view.scene)
        self.sphere = scene.visuals.Sphere(radius=1.0, rows=12, cols=24, method="latitude", parent=self.view.scene,
                                           color=(0.6, 0.6, 0.6, 0.08), edge_color=(0.5, 0.5, 0.5, 0.25))
        self.sphere.transform = scene.transforms.STTransform()
        self.sphere.set_gl_state("translucent", depth_test=False)  # a veil: never hides the nodes inside
        self.sphere.order = -1
        self.sphere.visible = False
        self.markers = scene.visuals.Markers(parent=self.view.scene)
        self.image.visible = self.sphere_sites.visible = False
        self._press = None
        self.canvas.events.mouse_press.connect(self._on_press)
        self.canvas.events.mouse_release.connect(self._on_release)

    # --- data ---------------------------------------------------------------------------------
    def set_nodes(self, coords: np.ndarray, levels: np.ndarray, L: int) -> None:
        """Half-space coordinates ``[n, 3]`` and levels ``[n]`` of the nodes, on an L x L lattice."""
        self.coords, self.levels, self.L = np.asarray(coords, float), np.asarray(levels), int(L)
        self.values, self.picked = None, []
        self._place_camera()
        self._redraw()

    def _place_camera(self) -> None:
        if self.canvas is not None and self.L:
            self.view.camera.center = (self.L / 2, self.L / 2, self.L / 4) if self.layout_name == "halfspace" \
                else (0, 0, 0)
            self.view.camera.distance = (2.2 if self.layout_name == "halfspace" else 1.8) * self.L

    def set_boundary(self, rgb: np.ndarray | None) -> None:
        """The boundary configuration as an ``[L, L, 3]`` uint8 image (row i, column j)."""
        self.boundary = None if rgb is None else np.ascontiguousarray(rgb)
        self._redraw()

    def set_layout(self, layout: str) -> None:
        if layout not in LAYOUTS:
            raise ParameterError("layout", f"must be one of {', '.join(LAYOUTS)}, got {layout!r}")
        self.layout_name = layout
        self._place_camera()
        self._redraw()

    def set_node_values(self, values: np.ndarray | None) -> None:
        """Colour by ``values`` (one per node), or by level with None."""
        self.values = None if values is None else np.asarray(values, float)
        self._redraw()

    def set_picked(self, picked: list[int]) -> None:
        self.picked = list(picked)
        self._redraw()

    def positions(self) -> np.ndarray:
        """Display positions of the nodes in the current layout."""
        if not len(self.coords):
            return self.coords
        return scene_positions(spread_coords(self.coords, self.L), self.L, self.layout_name)

    # --- drawing ------------------------------------------------------------------------------
    def _redraw(self) -> None:
        if self.canvas is None or not len(self.coords):
            return
        colors = node_colors(self.levels, self.values)
        sizes = 7.0 + 2.0 * self.levels
        edges = np.tile(np.float32([0.4, 0.4, 0.4, 1.0]), (len(self.coords), 1))
        for k in self.picked:
            sizes[k] += 8
            edges[k] = (0, 0, 0, 1)  # the picked nodes: larger, black rim
        self.markers.set_data(self.positions(), face_color=colors, size=sizes, edge_color=edges,
                              edge_width=1.0)
        ball = self.layout_name == "ball"
        has_boundary = self.boundary is not None and self.boundary.shape[:2] == (self.L, self.L)
        self.sphere.visible = ball
        self.sphere.transform.scale = (self.L / 2,) * 3
        self.image.visible = has_boundary and not ball
        self.sphere_sites.visible = has_boundary and ball
        if has_boundary:
            rgba = np.concatenate([self.boundary, np.full(self.boundary.shape[:2] + (1,), 255, np.uint8)], -1)
            if ball:
                sites = scene_positions(boundary_sites(self.L), self.L, "ball")
                self.sphere_sites.set_data(sites, face_color=rgba.reshape(-1, 4) / 255.0, size=5, symbol="square",
                                           edge_width=0)
            else:
                self.image.set_data(rgba.transpose(1, 0, 2))  # the image's x axis is its column: put i along x
        self.canvas.update()

    def render(self) -> np.ndarray | None:
        """The current picture as an ``[H, W, 4]`` uint8 array (None without OpenGL)."""
        return None if self.canvas is None else self.canvas.render()

    # --- picking ------------------------------------------------------------------------------
    def projected(self) -> np.ndarray:
        """``[n, 2]`` canvas pixel positions of the nodes (needs OpenGL)."""
        mapped = self.markers.get_transform("visual", "canvas").map(self.positions())
        return mapped[:, :2] / mapped[:, 3:4]

    def pick_at(self, x: float, y: float) -> int | None:
        """The node whose marker is nearest canvas pixel (x, y), if within :data:`PICK_RADIUS_PX`."""
        if self.canvas is None or not len(self.coords):
            return None
        d = np.hypot(*(self.projected() - np.array([x, y])).T)
        k = int(np.argmin(d))
        return k if d[k] <= PICK_RADIUS_PX else None

    def _on_press(self, event) -> None:
        self._press = np.array(event.pos[:2], float)

    def _on_release(self, event) -> None:
        if self._press is None:
            return
        pos, press, self._press = np.array(event.pos[:2], float), self._press, None
        if np.hypot(*(pos - press)) > 3:  # a drag rotated the camera: not a pick
            return
        k = self.pick_at(*pos)
        if k is not None:
            self.node_picked.emit(k)

    def close_canvas(self) -> None:
        """Release the GL canvas (call before the widget goes away)."""
        if self.canvas is not None:
            self.canvas.close()
            self.canvas = None
