"""The Bulk and Neural RG panels: background jobs, picking, exports, latent-space operations.

Checkpoints are tiny flows (L = 4 or 8) written in a temporary folder; flows whose properties
depend on the network (footprints, causal cones) get random weights, because a fresh flow is the
identity map. Every job a test starts is stopped and joined by the panel fixtures.
"""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPointF, QSettings, Qt

from engine.holography.geometry import hyperbolic_distance, slice_nodes, slice_points
from engine.holography.pipeline import run_bulk
from engine.nrg import (
    PRESETS,
    FlowDensity,
    HierarchicalFlow,
    latent,
    load_checkpoint,
    make_target,
    save_checkpoint,
)
from rgviz.ui import bulk as bulk_ui
from rgviz.ui.bulk import FIGURES, BulkPanel
from rgviz.ui.bulk3d import Bulk3DView
from rgviz.ui.neuralrg import NeuralRGPanel
from rgviz.ui.panel import Panel

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def random_flow(L: int, channels: int, seed: int = 0, scale: float = 0.3) -> HierarchicalFlow:
    """A small flow with random weights (a fresh one is the identity, with trivial footprints)."""
    flow = HierarchicalFlow(L, channels, n_couplings=2, hidden=(8,))
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(scale * torch.randn(p.shape, generator=gen))
    return flow


def write_checkpoint(path, preset: str, L: int = 4, seed: int = 0, scale: float = 0.05):
    target = make_target("phi4", L, **PRESETS[preset])
    density = FlowDensity(random_flow(L, 2, seed, scale), "u1")
    return save_checkpoint(path, density, target)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ckpt")
    return {"critical": write_checkpoint(folder / "critical.pt", "critical"),
            "control": write_checkpoint(folder / "disordered.pt", "disordered", seed=1)}


@pytest.fixture(scope="module")
def results(checkpoints):
    """Both analyses, computed once without a job (the job itself is tested separately)."""
    return {role: run_bulk(str(path), 1024, seed) for seed, (role, path) in enumerate(checkpoints.items())}


@pytest.fixture
def bulk_panel(panels):
    return lambda: panels(BulkPanel)


@pytest.fixture
def nrg_panel(panels):
    return lambda: panels(NeuralRGPanel)


# --- Bulk panel ---------------------------------------------------------------------------------

def test_bulk_hmc_analysis_reports_progress_and_its_sampler(bulk_panel, checkpoints, qtbot, monkeypatch):
    monkeypatch.setattr("rgviz.jobs.PROGRESS_INTERVAL", 0.0)  # every report reaches the GUI, however fast the run
    panel = bulk_panel()
    panel.set_checkpoint("critical", checkpoints["critical"])
    panel.set_checkpoint("control", "")
    panel.samples.setValue(256)
    panel.method.setCurrentIndex(panel.method.findData("bulk"))
    seen = []
    panel.start_analysis()
    panel.job.progress.connect(lambda done, total: seen.append((done, total)))
    qtbot.waitUntil(lambda: panel.job.is_done, timeout=120_000)
    assert panel.results["critical"].doc["mcmc"] == "bulk"
    assert any(0 < done < total for done, total in seen), "no progress during HMC"


def test_saddle_estimator_runs_as_a_job_and_keeps_the_weak_flow_warning(bulk_panel, checkpoints, qtbot):
    panel = bulk_panel()
    panel.set_checkpoint("critical", checkpoints["critical"])
    panel.set_checkpoint("control", "")
    panel.samples.setValue(256)
    panel.estimator.setCurrentIndex(panel.estimator.findData("saddle"))
    assert panel.estimator.currentText() == "saddle point"
    panel.start_analysis()
    assert "finding the saddle point" in panel.status.text()
    qtbot.waitUntil(lambda: panel.job.is_done, timeout=60_000)
    doc = panel.results["critical"].doc
    assert doc["estimator"] == "saddle" and doc["saddle"]["hessian"]["dimension"] == 32
    assert "saddle estimator" in panel.status.text()
    assert "too weak for a geometric reading" in panel.verdict.text() and "#b00" in panel.verdict.text()


