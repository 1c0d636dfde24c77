"""Panels on their own: colours, readout and markers of the lattice view; controls; time series."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from engine.exact import T_KT_XY, TC_ISING
from rgviz.ui.controls import ControlPanel
from rgviz.ui.colors import COLORMAPS, lookup_table
from rgviz.ui.lattice_view import LatticeView
from rgviz.ui.timeseries import TimeSeriesView, held_range, nice_ceil, running_mean


def snapshot(model: str, lattice: np.ndarray, **extra) -> dict:
    return {"model": model, "lattice": lattice, "sweep": 0, "series": {}, "params": {}, "running": False, **extra}


def displayed(view: LatticeView) -> np.ndarray:
    """The RGB pixels of the image item as Qt will draw them."""
    q = view.image.pixmap().toImage()
    return np.array([[[(q.pixel(x, y) >> s) & 255 for s in (16, 8, 0)] for x in range(q.width())]
                     for y in range(q.height())], dtype=np.uint8)


@pytest.fixture
def view(qtbot):
    v = LatticeView()
    qtbot.addWidget(v)
    return v


def test_ising_two_colours_pixel_exact(view):
    spins = np.where(np.random.default_rng(0).random((6, 6)) > 0.5, 1.0, -1.0).astype(np.float32)
    view.show_frame(snapshot("ising", spins))
    lut = lookup_table(COLORMAPS["ising"][0])
    expected = np.where(spins[..., None] > 0, lut[255], lut[0])
    np.testing.assert_array_equal(view.rgb, expected)
    np.testing.assert_array_equal(displayed(view), expected)
    view.cmap_box.setCurrentText("viridis")  # another map: other colours, same two-level picture
    np.testing.assert_array_equal(displayed(view)[spins > 0][0], lookup_table("viridis")[255])


def test_xy_angle_is_cyclic_and_vortices_marked(view):
    theta = np.array([[0.0, np.pi / 2], [np.pi, 2 * np.pi - 1e-6]], dtype=np.float32)
    theta = np.tile(theta, (2, 2))
    vortices = {"vortex": np.array([[0.5, 1.5]]), "antivortex": np.array([[2.5, 0.5]])}
    view.show_frame(snapshot("xy", theta, vortices=vortices))
    lut = lookup_table(COLORMAPS["xy"][0])
    np.testing.assert_array_equal(view.rgb[0, 0], lut[0])
    np.testing.assert_array_equal(view.rgb[1, 0], lut[128])
    np.testing.assert_array_equal(view.rgb[1, 1], lut[255])
    np.testing.assert_array_equal(displayed(view), view.rgb)
    assert view.vortex_items["vortex"].data.size == 0  # markers are off by default
    view.vortex_box.setChecked(True)
    x, y = view.vortex_items["vortex"].getData()
    assert (x[0], y[0]) == (2.0, 1.0)  # (y, x) = (0.5, 1.5) in sites: pixel corner between sites
    x, y = view.vortex_items["antivortex"].getData()
    assert (x[0], y[0]) == (1.0, 3.0)


def test_phi4_phase_hue_amplitude_brightness(view):
    field = np.zeros((2, 5, 5), np.float32)  # rows of 15 bytes: Qt reads them at the given stride
    field[0] = 1.0          # phase 0, amplitude 1
    field[:, 0, 0] = 0.0    # amplitude 0: black
    field[:, 4, 3] = (0.0, -0.5)
    view.show_frame(snapshot("phi4", field))
    assert view.rgb[0, 0].tolist() == [0, 0, 0]
    np.testing.assert_array_equal(view.rgb[1, 1], lookup_table(COLORMAPS["phi4"][0])[128])
    np.testing.assert_array_equal(displayed(view), view.rgb)
    assert not view.vortex_box.isVisibleTo(view)


def test_cursor_readout(view, qtbot):
    spins = -np.ones((8, 8), np.float32)
    spins[2, 5] = 1.0
    view.show_frame(snapshot("ising", spins))
    view.resize(400, 400)
    view.show()
    qtbot.waitExposed(view)
    vb = view.plot.getViewBox()
    view._on_mouse_moved(vb.mapViewToScene(QPointF(5.5, 2.5)))
    assert view.readout.text() == "site (5, 2): s = +1"
    view._on_mouse_moved(vb.mapViewToScene(QPointF(-3.0, 2.5)))
    assert view.readout.text().strip() == ""


def settled_range(qtbot, box) -> list:
    """The view box's range once it has stopped changing (on a loaded machine its own events
    that follow a zoom can come later than any fixed wait)."""
    previous = None
    while previous != box.viewRange():
        previous = box.viewRange()
        qtbot.wait(50)
    return previous


def test_zoom_pan_and_readout_by_mouse(view, qtbot):
    """Real mouse events on the view: the wheel zooms, a drag pans, hovering reads a site out."""
    spins = -np.ones((64, 64), np.float32)
    view.show_frame(snapshot("ising", spins))
    view.resize(500, 500)
    view.show()
    qtbot.waitExposed(view)
    box, viewport = view.plot.getViewBox(), view.plot.viewport()
    centre = viewport.rect().center()
    (x0, x1), _ = box.viewRange()
    QApplication.sendEvent(viewport, QWheelEvent(
        QPointF(centre), QPointF(viewport.mapToGlobal(centre)), QPoint(0, 0), QPoint(0, 120),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False))
    (z0, z1), _ = settled_range(qtbot, box)  # the view applies its locked aspect ratio in events of its own
    assert z1 - z0 < 0.9 * (x1 - x0)  # zoomed in

    def move(to: QPoint) -> None:
        qtbot.wait(30)  # pyqtgraph drops mouse moves that follow the last one within its rate limit
        QTest.mouseMove(viewport, to)

    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, centre)
    for k in range(1, 6):
        move(centre + QPoint(10 * k, 0))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, centre + QPoint(50, 0))
    (p0, p1), _ = settled_range(qtbot, box)  # its transform is updated when it is next painted
    assert p0 < z0 and p1 - p0 == pytest.approx(z1 - z0)  # dragged right: the view moved left, same zoom
    QTest.mouseMove(viewport, view.plot.mapFromScene(box.mapViewToScene(QPointF(20.5, 30.5))))
    qtbot.waitUntil(lambda: view.readout.text().startswith("site (20, 30)"))  # under X the move comes as an event


def test_controls_offer_only_valid_choices(qtbot):
    panel = ControlPanel(L=32)
    qtbot.addWidget(panel)
    sent = []
    panel.command.connect(lambda name, kwargs: sent.append((name, kwargs)))
    from engine.models.xy import XYModel

    assert panel.T.critical_T == pytest.approx(TC_ISING)
    panel.model.setCurrentIndex(panel.model.findData("xy"))
    items = [panel.algorithm.itemText(i) for i in range(panel.algorithm.count())]
    assert items == list(XYModel.algorithms)
    assert panel.T.critical_T == pytest.approx(T_KT_XY) and panel.T.critical.text().startswith("T_KT")
    name, kwargs = sent[-1]
    assert name == "set_model" and kwargs["model"] == "xy" and kwargs["L"] == 32 and "mu" not in kwargs
    panel.T.slider.setValue(panel.T.STEPS // 2)  # slider and spin box agree, one command each
    assert sent[-1] == ("set_params", {"T": pytest.approx(panel.T.spin.value())})
    panel.params["h"].setValue(0.25)
    assert sent[-1] == ("set_params", {"h": 0.25})
    n = len(sent)
    panel.L.editingFinished.emit()  # nothing changed: no rebuild
    assert len(sent) == n
    panel.anneal_button.click()
    assert sent[-1] == ("anneal", {"T_from": 4.0, "T_to": 1.5, "sweeps": 2000})


def test_running_mean_matches_definition():
    y = np.random.default_rng(0).normal(size=50)
    got = running_mean(y, 7)
    want = [y[max(0, i - 6): i + 1].mean() for i in range(50)]
    np.testing.assert_allclose(got, want)


def test_timeseries_plots_the_models_observables(qtbot):
    view = TimeSeriesView()
    qtbot.addWidget(view)
    series = {"sweep": np.arange(1, 11.0), "energy": np.linspace(-1, -2, 10), "vortex_density": np.full(10, 0.1)}
    view.show_frame(snapshot("xy", np.zeros((4, 4)), series=series))
    plot, raw, mean = view.curves[1]
    assert plot.getAxis("left").labelText == "vortex density"
    path = raw.path()
    points = np.array([(path.elementAt(i).x, path.elementAt(i).y) for i in range(path.elementCount())])
    np.testing.assert_array_equal(points, np.stack([series["sweep"], series["vortex_density"]], axis=1))
    assert mean.path().elementCount() == 10
    assert "E / N = -1.5" in view.readout.text()  # mean of the last 10 (window 100)


def test_held_range_moves_in_steps():
    assert [nice_ceil(v) for v in (0.7, 1.0, 1.1, 2.2, 3.0, 7.0, 12.0)] == [1.0, 1.0, 2.0, 2.5, 5.0, 10.0, 20.0]
    current, moves = (0.0, 1.0), 0
    for n in range(1, 100_001):  # a growing sweep axis moves a few times per decade
        new = held_range(current, 1.0, float(n), grow=True)
        if new is not None:
            current, moves = new, moves + 1
            assert current[0] == 1.0 and current[1] >= n
    assert moves <= 20
    assert held_range((-2.0, -0.6), -1.5, -1.0, grow=False) is None  # data inside, filling over a third: kept
    assert held_range((-5.0, 0.0), -1.5, -1.0, grow=False) == pytest.approx((-1.525, -0.975))  # too loose
    assert held_range((-1.2, -0.9), -1.5, -1.0, grow=False) == pytest.approx((-1.525, -0.975))  # data left it
    assert held_range((0.0, 1.0), 0.5, 0.5, grow=False) is not None  # constant data get a small span


def test_timeseries_ranges_follow_until_the_user_zooms(qtbot):
    view = TimeSeriesView()
    qtbot.addWidget(view)
    plot = view.curves[0][0]
    box = plot.getViewBox()

    def show(n):
        x = np.arange(1, n + 1.0)
        view.show_frame(snapshot("ising", np.zeros((4, 4)), series={"sweep": x, "energy": -1 - 1 / x, "abs_m": 0 * x}))
        return box.viewRange()

    x_range, y_range = show(50)
    assert not any(box.autoRangeEnabled())
    assert x_range[0] == 1 and x_range[1] >= 50 and y_range[0] <= -2 and y_range[1] >= -1.02
    assert show(51) == [x_range, y_range]  # one more point inside the range: nothing moves
    assert show(5000)[0][1] >= 5000
    box.setXRange(10, 20, padding=0)
    box.sigRangeChangedManually.emit(box.state["mouseEnabled"])  # what a mouse zoom emits
    assert show(6000)[0] == pytest.approx([10, 20])  # the user's zoom is kept
    plot.autoBtnClicked()  # the "A" button
    assert show(7000)[0][1] >= 7000


def test_2048_lattice_is_shown_pixel_for_pixel(view):
    spins = np.where(np.random.default_rng(2).random((2048, 2048)) > 0.5, 1.0, -1.0).astype(np.float32)
    view.show_frame(snapshot("ising", spins))
    q = view.image.pixmap().toImage()
    assert (q.width(), q.height()) == (2048, 2048)
    lut = lookup_table(COLORMAPS["ising"][0])
    for y, x in [(0, 0), (7, 2047), (2047, 5), (1234, 999)]:
        want = lut[255] if spins[y, x] > 0 else lut[0]
        assert [(q.pixel(x, y) >> s) & 255 for s in (16, 8, 0)] == want.tolist()
