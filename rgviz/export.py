"""Figure, data and movie export, one small class per format (in the spirit of pyqtgraph's exporters).

Every writer goes through the engine's :func:`engine.io.atomic_write` (the movie recorder through
its parts, as its file grows frame by frame): the file is written next to its target under a
temporary name and moved into place with ``os.replace`` only when complete, so a full disk or an
unwritable folder raises :class:`ExportError` with a readable message and leaves any existing file
untouched. Data files carry the ``rgviz-export`` format version.

Figures are rendered from a QWidget (a panel, a plot, the whole window) with ``QWidget.render``,
so pyqtgraph axes, text and curves stay vector graphics in SVG and PDF while images (the lattice)
are embedded as bitmaps. pyqtgraph 0.14's own SVG exporter fails with current Qt
("not enough values to unpack": Qt now closes SVG paths with Z),
hence QSvgGenerator; PDF uses QPdfWriter at 96 dpi, where Qt scales axis text correctly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QIODevice,
    QMarginsF,
    QPoint,
    QRect,
    QRectF,
    QSizeF,
)
from PySide6.QtGui import QColor, QImage, QPageLayout, QPageSize, QPainter, QPdfWriter
from PySide6.QtSvg import QSvgGenerator, QSvgRenderer
from PySide6.QtWidgets import QGraphicsView, QWidget

from engine.io import WriteError, atomic_write, commit, discard, open_temp, stamp, write_csv, write_npz, write_text

PDF_DPI = 96

#: The engine's error for a failed write; the GUI shows ``str(err)``. One class, so that a caller
#: catching ExportError also catches what :func:`atomic_write` raises.
ExportError = WriteError


def _render(widget: QWidget, painter: QPainter) -> None:
    """Paint ``widget`` with pyqtgraph items in export mode (e.g. scatter symbols drawn as
    paths rather than from a cached pixmap atlas, which would come out as bitmaps)."""
    views = [widget] if isinstance(widget, QGraphicsView) else []
    views += widget.findChildren(QGraphicsView)
    items = [item for view in views for item in view.scene().items() if hasattr(item, "setExportMode")]
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    for item in items:
        item.setExportMode(True, {"antialias": True})
    try:
        QWidget.render(widget, painter, QPoint(0, 0))  # the widget as on screen, for every widget type
    finally:
        for item in items:
            item.setExportMode(False)


def svg_bytes(widget: QWidget, title: str = "") -> QByteArray:
    """The widget as an SVG document, one SVG unit per widget pixel."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    size = widget.size()
    gen = QSvgGenerator()
    gen.setOutputDevice(buffer)
    gen.setSize(size)
    gen.setViewBox(QRect(0, 0, size.width(), size.height()))
    gen.setTitle(title)
    gen.setResolution(widget.logicalDpiX())  # at another dpi Qt rescales, and graphics views twice
    painter = QPainter()
    if not painter.begin(gen):
        raise ExportError("Cannot render the figure as SVG")
    _render(widget, painter)
    painter.end()
    buffer.close()
    return data


# --- figures ---------------------------------------------------------------------------------

class PNGExporter:
    """Raster image of a widget at a chosen pixel size (default: the widget's size).

    At the widget's own size the image is exactly what the screen shows. At another size the
    widget is drawn as vector graphics (SVG) and rasterised at that size, so lines and text stay
    sharp; QWidget.render cannot do this itself, as it scales graphics views twice. The lattice
    stays pixel-exact (no smoothing). When the aspect ratio differs from the widget's, the figure
    is centred on a white margin.
    """

    suffix = ".png"

    def __init__(self, width: int | None = None, height: int | None = None):
        self.width, self.height = width, height

    def export(self, widget: QWidget, path: str | os.PathLike) -> Path:
        w0, h0 = max(widget.width(), 1), max(widget.height(), 1)
        w = self.width or (round(self.height * w0 / h0) if self.height else w0)
        h = self.height or round(w * h0 / w0)
        image = QImage(w, h, QImage.Format.Format_ARGB32)
        image.fill(QColor("white"))
        painter = QPainter(image)
        if (w, h) == (w0, h0):
            _render(widget, painter)
        else:
            ratio = min(w / w0, h / h0)
            target = QRectF((w - w0 * ratio) / 2, (h - h0 * ratio) / 2, w0 * ratio, h0 * ratio)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
            QSvgRenderer(svg_bytes(widget)).render(painter, target)
        painter.end()

        def write(tmp: str) -> None:
            if not image.save(tmp, "PNG"):
                raise ExportError(f"Cannot write {path}: the PNG encoder failed (disk full?)")

        return atomic_write(path, write)


