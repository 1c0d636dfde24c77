"""Exporters: every format produces a file that parses, and failures lose nothing."""

from __future__ import annotations

import errno
import json
import xml.etree.ElementTree as ET

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QImage

import engine.io
from engine.figures import Figure, Series, set_renderer, write_figures
from rgviz import export, figures

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def plot(qtbot):
    """A plot with a curve and an image: vector and raster content in one figure."""
    widget = pg.PlotWidget()
    widget.resize(320, 240)
    widget.plot([0, 1, 2, 3], [1, 3, 2, 4], name="curve")
    image = pg.ImageItem(np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype=np.uint8))
    widget.addItem(image)
    qtbot.addWidget(widget)
    return widget


def assert_png(path, size=None):
    assert path.read_bytes()[:8] == PNG_MAGIC
    if size is not None:
        image = QImage(str(path))
        assert (image.width(), image.height()) == size


def assert_svg(path):
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    assert any(el.tag.endswith("text") for el in root.iter()), "axis labels should stay text"


def assert_pdf(path):
    data = path.read_bytes()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-64:]


def test_figure_formats_parse(plot, tmp_path):
    assert_png(export.export_figure(plot, tmp_path / "f.png"), (320, 240))
    assert_png(export.export_figure(plot, tmp_path / "big.png", 1000, 500), (1000, 500))
    assert_png(export.export_figure(plot, tmp_path / "wide.png", 640), (640, 480))
    assert_svg(export.export_figure(plot, tmp_path / "f.svg"))
    assert_pdf(export.export_figure(plot, tmp_path / "f.pdf"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.png", "f.pdf", "f.png", "f.svg", "wide.png"]


def test_unknown_suffix_and_unwritable_path(plot, tmp_path):
    with pytest.raises(export.ExportError, match=r"\.jpg.*allowed: \.png, \.svg, \.pdf"):
        export.export_figure(plot, tmp_path / "f.jpg")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(export.ExportError, match="Cannot write .*file/f.png"):
        export.export_figure(plot, blocker / "f.png")


def test_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "keep.csv"
    target.write_text("precious")

    def disk_full(tmp):
        with open(tmp, "w") as fh:
            fh.write("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(export.ExportError, match="No space left on device"):
        export.atomic_write(target, disk_full)
    assert target.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.csv"]  # no temporary file left behind


@pytest.mark.parametrize("name", ["d.npz", "d.csv"])
def test_failed_data_export_keeps_the_old_files(tmp_path, monkeypatch, name):
    paths = export.export_data(snapshot(), tmp_path / name)
    before = {p.name: p.read_bytes() for p in paths}

    def disk_full(*_):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(engine.io.os, "fsync", disk_full)
    with pytest.raises(export.ExportError, match="No space left on device"):
        export.export_data(snapshot(L=8), tmp_path / name)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def snapshot(model="ising", L=6):
    rng = np.random.default_rng(1)
    lattice = {"ising": lambda: rng.choice([-1.0, 1.0], (L, L)),
               "phi4": lambda: rng.normal(size=(2, L, L))}[model]().astype(np.float32)
    n = 5
    return {"model": model, "algorithm": "metropolis", "sweep": n, "params": {"T": [2.5]},
            "lattice": lattice,
            "series": {"sweep": np.arange(1, n + 1), "energy": rng.normal(size=n), "abs_m": rng.random(n)}}


def test_npz_round_trip(tmp_path):
    snap = snapshot()
    [path] = export.export_data(snap, tmp_path / "d.npz")
    with np.load(path) as data:
        np.testing.assert_array_equal(data["lattice"], snap["lattice"])
        np.testing.assert_array_equal(data["series_energy"], snap["series"]["energy"])
        meta = json.loads(str(data["metadata"]))
    assert meta == {"format": "rgviz-export", "version": 1, "model": "ising", "algorithm": "metropolis", "sweep": 5,
                    "params": {"T": [2.5]}}


@pytest.mark.parametrize("model", ["ising", "phi4"])
def test_csv_round_trip(tmp_path, model):
    snap = snapshot(model)
    series_path, lattice_path, meta_path = export.export_data(snap, tmp_path / "d.csv")
    assert (lattice_path.name, meta_path.name) == ("d.lattice.csv", "d.json")
    assert json.loads(meta_path.read_text())["params"] == {"T": [2.5]}
    table = np.genfromtxt(series_path, delimiter=",", names=True)
    np.testing.assert_allclose(table["energy"], snap["series"]["energy"])
    np.testing.assert_array_equal(table["sweep"], snap["series"]["sweep"])
    sites = np.genfromtxt(lattice_path, delimiter=",", names=True)
    components = ("spin",) if model == "ising" else ("re", "im")
    assert sites.dtype.names == ("x", "y") + components
    for c, name in enumerate(components):
        values = np.asarray(snap["lattice"]).reshape(len(components), 6, 6)[c]
        np.testing.assert_allclose(sites[name], values[sites["y"].astype(int), sites["x"].astype(int)], rtol=1e-6)


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_movie(tmp_path, suffix):
    import imageio.v3 as iio

    path = tmp_path / f"m{suffix}"
    recorder = export.MovieRecorder(path, fps=10, min_size=64)
    frames = [np.full((9, 9, 3), v, np.uint8) for v in (0, 120, 250)]
    for f in frames:
        recorder.add(f)
    assert not path.exists()  # appears only when complete
    recorder.close()
    movie = iio.imread(path, index=None)
    assert movie.shape[0] == 3 and movie.shape[1:3] == (72, 72)  # 9 px enlarged 8x to >= 64
    assert abs(int(movie[1, 36, 36, :3].mean()) - 120) < 12
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_movie_plays_at_the_speed_it_was_shown(tmp_path):
    """At 10 frames/s: a frame 0.05 s after the last is left out, one shown for 0.25 s fills its 2.5 slots,
    and a pause of a minute is cut to MAX_HOLD_S."""
    from PIL import Image

    path = tmp_path / "m.gif"
    recorder = export.MovieRecorder(path, fps=10, min_size=8)
    for value, at in ((0, 0.0), (50, 0.05), (100, 0.1), (150, 0.35), (200, 60.0), (250, 60.1)):
        recorder.add(np.full((8, 8, 3), value, np.uint8), at)
    recorder.close()
    assert recorder.frames == 1 + 2 + 11 + 1 + 1
    shown = []  # (shade, milliseconds): the GIF writer merges repeated frames into one longer frame
    with Image.open(path) as gif:
        for i in range(gif.n_frames):
            gif.seek(i)
            shown.append((round(float(np.asarray(gif.convert("RGB")).mean())), gif.info["duration"]))
    assert shown == [(0, 100), (100, 200), (150, 1100), (200, 100), (250, 100)]


def test_movie_rejects_unknown_format(tmp_path):
    with pytest.raises(export.ExportError, match="allowed: .gif, .mp4"):
        export.MovieRecorder(tmp_path / "m.avi")


def test_batch_figure_renders_three_parsable_files(qtbot, tmp_path):
    fig = Figure(name="chi", title="Susceptibility", xlabel="T", ylabel="chi", logy=True, series=[
        Series(x=[2.0, 2.2, 2.4, 2.6], y=[3.0, 30.0, 12.0, 4.0], yerr=[0.3, 4.0, 1.0, 0.2],
               label="L = 16", style="line+points"),
        Series(x=[2.0, 2.2, 2.4, 2.6], y=[2.0, 0.0, 9.0, 3.0], label="dropped y=0 on log axis", style="dashed"),
    ])
    set_renderer(figures.render)
    try:
        written = write_figures([fig], tmp_path)
    finally:
        set_renderer(None)
    names = sorted(p.name for p in written)
    assert names == ["chi.figure.json", "chi.pdf", "chi.png", "chi.svg"]
    assert_png(tmp_path / "chi.png", (figures.SIZE[0] * figures.PNG_SCALE, figures.SIZE[1] * figures.PNG_SCALE))
    assert_pdf(tmp_path / "chi.pdf")
    assert_svg(tmp_path / "chi.svg")
    svg = (tmp_path / "chi.svg").read_text()
    assert "Susceptibility" in svg and "L = 16" in svg


def test_greek_letters_are_drawn_as_symbols_in_png_svg_and_pdf(qtbot, tmp_path):
    import re
    import zlib

    from PySide6.QtGui import QFontMetrics

    assert figures.symbols("gamma/nu, tau_int, L^(1/nu), chi^2, alphabet, beta") == "γ/ν, τ_int, L^(1/ν), χ², alphabet, β"
    # exponents with a superscript form are raised; others (q, decimals, Greek) keep their caret
    assert figures.symbols("sigma_w^2, q^(l+1), <s^k>, x^q, L^-0.25, s^tau") == "σ_w², q⁽ˡ⁺¹⁾, <sᵏ>, x^q, L^-0.25, s^τ"
    fig = Figure(name="g", title="gamma/nu fit", xlabel="sigma_w^2, q^(l+1)", ylabel="chi",
                 series=[Series(x=[1.0, 2.0], y=[1.0, 2.0], label="tau_int")])
    widget = figures.plot_widget(fig)
    qtbot.addWidget(widget)
    label = widget.getPlotItem().getAxis("left").label
    assert label.toPlainText().strip() == "χ"
    assert all(QFontMetrics(label.font()).inFontUcs4(ord(c)) for c in "χγντσ²⁽ˡ⁺¹⁾")  # PNG: the font has the glyphs
    png, svg, pdf = figures.render(fig, tmp_path)
    assert_png(png)
    text = svg.read_text(encoding="utf-8")
    assert "γ/ν" in text and "χ" in text and "τ_" in text  # Qt writes a text in runs
    def unpacked(stream: bytes) -> bytes:
        try:
            return zlib.decompress(stream)
        except zlib.error:  # a stream stored as it is
            return stream

    # the fonts' ToUnicode maps name the character of each glyph drawn
    streams = b"".join(map(unpacked, re.findall(rb"stream\r?\n(.*?)endstream", pdf.read_bytes(), re.S)))
    assert all(code in streams.lower() for code in (b"03c7", b"03b3", b"03bd", b"03c4"))


def test_rgviz_batch_renders_the_cli_figures(qtbot, tmp_path):
    """``rgviz-batch`` = the engine CLI + this renderer: every figure as JSON, PNG, SVG and PDF."""
    from rgviz.batch import main

    out = tmp_path / "sweep"
    assert main(["sweep", "--L", "4", "--T", "2.0:3.0:2", "--sweeps", "20", "--thermalize", "5",
                 "--device", "cpu", "--no-progress", "--out", str(out)]) == 0
    stems = sorted(p.name[: -len(".figure.json")] for p in out.glob("*.figure.json"))
    assert stems
    for stem in stems:
        assert_png(out / f"{stem}.png")
        assert_svg(out / f"{stem}.svg")
        assert_pdf(out / f"{stem}.pdf")


@pytest.mark.parametrize("model, kwargs, words", [
    ("ising", {"T": 2.269}, ["Ising model, L = 16, T = 2.269, sweep 3", "s = -1", "s = +1"]),
    ("xy", {"T": 0.89}, ["XY model, L = 16, T = 0.89, sweep 3", "antivortex (-1"]),
    ("phi4", {}, ["complex φ⁴ model, L = 16, t = 0.5, μ = -2, λ = 1, sweep 3"]),
])
def test_lattice_figure_has_title_key_and_no_margins(qtbot, tmp_path, model, kwargs, words):
    from engine.session import Simulation
    from rgviz.ui.lattice_view import LatticeView

    sim = Simulation(model, L=16, seed=1, device="cpu", **kwargs)
    for _ in range(3):
        sim.step()
    view = LatticeView()
    qtbot.addWidget(view)
    view.vortex_box.setChecked(True)
    view.show_frame(sim.snapshot())
    figure = view.figure_widget()
    texts = [figure.plot.titleLabel.text] + [item.text for item in figure.scene().items()
                                             if isinstance(item, pg.LabelItem)]
    for word in words:
        assert any(word in text for text in texts), (word, texts)
    assert any(isinstance(item, pg.ColorBarItem) for item in figure.ci.items) == (model != "ising")
    box = figure.plot.getViewBox()
    assert abs(box.sceneBoundingRect().width() - box.sceneBoundingRect().height()) <= 2  # the lattice fills it
    (x0, x1), (y0, y1) = box.viewRange()
    assert (x0, x1, min(y0, y1), max(y0, y1)) == pytest.approx((0, 16, 0, 16), abs=0.2)
    image = QImage(str(export.export_figure(figure, tmp_path / "lattice.png")))
    corners = [image.pixelColor(x, y) for x in (1, image.width() - 2) for y in (1, image.height() - 2)]
    assert all(c.lightness() > 240 for c in corners)  # white around the figure, not the live view's black