def test_analysis_job_then_picking_two_nodes_shows_both_distances(bulk_panel, checkpoints, qtbot):
    panel = bulk_panel()
    for role, path in checkpoints.items():
        panel.set_checkpoint(role, path)
    panel.samples.setValue(256)
    panel.start_analysis()
    assert panel.job.is_running() and not panel.start_button.isEnabled()
    qtbot.waitUntil(lambda: panel.job.is_done, timeout=60_000)
    assert set(panel.results) == {"critical", "control"}
    assert panel.start_button.isEnabled() and "connected estimator" in panel.status.text()
    # random flows are far below the quality targets: the warning is shown for both, in red
    assert panel.verdict.text().count("too weak for a geometric reading") == 2 and "#b00" in panel.verdict.text()

    main = panel.results["critical"]
    a, b = 5, 2  # site (1, 1) at level 0 and site (0, 2) at level 1
    sites = []
    panel.site_picked.connect(lambda i, j, L: sites.append((i, j, L)))
    panel.pick_node(a)
    assert "pick a second node" in panel.readout.text()
    panel.pick_node(b)
    an = main.analysis
    s = an.pair(a, b)
    d_hyp = hyperbolic_distance(an.coords[a], an.coords[b], main.L)
    assert s["d_hyperbolic"] == pytest.approx(float(d_hyp))
    with np.errstate(invalid="ignore"):  # q is bias-corrected: it may be <= 0 for an unresolved pair
        expected = an.fit.d0 - 0.5 * an.fit.xi * np.log(an.stats.q[a, b]) if an.fit.decays else np.nan
    if expected >= 0:
        assert s["d_inferred"] == pytest.approx(expected)
    else:  # no decay, q <= 0 or a negative distance: not a result
        assert s["d_inferred"] is None
    text = panel.readout.text()
    inferred = "not defined" if s["d_inferred"] is None else f"{s['d_inferred']:.3f}"
    assert f"inferred distance {inferred}" in text and f"hyperbolic distance {s['d_hyperbolic']:.3f}" in text
    assert f"{s['value']:.4g} +- {s['value_error']:.2g}" in text and "-" not in inferred
    panel.pick_node(0)  # a third pick drops the oldest
    assert panel.picked == [b, 0]
    assert sites == [(1, 1, 4), (0, 2, 4), (0, 0, 4)]


def test_bad_checkpoint_is_reported_and_panel_recovers(bulk_panel, tmp_path, qtbot):
    panel = bulk_panel()
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a checkpoint")
    panel.set_checkpoint("critical", bad)
    panel.set_checkpoint("control", "")
    errors = []
    panel.error.connect(errors.append)
    panel.start_analysis()
    qtbot.waitUntil(lambda: panel.job.is_done, timeout=20_000)
    assert errors and "broken.pt" in errors[0] and "broken.pt" in panel.status.text()
    assert panel.start_button.isEnabled() and panel.results == {}


def test_level_maps_click_picks_the_node_under_the_cursor(bulk_panel, results, qtbot):
    panel = bulk_panel()
    panel._show_results(results)
    panel.tabs.setCurrentIndex(FIGURES.index("level_maps"))
    qtbot.wait(50)
    maps = panel.maps
    assert maps.node_at(0, 0, 1) == 1 and maps.node_at(0, 0, 0) is None  # (0, 0) lives on to the top
    assert maps.node_at(1, 1, 0) == 2 * 4 and maps.node_at(2, 0, 0) == 0
    box, image, level = maps.boxes[1]
    scene_pos = box.mapViewToScene(QPointF(0.5, 1.5))  # level 1, row 1, column 0: site (2, 0)
    view_pos = maps.mapFromScene(scene_pos)
    with qtbot.waitSignal(maps.node_clicked, timeout=2000) as signal:
        qtbot.mouseClick(maps.viewport(), Qt.MouseButton.LeftButton, pos=view_pos)
    assert signal.args == [8]
    assert panel.picked == [8]


def test_poincare_slice_holds_every_node_of_its_row_once(results):
    main = results["critical"]
    L, levels = main.L, main.levels
    for row in range(L):
        groups = slice_nodes(main.analysis.levels, L, row)
        points = slice_points(L, levels, row)
        assert set(groups) <= set(points)
        members = [k for ks in groups.values() for k in ks]
        assert len(members) == len(set(members))
        assert all(k in members for k in range(row * L, row * L + L))  # the row's own sites
        assert all(np.hypot(*p) < 1 for p in points.values())  # latent nodes inside the disc


def assert_figure_file(path):
    data = path.read_bytes()
    if path.suffix == ".png":
        assert data[:8] == PNG_MAGIC
    elif path.suffix == ".svg":
        assert ET.fromstring(data).tag.endswith("svg")
    else:
        assert data.startswith(b"%PDF-") and b"%%EOF" in data[-64:]


