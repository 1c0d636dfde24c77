"""The RG-flow study's defaults, tables and files, shared by ``rgviz-batch rgflow`` and the RG flow panel.

The studies themselves are :func:`engine.rg.ising_flow.run_ising_rgflow` (trajectories, separatrix
Kc, MCRG exponents) and :func:`engine.rg.kosterlitz.run_xy_rgflow` (measured Kosterlitz
trajectories); their figures are in :mod:`engine.plots.rgflow`. Both faces write the same
``rgflow.json`` and ``trajectories.csv`` through :func:`write_rgflow`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

from ..exact import KC_ISING, T_KT_XY, TC_ISING
from ..figures import Figure
from ..io import write_json
from ..rg.ising_flow import Y_H_EXACT, Y_T_EXACT, RGFlowResult
from ..rg.kosterlitz import X_STAR, XYTrajectory
from .files import Table, write_table

#: Default starting temperatures (J = 1): a fan around Tc (Ising) and around T_KT (XY).
ISING_FAN = (2.0, 2.2, TC_ISING, 2.35, 2.6)
XY_FAN = (0.6, 0.8, T_KT_XY, 1.0, 1.3)

def estimate_rows(result: RGFlowResult) -> list[tuple[str, float, float, float]]:
    """(quantity, value, error, exact) for the table: Kc and Tc from the separatrix, MCRG y_t and y_h."""
    rows = []
    J = result.config.J
    if result.separatrix is not None:
        kc, err = result.separatrix.Kc, result.separatrix.error
        rows.append(("Kc = J/Tc (separatrix)", kc, err, KC_ISING))  # K0 = J/T: Kc is the same for every J
        rows.append(("Tc = J/Kc", J / kc, J * err / kc ** 2, TC_ISING * J))
    ex = result.exponents()
    for key, exact in (("y_t", Y_T_EXACT), ("y_h", Y_H_EXACT)):
        if key in ex:
            step = ex["step"]
            rows.append((f"{key} (MCRG, T = {ex['T']:.4g}, {step} -> {step + 1})",
                         _nan(ex[key]["mean"]), _nan(ex[key]["error"]), exact))
    if ex:  # how far the MCRG temperature is from Kc (a warning in the notes when too far)
        d = ex["distance_from_Kc"]
        rows.append((f"K - Kc at T = {ex['T']:.4g} (|K/Kc - 1| L = {d['scaled']:.2g})",
                     d["K_minus_Kc"]["mean"], d["K_minus_Kc"]["error"], 0.0))
    return rows


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def xy_document(trajectories: Sequence[XYTrajectory], L: int, b: int) -> dict:
    """``rgflow.json`` of an XY study: the lattice, the KT references and the measured trajectories."""
    return {"model": "xy", "L": L, "b": b, "T_KT": T_KT_XY, "K_star": 1 / X_STAR,
            "trajectories": [t.to_dict() for t in trajectories]}


def xy_table(trajectories: Sequence[XYTrajectory], L: int, b: int) -> Table:
    """CSV header and rows of an XY study, one row per (temperature, level)."""
    header = ["T", "level", "L_level", "inv_K", "inv_K_err", "y", "y_err"]
    rows = [[t.T, n, L // b ** n, t.x[n], t.x_err[n], t.y[n], t.y_err[n]]
            for t in trajectories for n in range(len(t.x))]
    return header, rows


def write_rgflow(out: Path, doc: dict, table: Table, figures: Sequence[Figure],
                 write_figures: Callable[[Sequence[Figure], Path], list[Path]]) -> list[Path]:
    """``rgflow.json``, ``trajectories.csv``, then the figures through ``write_figures`` (the CLI's
    writes their data and images, the GUI's images only); returns every path written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "rgflow.json", doc, "rgviz-rgflow", indent=1)
    write_table(out / "trajectories.csv", table)
    return [out / "rgflow.json", out / "trajectories.csv"] + list(write_figures(figures, out))
