"""The two colours of the checkerboard as separate arrays, the layout the fused kernels work on.

Colour c holds the sites with (x + y) % 2 == c: ``split[c, b, y, j] = s[b, y, 2 j + (y + c) % 2]``,
an ``[2, B, L, L/2]`` array. Every neighbour of a site of one colour is in the other colour's
array: the sites above and below at the same (y -+ 1, j), the two beside it at (y, j) and
(y, j - 1 + 2 p) with p = (y + c) % 2, all wrapped around the torus. So a half-sweep reads and
writes whole rows of one array and reads whole rows of the other, with no masked-out sites.
"""

from __future__ import annotations

import torch


def _pairs(x: torch.Tensor) -> torch.Tensor:
    """``[B, L, L]`` -> the ``[B, L/2, 2, L/2, 2]`` view (b, i, py, j, px) with y = 2 i + py, x = 2 j + px."""
    B, L, _ = x.shape
    return x.view(B, L // 2, 2, L // 2, 2)


def split_colours(state: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """Write ``state`` ``[B, L, L]`` into ``out`` ``[2, B, L, L/2]`` (any dtype, converted) and return it."""
    B, L, _ = state.shape
    pairs, rows = _pairs(state), out.view(2, B, L // 2, 2, L // 2)  # rows: (c, b, i, py, j)
    for c in (0, 1):
        for py in (0, 1):
            rows[c, :, :, py].copy_(pairs[:, :, py, :, (py + c) % 2])
    return out


def join_colours(split: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`split_colours`: ``split`` ``[2, B, L, L/2]`` into ``out`` ``[B, L, L]``."""
    _, B, L, _ = split.shape
    pairs, rows = _pairs(out), split.view(2, B, L // 2, 2, L // 2)
    for c in (0, 1):
        for py in (0, 1):
            pairs[:, :, py, :, (py + c) % 2].copy_(rows[c, :, :, py])
    return out
