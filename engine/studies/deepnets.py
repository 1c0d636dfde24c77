"""The deep-network study, shared by ``rgviz-batch deepnets`` and the Deep networks panel: three parts with
validated configurations, plain-data results, tables and files.

- :func:`run_phase`: the mean-field phase diagram (:mod:`engine.deepnets.meanfield`) on a (sigma_w^2,
  sigma_b^2) grid, the order-to-chaos line, and a cut at one sigma_b^2.
- :func:`run_measurement`: q^l and c^l on random networks beside the mean-field iteration, and xi_c from their
  decay against the theory (:mod:`engine.deepnets.random_nets`).
- :func:`engine.deepnets.trainability.run_trainability`: test accuracy on the digits against depth and
  sigma_w^2, with the 6 xi_c line (:func:`six_xi_line`).

Every part writes ``deepnets.json``, a CSV table and ``deepnets.npz`` through :func:`write_deepnets`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .. import validate
from ..deepnets import meanfield
from ..deepnets.random_nets import Propagation, propagate
from ..deepnets.trainability import Trainability, TrainabilityConfig
from ..errors import ParameterError
from ..figures import Figure
from ..io import npz_stamp, write_json, write_npz
from ..names import DEEPNET_ACTIVATIONS
from ..progress import Progress
from .files import Table, write_table

#: Depth in units of xi_c beyond which Schoenholz et al. find networks untrainable.
TRAINABLE_XI = 6.0
#: Points on sigma_w^2 of the cut and of the 6 xi_c line.
LINE_POINTS = 200
#: Largest grid (cells) the phase diagram takes: 40 000 cells take about a minute on one core.
MAX_CELLS = 40_000


def plain(value):
    """A number for JSON: finite floats as they are, nan and inf as None (JSON has neither)."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in value]
    value = float(value)
    return value if math.isfinite(value) else None


def _activation(name: str) -> None:
    if name not in DEEPNET_ACTIVATIONS:
        raise ParameterError("activation", f"choose one of {', '.join(DEEPNET_ACTIVATIONS)}, got {name!r}")


# --- the phase diagram --------------------------------------------------------------------------------------
@dataclass
class PhaseConfig:
    """The (sigma_w^2, sigma_b^2) grid of the phase diagram and the sigma_b^2 of its cut."""

    activation: str = "tanh"
    sw2: tuple[float, float, int] = (0.5, 4.0, 50)  # from, to, points
    sb2: tuple[float, float, int] = (0.0, 0.3, 31)
    cut_sb2: float = 0.05

    def validate(self) -> None:
        _activation(self.activation)
        for name, (lo, hi, n) in (("sw2", self.sw2), ("sb2", self.sb2)):
            validate.number(name, lo, 0.0)
            validate.number(name, hi, lo)
            validate.integer(f"{name} points", n, 1, 2000)
        if self.sw2[0] <= 0:
            raise ParameterError("sw2", f"sigma_w^2 must be > 0, got {self.sw2[0]}")
        if self.sw2[2] * self.sb2[2] > MAX_CELLS:
            raise ParameterError("sw2", f"{self.sw2[2]} x {self.sb2[2]} grid points: at most {MAX_CELLS} cells")
        validate.number("cut sb2", self.cut_sb2, 0.0, 100.0)

    def axes(self) -> tuple[np.ndarray, np.ndarray]:
        return np.linspace(*self.sw2[:2], self.sw2[2]), np.linspace(*self.sb2[:2], self.sb2[2])


