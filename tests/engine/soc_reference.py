"""The textbook BTW sandpile: one grain, then a stack of unstable sites toppled one at a time, in plain Python.

The oracle of :mod:`engine.soc.sandpile`'s parallel waves (tests/engine/test_soc.py) and the baseline of
benchmarks/bench_soc.py. Heights are a list of L lists; a grain pushed over the edge is lost.
"""

from __future__ import annotations


def drop_grain(h: list[list[int]], site: int, threshold: int = 4) -> tuple[int, int]:
    """Drop a grain on ``site`` (row * L + column) and relax ``h`` in place; returns (size, area)."""
    L = len(h)
    r, c = divmod(site, L)
    h[r][c] += 1
    stack = [(r, c)] if h[r][c] >= threshold else []
    size, toppled = 0, set()
    while stack:
        r, c = stack.pop()
        if h[r][c] < threshold:
            continue
        h[r][c] -= threshold
        size += 1
        toppled.add((r, c))
        if h[r][c] >= threshold:
            stack.append((r, c))
        for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if 0 <= rr < L and 0 <= cc < L:
                h[rr][cc] += 1
                if h[rr][cc] == threshold:
                    stack.append((rr, cc))
    return size, len(toppled)
