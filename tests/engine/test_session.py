"""The Simulation session: physics against enumeration, exact save/restore, control, bad files."""

import json
import math
import re

import numpy as np
import pytest
import torch

from engine import exact
from engine.errors import ParameterError
from engine.models.ising import IsingModel
from engine.samplers import REGISTRY
from engine.session import Simulation, SessionFormatError, read_panels
from engine.sweep import RESULT_TYPES, SweepConfig, SweepRunner

torch.set_num_threads(1)


def test_ising_estimates_match_enumeration_of_4x4():
    temps = [1.8, exact.TC_ISING, 3.0]
    sim = Simulation("ising", L=4, T=temps, seed=11, device="cpu")
    sim.thermalize(200)
    sim.step(3000)
    est = sim.estimates()
    for j, T in enumerate(temps):
        want = exact.enumeration_averages(4, T)
        for name, key in [("energy", "energy"), ("specific_heat", "specific_heat"),
                          ("abs_magnetization", "abs_m"), ("susceptibility", "susceptibility"),
                          ("binder", "binder")]:
            e = est[name]
            assert 0 < e.error[j] < 0.2 * abs(want[key]) + 0.01, (name, T)
            assert abs(e.mean[j] - want[key]) < 4 * e.error[j], (name, T, e.mean[j], want[key])
    assert np.all((est["acceptance"].mean > 0) & (est["acceptance"].mean < 1))
    assert np.all(est["correlation_length"].mean > 0)


def _assert_same_future(a: Simulation, b: Simulation, n: int) -> None:
    a.step(n)
    b.step(n)
    assert torch.equal(a.state, b.state)
    sa, sb = a.series(), b.series()
    assert sa.keys() == sb.keys()
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)


@pytest.mark.parametrize("algorithm", ["metropolis", "wolff"])
def test_restore_continues_bit_identically(tmp_path, algorithm):
    kwargs = dict(L=8, algorithm=algorithm, T=[2.0, 2.6], h=[0.0, 0.1], seed=5, device="cpu")
    sim = Simulation("ising", bond_disorder=0.1, disorder_seed=3, **kwargs)
    sim.step(7)          # Wolff is still calibrating its flip count here: that state must travel too
    never_stopped = Simulation("ising", bond_disorder=0.1, disorder_seed=3, **kwargs)
    never_stopped.step(7)
    meta, arrays = sim.to_state()
    json.dumps(meta)      # JSON-able
    restored = Simulation.from_state(meta, arrays)
    path = sim.save(tmp_path / "run.npz")
    loaded = Simulation.load(path)
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]  # no temporary file left behind
    assert loaded.sweep == 7 and loaded.algorithm == algorithm
    assert loaded.model.params_dict() == sim.model.params_dict()
    _assert_same_future(never_stopped, restored, 5)
    _assert_same_future(sim, loaded, 5)
    np.testing.assert_array_equal(never_stopped.state.numpy(), loaded.state.numpy())


def test_set_params_starts_a_new_segment():
    sim = Simulation("ising", L=8, T=2.0, seed=1, device="cpu", start="cold")
    sim.step(20)
    sim.set_params(T=3.0)
    sim.step(30, measure_every=3)
    series = sim.series()
    assert series["T"].shape == (30, 1)
    np.testing.assert_allclose(series["T"][:20, 0], 2.0)
    np.testing.assert_allclose(series["T"][20:, 0], 3.0)
    np.testing.assert_array_equal(series["sweep"][18:23], [19, 20, 23, 26, 29])
    assert sim.estimates()["energy"].mean[0] == pytest.approx(series["energy"][20:, 0].mean())
    assert sim.estimates(start=0)["energy"].mean[0] == pytest.approx(series["energy"][:, 0].mean())
    with pytest.raises(ParameterError, match="T"):
        sim.set_params(T=-1.0)
    with pytest.raises(ParameterError, match="algorithm"):
        sim.set_algorithm("hmc")
    sim.set_algorithm("swendsen-wang")
    sim.step(2)
    assert "cluster_size" in sim.series() and sim.algorithm == "swendsen-wang"


