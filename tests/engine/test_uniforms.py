"""The uniform random numbers behind the checkerboard sampler's accept / reject tests."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch

from engine.samplers import uniforms
from engine.samplers.uniforms import UniformSource


def draw(seed: int, n: int, dtype=torch.float32) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return UniformSource(torch.device("cpu")).stream(gen)(torch.empty(n, dtype=dtype))


def test_uniform_on_the_scale_and_independent_of_neighbours():
    u = draw(0, 200_000, torch.float64) / 2.0 ** 32
    assert 0.0 <= float(u.min()) and float(u.max()) < 1.0
    assert scipy.stats.kstest(u.numpy(), "uniform").pvalue > 1e-3
    lag = np.corrcoef(u[:-1].numpy(), u[1:].numpy())[0, 1]
    assert abs(lag) < 4.0 / np.sqrt(len(u))


def test_the_torch_generator_is_the_only_state():
    """Same generator state, same numbers; a new stream continues from the advanced generator."""
    gen = torch.Generator().manual_seed(5)
    source = UniformSource(torch.device("cpu"))
    saved = gen.get_state()
    first = source.stream(gen)(torch.empty(64))
    second = source.stream(gen)(torch.empty(64))
    gen.set_state(saved)
    assert torch.equal(UniformSource(torch.device("cpu")).stream(gen)(torch.empty(64)), first)
    assert not torch.equal(first, second)


def test_chunked_fills_continue_one_stream(monkeypatch):
    """Large buffers are filled in chunks (allocator-friendly) that continue the same stream."""
    whole = draw(7, 1000)
    monkeypatch.setattr(uniforms, "_CHUNK_WORDS", 100)
    assert torch.equal(draw(7, 1000), whole)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_streams_are_torch_uniforms():
    gen = torch.Generator(device="cuda").manual_seed(0)
    u = UniformSource(torch.device("cuda")).stream(gen)(torch.empty(10_000, device="cuda"))
    assert u.device.type == "cuda" and 0.0 <= float(u.min()) and float(u.max()) < 1.0
