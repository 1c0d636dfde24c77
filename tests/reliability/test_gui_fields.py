"""The GUI's fields against bad input, table-driven: each case types a bad value into a panel's field and
presses its button. The panel must answer with the engine's words (the same line ``rgviz-batch`` prints,
naming the parameter) through its ``error`` signal, start no work that cannot succeed, keep what it had
(the Neural RG flow), and print no traceback. Counted in the campaign's table with the CLI and the loaders.
"""

from __future__ import annotations

import pytest
from campaign import record
from files import bad_checkpoints

from rgviz.jobs import Job
from rgviz.ui.bulk import BulkPanel, shipped_checkpoints
from rgviz.ui.dynamics import DynamicsPanel
from rgviz.ui.neuralrg import NeuralRGPanel
from rgviz.ui.phase import PhasePanel
from rgviz.ui.rgflow import RGFlowPanel

PANELS = {"phase": PhasePanel, "dynamics": DynamicsPanel, "rgflow": RGFlowPanel, "bulk": BulkPanel,
          "neuralrg": NeuralRGPanel}


def phase(sizes="8 16", t=None, n=None, sweeps=None):
    def act(panel):
        panel.sizes.setText(sizes)
        if t is not None:
            panel.t_from.setValue(t[0])
            panel.t_to.setValue(t[1])
        if n is not None:
            panel.t_n.setValue(n)
        if sweeps is not None:
            panel.sweeps.setValue(sweeps)
        panel.start()
    return act


def dynamics(sizes="8 16", t=None, algorithms=None):
    def act(panel):
        panel.sizes.setText(sizes)
        if t is not None:
            panel.t_from.setValue(t[0])
            panel.t_to.setValue(t[1])
        for name, box in panel.algorithms.items():
            box.setChecked(algorithms is None or name in algorithms)
        panel.start()
    return act


def rgflow(tab, temperatures=None, L=None, samples=None, levels=None):
    def act(panel):
        flow = getattr(panel, tab)
        if temperatures is not None:
            flow.temperatures.setText(temperatures)
        for box, value in ((flow.L, L), (flow.samples, samples), (flow.levels, levels)):
            if value is not None:
                box.setValue(value)
        flow.start()
    return act


def bulk(checkpoint):
    def act(panel, files):
        panel.set_checkpoint("critical", files.get(checkpoint, checkpoint))
        panel.start_analysis()
    return act


def training(L="64", width=256, batch=65536):
    def act(panel):
        panel.L.setCurrentText(L)
        panel.width.setValue(width)
        panel.batch.setValue(batch)
        panel.start_training()
    return act


def neural_load(name):
    def act(panel, files):
        panel.load(files[name])
    return act


def mcmc_beyond_memory(panel):
    panel.mcmc_steps.setValue(1_000_000)
    panel.mcmc_chains.setValue(1024)
    panel.mcmc_button.click()



def load_shipped(panel):
    assert panel.load(str(next(p for p in shipped_checkpoints() if p.stem == "phi4_L8_crit")))


mcmc_beyond_memory.setup = load_shipped  # a flow to run chains on, loaded before the bad input