def test_snapshot_is_plain_data():
    sim = Simulation("ising", L=8, T=[1.5, 3.0], seed=2, device="cpu", start="cold")
    snap = sim.snapshot(1)
    assert np.all(snap["lattice"] == 1.0) and snap["sweep"] == 0 and snap["series"] == {}
    sim.step(50)
    snap = sim.snapshot(1, tail=10)
    assert snap["model"] == "ising" and snap["algorithm"] == "metropolis" and snap["sweep"] == 50
    assert isinstance(snap["lattice"], np.ndarray) and snap["lattice"].shape == (8, 8)
    assert snap["series"]["energy"].shape == (10,) and snap["series"]["sweep"][-1] == 50
    assert snap["params"]["T"] == 3.0 and 0 <= snap["stats"]["acceptance"] <= 1
    assert snap["timing"]["sweeps_per_s"] > 0
    assert snap["timing"]["flips_per_s"] == pytest.approx(snap["timing"]["sweeps_per_s"] * 64 * 2)
    snap["lattice"][:] = 0  # a copy: the simulation is untouched
    assert torch.all(sim.state.abs() == 1)
    sim.reset("cold")
    assert sim.sweep == 0 and sim.series() == {} and torch.all(sim.state == 1)


def test_xy_session_records_vortices_and_helicity():
    sim = Simulation("xy", L=8, T=[0.3, 2.0], seed=4, device="cpu", start="cold")
    sim.step(60)
    est = sim.estimates(discard=0.5)
    assert est["helicity_modulus"].mean[0] > 0.8          # stiff at low T
    assert abs(est["helicity_modulus"].mean[1]) < 0.3      # no stiffness at high T
    assert est["vortex_density"].mean[0] < est["vortex_density"].mean[1]
    assert est["binder"].mean[0] == pytest.approx(0.5, abs=0.02)  # two-component normalisation
    assert set(sim.snapshot(1)["vortices"]) == {"vortex", "antivortex"}


def test_bad_parameters():
    with pytest.raises(ParameterError, match="model"):
        Simulation("potts", L=8)
    with pytest.raises(ParameterError, match="start"):
        Simulation("ising", L=8, start="warm", device="cpu")
    with pytest.raises(ParameterError, match="seed"):
        Simulation("ising", L=8, seed=-1, device="cpu")
    with pytest.raises(ParameterError, match="L"):
        Simulation("ising", L=7, device="cpu")
    with pytest.raises(ParameterError, match="mu"):
        Simulation("ising", L=8, mu=1.0, device="cpu")
    sim = Simulation("ising", L=4, device="cpu")
    with pytest.raises(ParameterError, match="n_sweeps"):
        sim.step(-1)
    with pytest.raises(ParameterError, match="measure_every"):
        sim.step(1, measure_every=0)
    with pytest.raises(ParameterError, match="replica"):
        sim.snapshot(1)


def test_loading_bad_files(tmp_path):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all")
    with pytest.raises(SessionFormatError, match="garbage.npz"):
        Simulation.load(garbage)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.arange(3))
    with pytest.raises(SessionFormatError):
        Simulation.load(foreign)
    sim = Simulation("ising", L=4, device="cpu")
    meta, arrays = sim.to_state()
    newer = tmp_path / "newer.npz"
    np.savez(newer, meta=np.array(json.dumps({**meta, "version": 99})), **arrays)
    with pytest.raises(SessionFormatError, match="newer"):
        Simulation.load(newer)
    broken = dict(arrays)
    del broken["lattice"]
    with pytest.raises(SessionFormatError):
        Simulation.from_state(meta, broken)
    assert issubclass(SessionFormatError, ValueError)
    assert not math.isnan(sim.temperatures[0])


@pytest.mark.slow
def test_cluster_run_at_tc_matches_kaufman():
    """L = 16 at Tc with Swendsen-Wang: E and C within their (autocorrelation-aware) errors."""
    L, T = 16, exact.TC_ISING
    sim = Simulation("ising", L=L, T=T, algorithm="swendsen-wang", seed=21, device="cpu", dtype=torch.float64)
    sim.thermalize(100)
    sim.step(4000)
    est = sim.estimates()
    for name, want in (("energy", exact.kaufman_energy(L, T)), ("specific_heat", exact.kaufman_specific_heat(L, T))):
        e = est[name]
        assert abs(e.mean[0] - want) < 4 * e.error[0], (name, e.mean[0], e.error[0], want)
        assert e.error[0] < 0.1 * abs(want)


# --- explicit sampler state: every sampler round-trips, nothing from a file becomes an attribute ---

def _save_with(tmp_path, sim, name="edited.npz", meta_update=None, arrays_update=None, drop=()):
    meta, arrays = sim.to_state()
    meta = {**meta, **(meta_update or {})}
    arrays = {k: v for k, v in {**arrays, **(arrays_update or {})}.items() if k not in drop}
    path = tmp_path / name
    np.savez(path, meta=np.array(json.dumps(meta)), **arrays)
    return path


