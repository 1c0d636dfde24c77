"""The layers stay apart: the engine never imports a GUI toolkit; the panels never import torch or the CLI.

The engine is a library, checked two ways: statically (every import statement in every file,
including imports inside functions) and dynamically (importing every engine module in a fresh
interpreter leaves no GUI module in sys.modules). Panels only draw: every file under rgviz/ui is
checked statically for torch and ``engine.cli`` (the engine itself imports torch, so only the
import statements can tell).
"""

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import engine

FORBIDDEN = {"PySide6", "shiboken6", "pyqtgraph", "vispy", "PyQt5", "PyQt6", "qtpy"}
ENGINE_DIR = Path(engine.__file__).parent
UI_DIR = ENGINE_DIR.parent / "rgviz" / "ui"
#: What a panel may not import: tensors stay in the engine, and the CLI is a face, not a library.
UI_FORBIDDEN = {"torch", "engine.cli"}
#: Panels not yet moved onto engine studies; drop an entry when its file passes.
UI_NOT_YET: set[str] = set()


def imported_modules(path: Path) -> set[str]:
    """Every absolute module an import statement in ``path`` names (``from a import b`` gives a and a.b)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
            names.add(str(node.args[0].value))
    return names


def imported_roots(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)}


def forbidden_in(path: Path, forbidden: set[str]) -> list[str]:
    """The names ``path`` imports that are in ``forbidden`` or inside it (torch covers torch.nn)."""
    return sorted(name for name in imported_modules(path) if any(name == f or name.startswith(f + ".")
                                                                  for f in forbidden))


def test_no_engine_file_imports_a_gui_toolkit():
    files = sorted(ENGINE_DIR.rglob("*.py"))
    assert len(files) > 5
    offenders = {str(f.relative_to(ENGINE_DIR)): sorted(imported_roots(f) & FORBIDDEN) for f in files}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_static_check_catches_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from PySide6 import QtCore\n    import importlib\n"
                   "    importlib.import_module('vispy.scene')\n")
    assert imported_roots(bad) & FORBIDDEN == {"PySide6", "vispy"}


def test_importing_every_engine_module_loads_no_gui_module():
    names = [m.name for m in pkgutil.walk_packages([str(ENGINE_DIR)], prefix="engine.")
             if not m.name.endswith("__main__")]
    code = (
        "import importlib, json, sys\n"
        f"for n in {names!r}: importlib.import_module(n)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(FORBIDDEN)!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ENGINE_DIR.parent)
    assert json.loads(out.stdout) == []


def test_no_panel_imports_torch_or_the_cli():
    files = sorted(f for f in UI_DIR.rglob("*.py") if f.name not in UI_NOT_YET)
    assert len(files) > 5
    offenders = {str(f.relative_to(UI_DIR)): forbidden_in(f, UI_FORBIDDEN) for f in files}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_ui_check_catches_torch_and_the_cli(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import torch.nn\nfrom engine import cli\nfrom engine.errors import ParameterError\n"
                   "def f():\n    from engine.cli.sweep import summarise\n")
    assert forbidden_in(bad, UI_FORBIDDEN) == ["engine.cli", "engine.cli.sweep", "engine.cli.sweep.summarise",
                                               "torch.nn"]
    good = tmp_path / "good.py"
    good.write_text("import numpy as np\nfrom engine.studies.sweep import summarise\nimport torchvision_like\n")
    assert forbidden_in(good, UI_FORBIDDEN) == []