def test_every_export_parses(bulk_panel, results, tmp_path):
    panel = bulk_panel()
    panel._show_results(results)
    panel.pick_node(3)
    panel.pick_node(12)
    for name in FIGURES[1:]:  # the 3D view needs OpenGL: tested under Xvfb below
        for suffix in (".png", ".svg", ".pdf"):
            assert_figure_file(panel.export_figure(name, tmp_path / f"{name}{suffix}"))
    if panel.view3d.canvas is None:  # offscreen: a clear error; with OpenGL the gl test below covers it
        with pytest.raises(OSError, match="OpenGL"):
            panel.export_figure("bulk3d", tmp_path / "bulk3d.png")

    (npz,) = panel.write_data(tmp_path / "bulk.npz")
    with np.load(npz) as data:
        main = results["critical"].analysis
        np.testing.assert_array_equal(data["critical_value"], main.stats.value)
        np.testing.assert_array_equal(data["control_d_hyperbolic"], results["control"].analysis.d_hyperbolic)
        np.testing.assert_array_equal(data["critical_class_value"], main.class_value)
        summary = json.loads(str(data["summary"]))
    assert summary["critical"]["fit"] == json.loads(json.dumps(main.fit.to_json()))
    assert summary["critical"]["flow_quality"]["meets_targets"] is False

    table, meta = panel.write_data(tmp_path / "bulk.csv")
    with open(table, newline="") as fh:
        rows = list(csv.DictReader(fh))
    m = len(main.levels)
    assert len(rows) == 2 * m * (m - 1) // 2
    row = next(r for r in rows if r["checkpoint"] == "critical" and r["a"] == "3" and r["b"] == "12")
    assert float(row["value"]) == pytest.approx(main.stats.value[3, 12], rel=1e-7)
    assert float(row["d_hyperbolic"]) == pytest.approx(main.d_hyperbolic[3, 12], rel=1e-7)
    assert row["estimator"] == "connected" and int(row["class"]) >= 0
    assert json.loads(meta.read_text())["control"]["L"] == 4
    with pytest.raises(OSError, match="allowed"):
        panel.write_data(tmp_path / "bulk.xlsx")


def test_3d_view_without_opengl_is_a_label(qtbot, monkeypatch):
    from rgviz.ui import bulk3d

    monkeypatch.setattr(bulk3d, "gl_available", lambda: False)  # as on the offscreen platform
    view = Bulk3DView()
    qtbot.addWidget(view)
    assert view.canvas is None and "OpenGL" in view.placeholder.text()
    view.set_nodes(np.array([[0.5, 0.5, 1.0]]), np.array([0]), 4)
    view.set_layout("ball")
    assert view.pick_at(0, 0) is None and view.render() is None


@pytest.mark.gl
def test_3d_view_renders_and_picks_by_click(bulk_panel, results, qtbot, tmp_path):
    panel = bulk_panel()
    panel._show_results(results)
    view = panel.view3d
    panel.tabs.setCurrentIndex(0)
    qtbot.wait(100)
    image = view.render()
    assert image.ndim == 3 and image.shape[2] == 4
    assert (image[..., :3] < 200).any(), "nodes and the boundary should be drawn on the white background"
    xy = view.projected()
    for k in (1, 8, 0):
        assert view.pick_at(*xy[k]) == k
    with qtbot.waitSignal(view.node_picked, timeout=2000) as signal:
        for name in ("mouse_press", "mouse_release"):
            getattr(view.canvas.events, name)(pos=xy[5], button=1)
    assert signal.args == [5] and panel.picked[-1] == 5
    panel.layout_box.setCurrentIndex(1)  # Poincare ball
    assert view.pick_at(*view.projected()[5]) == 5
    for suffix in (".png", ".svg", ".pdf"):
        assert_figure_file(panel.export_figure("bulk3d", tmp_path / f"bulk3d{suffix}"))
    view.close_canvas()


# --- Neural RG panel ----------------------------------------------------------------------------

