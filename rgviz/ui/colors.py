"""Colour: every panel's colour maps and lookups, in one place.

All colours come from pyqtgraph's colour maps through one 256-entry table per map
(:func:`lookup_table`). Lattices become 8-bit indices into it (Ising: the map's two end colours for
-1 and +1; XY: the angle on a cyclic map; complex phi^4: the phase as hue, the amplitude as
brightness), looked up with numpy (which releases the GIL the engine thread needs); scalar values
(bulk nodes, correlation maps) are mapped linearly from a range onto the table by :func:`lookup`.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

#: Colour maps offered per model; the first is the default. Angles need cyclic maps.
COLORMAPS = {
    "ising": ("CET-D1", "CET-L1", "viridis", "inferno", "cividis"),
    "xy": ("CET-C6", "CET-C1", "CET-C2", "CET-C7", "CET-CBC1"),
    "phi4": ("CET-C6", "CET-C1", "CET-C2", "CET-C7", "CET-CBC1"),
}

TWO_PI = 2.0 * np.pi


def lookup_table(name: str, alpha: bool = False) -> np.ndarray:
    """A ``[256, 3]`` (``alpha``: ``[256, 4]``) uint8 table of a pyqtgraph colour map."""
    return pg.colormap.get(name).getLookupTable(0.0, 1.0, 256, alpha=alpha).astype(np.uint8)


def lookup(values: np.ndarray, cmap: str, lo: float, hi: float) -> np.ndarray:
    """``[n, 4]`` float RGBA in [0, 1] of ``values`` on colour map ``cmap`` over [lo, hi] (clipped;
    NaN and an empty range give the colour of ``lo``)."""
    table = lookup_table(cmap, alpha=True).astype(np.float32) / 255.0
    values = np.asarray(values, dtype=float)
    t = (values - lo) / (hi - lo) if hi > lo else np.zeros(len(values))
    return table[np.clip(np.nan_to_num(t) * 255, 0, 255).astype(np.intp)]


def color_indices(lattice: np.ndarray, model: str) -> np.ndarray:
    """Ising and XY lattices as uint8 indices into :func:`model_table`."""
    if model == "ising":
        return (lattice > 0).view(np.uint8)
    return ((np.mod(lattice, TWO_PI) * (256 / TWO_PI)).astype(np.intp) & 255).astype(np.uint8)


def model_table(model: str, lut: np.ndarray) -> np.ndarray:
    """The 256-entry colour table for :func:`color_indices`; Ising uses the map's two end colours
    (index 0: s = -1, every other index: +1)."""
    if model != "ising":
        return lut
    table = np.repeat(lut[255:], 256, axis=0)
    table[0] = lut[0]
    return table


def rgb32(rgb: np.ndarray) -> np.ndarray:
    """``[..., 3]`` uint8 RGB as the 32-bit words of Qt's RGB32 format (0xffRRGGBB)."""
    r, g, b = (rgb[..., k].astype(np.uint32) for k in range(3))
    return 0xFF000000 | r << 16 | g << 8 | b


def colorize(lattice: np.ndarray, model: str, lut: np.ndarray) -> np.ndarray:
    """A lattice (``[L, L]``, phi^4 ``[2, L, L]``) as an ``[L, L, 3]`` uint8 RGB image."""
    if model != "phi4":
        return model_table(model, lut)[color_indices(lattice, model)]
    re, im = lattice[0], lattice[1]
    phase = (np.arctan2(im, re) + np.pi) * (256 / TWO_PI)
    amplitude = np.hypot(re, im)
    scale = np.percentile(amplitude, 99) or 1.0
    brightness = np.clip(amplitude / scale, 0.0, 1.0)[..., None]
    return (lut[phase.astype(np.intp) % 256] * brightness).astype(np.uint8)
