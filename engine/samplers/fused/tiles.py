"""What the fused half-sweep kernels share: the tile of sites a program updates, its neighbours'
addresses in the other colour, and the counter-based random words of its sites.

A program updates a ``[BY, BQ, 4]`` tile of one colour array ``[B L, L/2]`` (:mod:`.colours`, the
replicas stacked along the rows): rows r, site groups q of four neighbouring columns j = 4 q + k.
Random words: Philox4x32-10 (``tl.philox``) under a 64-bit key, counter (r G + q, half-sweep,
stream, 0) with G = ceil(L/2 / 4) groups per row; word k of the call goes to column 4 q + k. So
one call serves four sites, and the stream depends on the lattice, key and half-sweep, not on the
tile shape. ``stream`` numbers the independent words a site needs in one half-sweep (0, 1, ...).
"""

from __future__ import annotations

import triton
import triton.language as tl

#: (rows, site groups of four columns) per program on a GPU; a sampler's ``tile`` overrides it
GPU_TILE = (8, 32)
#: sites per program in the interpreter, whose cost is per program: one program per call where
#: the batch allows
INTERPRETER_SITES = 1 << 16


def interpreter_tile(rows: int, groups: int) -> tuple[int, int]:
    """The fewest programs for ``rows`` x ``groups`` within :data:`INTERPRETER_SITES` sites each."""
    bq = triton.next_power_of_2(groups)
    return min(triton.next_power_of_2(rows), max(1, INTERPRETER_SITES // (4 * bq))), bq


@triton.jit
def checkerboard_tile(colour, rows, L, W, BY: tl.constexpr, BQ: tl.constexpr):
    """This program's tile: (row [BY], r, q, k, inside, here, up, down, side).

    ``here`` is the offset of each site in its colour array, and also of its neighbour beside it
    (same row and packed column) in the other colour's array; ``up``, ``down`` and ``side`` are
    the offsets of the other three neighbours there, wrapped around the torus.
    """
    row = tl.program_id(0) * BY + tl.arange(0, BY)
    r = row[:, None, None]
    q = tl.program_id(1) * BQ + tl.arange(0, BQ)[None, :, None]
    k = tl.arange(0, 4)[None, None, :]
    j = 4 * q + k
    inside = (r < rows) & (j < W)
    y = r % L
    first = r - y  # the row of this replica's y = 0
    p = (y + colour) % 2  # the site is at x = 2 j + p
    here = r * W + j
    up = (first + (y + L - 1) % L) * W + j
    down = (first + (y + 1) % L) * W + j
    j_side = j + 2 * p - 1  # wrapped by a select: an integer modulo per site costs more on a GPU
    j_side = tl.where(j_side < 0, j_side + W, tl.where(j_side >= W, j_side - W, j_side))
    return row, r, q, k, inside, here, up, down, r * W + j_side


@triton.jit
def site_words(key, r, q, k, groups, counter, stream):
    """The 32-bit random word (uint32) of every site of the tile for this half-sweep and stream."""
    w0, w1, w2, w3 = tl.philox(tl.load(key), (r * groups + q).to(tl.uint32), counter, stream, 0)
    return tl.where(k == 0, w0, tl.where(k == 1, w1, tl.where(k == 2, w2, w3)))