class SVGExporter:
    """Vector SVG through QSvgGenerator (axes and text stay text, the lattice is an image)."""

    suffix = ".svg"

    def export(self, widget: QWidget, path: str | os.PathLike) -> Path:
        data = bytes(svg_bytes(widget, Path(path).stem))

        def write(tmp: str) -> None:
            with open(tmp, "wb") as fh:
                fh.write(data)

        return atomic_write(path, write)


class PDFExporter:
    """A one-page PDF the size of the widget, at 96 dpi (vector axes and text)."""

    suffix = ".pdf"

    def export(self, widget: QWidget, path: str | os.PathLike) -> Path:
        def write(tmp: str) -> None:
            size = widget.size()
            writer = QPdfWriter(tmp)
            writer.setResolution(PDF_DPI)
            page = QPageSize(QSizeF(size.width() / PDF_DPI, size.height() / PDF_DPI), QPageSize.Unit.Inch)
            writer.setPageLayout(QPageLayout(page, QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0)))
            writer.setTitle(Path(path).stem)
            painter = QPainter()
            if not painter.begin(writer):
                raise ExportError(f"Cannot write {path}: could not open the PDF file")
            _render(widget, painter)
            painter.end()

        return atomic_write(path, write)


FIGURE_EXPORTERS = {e.suffix: e for e in (PNGExporter, SVGExporter, PDFExporter)}


def export_figure(widget: QWidget, path: str | os.PathLike, width: int | None = None,
                  height: int | None = None) -> Path:
    """Export ``widget`` by the file suffix (.png, .svg, .pdf); size applies to PNG only."""
    suffix = Path(path).suffix.lower()
    if suffix not in FIGURE_EXPORTERS:
        raise ExportError(f"Cannot export a figure as {suffix or 'a file without suffix'}; "
                          f"allowed: {', '.join(FIGURE_EXPORTERS)}")
    exporter = PNGExporter(width, height) if suffix == ".png" else FIGURE_EXPORTERS[suffix]()
    return exporter.export(widget, path)


# --- data ------------------------------------------------------------------------------------

def _components(snapshot: dict) -> tuple[list[str], np.ndarray]:
    """The lattice as named components ``[C, L, L]`` (Ising: spin, XY: theta, phi^4: re, im)."""
    lattice = np.asarray(snapshot["lattice"])
    if lattice.ndim == 3:
        return ["re", "im"], lattice
    name = {"ising": "spin", "xy": "theta"}.get(snapshot.get("model", ""), "value")
    return [name], lattice[None]


def _metadata(snapshot: dict) -> str:
    keys = ("model", "algorithm", "sweep", "params")
    return json.dumps({**stamp("rgviz-export"), **{k: snapshot.get(k) for k in keys}},
                      default=lambda v: np.asarray(v).tolist())


class NPZExporter:
    """Lattice, every time series and the metadata (JSON string, with the format version) in one ``.npz``."""

    suffix = ".npz"

    def export(self, snapshot: dict, path: str | os.PathLike) -> list[Path]:
        arrays = {"lattice": np.asarray(snapshot["lattice"]), "metadata": np.array(_metadata(snapshot))}
        arrays.update({f"series_{k}": np.asarray(v) for k, v in snapshot.get("series", {}).items()})

        return [write_npz(path, arrays)]


class CSVExporter:
    """Plain CSV (a header row, no comments) that any tool reads, plus the metadata as JSON.

    ``name.csv`` holds the time series, ``name.lattice.csv`` the lattice one site per row
    (``x, y, component...``: the same self-describing layout for every model, including the
    two-component phi^4 field), ``name.json`` the model, algorithm, sweep and parameters.
    """

    suffix = ".csv"

    def export(self, snapshot: dict, path: str | os.PathLike) -> list[Path]:
        path = Path(path)
        series = {k: np.asarray(v) for k, v in snapshot.get("series", {}).items()}


        def write_lattice(tmp: str) -> None:
            names, comps = _components(snapshot)
            L = comps.shape[-1]
            y, x = np.divmod(np.arange(L * L), L)
            table = np.column_stack([x, y] + [c.reshape(-1) for c in comps])
            np.savetxt(tmp, table, delimiter=",", fmt=["%d", "%d"] + ["%.9g"] * len(names),
                       header=",".join(["x", "y"] + names), comments="")

        n = min((len(v) for v in series.values()), default=0)
        rows = zip(*(v[:n].tolist() for v in series.values()))
        return [write_csv(path, list(series), rows), atomic_write(path.with_suffix(".lattice.csv"), write_lattice),
                write_text(path.with_suffix(".json"), _metadata(snapshot) + "\n")]


