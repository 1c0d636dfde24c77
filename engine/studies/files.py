"""Tables as CSV: the one writer the studies' tables go through (trajectories, tau_int, ...)."""

from __future__ import annotations

import csv
from pathlib import Path

#: A table: its header and its rows.
Table = tuple[list[str], list[list]]


def write_table(path: Path, table: Table) -> Path:
    """Write ``table`` (header, rows) as CSV to ``path``."""
    header, rows = table
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return Path(path)

