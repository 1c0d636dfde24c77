"""Kosterlitz RG flow: RK4 against the exact invariant, the separatrix, measured XY trajectories."""

import json
import math

import numpy as np
import pytest
import torch

from engine.cli import main
from engine.device import make_generator
from engine.errors import ParameterError
from engine.models.xy import XYModel
from engine.rg.kosterlitz import (X_STAR, kt_figures, kt_flow, kt_flow_lines, kt_invariant, kt_separatrix,
                                  xy_trajectory)
from engine.rg.sampling import SamplingPlan, collect_blocked
from engine.samplers import REGISTRY
from engine.samplers.xy import SAMPLERS as XY_SAMPLERS

torch.set_num_threads(1)


def test_rk4_conserves_the_kosterlitz_invariant():
    for x0, y0 in [(1.0, 0.05), (1.4, 0.02), (1.7, 0.01)]:
        line = kt_flow(x0, y0, l_max=5.0, dl=0.005)
        H = kt_invariant(line[:, 1], line[:, 2])
        assert np.max(np.abs(H - H[0])) < 1e-8


def test_separatrix_flows_into_the_fixed_point_and_divides_the_phases():
    x0 = 1.2
    y0 = float(kt_separatrix(x0))
    assert y0 > 0 and math.isnan(float(kt_separatrix(X_STAR + 0.1)))
    on = kt_flow(x0, y0, l_max=40.0, dl=0.002)
    # The approach is algebraic along the linearised separatrix X_STAR - x = pi^2 y.
    assert np.all(np.diff(on[:, 2]) < 0) and np.all(on[:, 1] < X_STAR) and on[-1, 2] < 0.05 * y0
    assert X_STAR - on[-1, 1] == pytest.approx(math.pi ** 2 * on[-1, 2], rel=0.05)
    below, above = kt_flow_lines([(x0, 0.9 * y0), (x0, 1.1 * y0)], l_max=40.0, dl=0.002)
    assert below[-1, 2] < 1e-3 and below[-1, 1] < X_STAR  # ends on the line of fixed points
    assert above[-1, 2] > 0.5  # vortices proliferate
    with pytest.raises(ParameterError, match="x0"):
        kt_flow(-1.0, 0.1)


def test_measured_xy_trajectories_flow_the_right_way():
    # Below T_KT blocking removes vortices and stiffens (y shrinks, 1/K drops); above it y grows.
    temps = [0.6, 1.3]
    model = XYModel(16, T=temps)
    sampler = XY_SAMPLERS[("xy", "overrelax")](model)
    levels = collect_blocked(model, sampler, make_generator(4), SamplingPlan(80, 150, 1), levels=2,
                             rule="xy-average", dtype=model.dtype)
    cold = xy_trajectory([x[0] for x in levels], 0.6)
    hot = xy_trajectory([x[1] for x in levels], 1.3)
    assert cold.y[-1] <= cold.y[0] and np.all(cold.x < X_STAR)
    assert cold.x[-1] < cold.x[0] - 3 * math.hypot(cold.x_err[-1], cold.x_err[0])  # K grows: ordered side
    assert hot.y[-1] > hot.y[0] + 3 * math.hypot(hot.y_err[-1], hot.y_err[0])
    assert np.all(hot.x > 2 * X_STAR)  # stiffness far below the KT value 2 / pi (or gone)


@pytest.mark.skipif(("xy", "overrelax") not in REGISTRY, reason="XY samplers not registered in engine.samplers yet")
def test_rgflow_cli_xy_writes_kt_trajectories(tmp_path, capsys):
    rc = main(["rgflow", "--model", "xy", "--L", "16", "--T", "0.6", "1.3", "--levels", "2", "--samples", "40",
               "--thermalize", "50", "--out", str(tmp_path), "--no-progress"])
    assert rc == 0
    doc = json.loads((tmp_path / "rgflow.json").read_text())
    assert [t["T"] for t in doc["trajectories"]] == [0.6, 1.3]
    assert (tmp_path / "kt_flow.figure.json").exists() and (tmp_path / "trajectories.csv").exists()
    assert len(kt_figures()[0].series) == 8  # 7 theory lines and the separatrix