@pytest.mark.parametrize("model, algorithm", sorted(REGISTRY))
def test_every_sampler_round_trips_through_a_file(tmp_path, model, algorithm):
    kwargs = dict(L=8, algorithm=algorithm, seed=9, device="cpu")
    sim, never_stopped = Simulation(model, **kwargs), Simulation(model, **kwargs)
    sim.step(3)  # tuning (step widths, Wolff calibration) is still under way: it must travel too
    never_stopped.step(3)
    spec = sim.sampler.state_spec()
    assert set(sim.sampler.state_dict()) == set(spec) and spec
    loaded = Simulation.load(sim.save(tmp_path / "run.npz"))
    assert loaded.snapshot()["stats"] == sim.snapshot()["stats"]
    _assert_same_future(never_stopped, loaded, 6)


def test_a_file_cannot_set_attributes_of_live_classes(tmp_path):
    running = Simulation("ising", L=8, seed=1, device="cpu")
    running.step(2)
    before = running.state.clone()
    measure = IsingModel.measure
    for version in (1, 2):
        path = _save_with(tmp_path, running, meta_update={
            "version": version, "sampler": {**running.to_state()[0]["sampler"], "model.__class__.measure": 0}})
        with pytest.raises(SessionFormatError, match=r"unknown sampler state 'model.__class__.measure'"):
            Simulation.load(path)
    assert IsingModel.measure is measure and torch.equal(running.state, before)
    running.step(2)
    assert Simulation("ising", L=4, device="cpu").estimates() == {}  # new simulations still work
    assert len(running.series()["energy"]) == 4


@pytest.mark.parametrize("model, edit, message", [
    ("ising", lambda a: {"lattice": a["lattice"][:, :4, :4]}, "does not fit L"),
    ("ising", lambda a: {"lattice": np.concatenate([a["lattice"]] * 2)}, r"expected float32 \[1, 8, 8\]"),
    ("ising", lambda a: {"lattice": np.where(np.arange(64).reshape(1, 8, 8) == 5, 7.0, a["lattice"])
                         .astype(np.float32)}, "Ising spins must be \\+1 or -1, found 7"),
    ("xy", lambda a: {"lattice": np.full_like(a["lattice"], np.nan)}, "not finite"),
    ("phi4", lambda a: {"lattice": a["lattice"].astype(np.float64)}, "expected float32"),
    ("ising", lambda a: {"series/energy": a["series/energy"][:, [0, 0]]}, r"series 'energy'"),
    ("ising", lambda a: {"series/energy": a["series/energy"][:2]}, "different lengths"),
    ("xy", lambda a: {"sampler/step.width": np.full(1, np.nan, np.float32)}, r"'step.width' must lie in"),
    ("xy", lambda a: {"sampler/step.width": np.ones(3, np.float32)}, r"'step.width' is float32 \[3\]"),
    ("ising", lambda a: {"sampler/stats.acceptance": np.ones(1)}, r"'stats.acceptance' is float64"),
])
def test_malformed_sessions_are_refused(tmp_path, model, edit, message):
    sim = Simulation(model, L=8, seed=2, device="cpu")
    sim.step(3)
    _, arrays = sim.to_state()
    with pytest.raises(SessionFormatError, match=message):
        Simulation.load(_save_with(tmp_path, sim, arrays_update=edit(arrays)))


def test_wolff_state_out_of_range_is_refused(tmp_path):
    sim = Simulation("ising", L=8, algorithm="wolff", seed=2, device="cpu")
    sim.step(2)
    meta = sim.to_state()[0]
    for bad, message in (({"calibrating": 99}, "'calibrating' must be in"), ({"calibrating": "2"}, "integer"),
                         ({"flips": None}, "calibration is incomplete")):
        path = _save_with(tmp_path, sim, meta_update={"sampler": {**meta["sampler"], **bad}},
                          drop=[f"sampler/{k}" for k in bad])
        with pytest.raises(SessionFormatError, match=message):
            Simulation.load(path)