DATA_EXPORTERS = {e.suffix: e for e in (NPZExporter, CSVExporter)}


def export_data(snapshot: dict, path: str | os.PathLike) -> list[Path]:
    """Export a snapshot's lattice and time series by suffix (.npz or .csv)."""
    suffix = Path(path).suffix.lower()
    if suffix not in DATA_EXPORTERS:
        raise ExportError(f"Cannot export data as {suffix or 'a file without suffix'}; "
                          f"allowed: {', '.join(DATA_EXPORTERS)}")
    return DATA_EXPORTERS[suffix]().export(snapshot, path)


# --- movies ----------------------------------------------------------------------------------

class MovieRecorder:
    """Collects RGB frames into a GIF or MP4 (imageio); the file appears only on :meth:`close`.

    Frames are enlarged by an integer factor to at least ``min_size`` pixels (nearest neighbour,
    so single sites stay crisp) and padded to even sizes, which MP4 encoders require.

    Frames given with the time they were shown play back at that speed: the movie has ``fps``
    frames per second of recording, so a frame that came sooner than its slot is left out and one
    that stayed longer is repeated (at most :attr:`MAX_HOLD_S`, so that a paused run does not
    make the movie stand still).
    """

    SUFFIXES = (".gif", ".mp4")
    MAX_HOLD_S = 1.0

    def __init__(self, path: str | os.PathLike, fps: int = 30, min_size: int = 256):
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in self.SUFFIXES:
            raise ExportError(f"Cannot record a movie as {suffix or 'a file without suffix'}; "
                              f"allowed: {', '.join(self.SUFFIXES)}")
        self.fps, self.min_size = fps, min_size
        self.frames = 0
        self._start: float | None = None  # the time of the first frame, shifted by holds cut short
        self._last: np.ndarray | None = None
        self._tmp = None
        self._writer = None
        import imageio.v2 as imageio  # imported here: only movie recording needs it

        self._tmp = open_temp(self.path, suffix)
        try:
            if suffix == ".gif":
                self._writer = imageio.get_writer(self._tmp, format="GIF", mode="I",
                                                  duration=1000 / fps, loop=0)
            else:
                self._writer = imageio.get_writer(self._tmp, format="FFMPEG", mode="I", fps=fps,
                                                  codec="libx264", macro_block_size=1,
                                                  ffmpeg_log_level="error")
        except (OSError, RuntimeError) as err:
            self._discard()
            raise ExportError(f"Cannot record {self.path}: {err}") from err

    def add(self, rgb: np.ndarray, at: float | None = None) -> None:
        """Append one ``[H, W, 3]`` uint8 frame; ``at`` (seconds, any clock) is when it was shown."""
        if at is not None:
            if self._start is None:
                self._start = at
            due = int((at - self._start) * self.fps) + 1  # movie frames up to and including this one
            if due <= self.frames:
                return  # faster than the movie's frame rate
            hold = due - 1 - self.frames
            cut = max(0, hold - int(self.MAX_HOLD_S * self.fps))
            self._start += cut / self.fps
            for _ in range(hold - cut):
                self._append(self._last)
        self._last = rgb
        self._append(rgb)

    def _append(self, rgb: np.ndarray) -> None:
        k = max(1, -(-self.min_size // max(rgb.shape[:2])))
        frame = np.repeat(np.repeat(rgb, k, axis=0), k, axis=1)
        pad = ((0, frame.shape[0] % 2), (0, frame.shape[1] % 2), (0, 0))
        try:
            self._writer.append_data(np.pad(frame, pad, mode="edge"))
        except (OSError, RuntimeError) as err:
            self._discard()
            raise ExportError(f"Cannot record {self.path}: {err}") from err
        self.frames += 1

    def close(self) -> Path:
        """Finish the file and move it into place."""
        if self._writer is None:
            raise ExportError(f"Cannot record {self.path}: the recording was aborted")
        try:
            self._writer.close()
            self._writer = None
            if self.frames == 0:
                raise ExportError(f"Cannot record {self.path}: no frames were recorded")
            commit(self._tmp, self.path)
        except ExportError:
            self._discard()
            raise
        except (OSError, RuntimeError) as err:
            self._discard()
            raise ExportError(f"Cannot record {self.path}: {err}") from err
        return self.path

    def _discard(self) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            except (OSError, RuntimeError):
                pass
            self._writer = None
        if self._tmp:
            discard(self._tmp)
