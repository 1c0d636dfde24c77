"""Memory estimates on a CUDA device are held against the GPU's free memory (``torch.cuda.mem_get_info``),
not the machine's; tested with a stand-in for ``mem_get_info`` (no GPU is needed)."""

from __future__ import annotations

import pytest
import torch

from engine import validate
from engine.errors import ParameterError

FREE, TOTAL = 3_000_000, 80_000_000_000  # 3 MB free on a large GPU; the machine has far more


@pytest.fixture
def small_gpu(monkeypatch):
    asked = []

    def mem_get_info(device=None):
        asked.append(device)
        return FREE, TOTAL

    monkeypatch.setattr(torch.cuda, "mem_get_info", mem_get_info)
    return asked


@pytest.mark.parametrize("device", ["cuda", "cuda:1", torch.device("cuda", 0)])
def test_a_cuda_run_is_held_against_the_gpus_free_memory(small_gpu, device):
    with pytest.raises(ParameterError, match=r"^L: .* needs at least 4\.8 MB of GPU memory; 3 MB is available$"):
        validate.memory("L", 4_800_000, "the lattices", device)
    assert small_gpu and all(d.type == "cuda" for d in small_gpu)


def test_the_cpu_is_held_against_the_machines_memory(small_gpu):
    validate.memory("L", 4_800_000, "the lattices", "cpu")  # MemAvailable is far above 4.8 MB
    validate.memory("L", 4_800_000, "the lattices")
    assert small_gpu == []


def test_lattices_go_to_the_gpu_and_series_to_the_machine(small_gpu):
    """On a GPU the lattices must fit its free memory; the recorded series live in the machine's."""
    with pytest.raises(ParameterError, match="^L: .*GPU memory"):
        validate.lattice_run(4, 512, 10, device="cuda")  # 4 x 512^2 x 12 bytes = 12.6 MB
    validate.lattice_run(4, 64, 100_000, device="cuda")  # 38 MB of series: on the host, which has room
    validate.lattice_run(4, 512, 10, device="cpu")


def test_flow_training_on_a_gpu(small_gpu):
    with pytest.raises(ParameterError, match="^batch: .*GPU memory"):
        validate.flow_training(16, 2, 4, 10, (10, 10, 10), 256, 0, 4, device="cuda")
    validate.flow_training(16, 2, 4, 10, (10, 10, 10), 256, 0, 4, device="cpu")
