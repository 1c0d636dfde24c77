"""The shipped flows are what resources/README.md says they are: each loads by name, is for its stated target,
and its variational free energy, evaluated afresh, is the one its file records (the final evaluation of its
training run, or for a flow still in training the mean of its last 50 training batches)."""

import math
import statistics

import pytest
import torch

from engine.nrg import PRESETS, load_checkpoint
from engine.nrg.train import evaluate
from engine.resources import shipped

torch.set_num_threads(1)

TARGETS = {"phi4_L8_crit": ("phi4", 8, PRESETS["critical"]), "phi4_L16_crit": ("phi4", 16, PRESETS["critical"]),
           "phi4_L16_disordered": ("phi4", 16, PRESETS["disordered"]),
           "phi4_L8_disordered": ("phi4", 8, PRESETS["disordered"]),
           "ising_L16_Tc": ("ising", 16, {"T": 2.269185314213022})}


#: Flows learnt from data: what resources/README.md states (patch size, prior) for each.
DATA_FLOWS = {"images_L16": (16, "laplace")}


def test_every_shipped_flow_is_described():
    assert set(shipped()) == set(TARGETS) | set(DATA_FLOWS)


@pytest.mark.parametrize("name", sorted(DATA_FLOWS))
def test_shipped_image_flow_reproduces_its_recorded_bits_per_dim_and_beats_the_gaussian(name):
    from engine.nrg.imagelab import evaluation

    ckpt = load_checkpoint(name, target="images")
    assert (ckpt.target.L, ckpt.density.prior) == DATA_FLOWS[name]
    now = evaluation(ckpt.density, ckpt.target, ckpt.info["seed"])  # the training run's dequantisation noise
    assert now["bits_per_dim"]["mean"] == pytest.approx(ckpt.info["bits_per_dim"]["mean"], abs=1e-4)
    assert now["gaussian_bits_per_dim"] == pytest.approx(ckpt.info["gaussian_bits_per_dim"])
    flow, gauss = now["bits_per_dim"], now["gaussian_bits_per_dim"]
    assert flow["mean"] < gauss["mean"] - 3 * math.hypot(flow["error"], gauss["error"])


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_shipped_flow_loads_by_name_and_reproduces_its_recorded_free_energy(name):
    ckpt = load_checkpoint(name)
    target, L, params = TARGETS[name]
    assert (ckpt.target.name, ckpt.target.L) == (target, L)
    assert {k: ckpt.target.params()[k] for k in params} == pytest.approx(params)
    now = evaluate(ckpt.density, ckpt.target, 512, torch.Generator().manual_seed(1))["free_energy"]
    recorded = ckpt.info.get("free_energy")
    if recorded is None:  # in training: the end of its learning curve
        last = ckpt.history["loss"][-50:]
        recorded = {"mean": statistics.mean(last), "error": statistics.stdev(last) / math.sqrt(len(last))}
    assert abs(now["mean"] - recorded["mean"]) < 5 * math.hypot(now["error"], recorded["error"])