def test_training_updates_curves_pauses_saves_resumes_and_stops(nrg_panel, train_tiny, qtbot, tmp_path):
    panel = nrg_panel()
    train_tiny(panel)
    assert panel.training() and not panel.buttons["Train"].isEnabled()
    curve = panel.curves["loss"]
    qtbot.waitUntil(lambda: curve.xData is not None and len(curve.xData) >= 3, timeout=30_000)
    assert np.isfinite(curve.yData).all()

    panel.buttons["Pause"].setChecked(True)
    qtbot.waitUntil(panel.parked.is_set, timeout=10_000)
    steps_paused = len(panel.history["step"])
    qtbot.wait(200)
    assert len(panel.history["step"]) == steps_paused, "a paused job must not train"
    saved = panel.save(tmp_path / "flow.pt")
    ckpt = load_checkpoint(saved, target="phi4", L=4)
    assert len(ckpt.history["step"]) == steps_paused
    job = panel.generate()  # sampling is allowed while parked
    qtbot.waitUntil(lambda: job.is_done, timeout=10_000)
    assert panel.samples.shape == (8, 2, 4, 4)

    panel.buttons["Pause"].setChecked(False)
    qtbot.waitUntil(lambda: len(panel.history["step"]) > steps_paused + 2, timeout=30_000)
    panel.stop_training()
    qtbot.waitUntil(lambda: not panel.training(), timeout=10_000)
    qtbot.wait(50)
    assert "Stopped" in panel.status.text() and panel.buttons["Train"].isEnabled()
    assert len(curve.xData) == len(panel.history["step"])
    for key in ("ess", "acceptance"):
        assert len(panel.curves[key].yData) == len(panel.history[key])


def test_ising_training_shows_the_exact_free_energy(nrg_panel, train_tiny, qtbot):
    panel = nrg_panel()
    train_tiny(panel, preset=2, steps=3)
    qtbot.waitUntil(lambda: panel.job.is_done, timeout=30_000)
    assert "Finished after 3 steps" in panel.status.text()
    assert panel.exact_line.isVisible()
    assert panel.exact_line.value() == pytest.approx(make_target("ising", 4, T=panel.T.value()).exact_free_energy())


def test_the_free_energy_plot_ranges_over_the_recent_curve(nrg_panel, qtbot):
    """A first F_q hundreds of kT above the rest stays in the curve but out of its y range."""
    panel = nrg_panel()
    steps = np.arange(200)
    loss = -100.0 + 5.0 * np.exp(-steps / 50.0)
    loss[0] = 500.0
    panel._show_history({"step": list(steps), "loss": list(loss)})
    panel.tabs.setCurrentIndex(0)
    qtbot.wait(50)
    view = panel.curves["loss"].getViewBox()
    low, high = view.viewRange()[1]
    assert panel.curves["loss"].yData[0] == 500.0 and view.viewRange()[0][0] <= 0  # every step along x
    assert low <= loss.min() and loss[20:].max() <= high < -90.0


def test_loading_a_bad_checkpoint_keeps_the_flow(nrg_panel, tmp_path):
    panel = nrg_panel()
    good = write_checkpoint(tmp_path / "good.pt", "disordered", L=4)
    assert panel.load(good)
    density = panel.density
    assert panel.t.value() == pytest.approx(PRESETS["disordered"]["t"])
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00" * 64)
    errors = []
    panel.error.connect(errors.append)
    assert not panel.load(bad)
    assert errors and "bad.pt" in errors[0] and "bad.pt" in panel.status.text()
    assert panel.density is density


@pytest.fixture
def random_panel(nrg_panel, tmp_path):
    """A panel holding an L = 8 phi^4 flow with random weights."""
    panel = nrg_panel()
    target = make_target("phi4", 8, **PRESETS["critical"])
    path = save_checkpoint(tmp_path / "random.pt", FlowDensity(random_flow(8, 2), "u1"), target)
    assert panel.load(path)
    return panel


def test_latent_response_footprint_grows_with_level(random_panel, qtbot):
    panel = random_panel
    panel.set_latent_site(7, 7, 4)  # picked in a bulk of another size: ignored
    assert panel.explore_job is None
    panel.set_latent_site(7, 7, 8)  # as picked in the bulk view: the response is computed at once
    assert (panel.node_i.value(), panel.node_j.value()) == (7, 7)
    qtbot.waitUntil(lambda: "response" in panel.results, timeout=10_000)
    assert panel.results["response"].shape == (8, 8)
    del panel.results["response"]
    panel.eps.setValue(0.5)
    job = panel.show_latent_response()
    qtbot.waitUntil(lambda: job.is_done and "response" in panel.results, timeout=10_000)
    response = panel.results["response"]
    assert response.shape == (8, 8) and response[7, 7] > 0
    assert "after z_k += 0.5" in panel.response_view.plotItem.titleLabel.text
    assert "level" in panel.response_text.text()
    z = torch.randn(1, 2, 8, 8, generator=torch.Generator().manual_seed(3))
    sizes = latent.footprints_by_level(panel.density.flow, z)
    assert list(sizes) == [0, 1, 2, 3]
    assert all(a <= b for a, b in zip(sizes.values(), list(sizes.values())[1:]))
    assert sizes[0] < sizes[3] == 64 and sizes[0] < 64


