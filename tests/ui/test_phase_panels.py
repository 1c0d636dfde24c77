"""Phase-transition explorer panels: sweep, finite-size scaling, correlations, dynamics.

Tiny lattices and few sweeps keep the file fast; every job started is stopped and joined.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from typing import ClassVar

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QImage

from engine.measure.fss import power_law
from engine.measure.stats import tau_int
from engine.session import Simulation
from engine.studies.dynamics import equal_parameter_tail
from engine.sweep import SweepConfig, SweepRunner
from rgviz import export
from rgviz.ui.correlation import CorrelationPanel
from rgviz.ui.dynamics import DynamicsPanel
from rgviz.ui.fss import FssPanel
from rgviz.ui.phase import PhasePanel, parse_sizes


@pytest.fixture(scope="module")
def sweep_result():
    """A finished, analysed Ising sweep (L = 4, 8) shared by the tests that only display one."""
    cfg = SweepConfig("ising", (4, 8), (2.0, 2.15, 2.3, 2.45, 2.6), "metropolis", sweeps=300, thermalize=30,
                      seed=3, device="cpu", chunk=100)
    result = SweepRunner(cfg).run()
    result.analyse()
    return result


def legend_labels(plot) -> list[str]:
    return [label.text for _, label in plot.legend.items]


def assert_figure_files(widget, folder, stem):
    png = export.export_figure(widget, folder / f"{stem}.png")
    image = QImage(str(png))
    assert not image.isNull() and image.width() > 100
    assert ET.parse(export.export_figure(widget, folder / f"{stem}.svg")).getroot().tag.endswith("svg")
    data = export.export_figure(widget, folder / f"{stem}.pdf").read_bytes()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-64:]


# --- Phase panel ------------------------------------------------------------------------------

def test_sweep_runs_through_the_job_and_fills_plots_and_table(panels, qtbot, tmp_path):
    panel = panels(PhasePanel, device="cpu")
    panel.sizes.setText("4 8")
    panel.t_from.setValue(2.0)
    panel.t_to.setValue(2.6)
    panel.t_n.setValue(5)
    panel.sweeps.setValue(100)
    panel.thermalize.setValue(20)
    partials, analysed = [], []
    panel.result_ready.connect(lambda r: analysed.append(r.sweeps_done))
    panel.start()
    assert not panel.start_button.isEnabled()
    panel.job.partial.connect(lambda r: partials.append((r.sweeps_done, r.analysis is not None)))
    qtbot.waitUntil(lambda: panel.job.is_done, timeout=60_000)
    assert panel.start_button.isEnabled() and panel.progress.value() == panel.progress.maximum()
    assert panel.progress.text() == "measuring: 100 of 100 sweeps per T (100%)"  # the bar's own numbers

    result = panel.result
    assert result.sweeps_done == 100 and result.analysis is not None
    # Partial results arrived while running (the first after one round of 100 // 20 sweeps); the
    # FSS panel got the analysed ones (>= 20 samples), the final one included.
    assert partials[0][0] == 5 and [n for n, _ in partials] == sorted(n for n, _ in partials)
    assert analysed[-1] == 100 and all(n >= 20 for n in analysed)
    # The error bars drawn are the final estimates' errors.
    bars = [item for item in panel._plots["energy"].items if isinstance(item, pg.ErrorBarItem)]
    drawn = np.sort(np.concatenate([bar.opts["top"] for bar in bars]))
    expected = np.sort(np.concatenate([s.estimates["energy"].error for s in result.sizes.values()]))
    np.testing.assert_allclose(drawn, expected)
    assert set(panel._plots) == {"energy", "specific_heat", "magnetization", "susceptibility", "binder",
                                 "xi_over_L", "tau_int"}
    assert all(plot.listDataItems() for plot in panel._plots.values())
    assert "Kaufman L=8" in legend_labels(panel._plots["energy"])
    assert "Onsager (L = inf)" in legend_labels(panel._plots["magnetization"])
    labels = [panel.table.item(i, 0).text() for i in range(panel.table.rowCount())]
    assert "Tc (Binder crossing, largest pair)" in labels
    gnu_row = next(i for i, label in enumerate(labels) if label.startswith("gamma/nu (chi peak)"))
    if "not found" in labels[gnu_row]:  # a peak at the edge of this short grid: a note, no number
        assert "edge" in labels[gnu_row] and panel.table.item(gnu_row, 1).text() == ""
    tc_row = labels.index("Tc (Binder crossing, largest pair)")
    assert 1.5 < float(panel.table.item(tc_row, 1).text()) < 3.0
    assert float(panel.table.item(tc_row, 3).text()) == pytest.approx(2.2692, abs=1e-4)
    assert_figure_files(panel.figure_widget(), tmp_path, "phase")


def test_stop_cancels_the_sweep_and_keeps_what_was_measured(panels, qtbot):
    panel = panels(PhasePanel, device="cpu")
    panel.sizes.setText("4")
    panel.t_n.setValue(3)
    panel.sweeps.setValue(1_000_000)
    panel.thermalize.setValue(0)
    panel.tempering.setChecked(True)
    panel.start()
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=20_000)
    panel.stop()
    qtbot.waitUntil(lambda: panel.job.is_done, timeout=20_000)
    assert not panel.job.is_running() and panel.start_button.isEnabled()
    assert panel.result is not None and 0 < panel.result.sweeps_done < 1_000_000
    assert "stopped" in panel.status.text() and "exchange acceptance" in panel.status.text()


class _InProcessCluster:
    """Stands in for the Ray executor: runs each task here, in order, and reports it as a cluster would."""

    addresses: ClassVar[list[str]] = []

    def __init__(self, address):
        self.addresses.append(address)

    def cancel(self):
        pass

    def map(self, fn, tasks, on_done):
        results = []
        for i, task in enumerate(tasks):
            results.append(fn(task))
            on_done(i, results[-1])
        return results


def test_a_cluster_address_runs_a_task_per_size_and_shows_each_as_it_arrives(panels, qtbot, monkeypatch):
    monkeypatch.setattr("rgviz.ui.phase.RayExecutor", _InProcessCluster)
    panel = panels(PhasePanel, device="cpu")
    panel.sizes.setText("4 8")
    panel.t_n.setValue(3)
    panel.sweeps.setValue(60)
    panel.thermalize.setValue(10)
    panel.cluster.setText(" head:6379 ")
    shown = []
    panel.start()
    assert "on the Ray cluster at head:6379" in panel.status.text()
    panel.job.partial.connect(lambda r: shown.append((sorted(r.sizes), panel.status.text())))
    qtbot.waitUntil(lambda: panel.job.is_done, timeout=60_000)
    assert _InProcessCluster.addresses == ["head:6379"]
    assert (panel.progress.value(), panel.progress.maximum()) == (2, 2)  # progress counts sizes done
    assert shown[0][0] == [4] and "Sizes done: 4; still running: 8" in shown[0][1]
    local = SweepRunner(panel.config()).run()
    assert sorted(panel.result.sizes) == [4, 8] and panel.result.analysis is not None
    for L in (4, 8):
        assert np.array_equal(panel.result.sizes[L].series["energy"], local.sizes[L].series["energy"])
    assert "still running" not in panel.status.text()


def test_bad_input_names_the_parameter(panels, qtbot):
    panel = panels(PhasePanel, device="cpu")
    errors = []
    panel.error.connect(errors.append)
    panel.sizes.setText("8 x")
    panel.start()
    assert panel.job is None and errors and errors[0].startswith("L:")
    panel.sizes.setText("8 8")
    panel.start()
    assert panel.job is None and "distinct" in errors[-1]
    assert parse_sizes("8, 16 32") == (8, 16, 32)


def test_xy_sweep_shows_helicity_against_2t_over_pi_and_t_kt(panels):
    panel = panels(PhasePanel, device="cpu")
    panel.model.setCurrentText("xy")
    assert (panel.t_from.value(), panel.t_to.value()) == (0.7, 1.2)
    assert panel.algorithm.currentText() == "metropolis"
    cfg = SweepConfig("xy", (4, 8), (0.7, 0.9, 1.1), "metropolis", sweeps=60, thermalize=10, seed=1, device="cpu")
    result = SweepRunner(cfg).run()
    result.analyse()
    panel.show_result(result)
    assert {"helicity", "vortex_density"} <= set(panel._plots)
    assert "2T/π" in legend_labels(panel._plots["helicity"])  # drawn with the Greek letter
    rows = {panel.table.item(i, 0).text(): panel.table.item(i, 3).text() for i in range(panel.table.rowCount())}
    assert rows["T_KT(L=8) (Upsilon = 2T/pi)"] == "0.8929"
    assert rows["Tc (Binder crossing, largest pair)"] == ""  # no exact Tc to compare with for XY


def test_export_writes_what_the_cli_writes(panels, sweep_result, tmp_path):
    panel = panels(PhasePanel, device="cpu")
    panel.show_result(sweep_result)
    written = panel.export_data(tmp_path)
    assert all(p.exists() for p in written)
    estimates = json.loads((tmp_path / "estimates.json").read_text())
    assert math.isfinite(estimates["binder_crossing_Tc"]["mean"]) and "collapse_susceptibility" in estimates
    header = (tmp_path / "results.csv").read_text().splitlines()[0].split(",")
    assert header[:2] == ["L", "T"] and "susceptibility_error" in header
    with np.load(tmp_path / "results.npz") as npz:
        assert npz["L8_series_energy"].shape == (300, 5)
    assert {p.suffix for p in written if p.stem == "binder"} == {".png", ".svg", ".pdf"}


def test_export_dialog_writes_or_shows_why_not(panels, sweep_result, tmp_path, monkeypatch, qtbot):
    import rgviz.jobs

    panel = panels(PhasePanel, device="cpu")
    monkeypatch.setattr(rgviz.jobs.QFileDialog, "getExistingDirectory", lambda *args: str(tmp_path))
    with qtbot.waitSignal(panel.error, timeout=2_000) as signal:
        panel.export_dialog("Export")
    assert "nothing to export yet" in signal.args[0] and "nothing to export yet" in panel.status.text()
    panel.show_result(sweep_result)
    panel.export_dialog("Export")
    assert panel.status.text().startswith("exported ") and (tmp_path / "results.csv").exists()


# --- FSS panel --------------------------------------------------------------------------------

def test_fss_sliders_change_the_quality_and_auto_fit_finds_a_collapse(panels, sweep_result, qtbot, tmp_path):
    panel = panels(FssPanel)
    panel.set_result(sweep_result)
    assert panel.tc.value() == pytest.approx(2.2692, abs=1e-4)
    s_binder = panel.quality
    panel.observable.setCurrentIndex(1)  # chi L^(-gamma/nu)
    assert panel.parameters() == pytest.approx((2.2692, 1.0, 1.75), abs=1e-4)
    s_chi = panel.quality
    assert math.isfinite(s_binder) and math.isfinite(s_chi) and s_chi != s_binder
    panel.nu.slider.setValue(panel.nu.slider.value() + 200)  # drag the slider: spin box and S follow
    assert panel.nu.value() > 1.3 and panel.quality != s_chi
    panel.ratio.set_value(1.0)
    assert panel.parameters()[2] == 1.0
    before = panel.quality

    panel.auto_fit()
    assert not panel.fit_button.isEnabled()
    qtbot.waitUntil(lambda: panel.job is None, timeout=30_000)
    fit = panel.fit
    assert fit is not None and all(math.isfinite(v) for v in (fit.tc, fit.nu, fit.exponent, *fit.errors))
    assert all(e > 0 for e in fit.errors) and fit.quality <= before
    assert 2.0 <= fit.tc <= 2.6 and "+-" in panel.fit_label.text()
    panel.observable.setCurrentIndex(2)  # |m| L^(beta/nu): y is multiplied by L^(+beta/nu)
    assert panel.parameters()[2] == pytest.approx(-0.125)
    assert panel.plot.listDataItems()
    assert_figure_files(panel.figure_widget(), tmp_path, "fss")


# --- Correlation panel ------------------------------------------------------------------------

def analysed(qtbot, panel, snapshot):
    """Hand ``snapshot`` to a live panel and wait until its analysis job has been drawn."""
    panel.show_frame(snapshot)
    qtbot.waitUntil(lambda: not (panel.live if isinstance(panel, DynamicsPanel) else panel.analysis).busy(),
                    timeout=10_000)


def test_correlation_panel_draws_and_fits_from_snapshots(panels, qtbot, tmp_path):
    panel = panels(CorrelationPanel)
    panel.analysis.min_interval = 0.0  # every frame counts here
    sim = Simulation("ising", 16, "metropolis", seed=2, device="cpu", T=3.0)
    sim.thermalize(50)
    for _ in range(6):
        sim.step(3)
        analysed(qtbot, panel, sim.snapshot())
    for _ in range(3):  # while the first of these is analysed the others wait; only the newest is kept
        sim.step(3)
        panel.show_frame(sim.snapshot())
    assert panel.analysis.job is not None and panel.frames <= 7
    qtbot.waitUntil(lambda: not panel.analysis.busy(), timeout=10_000)
    assert panel.frames == 8
    assert panel.lin_log.listDataItems() and panel.log_log.listDataItems()
    xi = panel.exponential
    assert xi is not None and 0.3 < xi.value < 5 and xi.error > 0
    assert "xi =" in panel.readout.text()
    assert_figure_files(panel.figure_widget(), tmp_path, "correlation")

    sim.set_params(T=2.5)  # new parameters: the average starts afresh
    analysed(qtbot, panel, sim.snapshot())
    assert panel.frames == 1
    panel.connected.setChecked(True)  # another quantity: so does switching to the connected G(r)
    assert panel.frames == 0

    ordered = {"model": "ising", "lattice": np.ones((16, 16), np.int8), "params": {"T": 0.5}}
    analysed(qtbot, panel, ordered)  # G(r) = 1: nothing decays, nothing to fit
    assert panel.exponential is None and panel.power_law is None and "no fit" in panel.readout.text()


# --- Dynamics panel ---------------------------------------------------------------------------

def test_live_autocorrelation_uses_the_samples_since_the_last_change(panels, qtbot, tmp_path):
    panel = panels(DynamicsPanel, device="cpu")
    sim = Simulation("ising", 8, "metropolis", seed=4, device="cpu", T=1.5)
    sim.step(30)
    sim.set_params(T=2.269)
    sim.step(300)
    snap = sim.snapshot()
    assert equal_parameter_tail(snap["series"], snap["params"]) == 30
    analysed(qtbot, panel, snap)
    assert set(panel.live_tau) == {"|m|", "E"}
    assert all(t >= 0.5 and e > 0 for t, e in panel.live_tau.values())
    assert "300 samples" in panel.live_label.text()
    assert panel.rho_plot.listDataItems()


def test_tau_scan_shows_critical_slowing_down(panels, qtbot, tmp_path):
    """Metropolis against Swendsen-Wang (the cheaper cluster algorithm on these CPUs; Wolff is the default)."""
    panel = panels(DynamicsPanel, device="cpu")
    panel.sizes.setText("8 16")
    panel.t_from.setValue(2.2)
    panel.t_to.setValue(2.4)
    panel.t_n.setValue(2)
    panel.algorithms["wolff"].setChecked(False)
    panel.algorithms["swendsen-wang"].setChecked(True)
    panel.sweeps.setValue(1000)
    panel.thermalize.setValue(100)
    panel.start()
    qtbot.waitUntil(lambda: panel.job.is_done, timeout=90_000)
    scan = panel.scan
    assert sorted(scan.tau) == [("metropolis", 8), ("metropolis", 16), ("swendsen-wang", 8), ("swendsen-wang", 16)]
    assert len(scan.T) == 3 and np.any(np.isclose(scan.T, 2.269185, atol=1e-5))
    z = scan.dynamic_exponents("|m|")
    assert set(z) == {"metropolis", "swendsen-wang"}
    assert all(math.isfinite(f.exponent) and f.exponent_error > 0 for f in z.values())
    # The scan is tau_int of the very chain a Simulation with the same seed produces, read at Tc.
    sim = Simulation("ising", 8, "metropolis", seed=0, device="cpu", T=tuple(scan.T))
    sim.thermalize(100)
    sim.step(1000)
    tau, err, _ = tau_int(sim.series()["abs_m"])
    np.testing.assert_array_equal(scan.tau[("metropolis", 8)]["|m|"][0], tau)
    sizes, tau_local, err_local = scan.at_tc("|m|")["metropolis"]
    i_tc = int(np.argmin(np.abs(scan.T - 2.269185)))
    assert sizes == [8, 16] and tau_local[0] == tau[i_tc] and err_local[0] == err[i_tc]
    fit = power_law(sizes, tau_local, err_local)
    assert z["metropolis"].exponent == pytest.approx(fit.exponent)
    # Critical slowing down: local moves decorrelate |m| much more slowly than cluster moves.
    # (Madras-Sokal errors of tau_int from 1000 sweeps are wide, so only the estimates are compared.)
    _, tau_cluster, _ = scan.at_tc("|m|")["swendsen-wang"]
    assert tau_local[-1] > 2 * tau_cluster[-1]
    assert z["metropolis"].exponent > z["swendsen-wang"].exponent
    assert "z(|m|)" in panel.scan_label.text()
    assert panel.tau_plot.listDataItems() and panel.z_plot.listDataItems()
    assert_figure_files(panel.figure_widget(), tmp_path, "dynamics")


def test_tau_scan_can_be_stopped(panels, qtbot):
    panel = panels(DynamicsPanel, device="cpu")
    panel.sizes.setText("4")
    panel.sweeps.setValue(1_000_000)
    panel.start()
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=20_000)
    job = panel.job
    panel.stop()
    qtbot.waitUntil(lambda: job.is_done, timeout=20_000)
    assert not job.is_running() and panel.start_button.isEnabled()


def test_tau_scan_refuses_bad_input_in_its_status_line_and_error_signal(panels, qtbot):
    panel = panels(DynamicsPanel, device="cpu")
    panel.sizes.setText("eight")
    with qtbot.waitSignal(panel.error, timeout=2_000) as signal:
        panel.start()
    assert signal.args[0].startswith("L: sizes must be integers")
    assert "sizes must be integers" in panel.scan_label.text() and panel.job is None


# --- the main window --------------------------------------------------------------------------

def test_registry_adds_tabbed_docks_wired_together(qtbot, tmp_path, sweep_result):
    from rgviz.mainwindow import MainWindow
    from rgviz.ui.registry import specs

    settings = QSettings(str(tmp_path / "rgviz.ini"), QSettings.Format.IniFormat)
    window = MainWindow({"model": "ising", "L": 8, "T": 2.269, "seed": 0, "device": "cpu"}, settings=settings,
                        play=False, panels=specs(["phase", "fss", "correlation", "dynamics"]))
    qtbot.addWidget(window)
    try:
        added = window.panels
        assert set(added) == {"controls", "lattice", "timeseries", "phase", "fss", "correlation", "dynamics"}
        tabbed = window.tabifiedDockWidgets(window.docks["phase"])
        assert {window.docks[k] for k in ("fss", "correlation", "dynamics")} <= set(tabbed)
        added["phase"].show_result(sweep_result)
        assert added["fss"].result is sweep_result  # the Phase panel feeds the FSS panel
        dynamics = added["dynamics"]
        dynamics.sizes.setText("4")
        dynamics.sweeps.setValue(1_000_000)
        dynamics.start()
        job = dynamics.job
        qtbot.waitUntil(job.is_running, timeout=5000)
    finally:
        window.close()
    assert not job.is_running() and not window.engine.is_running()
