"""``rgviz-batch`` answers help and argument errors without importing torch, Qt or ray (they take seconds to load)."""

import json
import subprocess
import sys

import pytest

import engine.cli.training
import engine.deepnets.meanfield
import engine.deepnets.trainability
import engine.device
import engine.holography.sampling
import engine.nrg.density
import engine.nrg.flow
import engine.nrg.images
import engine.nrg.mcmc
import engine.nrg.targets
import engine.rg.mcrg
import engine.rg.operators
import engine.session
import engine.soc.sandpile
from engine import names

PROBE = """
import json, sys
from rgviz.batch import main
try:
    status = main({argv!r})
except SystemExit as exit:
    status = exit.code
print(json.dumps([status, sorted(m for m in ("torch", "PySide6", "ray") if m in sys.modules)]), file=sys.stderr)
"""


def _run(argv: list[str]) -> tuple[int, list[str], str]:
    proc = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True, check=False,
                          timeout=120)
    *lines, last = proc.stderr.strip().splitlines()
    status, loaded = json.loads(last)
    return status, loaded, proc.stdout + "\n".join(lines)


@pytest.mark.parametrize("argv, status, shown", [
    (["--help"], 0, "simulate"),
    (["simulate", "--help"], 0, "--model {ising,xy,phi4}"),
    (["sweep", "--help"], 0, "--model {ising,xy}"),
    (["sweep", "--help"], 0, "--executor {local,ray}"),
    (["sweep", "--executor", "dask"], 2, "invalid choice"),
    (["dynamics", "--help"], 0, "swendsen-wang"),
    (["dynamics", "--algorithms", "glauber"], 2, "invalid choice"),
    (["sample", "--help"], 0, "--mcmc {independent,bulk,physical}"),
    (["bulk", "--help"], 0, "--mcmc {auto,independent,bulk}"),
    (["deepnets", "--help"], 0, "{phase,measure,train}"),
    (["deepnets", "phase", "--help"], 0, "--activation {tanh,relu}"),
    (["deepnets", "train", "--help"], 0, "--depths"),
    (["deepnets", "measure", "--activation", "sigmoid"], 2, "invalid choice"),
    (["soc", "--help"], 0, "--model {btw,manna}"),
    (["soc", "--L", "8,x"], 2, "expected integers"),
    (["images", "train", "--help"], 0, "--prior {normal,laplace}"),
    (["images", "cone", "--sizes", "x"], 2, "invalid int value"),
    (["rgflow", "--help"], 0, "--rule {majority,decimation}"),
    (["rgflow", "--model", "potts"], 2, "invalid choice"),
    (["train", "--help"], 0, "--symmetry {none,z2,u1}"),
    (["train", "--hidden", "8,x"], 2, "comma-separated layer widths"),
    (["sample", "--checkpoint"], 2, "expected one argument"),
    (["simulate", "--L", "x"], 2, "invalid int value"),
    (["simulate", "--model", "potts"], 2, "invalid choice"),
    (["nosuch"], 2, "invalid choice"),
    ([], 2, "required"),
])
def test_help_and_argument_errors_import_neither_torch_nor_qt_nor_ray(argv, status, shown):
    got, loaded, text = _run(argv)
    assert (got, loaded) == (status, [])
    assert shown in text


def test_a_run_still_imports_torch():
    """The probe can see torch: a real (tiny) run loads it."""
    got, loaded, text = _run(["simulate", "--L", "4", "--sweeps", "2", "--thermalize", "0", "--json", "--no-progress"])
    assert got == 0 and loaded == ["torch"], text


def test_the_light_names_agree_with_the_engine():
    assert names.MODEL_NAMES == tuple(engine.session.MODELS)
    assert engine.device.DEVICE_CHOICES is names.DEVICE_CHOICES
    assert engine.nrg.mcmc.METHODS is names.SAMPLE_METHODS
    assert engine.holography.sampling.METHODS is names.BULK_METHODS
    assert tuple(engine.deepnets.meanfield.ACTIVATIONS) == names.DEEPNET_ACTIVATIONS
    assert engine.deepnets.trainability.TrainabilityConfig.depths is names.TRAIN_DEPTHS
    assert engine.soc.sandpile.MODELS == names.SOC_MODELS
    assert engine.nrg.density.PRIORS is names.FLOW_PRIORS and engine.nrg.images.PATCH_SIZES is names.IMAGE_PATCH_SIZES
    assert engine.nrg.targets.TARGETS is names.NRG_TARGETS and tuple(engine.nrg.targets.PRESETS) == names.NRG_PRESETS
    assert engine.nrg.density.SYMMETRIES is names.FLOW_SYMMETRIES
    assert engine.nrg.flow.BIJECTORS is names.BIJECTORS
    assert tuple(engine.cli.training.DTYPES) == names.DTYPE_NAMES
    assert tuple(engine.rg.operators.OPERATORS) == names.RG_OPERATORS
    assert engine.rg.operators.DEFAULT_COUPLINGS is names.RG_COUPLINGS
    assert (engine.rg.mcrg.MCRG_EVEN, engine.rg.mcrg.MCRG_ODD) == (names.MCRG_EVEN, names.MCRG_ODD)


def test_simulate_echoes_parameters_as_given(capsys):
    from engine.cli import main

    assert main(["simulate", "--model", "ising", "--L", "4", "--T", "2.269", "2.5", "--J", "0.7", "--sweeps", "4",
                 "--thermalize", "0", "--seed", "1", "--json", "--no-progress"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert [r["T"] for r in results] == [2.269, 2.5]
    assert [r["params"]["T"] for r in results] == [2.269, 2.5] and results[0]["params"]["J"] == 0.7