@dataclass
class PhaseDiagram:
    """The grid's mean-field quantities, the order-to-chaos line sigma_w^2(sigma_b^2), and the cut."""

    config: PhaseConfig
    grid: meanfield.MeanField
    line_sb2: np.ndarray  # the order-to-chaos line: sigma_b^2, dense near 0 where the line turns
    line_sw2: np.ndarray
    cut: meanfield.MeanField  # one row: sigma_b^2 = cut_sb2, LINE_POINTS values of sigma_w^2
    cut_critical_sw2: float

    def to_dict(self) -> dict:
        fields = {name: plain(getattr(self.grid, name)) for name in meanfield.MeanField.FIELDS}
        cut = {name: plain(getattr(self.cut, name)[0]) for name in meanfield.MeanField.FIELDS}
        return {"part": "phase", "config": asdict(self.config), "sw2": plain(self.grid.sw2),
                "sb2": plain(self.grid.sb2), "grid": fields,
                "order_to_chaos": {"sb2": plain(self.line_sb2), "sw2": plain(self.line_sw2)},
                "cut": {"sb2": self.config.cut_sb2, "sw2": plain(self.cut.sw2), **cut,
                        "critical_sw2": plain(self.cut_critical_sw2)}}

    def table(self) -> Table:
        """One row per grid cell: sigma_w^2, sigma_b^2 and every mean-field quantity (inf: no finite value)."""
        header = ["sw2", "sb2", *meanfield.MeanField.FIELDS]
        SW, SB = np.meshgrid(self.grid.sw2, self.grid.sb2)
        columns = [SW, SB] + [getattr(self.grid, name) for name in meanfield.MeanField.FIELDS]
        return header, np.stack([c.ravel() for c in columns], axis=1).tolist()

    def arrays(self) -> dict[str, np.ndarray]:
        return {"sw2": self.grid.sw2, "sb2": self.grid.sb2, "order_to_chaos_sb2": self.line_sb2,
                "order_to_chaos_sw2": self.line_sw2,
                **{name: getattr(self.grid, name) for name in meanfield.MeanField.FIELDS},
                "cut_sw2": self.cut.sw2, **{f"cut_{n}": getattr(self.cut, n)[0] for n in meanfield.MeanField.FIELDS}}


def run_phase(config: PhaseConfig, progress: Progress | None = None) -> PhaseDiagram:
    """The grid one sigma_b^2 row at a time (``progress`` after each: a GUI job can end between rows), then the
    order-to-chaos line and the cut."""
    config.validate()
    sw2, sb2 = config.axes()
    rows = []
    for i, b in enumerate(sb2):
        rows.append(meanfield.mean_field(config.activation, sw2, b))
        if progress is not None:
            progress(i + 1, len(sb2) + 1)
    grid = meanfield.MeanField(config.activation, sw2, sb2,
                               *(np.concatenate([getattr(r, n) for r in rows]) for n in meanfield.MeanField.FIELDS))
    # sigma_b^2 on a square-law spacing: the line leaves (1, 0) with sigma_b^2 rising steeply in sigma_w^2
    line_sb2 = sb2[0] + (sb2[-1] - sb2[0]) * np.linspace(0.0, 1.0, LINE_POINTS) ** 2
    line = meanfield.critical_line(config.activation, line_sb2)
    cut_sw2 = np.linspace(sw2[0], sw2[-1], LINE_POINTS)
    cut = meanfield.mean_field(config.activation, cut_sw2, config.cut_sb2)
    critical = float(meanfield.critical_line(config.activation, config.cut_sb2)[0])
    if progress is not None:
        progress(len(sb2) + 1, len(sb2) + 1)
    return PhaseDiagram(config, grid, line_sb2, line, cut, critical)


# --- random networks ----------------------------------------------------------------------------------------
@dataclass
class MeasureConfig:
    """Random networks at each sigma_w^2 of ``sw2`` (one sigma_b^2): width, depth, draws, input pairs per draw."""

    activation: str = "tanh"
    sw2: tuple[float, ...] = (1.0, 1.5, 2.5, 3.0)
    sb2: float = 0.05
    width: int = 1000
    depth: int = 50
    draws: int = 8
    pairs: int = 16
    q0: float = 1.0
    c0: float | None = None  # None: c* -+ 0.2 (engine.deepnets.random_nets.start_correlation)
    seed: int = 0

    def validate(self) -> None:
        _activation(self.activation)
        if not self.sw2:
            raise ParameterError("sw2", "needs one or more values of sigma_w^2")
        validate.numbers("sw2", self.sw2, low=0.0, high=100.0, positive=True)
        validate.number("sb2", self.sb2, 0.0, 100.0)
        validate.integer("width", self.width, 2, 20_000)
        validate.integer("depth", self.depth, 1, 10_000)
        validate.integer("draws", self.draws, 2, 10_000)
        validate.integer("pairs", self.pairs, 1, 10_000)
        validate.number("q0", self.q0, 0.0, 100.0, positive=True)
        if self.c0 is not None:
            validate.number("c0", self.c0, -1.0, 1.0)
        validate.integer("seed", self.seed, 0)
        # one layer's float32 weights per draw at once, and their activations
        validate.memory("width", 4.0 * self.draws * self.width * (self.width + 4 * self.pairs),
                        f"{self.draws} networks of width {self.width}")