def test_error_correction_resamples_only_the_causal_cone(random_panel, qtbot):
    panel = random_panel
    panel.patch_i.setValue(2)
    panel.patch_j.setValue(4)
    panel.patch_size.setValue(2)
    panel.proposals.setValue(32)
    job = panel.show_error_correction()
    qtbot.waitUntil(lambda: job.is_done and "repair" in panel.results, timeout=30_000)
    out = panel.results["repair"]
    for key in ("x", "corrupted", "repaired"):
        assert out[key].shape == (2, 8, 8)
    cone = out["cone"]
    assert cone.shape == (2, 8, 8) and cone.dtype == bool
    assert 8 <= cone.sum() < cone.size, "the cone holds the patch but not every latent"
    assert f"resampled {int(cone.sum())} of 128" in panel.repair_text.text()
    # Outside the cone the corrupted configuration's latents are exactly the clean ones.
    flow = panel.density.flow
    with torch.no_grad():
        z_clean = flow.inverse(torch.as_tensor(out["x"])[None])[0][0].numpy()
        z_bad = flow.inverse(torch.as_tensor(out["corrupted"])[None])[0][0].numpy()
    np.testing.assert_array_equal(z_clean[~cone], z_bad[~cone])
    assert not np.array_equal(z_clean[cone], z_bad[cone])


def test_multiscale_mixing_takes_coarse_from_a_and_fine_from_b(random_panel, qtbot):
    flow = random_panel.density.flow
    gen = torch.Generator().manual_seed(5)
    za, zb = torch.randn(2, 1, 2, 8, 8, generator=gen)
    with torch.no_grad():
        xa, xb = flow(za)[0], flow(zb)[0]
    torch.testing.assert_close(latent.mix_latents(flow, za, zb, 0), xa)
    torch.testing.assert_close(latent.mix_latents(flow, za, zb, flow.levels + 1), xb)
    mixed = latent.mix_latents(flow, za, zb, 2)
    assert not torch.allclose(mixed, xa) and not torch.allclose(mixed, xb)
    random_panel.mix_level.setValue(1)
    job = random_panel.show_mixing()
    qtbot.waitUntil(lambda: job.is_done and "mixed" in random_panel.results, timeout=10_000)
    assert random_panel.results["mixed"].shape == (2, 8, 8)


def test_bulk_and_physical_chains_run_as_a_job(nrg_panel, qtbot, tmp_path):
    panel = nrg_panel()
    assert panel.load(write_checkpoint(tmp_path / "c.pt", "critical", L=4))
    panel.mcmc_steps.setValue(20)
    panel.mcmc_chains.setValue(2)
    panel.leapfrog.setValue(4)
    panel.start_mcmc()
    qtbot.waitUntil(lambda: panel.mcmc_job.is_done, timeout=60_000)
    result = panel.results["mcmc"]
    for method in ("bulk", "physical"):
        assert result[method]["trace"].shape == (20, 2)
        assert result[method]["rho"][0] == pytest.approx(1.0)
        assert 0.0 <= result[method]["acceptance"] <= 1.0
    # 20 trajectories per chain are too few accepted moves to trust anything: the engine's warning, no tau_int
    for method in ("bulk", "physical"):
        assert result[method]["converged"] is False and len(result[method]["accepted"]) == 2
        assert f"{method}: chains not converged" in panel.mcmc_text.text()
    assert "tau_int" not in panel.mcmc_text.text()
    # converged chains (here: the same record marked so) show their tau_int and cost per independent sample
    panel._show_mcmc({**result, "physical": {**result["physical"], "converged": True, "warning": None}})
    assert "bulk: chains not converged" in panel.mcmc_text.text()
    assert "physical: tau_int = " in panel.mcmc_text.text() and "per independent sample" in panel.mcmc_text.text()


