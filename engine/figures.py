"""Figures as plain data, so the engine can describe a plot without importing a GUI toolkit.

The batch CLI builds :class:`Figure` objects and hands them to :func:`write_figures`. Rendering
(PNG, SVG, PDF through the same exporters as the application) is done by a renderer that the
``rgviz-batch`` entry point installs from the application package; ``python -m engine`` has
none, and then the figures' data are still written (as JSON) but no images.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .io import write_json


@dataclass
class Series:
    """One curve: points (optionally with y error bars), a line, or both."""

    x: Sequence[float]
    y: Sequence[float]
    yerr: Sequence[float] | None = None
    label: str = ""
    style: str = "line"  # "line", "points", "line+points", "dashed"
    color: str | None = None  # any Qt colour name / #rrggbb; None picks from the palette


@dataclass
class Heatmap:
    """Values on a grid of cells drawn as colours under the series: ``values[i][j]`` at (x[j], y[i]), the cell
    centres (spacing may vary); cells end halfway to their neighbours. ``levels``: the values at the ends of the
    colour scale (default: the finite values' range); ``label`` names the colour bar."""

    x: Sequence[float]
    y: Sequence[float]
    values: Sequence[Sequence[float]]
    label: str = ""
    levels: tuple[float, float] | None = None
    colormap: str = "viridis"


@dataclass
class Figure:
    """A 2D plot: axes labels, optional log axes, its series and optionally a heat map beneath them."""

    name: str  # file stem
    title: str
    xlabel: str
    ylabel: str
    series: list[Series] = field(default_factory=list)
    logx: bool = False
    logy: bool = False
    heatmap: Heatmap | None = None

    def to_json(self) -> dict:
        def plain(v):
            if isinstance(v, np.ndarray):
                return v.tolist()
            return v

        d = asdict(self)
        d["series"] = [{k: plain(v) for k, v in s.items()} for s in d["series"]]
        if d["heatmap"] is not None:
            d["heatmap"] = {k: plain(v) for k, v in d["heatmap"].items()}
        return d


Renderer = Callable[[Figure, Path], list[Path]]
_renderer: Renderer | None = None


def set_renderer(renderer: Renderer | None) -> None:
    """Install the function that renders a figure to files (PNG, SVG, PDF) in a folder."""
    global _renderer
    _renderer = renderer


def write_figures(figures: Sequence[Figure], out_dir: Path) -> list[Path]:
    """Write each figure's data as JSON and, when a renderer is installed, its images."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for fig in figures:
        path = out_dir / f"{fig.name}.figure.json"
        write_json(path, fig.to_json(), "rgviz-figure")
        written.append(path)
        if _renderer is not None:
            written.extend(_renderer(fig, out_dir))
    return written
