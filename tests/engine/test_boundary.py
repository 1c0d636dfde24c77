"""The engine is a library: no module under engine/ may import a GUI toolkit.

Checked two ways: statically (every import statement in every file, including imports inside
functions) and dynamically (importing every engine module in a fresh interpreter leaves no GUI
module in sys.modules).
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


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
            roots.add(str(node.args[0].value).split(".")[0])
    return roots


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