def test_registry_tabifies_bulk_and_neural_rg_and_links_a_picked_site(qtbot, tmp_path):
    from rgviz.mainwindow import MainWindow
    from rgviz.ui.registry import specs

    settings = QSettings(str(tmp_path / "rgviz.ini"), QSettings.Format.IniFormat)
    window = MainWindow({"model": "ising", "L": 16, "device": "cpu"}, settings=settings, play=False,
                        panels=specs(["bulk", "neuralrg"]))
    qtbot.addWidget(window)
    panels = window.panels
    try:
        assert window.docks["neuralrg"] in window.tabifiedDockWidgets(window.docks["bulk"])
        assert isinstance(panels["bulk"], Panel) and isinstance(panels["neuralrg"], Panel)
        panels["bulk"].pick_node(3)  # nothing analysed yet: ignored
        assert panels["bulk"].picked == [] and not panels["bulk"].has_data()
        panels["bulk"].site_picked.emit(1, 2, 8)
        assert (panels["neuralrg"].node_i.value(), panels["neuralrg"].node_j.value()) == (1, 2)
    finally:
        window.close()
        assert not window.engine.is_running()


def test_bulk_modules_import_no_torch_and_no_loop():
    """The Bulk panel only draws: no torch, no engine.cli; and Neural RG does not import it back."""
    import ast
    from pathlib import Path

    ui = Path(bulk_ui.__file__).parent
    for name in ("bulk.py", "bulk3d.py", "neuralrg.py"):
        tree = ast.parse((ui / name).read_text())
        imported = {n.name for node in ast.walk(tree) if isinstance(node, ast.Import) for n in node.names}
        imported |= {("." * node.level) + (node.module or "") for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom)}
        if name != "neuralrg.py":
            assert "torch" not in imported and not any(m.startswith("engine.cli") for m in imported)
        else:
            assert ".bulk" not in imported


def test_loaded_checkpoint_sets_architecture_and_target_fields(nrg_panel, tmp_path):
    """couplings and width show the loaded flow's architecture, not the defaults (4 and 16)."""
    panel = nrg_panel()
    target = make_target("phi4", 8, **PRESETS["disordered"])
    flow = HierarchicalFlow(8, 2, n_couplings=3, hidden=(24, 24))
    assert panel.load(save_checkpoint(tmp_path / "arch.pt", FlowDensity(flow, "u1"), target))
    assert (panel.couplings.value(), panel.width.value()) == (3, 24)
    assert (panel.L.currentText(), panel.target_box.currentText()) == ("8", "phi4")
    assert panel.mu.value() == pytest.approx(PRESETS["disordered"]["mu"])
    assert "3 couplings" in panel.status.text() and "[24, 24]" in panel.status.text()
    assert panel.checkpoint == str(tmp_path / "arch.pt")


def test_bulk_results_go_through_a_session_file(bulk_panel, results, tmp_path):
    from engine.session import Simulation, read_panels

    panel = bulk_panel()
    panel._show_results(results)
    path = Simulation("ising", L=4, T=2.3, device="cpu").save(tmp_path / "s.npz", {"bulk": panel.session_state()})
    other = bulk_panel()
    other.session_restorer(read_panels(path, ["bulk"], BulkPanel.session_types)["bulk"])()
    assert set(other.results) == {"critical", "control"} and other.verdict.text() == panel.verdict.text()
    for role, run in results.items():
        np.testing.assert_array_equal(other.results[role].analysis.coords, run.analysis.coords)
        assert other.results[role].doc == run.doc
    assert other.checkpoint_paths() == {role: run.path for role, run in results.items()}
    with pytest.raises(ValueError, match="a critical one"):
        other.session_restorer({"results": {"control": results["control"]}})


def test_training_curves_carry_their_running_mean(nrg_panel):
    """Per-step ESS and acceptance scatter into a solid band; a bold running mean shows the trend (steps whose
    value is not finite are left out of it)."""
    from rgviz.ui.neuralrg import TREND_WINDOW

    panel = nrg_panel()
    rng = np.random.default_rng(0)
    acceptance = 0.3 + 0.1 * rng.standard_normal(400)
    acceptance[7] = np.nan
    panel._show_history({"step": list(range(400)), "acceptance": list(acceptance)})
    trend = panel.trends["acceptance"]
    assert len(trend.yData) == 399 and 7 not in trend.xData
    assert trend.yData[-1] == pytest.approx(acceptance[-TREND_WINDOW:].mean())
    assert np.std(trend.yData[TREND_WINDOW:]) < 0.3 * np.nanstd(acceptance)


def test_bulk_panel_starts_on_the_shipped_L8_pair(qtbot):
    """The first analysis a user runs is on the critical flow that meets the quality targets (L = 8)."""
    from rgviz.ui.bulk import BulkPanel

    panel = BulkPanel()
    qtbot.addWidget(panel)
    assert panel.paths["critical"].currentText() == "phi4_L8_crit.pt"
    assert panel.paths["control"].currentText() == "phi4_L8_disordered.pt"