def test_version_1_sessions_still_load_and_continue(tmp_path):
    """Version 1 stored the sampler's attributes under their Python names, with its options."""
    kwargs = dict(L=8, algorithm="wolff", seed=3, device="cpu")
    sim, never_stopped = Simulation("xy", **kwargs), Simulation("xy", **kwargs)
    sim.step(2)
    never_stopped.step(2)
    meta, arrays = sim.to_state()
    old = {"stats.": "stats{}", "params_seen": "_params_seen", "size_sum": "_size_sum",
           "flip_sum": "_flip_sum", "flips": "_flips"}

    def v1(key):
        return next((key.replace(a, b, 1) for a, b in old.items() if key.startswith(a)), key)

    arrays = {(f"sampler/{v1(k[8:])}" if k.startswith("sampler/") else k): v for k, v in arrays.items()}
    sampler = {"fixed": None, "calibration_sweeps": 5, "max_flips": 64, "max_moves": 8,
               "_calibrating": meta["sampler"]["calibrating"]}
    path = tmp_path / "v1.npz"
    np.savez(path, meta=np.array(json.dumps({**meta, "version": 1, "sampler": sampler})), **arrays)
    _assert_same_future(never_stopped, Simulation.load(path), 5)


# --- the panels' results in a session file ---------------------------------------------------------

SWEEP_TYPES = RESULT_TYPES


@pytest.fixture(scope="module")
def tiny_sweep():
    result = SweepRunner(SweepConfig(sizes=(4, 8), temperatures=(2.1, 2.4), sweeps=30, thermalize=5, chunk=10,
                                     device="cpu", algorithm="wolff")).run()
    result.analyse(n_fine=11)
    return result


def _saved(tmp_path, panels):
    path = tmp_path / "s.npz"
    Simulation("ising", L=4, T=2.3, seed=1, device="cpu").save(path, panels)
    return path


def test_panels_results_round_trip_as_plain_data(tmp_path, tiny_sweep):
    path = _saved(tmp_path, {"phase": {"sweep": tiny_sweep, "note": ("a", 1)}})
    with np.load(path, allow_pickle=False) as npz:  # no pickle anywhere: every array is numeric
        assert all(npz[k].dtype.kind in "biufcU" for k in npz.files)
    back = read_panels(path, ["phase", "rgflow"], SWEEP_TYPES)["phase"]
    assert back["note"] == ("a", 1)
    sweep = back["sweep"]
    assert sweep.config == tiny_sweep.config and list(sweep.sizes) == [4, 8]
    np.testing.assert_array_equal(sweep.sizes[8].series["energy"], tiny_sweep.sizes[8].series["energy"])
    np.testing.assert_array_equal(sweep.analysis.T_fine, tiny_sweep.analysis.T_fine)
    assert sweep.sizes[4].estimates["energy"].mean == pytest.approx(tiny_sweep.sizes[4].estimates["energy"].mean)
    assert Simulation.load(path).sweep == 0  # the simulation itself reads as before
    assert read_panels(_saved(tmp_path, None), ["phase"], SWEEP_TYPES) == {}


def _rewrite(path, edit):
    """The session at ``path`` with its panels' JSON document changed by ``edit(doc, arrays)``."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    doc = json.loads(str(arrays["panels"]))
    edit(doc, arrays)
    arrays["panels"] = np.array(json.dumps(doc))
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("edit, words", [
    (lambda d, a: d.update(version=2), "reads up to version 1"),
    (lambda d, a: d["panels"].update(evil={}), "panels this window does not have: evil"),
    (lambda d, a: d["panels"]["phase"]["sweep"].update({"$type": "Popen"}), "'Popen' is not a result type"),
    (lambda d, a: d["panels"]["phase"]["sweep"]["fields"].update(extra=1), "unknown fields ['extra']"),
    (lambda d, a: d["panels"]["phase"]["sweep"]["fields"].pop("sizes"), "missing fields ['sizes']"),
    (lambda d, a: a.update({"panels/0": np.array(["x"])}), "numbers only"),
    (lambda d, a: a.pop("panels/0"), "does not hold"),
    (lambda d, a: d["panels"]["phase"].update(deep=json.loads("[" * 40 + "]" * 40)), "deeper than 32"),
    (lambda d, a: d["panels"]["phase"]["sweep"]["fields"]["config"]["fields"].update(sizes="x" * 200_000),
     "200000 characters"),
])
def test_a_bad_panels_section_is_refused_in_one_line(tmp_path, tiny_sweep, edit, words):
    path = _rewrite(_saved(tmp_path, {"phase": {"sweep": tiny_sweep}}), edit)
    with pytest.raises(SessionFormatError, match=re.escape(words)) as err:
        read_panels(path, ["phase"], SWEEP_TYPES)
    assert "\n" not in str(err.value) and str(path) in str(err.value)
