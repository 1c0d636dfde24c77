"""Tables as CSV: the one writer the studies' tables go through (trajectories, tau_int, ...)."""

from __future__ import annotations

from pathlib import Path

from ..io import write_csv

#: A table: its header and its rows.
Table = tuple[list[str], list[list]]


def write_table(path: Path, table: Table) -> Path:
    """Write ``table`` (header, rows) as CSV to ``path``, atomically."""
    header, rows = table
    return write_csv(path, header, rows)
