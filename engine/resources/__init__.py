"""The flow checkpoints shipped with rgviz, as package data (the repository's ``resources/README.md`` says how
each was made).

Every ``--checkpoint`` and the panels' checkpoint lists take a shipped checkpoint's name
(``phi4_L16_crit``) as well as a path, so they work from any directory and after ``pip install .``.
Light on purpose (no torch): the CLI's argument checks and the panels import it.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

#: The folder holding the shipped ``*.pt`` files (a plain folder once installed, as a wheel unpacks).
FOLDER = Path(str(resources.files(__name__)))


def shipped() -> dict[str, Path]:
    """Shipped checkpoints by name (file name without ``.pt``), sorted."""
    return {p.stem: p for p in sorted(FOLDER.glob("*.pt"))}


def checkpoint_path(name_or_path: str | os.PathLike) -> Path:
    """An existing file as given, else the shipped checkpoint of that name (with or without ``.pt``).

    Anything else comes back unchanged, so the loader reports it as missing under the name the user gave.
    """
    path = Path(name_or_path)
    if path.exists() or path.parent != Path("."):
        return path
    return shipped().get(path.name.removesuffix(".pt"), path)