CASES = [
    ("phase", "sizes not numbers", phase("8 x"), "L: sizes must be integers"),
    ("phase", "no size", phase(""), "L: needs one or more sizes"),
    ("phase", "size 3", phase("3 8"), "L: must be an integer >= 4"),
    ("phase", "same size twice", phase("8 8"), "L: sizes must be distinct"),
    ("phase", "size beyond memory", phase("200000"), "L: 13 replica(s) of 200000 x 200000"),
    ("phase", "T range reversed", phase(t=(2.6, 2.0)), "T: the range must go from a lower"),
    ("phase", "series beyond memory", phase("8 16 32", n=200, sweeps=10_000_000), "sweeps: 200 replica(s)"),
    ("dynamics", "size beyond memory", dynamics("200000"), "L: "),
    ("dynamics", "sizes not numbers", dynamics("eight"), "L: sizes must be integers"),
    ("dynamics", "no algorithm", dynamics(algorithms=()), "algorithms: choose at least one"),
    ("dynamics", "T range reversed", dynamics(t=(2.5, 2.1)), "T: the range must go from a lower"),
    ("rgflow", "Ising T not numbers", rgflow("ising", "2.2 x"), "T: temperatures must be numbers"),
    ("rgflow", "Ising T nan", rgflow("ising", "2.2 nan"), "T: must be a finite number > 0"),
    ("rgflow", "Ising T inf", rgflow("ising", "inf"), "T: must be a finite number > 0"),
    ("rgflow", "Ising T negative", rgflow("ising", "-1 2.2"), "T: must be a finite number > 0"),
    ("rgflow", "Ising no T", rgflow("ising", " "), "T: needs one or more temperatures"),
    ("rgflow", "Ising samples beyond memory", rgflow("ising", L=1024, samples=1_000_000), "samples: 1000000 samples"),
    ("rgflow", "Ising L not divisible", rgflow("ising", L=36, levels=3), "levels:"),
    ("rgflow", "XY T nan", rgflow("xy", "nan"), "T: must be a finite number > 0"),
    ("rgflow", "XY samples beyond memory", rgflow("xy", L=1024, samples=1_000_000), "samples: 1000000 samples"),
    ("bulk", "no checkpoint", bulk(""), "checkpoint: choose a critical checkpoint"),
    ("bulk", "missing file", bulk("/nonexistent/flow.pt"), "/nonexistent/flow.pt"),
    *[("bulk", f"{name} checkpoint", bulk(name), "") for name in ("malicious-pickle", "truncated", "huge-L",
                                                                    "foreign-text", "newer-version")],
    ("neuralrg", "flow and batch beyond memory", training(), "batch: a flow with hidden widths 256,256 on L=64"),
    ("neuralrg", "sample without a flow", lambda panel: panel.generate(), "flow: train or load a flow first"),
    ("neuralrg", "MCMC without a flow", lambda panel: panel.mcmc_button.click(), "flow: train or load a flow first"),
    ("neuralrg", "MCMC records beyond memory", mcmc_beyond_memory, "steps: 1000000 HMC steps of 1024 chains"),
    *[("neuralrg", f"load {name}", neural_load(name), "") for name in ("malicious-torch", "wrong-shape", "huge-hidden",
                                                                        "empty")],
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gui-files")
    marker = folder / "EXECUTED"
    return {k: str(v) for k, v in bad_checkpoints(folder, marker).items()}, marker


@pytest.fixture
def make_panel(qtbot):
    made = []

    def make(key):
        panel = PANELS[key](device="cpu")
        qtbot.addWidget(panel)
        panel.show()
        made.append(panel)
        return panel

    yield make
    for panel in made:
        assert panel.shutdown(10_000)


@pytest.mark.parametrize("key,case,act,fragment", CASES, ids=[f"{k}:{c}" for k, c, _, _ in CASES])
def test_a_bad_field_is_one_line_with_the_engines_words(key, case, act, fragment, files, make_panel, qtbot, capfd):
    paths, marker = files
    panel = make_panel(key)
    messages = []
    getattr(act, "setup", lambda panel: None)(panel)
    panel.error.connect(messages.append)
    before = panel.lab.density if key == "neuralrg" else None
    act(panel, paths) if act.__code__.co_argcount == 2 else act(panel)
    qtbot.waitUntil(lambda: bool(messages), timeout=60_000)  # a file is read in a job: its answer comes later
    qtbot.waitUntil(lambda: not any(job.is_running() for job in panel.findChildren(Job)), timeout=10_000)
    qtbot.wait(50)  # a second message, if any, would arrive now
    err = capfd.readouterr().err
    lost = key == "neuralrg" and panel.lab.density is not before
    clean = len(messages) == 1 and "\n" not in messages[0] and fragment in messages[0]
    record(clean=clean, traceback="Traceback" in err, lost=lost, executed=marker.exists())
    assert clean, messages
    assert "Traceback" not in err and not lost and not marker.exists()
