"""Argument types shared by the subcommands."""

from __future__ import annotations

import argparse
import math

import numpy as np

#: Most values one ``a:b:n`` range may give: every value is one replica of a run.
MAX_RANGE = 10_000


def value_range(token: str) -> list[float]:
    """A finite number, or ``a:b:n`` for n (1..MAX_RANGE) evenly spaced values from a to b inclusive."""
    parts = token.split(":")
    try:
        if len(parts) == 1 and math.isfinite(float(token)):
            return [float(token)]
        if len(parts) == 3:
            a, b, n = float(parts[0]), float(parts[1]), int(parts[2])
            if 1 <= n <= MAX_RANGE and math.isfinite(a) and math.isfinite(b):
                return [float(v) for v in np.linspace(a, b, n)]
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"expected a finite number or a:b:n (n in 1..{MAX_RANGE}), got {token!r}")


def flatten(groups: list[list[float]] | None) -> list[float] | None:
    """``nargs='+'`` of :func:`value_range` gives a list of lists: join them."""
    return None if groups is None else [v for g in groups for v in g]


def layer_widths(token: str) -> tuple[int, ...]:
    """Comma-separated hidden-layer widths, e.g. ``10,10,10``."""
    try:
        return tuple(int(w) for w in token.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated layer widths like 10,10,10, got {token!r}") \
            from None


def add_executor_arguments(parser: argparse.ArgumentParser, task: str) -> None:
    """``--executor local|ray`` and ``--address``: where the run's independent tasks (one per ``task``) run."""
    from ..names import EXECUTORS

    parser.add_argument("--executor", choices=EXECUTORS, default="local",
                        help=f"local: this process; ray: one task per {task} on a Ray cluster (pip install "
                             "'rgviz[cluster]'), results as each task finishes; the numbers are the same")
    parser.add_argument("--address", default=None,
                        help="with --executor ray: the cluster's head, HOST:6379 (default: RAY_ADDRESS, else a "
                             "Ray instance started on this machine)")


def executor(args: argparse.Namespace, device: str = "cpu"):
    """The :class:`engine.cluster.RayExecutor` the options name (one GPU per task on CUDA), or None for local."""
    from ..errors import ParameterError

    if args.address is not None and args.executor != "ray":
        raise ParameterError("address", "applies to --executor ray only")
    if args.executor == "local":
        return None
    from ..cluster import RayExecutor

    return RayExecutor(args.address, num_gpus=1 if str(device).startswith("cuda") else 0)
