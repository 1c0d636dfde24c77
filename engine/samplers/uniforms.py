"""Bulk uniform random numbers for accept/reject tests, cheaper than ``torch.rand`` on the CPU.

Why: torch's CPU generator (mt19937, one scalar call per number) costs about 4.5 ns per float
on this class of machine, more than all the arithmetic of a Metropolis update together. numpy's
SFC64 bit generator delivers 64 random bits in about 3.5 ns, i.e. two 32-bit uniforms for the
price of one. The torch generator stays the only random state: each stream (one per sweep)
restarts SFC64 from three words drawn from it, so a seed still fixes every result and saving /
restoring the torch generator's state still resumes a run exactly. On other devices the numbers
come from ``torch.rand`` on that device.

The CPU numbers are the raw bits read as unsigned 32-bit integers and converted to the working
float type: uniform on [0, 2^32) instead of [0, 1). Callers compare them with thresholds
``scale * p``, which costs nothing extra because the scale folds into constants they compute
anyway. Rounding to float32 keeps 24 significant bits, as fine as ``torch.rand``; the largest
values round up to 2^32 itself, so "u < scale * p" is false for p = 1 with probability below
2^-24, the same for both directions of a move (no bias in the stationary distribution).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

#: raw 64-bit words per numpy call: 16 MB arrays stay below glibc's largest mmap threshold, so
#: the allocator reuses them instead of faulting in fresh pages on every fill
_CHUNK_WORDS = 1 << 21


class UniformSource:
    """Uniform random numbers on [0, scale) for one device, drawn through per-sweep streams."""

    def __init__(self, device: torch.device):
        self.device = torch.device(device)
        self.bits = self.device.type == "cpu"
        self.scale = 2.0 ** 32 if self.bits else 1.0
        #: ln(scale): Metropolis thresholds exp(-dS) * scale are exp(-dS + log_scale)
        self.log_scale = math.log(self.scale)
        self._bits = np.random.SFC64(0) if self.bits else None
        self._words = torch.zeros(4, dtype=torch.int64)
        self._words[3] = 1  # the counter
        self._seed_words = self._words[:3]
        self._state = {"bit_generator": "SFC64", "has_uint32": 0, "uinteger": 0,
                       "state": {"state": self._words.numpy().view(np.uint64)}}

    def _reseed(self, gen: torch.Generator) -> np.random.SFC64:
        """Our SFC64 generator, restarted from three 63-bit words drawn from ``gen``.

        This is numpy's own SFC64 seeding (state a, b, c from three words, counter 1, twelve
        discarded outputs) minus the SeedSequence hash, which cost 25 us per sweep and is not
        needed because the words already come from a good generator. The state dictionary and
        the word buffer are built once: rebuilding them cost 10 us per sweep.
        """
        self._seed_words.random_(generator=gen)  # also writes self._state's words a, b, c (shared memory)
        self._bits.state = self._state
        self._bits.random_raw(12)
        return self._bits

    def stream(self, gen: torch.Generator) -> Callable[..., torch.Tensor]:
        """``fill(out)``: overwrite a contiguous tensor with the next uniforms of a new stream.

        The stream is keyed by draws from ``gen`` now; filling buffers one at a time, just
        before they are used, keeps them in cache. The conversion is a plain copy (a multiply,
        for a scale or a sign, costs three times as much with a freshly generated source).
        """
        if not self.bits:
            return lambda out: out.uniform_()
        bits = self._reseed(gen)

        def fill(out: torch.Tensor) -> torch.Tensor:
            flat = out.view(-1)
            n = flat.numel()
            for start in range(0, n, 2 * _CHUNK_WORDS):
                count = min(2 * _CHUNK_WORDS, n - start)
                words = bits.random_raw((count + 1) // 2).view(np.uint32)[:count]
                flat[start:start + count].copy_(torch.from_numpy(words))
            return out
        return fill
