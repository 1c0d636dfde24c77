"""Figures of RG-Flow on images: grey image grids (PNG) and the hierarchy's numbers as plots.

- :func:`grey_grid` / :func:`write_grey_png`: patches (grey levels) side by side, enlarged, as an 8-bit PNG;
- :func:`receptive_figure`: receptive-field size against level (support, 90%-energy area, RMS radius);
- :func:`cone_figure`: the causal cone's latent count against N = L^2 with its fit in log2 N.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..figures import Figure, Series
from ..io import atomic_write


def grey_grid(images: np.ndarray, columns: int = 8, zoom: int = 4, gap: int = 2, lo: float = 0.0,
              hi: float = 255.0) -> np.ndarray:
    """``[n, L, L]`` values mapped from [lo, hi] to 0..255, each enlarged ``zoom`` times, in a grid with white gaps."""
    images = np.clip((np.asarray(images, float) - lo) / ((hi - lo) or 1.0), 0, 1) * 255
    n, L, _ = images.shape
    columns = min(columns, n)
    rows = -(-n // columns)
    size = L * zoom
    out = np.full((rows * (size + gap) - gap, columns * (size + gap) - gap), 255, np.uint8)
    for k, image in enumerate(images):
        r, c = divmod(k, columns)
        out[r * (size + gap): r * (size + gap) + size, c * (size + gap): c * (size + gap) + size] = \
            np.kron(image, np.ones((zoom, zoom))).astype(np.uint8)
    return out


def write_grey_png(path: str | Path, grid: np.ndarray) -> Path:
    import imageio.v2 as imageio

    return atomic_write(path, lambda tmp: imageio.imwrite(tmp, grid, format="PNG"))


def receptive_figure(result: dict) -> list[Figure]:
    rows = result["levels"]
    level = [r["level"] for r in rows]
    sizes = Figure("receptive_area", "receptive field per level", "level of the perturbed latent", "sites",
                   [Series(level, [r["support"] for r in rows], label="support (sites that move)",
                           style="line+points"),
                    Series(level, [r["area"] for r in rows], [r["area_error"] for r in rows],
                           label="sites holding 90% of |dx|^2", style="line+points")], logy=True)
    radius = Figure("receptive_radius", "receptive-field radius per level", "level of the perturbed latent",
                    "RMS distance from the latent's site (sites)",
                    [Series(level, [r["radius"] for r in rows], [r["radius_error"] for r in rows],
                            label="|dx|^2-weighted RMS radius", style="line+points")])
    return [sizes, radius]


def cone_figure(result: dict) -> Figure:
    n = np.array([r["N"] for r in result["sizes"]], float)
    counts = [r["count"] for r in result["sizes"]]
    fit = result["fit"]
    series = [Series(n, counts, label="latents in the causal cone", style="points"),
              Series(n, fit["intercept"] + fit["per_log2_N"] * np.log2(n),
                     label=f"{fit['intercept']:.3g} + {fit['per_log2_N']:.3g} log2 N", style="dashed")]
    return Figure("light_cone", "causal cone of a patch against system size", "N = L^2 (latents)",
                  "latents resampled", series, logx=True)