@dataclass
class Measurement:
    """One :class:`Propagation` per sigma_w^2 measured so far."""

    config: MeasureConfig
    runs: list[Propagation] = field(default_factory=list)

    def summary(self) -> list[dict]:
        """Per sigma_w^2: q* and c* (theory) against the last layer measured, xi_c fitted against theory: the
        asymptotic xi_c_theory and xi_c_fit_theory, the same fit on the mean-field curve (the like-for-like value)."""
        rows = []
        for run in self.runs:
            q, q_err = run.mean(run.q)
            c, c_err = run.mean(run.c)
            xi, xi_err, layers = run.xi_c()
            rows.append({"sw2": run.sw2, "q_star": run.q_star, "q_last": q[-1], "q_last_error": q_err[-1],
                         "q_last_theory": run.q_theory[-1], "c_star": run.c_star, "c_last": c[-1],
                         "c_last_error": c_err[-1], "c_last_theory": run.c_theory[-1], "xi_c": xi,
                         "xi_c_error": xi_err, "xi_c_theory": run.xi_c_theory,
                         "xi_c_fit_theory": run.xi_c_fit_theory(), "xi_c_layers": layers})
        return rows

    def to_dict(self) -> dict:
        layers = {}
        for run in self.runs:
            (q, q_err), (c, c_err) = run.mean(run.q), run.mean(run.c)
            layers[f"{run.sw2:g}"] = {"q": plain(q), "q_error": plain(q_err), "q_theory": plain(run.q_theory),
                                      "c": plain(c), "c_error": plain(c_err), "c_theory": plain(run.c_theory)}
        return {"part": "measure", "config": asdict(self.config),
                "summary": [{k: plain(v) if isinstance(v, float) else v for k, v in row.items()}
                            for row in self.summary()], "layers": layers}

    def table(self) -> Table:
        """One row per sigma_w^2 and layer: measured q^l and c^l with errors, and the mean-field values."""
        header = ["sw2", "layer", "q", "q_error", "q_theory", "c", "c_error", "c_theory"]
        rows = []
        for run in self.runs:
            (q, q_err), (c, c_err) = run.mean(run.q), run.mean(run.c)
            for layer in range(len(q)):
                rows.append([run.sw2, layer, q[layer], q_err[layer], run.q_theory[layer], c[layer], c_err[layer],
                             run.c_theory[layer]])
        return header, rows

    def arrays(self) -> dict[str, np.ndarray]:
        return {"sw2": np.array([r.sw2 for r in self.runs]), "q": np.array([r.q for r in self.runs]),
                "c": np.array([r.c for r in self.runs]), "q_theory": np.array([r.q_theory for r in self.runs]),
                "c_theory": np.array([r.c_theory for r in self.runs])}


def run_measurement(config: MeasureConfig, progress: Progress | None = None,
                    on_partial: Callable[[Measurement], None] | None = None) -> Measurement:
    """Each sigma_w^2 in turn (seed + k for the k-th), each finished one to ``on_partial``."""
    config.validate()
    result = Measurement(config)
    n = len(config.sw2)
    for k, sw2 in enumerate(config.sw2):
        step = None if progress is None else (lambda done, total, k=k: progress(k * total + done, n * total))
        run = propagate(config.activation, sw2, config.sb2, config.width, config.depth, config.draws, config.pairs,
                        config.q0, config.c0, config.seed + k, step)
        result.runs.append(run)
        if on_partial is not None:
            on_partial(Measurement(config, list(result.runs)))
    return result


