"""Argument types shared by the subcommands."""

from __future__ import annotations

import argparse

import numpy as np


def value_range(token: str) -> list[float]:
    """A number, or ``a:b:n`` for n evenly spaced values from a to b inclusive."""
    parts = token.split(":")
    try:
        if len(parts) == 1:
            return [float(token)]
        if len(parts) == 3:
            a, b, n = float(parts[0]), float(parts[1]), int(parts[2])
            if n >= 1:
                return [float(v) for v in np.linspace(a, b, n)]
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"expected a number or a:b:n (n >= 1), got {token!r}")


def flatten(groups: list[list[float]] | None) -> list[float] | None:
    """``nargs='+'`` of :func:`value_range` gives a list of lists: join them."""
    return None if groups is None else [v for g in groups for v in g]