# --- trainability -------------------------------------------------------------------------------------------
def validate_trainability(config: TrainabilityConfig) -> None:
    if not config.depths or not config.sw2:
        raise ParameterError("depths", "needs one or more depths and values of sigma_w^2")
    for depth in config.depths:
        validate.integer("depths", depth, 1, 1000)
    validate.numbers("sw2", config.sw2, low=0.0, high=100.0, positive=True)
    validate.number("sb2", config.sb2, 0.0, 100.0)
    validate.integer("width", config.width, 2, 4096)
    validate.integer("steps", config.steps, 1, 10_000_000)
    validate.integer("batch", config.batch, 1, 1347)  # the training split of 1797 digits at test fraction 0.25
    validate.number("lr", config.lr, 0.0, 100.0, positive=True)
    validate.number("test fraction", config.test_fraction, 0.05, 0.5)
    validate.integer("seeds", config.seeds, 1, 1000)
    validate.integer("seed", config.seed, 0)
    # weights, their gradients and the activations saved for the backward pass, float32
    weights = len(config.sw2) * max(config.depths) * config.width**2
    validate.memory("width", 4.0 * (3 * weights + len(config.sw2) * max(config.depths) * config.batch
                                    * config.width), "the batched networks")


def six_xi_line(sb2: float, sw2_range: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """sigma_w^2 and 6 xi_c(sigma_w^2) of tanh at sigma_b^2 over the range (the trainable-depth bound)."""
    sw2 = np.linspace(*sw2_range, LINE_POINTS)
    return sw2, TRAINABLE_XI * meanfield.mean_field("tanh", sw2, sb2).xi_c[0]


def trainability_dict(result: Trainability) -> dict:
    sw2, line = six_xi_line(result.config.sb2, (min(result.config.sw2), max(result.config.sw2)))
    return {"part": "train", "config": asdict(result.config), "depths": list(result.config.depths),
            "sw2": plain(result.config.sw2), "accuracy": plain(result.accuracy), "error": plain(result.error),
            "depths_done": result.rows_done,
            "critical_sw2": plain(meanfield.critical_line("tanh", result.config.sb2)[0]),
            "six_xi_c": {"sw2": plain(sw2), "depth": plain(line)}}


def trainability_table(result: Trainability) -> Table:
    rows = [[depth, sw2, result.accuracy[i, j], result.error[i, j]]
            for i, depth in enumerate(result.config.depths) for j, sw2 in enumerate(result.config.sw2)
            if i < result.rows_done]
    return ["depth", "sw2", "test_accuracy", "error"], rows


def trainability_arrays(result: Trainability) -> dict[str, np.ndarray]:
    sw2, line = six_xi_line(result.config.sb2, (min(result.config.sw2), max(result.config.sw2)))
    return {"depths": np.array(result.config.depths), "sw2": np.array(result.config.sw2),
            "accuracy": result.accuracy, "error": result.error, "six_xi_c_sw2": sw2, "six_xi_c_depth": line}


# --- files --------------------------------------------------------------------------------------------------
def write_deepnets(out: Path, doc: dict, table: Table, arrays: dict[str, np.ndarray], figures: Sequence[Figure],
                   write_figures: Callable[[Sequence[Figure], Path], list[Path]]) -> list[Path]:
    """``deepnets.json``, ``<part>.csv``, ``deepnets.npz``, then the figures through ``write_figures`` (the
    CLI's write their data and images, the GUI's images only); returns every path written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [write_json(out / "deepnets.json", doc, "rgviz-deepnets", indent=1),
             write_table(out / f"{doc['part']}.csv", table),
             write_npz(out / "deepnets.npz", {**npz_stamp("rgviz-deepnets"), **arrays})]
    return paths + list(write_figures(figures, out))
